"""WebVTT and SRT exports read into a `Transcript`: speakers, clean text, errors that name
the line."""

from __future__ import annotations

import re
from pathlib import Path

import pysrt
import pytest
from webvtt.errors import MalformedCaptionError, MalformedFileError

from minutekeeper.features.transcription.errors import InputNotFound, InvalidSubtitles
from minutekeeper.features.transcription.subtitles import load_subtitles
from minutekeeper.features.transcription.transcript import Speaker

UNKNOWN = Speaker(id="UNKNOWN", name=None, source="subtitle")

ZOOM_VTT = """\
WEBVTT

1
00:00:01.250 --> 00:00:03.500
Alice Smith: Good morning, everyone.

2
00:00:03.600 --> 00:00:06.000
Bob O'Neil: Morning! Shall we start
with the budget?

3
00:00:06.100 --> 00:00:08.000
Alice Smith: Yes.
"""

TEAMS_VTT = """\
WEBVTT

8a3c2b1e-4d5f-4e6a-9b7c-0d1e2f3a4b5c/12-0
00:00:00.000 --> 00:00:04.520
<v Alice Smith>Good morning, everyone.</v>

8a3c2b1e-4d5f-4e6a-9b7c-0d1e2f3a4b5c/13-0
00:00:04.520 --> 00:00:07.100
<v.loud Bob Jones>Morning!</v>
"""

ZOOM_SRT = """\
1
00:00:01,000 --> 00:00:02,500
Alice Smith: Hello <i>there</i>.

2
00:00:02,600 --> 00:00:04,000
Bob: Hi Alice.
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))  # bytes, so \r\n stays as written
    return path


def test_zoom_vtt_takes_speakers_from_the_name_prefix_and_drops_cue_numbers(
    tmp_path: Path,
) -> None:
    transcript = load_subtitles(write(tmp_path, "zoom.vtt", ZOOM_VTT))

    assert [(s.speaker, s.start, s.end, s.text) for s in transcript.segments] == [
        ("Alice Smith", 1.25, 3.5, "Good morning, everyone."),
        ("Bob O'Neil", 3.6, 6.0, "Morning! Shall we start with the budget?"),
        ("Alice Smith", 6.1, 8.0, "Yes."),
    ]
    assert transcript.speakers == (
        Speaker(id="Alice Smith", name="Alice Smith", source="subtitle"),
        Speaker(id="Bob O'Neil", name="Bob O'Neil", source="subtitle"),
    )
    assert transcript.source == "vtt"
    assert transcript.language is None
    assert transcript.duration == 8.0
    assert all(segment.words == () for segment in transcript.segments)


def test_teams_vtt_takes_speakers_from_voice_tags_and_drops_uuid_cue_ids(
    tmp_path: Path,
) -> None:
    transcript = load_subtitles(write(tmp_path, "teams.vtt", TEAMS_VTT))

    assert [(s.id, s.speaker, s.text) for s in transcript.segments] == [
        ("s0001", "Alice Smith", "Good morning, everyone."),
        ("s0002", "Bob Jones", "Morning!"),
    ]
    assert "8a3c2b1e" not in transcript.text
    assert [speaker.name for speaker in transcript.speakers] == ["Alice Smith", "Bob Jones"]


def test_srt_takes_speakers_from_the_name_prefix_and_strips_tags(tmp_path: Path) -> None:
    transcript = load_subtitles(write(tmp_path, "zoom.srt", ZOOM_SRT))

    assert [(s.id, s.speaker, s.start, s.end, s.text) for s in transcript.segments] == [
        ("s0001", "Alice Smith", 1.0, 2.5, "Hello there."),
        ("s0002", "Bob", 2.6, 4.0, "Hi Alice."),
    ]
    assert transcript.source == "srt"
    assert transcript.duration == 4.0


@pytest.mark.parametrize("cue_text", ["Just words.", "UNKNOWN: Just words."])
def test_a_cue_without_a_speaker_gets_the_unknown_speaker(tmp_path: Path, cue_text: str) -> None:
    text = f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n{cue_text}\n"

    transcript = load_subtitles(write(tmp_path, "plain.vtt", text))

    assert [(s.speaker, s.text) for s in transcript.segments] == [("UNKNOWN", "Just words.")]
    assert transcript.speakers == (UNKNOWN,)


@pytest.mark.parametrize(
    "cue_text",
    [
        "We agreed. Note: the budget is final.",  # a colon after the start of the cue
        "10:30 works for me.",  # no space after the colon
        "See http://example.com for details.",
        "One two three four five: too many words for a name.",
        "A" * 41 + ": too long for a name.",
    ],
)
def test_only_a_short_name_prefix_at_the_start_of_a_cue_is_a_speaker(
    tmp_path: Path, cue_text: str
) -> None:
    text = f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n{cue_text}\n"

    transcript = load_subtitles(write(tmp_path, "notes.vtt", text))

    assert [(s.speaker, s.text) for s in transcript.segments] == [("UNKNOWN", cue_text)]


@pytest.mark.parametrize(
    "name", ["Dr. Jane van Dyke", "john.doe", "Mary-Kate O\u2019Brien", "Guest 2"]
)
def test_names_with_initials_dots_apostrophes_and_digits_are_speakers(
    tmp_path: Path, name: str
) -> None:
    text = f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n{name}: Hello.\n"

    transcript = load_subtitles(write(tmp_path, "names.vtt", text))

    assert [(s.speaker, s.text) for s in transcript.segments] == [(name, "Hello.")]


def test_markup_is_stripped_and_the_lines_of_a_cue_are_joined(tmp_path: Path) -> None:
    text = (
        "WEBVTT\n\n"
        "00:00:01.000 --> 00:00:04.000\n"
        "<v Alice>We <b>must</b> <i>ship</i>  <00:00:02.000><c.yellow>today</c>\n"
        "  Q&amp;A   after&nbsp;lunch.</v>\n"
    )

    transcript = load_subtitles(write(tmp_path, "markup.vtt", text))

    assert transcript.segments[0].text == "We must ship today Q&A after lunch."


def test_empty_cues_are_dropped_and_their_speakers_not_listed(tmp_path: Path) -> None:
    text = (
        "WEBVTT\n\n"
        "00:00:01.000 --> 00:00:02.000\n<v Carol><i> </i></v>\n\n"
        "00:00:02.000 --> 00:00:03.000\nDave:\n\n"
        "00:00:03.000 --> 00:00:04.000\n<v Alice>Hello.</v>\n"
    )

    transcript = load_subtitles(write(tmp_path, "empty_cues.vtt", text))

    assert [(s.id, s.speaker, s.text) for s in transcript.segments] == [
        ("s0001", "Alice", "Hello.")
    ]
    assert [speaker.id for speaker in transcript.speakers] == ["Alice"]


def test_speakers_are_listed_once_in_order_of_first_appearance(tmp_path: Path) -> None:
    text = "WEBVTT\n\n" + "\n".join(
        f"00:00:0{i}.000 --> 00:00:0{i}.900\n{line}\n"
        for i, line in enumerate(["Bob: a", "no speaker", "Alice: b", "Bob: c", "Carol: d"])
    )

    transcript = load_subtitles(write(tmp_path, "order.vtt", text))

    assert [speaker.id for speaker in transcript.speakers] == ["Bob", "UNKNOWN", "Alice", "Carol"]


def test_consecutive_cues_of_one_speaker_stay_separate_segments(tmp_path: Path) -> None:
    text = (
        "WEBVTT\n\n"
        "00:00:01.000 --> 00:00:02.000\nAlice: One.\n\n"
        "00:00:02.000 --> 00:00:03.000\nAlice: Two.\n"
    )

    transcript = load_subtitles(write(tmp_path, "same.vtt", text))

    assert [(s.start, s.end, s.text) for s in transcript.segments] == [
        (1.0, 2.0, "One."),
        (2.0, 3.0, "Two."),
    ]


def test_segments_are_numbered_in_time_order_and_ids_are_stable(tmp_path: Path) -> None:
    text = (
        "WEBVTT\n\n"
        "00:00:05.000 --> 00:00:06.000\nBob: later\n\n"
        "00:00:01.000 --> 00:00:02.000\nAlice: earlier\n"
    )
    path = write(tmp_path, "shuffled.vtt", text)

    first, second = load_subtitles(path), load_subtitles(path)

    assert [(s.id, s.text) for s in first.segments] == [("s0001", "earlier"), ("s0002", "later")]
    assert [speaker.id for speaker in first.speakers] == ["Alice", "Bob"]
    assert first == second


def test_a_header_only_vtt_is_an_empty_transcript(tmp_path: Path) -> None:
    transcript = load_subtitles(write(tmp_path, "empty.vtt", "WEBVTT\n"))

    assert transcript.segments == ()
    assert transcript.speakers == ()
    assert transcript.duration == 0.0
    assert transcript.source == "vtt"


def test_the_extension_is_case_insensitive_and_a_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "MEETING.VTT"
    path.write_bytes(b"\xef\xbb\xbf" + ZOOM_VTT.encode("utf-8"))

    transcript = load_subtitles(path)

    assert len(transcript.segments) == 3
    assert transcript.source == "vtt"


@pytest.mark.parametrize(
    ("lines", "line_number", "reason"),
    [
        (["00:00:0x.000 --> 00:00:03.000", "Bob: yo"], 9, "invalid timestamp"),
        (["0:0:2.0 --> 0:0:3.0", "Bob: yo"], 9, "invalid timestamp"),
        (["00:00:02.000 --> 00:00:72.000", "Bob: yo"], 9, "invalid cue"),
        (["00:00:02.000 --> 00:00:03.000 colour:red", "Bob: yo"], 9, "invalid cue"),
        # no empty line before the next cue
        (
            ["00:00:02.000 --> 00:00:03.000", "Bob: yo", "00:00:04.000 --> 00:00:05.000"],
            11,
            "invalid cue",
        ),
    ],
)
def test_a_broken_vtt_cue_raises_an_error_that_names_its_line(
    tmp_path: Path, lines: list[str], line_number: int, reason: str
) -> None:
    good = ["WEBVTT", "", "1", "00:00:01.000 --> 00:00:02.000", "Alice: hi", "there", "", "2"]
    path = write(
        tmp_path,
        "meeting.vtt",
        "\n".join([*good, *lines, "", "3", "00:00:09.000 --> 00:00:10.000", "x", ""]),
    )

    with pytest.raises(
        InvalidSubtitles, match=rf"^meeting\.vtt line {line_number}: {reason}"
    ) as info:
        load_subtitles(path)

    assert f"{lines[line_number - 9]!r}" in info.value.message
    assert isinstance(info.value.__cause__, MalformedCaptionError)


def test_a_broken_cue_deep_in_a_long_vtt_is_found_on_its_line(tmp_path: Path) -> None:
    cues = [
        f"{i + 1}\n00:{i // 60:02d}:{i % 60:02d}.000 --> 00:{i // 60:02d}:{i % 60:02d}.900\nx\n"
        for i in range(300)
    ]
    cues[217] = "218\n00:03:37.000 --> 00:03:3.900\nx\n"
    path = write(tmp_path, "long.vtt", "WEBVTT\n\n" + "\n".join(cues))
    timings_line = 2 + 217 * 4 + 2  # header and empty line, 217 cues of 4 lines, cue number

    with pytest.raises(
        InvalidSubtitles, match=rf"^long\.vtt line {timings_line}: invalid timestamp"
    ):
        load_subtitles(path)


def test_line_numbers_count_crlf_line_breaks_once(tmp_path: Path) -> None:
    lines = ["WEBVTT", "", "00:00:01.000 --> 00:00:02.000", "hi", "", "00:00:0x.000 --> 1", "yo"]
    text = "\r\n".join(lines)

    with pytest.raises(InvalidSubtitles, match="line 6: invalid timestamp"):
        load_subtitles(write(tmp_path, "crlf.vtt", text))


def test_a_vtt_without_the_webvtt_header_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "no_header.vtt", ZOOM_SRT)

    with pytest.raises(
        InvalidSubtitles, match=r"^no_header\.vtt line 1: expected the WEBVTT header"
    ) as info:
        load_subtitles(path)

    assert isinstance(info.value.__cause__, MalformedFileError)


@pytest.mark.parametrize(
    ("block", "line_number", "reason"),
    [
        # pysrt itself reads `0x` as 0; the reader refuses it.
        ("2\n00:00:0x,000 --> 00:00:03,000\nyo", 6, "invalid timestamp"),
        ("2\nabc --> def\nyo", 6, "invalid timestamp"),
        ("2\n00:00:02,000 00:00:03,000\nyo", 6, "invalid cue"),
        ("2", 5, "invalid cue"),  # a cue number and nothing else, at the end of the file
    ],
)
def test_a_broken_srt_cue_raises_an_error_that_names_its_line(
    tmp_path: Path, block: str, line_number: int, reason: str
) -> None:
    path = write(tmp_path, "meeting.srt", f"1\n00:00:01,000 --> 00:00:02,000\nhi\n\n{block}")

    with pytest.raises(InvalidSubtitles, match=rf"^meeting\.srt line {line_number}: {reason}"):
        load_subtitles(path)


def test_an_srt_library_error_is_kept_as_the_cause(tmp_path: Path) -> None:
    path = write(tmp_path, "meeting.srt", "1\nabc --> def\nyo\n")

    with pytest.raises(InvalidSubtitles) as info:
        load_subtitles(path)

    assert isinstance(info.value.__cause__, pysrt.InvalidTimeString)


@pytest.mark.parametrize(
    ("name", "text", "line_number"),
    [
        (
            "meeting.vtt",
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\na\n\n00:00:05.000 --> 00:00:04.000\nb\n",
            6,
        ),
        (
            "meeting.srt",
            "1\n00:00:01,000 --> 00:00:02,000\na\n\n2\n00:00:05,000 --> 00:00:04,000\nb\n",
            6,
        ),
    ],
)
def test_a_cue_that_ends_before_it_starts_is_refused(
    tmp_path: Path, name: str, text: str, line_number: int
) -> None:
    with pytest.raises(
        InvalidSubtitles, match=rf"^{re.escape(name)} line {line_number}: cue ends before it starts"
    ):
        load_subtitles(write(tmp_path, name, text))


def test_an_unsupported_extension_names_the_supported_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "meeting.txt", ZOOM_VTT)

    with pytest.raises(InvalidSubtitles, match=r"\.srt and \.vtt"):
        load_subtitles(path)


def test_a_missing_file_is_input_not_found(tmp_path: Path) -> None:
    with pytest.raises(InputNotFound, match=r"missing\.vtt"):
        load_subtitles(tmp_path / "missing.vtt")


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n \n"])
def test_an_empty_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.srt"
    path.write_bytes(content)

    with pytest.raises(InvalidSubtitles, match=r"^empty\.srt: empty file$"):
        load_subtitles(path)


def test_a_file_that_is_not_utf8_names_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.vtt"
    path.write_bytes("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nJosé: olá\n".encode("latin-1"))

    with pytest.raises(
        InvalidSubtitles, match=r"^latin1\.vtt line 4: not UTF-8 text \(byte 0xe9\)"
    ) as info:
        load_subtitles(path)

    assert isinstance(info.value.__cause__, UnicodeDecodeError)
