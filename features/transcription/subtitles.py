"""WebVTT and SRT transcripts that meeting platforms export, read into a `Transcript`.

Zoom, Teams and Webex can export what was said as subtitles; reading them gives the same
`Transcript` the ASR path produces, without running ASR. webvtt-py and pysrt parse the cue
structure; this module finds the speakers (WebVTT voice tags or a `Name: ` prefix), cleans
the text, and turns the libraries' errors into `InvalidSubtitles` that name the line.
"""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pysrt
import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError
from webvtt.vtt import WebVTTCueBlock

from minutekeeper.consent import UNKNOWN_SPEAKER
from minutekeeper.features.transcription.errors import InputNotFound, InvalidSubtitles
from minutekeeper.features.transcription.transcript import Segment, Speaker, Transcript, segment_id

SPEAKER_SOURCE = "subtitle"

# WebVTT's line terminators, which are also how editors count lines; str.splitlines would
# also break on form feeds and U+2028 and shift the line numbers in error messages.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

# "Alice Smith: Hello" (Zoom, Webex): 1-4 words of letters, digits and . ' - before ": ".
_NAME_WORD = r"[^\W_](?:[^\W_]|[.'\u2019-])*"  # \u2019: the typographic apostrophe
_SPEAKER_PREFIX = re.compile(rf"(?P<name>{_NAME_WORD}(?: {_NAME_WORD}){{0,3}}):(?: (?P<text>.*))?")
_MAX_NAME_LENGTH = 40
_MAX_ABBREVIATION_LENGTH = 5  # "Dr.", "Prof.": a longer word ending in "." ends a sentence
_EXCERPT_LENGTH = 60


@dataclass(frozen=True)
class _Cue:
    line: int  # 1-based number of the cue's timings line, for error messages
    start_ms: int
    end_ms: int
    text: str  # markup stripped, whitespace collapsed
    voice: str | None = None


class _Reader(Protocol):
    def __call__(self, lines: Sequence[str], *, name: str) -> list[_Cue]: ...


def load_subtitles(path: Path) -> Transcript:
    """Read a WebVTT (.vtt) or SRT (.srt) transcript export into a `Transcript`.

    A cue's speaker comes from a WebVTT voice tag (`<v Name>`, Teams) or a `Name: ` prefix
    at the start of its text (Zoom); a cue with neither is the unknown speaker. Each cue
    stays one segment, in time order. Broken input raises `InvalidSubtitles` naming the
    line; a missing file raises `InputNotFound`.
    """
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        supported = " and ".join(sorted(_READERS))
        raise InvalidSubtitles(f"{path.name}: not a subtitle file, supported are {supported}")
    lines = _LINE_BREAK.split(_read_text(path))
    cues = reader(lines, name=path.name)
    _check_timings(cues, lines, name=path.name)
    return _transcript(cues, source=suffix.removeprefix("."))


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputNotFound(f"subtitle file not found: {path}") from exc
    except OSError as exc:
        raise InvalidSubtitles(f"{path.name}: cannot be read ({exc.strerror})") from exc
    # utf-8-sig by hand, so that the error's offset counts from the text after the BOM.
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = len(_LINE_BREAK.split(body[: exc.start].decode("utf-8")))
        raise InvalidSubtitles(
            f"{path.name} line {line}: not UTF-8 text (byte 0x{body[exc.start]:02x}); "
            "export or save the file as UTF-8"
        ) from exc
    if not text.strip():
        raise InvalidSubtitles(f"{path.name}: empty file")
    return text


def _read_vtt(lines: Sequence[str], *, name: str) -> list[_Cue]:
    try:
        # Strict: otherwise webvtt-py 0.6.0 silently drops a cue with a broken timestamp.
        captions = webvtt.from_string("\n".join(lines), strict=True).captions
    except MalformedFileError as exc:
        raise _invalid_line(name, 1, lines[0], reason="expected the WEBVTT header, found") from exc
    except MalformedCaptionError as exc:
        number = _first_rejected_vtt_line(lines)
        line = lines[number - 1]
        broken_timing = "-->" in line and not WebVTTCueBlock.STRICT_CUE_TIMINGS_PATTERN.match(line)
        reason = "invalid timestamp" if broken_timing else "invalid cue"
        raise _invalid_line(name, number, line, reason=reason) from exc
    # In a file the strict parser accepts, every line that matches its timings pattern
    # starts exactly one caption (a second one in a block starts a new block), in order.
    timing_lines = [
        number
        for number, line in enumerate(lines, start=1)
        if WebVTTCueBlock.STRICT_CUE_TIMINGS_PATTERN.match(line)
    ]
    return [
        _Cue(
            line=number,
            start_ms=caption.start_time.in_milliseconds(),
            end_ms=caption.end_time.in_milliseconds(),
            text=_clean(caption.text),
            voice=_clean(caption.voice or "") or None,
        )
        for caption, number in zip(captions, timing_lines, strict=True)
    ]


def _first_rejected_vtt_line(lines: Sequence[str]) -> int:
    """The 1-based number of the line at which webvtt-py's strict parser fails.

    webvtt-py 0.6.0 says what is wrong but not where, so parse longer and longer beginnings
    of the file (by bisection) and find the line whose addition makes the parse fail.
    """
    good, bad = 1, len(lines)  # the WEBVTT line alone parses; the whole file does not
    while bad - good > 1:
        middle = (good + bad) // 2
        try:
            webvtt.from_string("\n".join(lines[:middle]), strict=True)
        except MalformedCaptionError:
            bad = middle
        else:
            good = middle
    return bad


def _read_srt(lines: Sequence[str], *, name: str) -> list[_Cue]:
    blocks = _blocks(lines)
    try:
        items = list(pysrt.stream(lines, error_handling=pysrt.ERROR_RAISE))
    except pysrt.Error as exc:
        # pysrt 1.1.2 prepends the 0-based index of the blank line (or end) after the block.
        block = next(block for block in blocks if block.stop == exc.args[0])
        number = _srt_timing_line(lines, block)
        broken_timing = isinstance(exc, pysrt.InvalidTimeString)
        reason = "invalid timestamp" if broken_timing else "invalid cue"
        raise _invalid_line(name, number, lines[number - 1], reason=reason) from exc
    cues = []
    # pysrt yields one item per block of non-blank lines, so items and blocks pair up.
    for item, block in zip(items, blocks, strict=True):
        number = _srt_timing_line(lines, block)
        if not _srt_timestamps_are_numbers(lines[number - 1]):
            raise _invalid_line(name, number, lines[number - 1], reason="invalid timestamp")
        start_ms, end_ms = item.start.ordinal, item.end.ordinal
        text = _clean(item.text_without_tags)
        cues.append(_Cue(line=number, start_ms=start_ms, end_ms=end_ms, text=text))
    return cues


def _blocks(lines: Sequence[str]) -> list[range]:
    """The runs of non-blank lines (0-based indexes), split as pysrt splits them."""
    blocks: list[range] = []
    start: int | None = None
    for index, line in enumerate([*lines, ""]):
        if line.strip() and start is None:
            start = index
        elif not line.strip() and start is not None:
            blocks.append(range(start, index))
            start = None
    return blocks


def _srt_timing_line(lines: Sequence[str], block: range) -> int:
    """The 1-based number of a block's timings line; pysrt reads a first line without
    "-->" as the cue number."""
    has_number = "-->" not in lines[block.start] and len(block) > 1
    return block.start + 1 + int(has_number)


def _srt_timestamps_are_numbers(line: str) -> bool:
    """pysrt 1.1.2 reads a field such as `0x` as 0; insist on digits so a typo is reported."""
    start, end, _position = pysrt.SubRipItem.split_timestamps(line)
    times = (start, end)
    fields = [field for time in times for field in pysrt.SubRipTime.RE_TIME_SEP.split(time)]
    return all(field.isascii() and field.isdigit() for field in fields)


def _check_timings(cues: Sequence[_Cue], lines: Sequence[str], *, name: str) -> None:
    for cue in cues:
        if cue.end_ms < cue.start_ms:
            line = lines[cue.line - 1]
            raise _invalid_line(name, cue.line, line, reason="cue ends before it starts")


_READERS: dict[str, _Reader] = {".srt": _read_srt, ".vtt": _read_vtt}


def _transcript(cues: Sequence[_Cue], *, source: str) -> Transcript:
    speakers: dict[str, Speaker] = {}
    segments: list[Segment] = []
    for cue in sorted(cues, key=lambda cue: cue.start_ms):
        speaker, text = _attribute(cue)
        if not text:
            continue
        speakers.setdefault(speaker.id, speaker)
        segment = Segment(
            id=segment_id(len(segments)),
            speaker=speaker.id,
            start=cue.start_ms / 1000,
            end=cue.end_ms / 1000,
            text=text,
        )
        segments.append(segment)
    return Transcript(
        segments=tuple(segments),
        speakers=tuple(speakers.values()),
        duration=max((segment.end for segment in segments), default=0.0),
        source=source,
    )


def _attribute(cue: _Cue) -> tuple[Speaker, str]:
    """The cue's speaker and its text without a `Name: ` prefix."""
    if cue.voice:
        return _speaker(cue.voice), cue.text
    match = _SPEAKER_PREFIX.fullmatch(cue.text)
    if match and _is_name(match["name"]):
        return _speaker(match["name"]), match["text"] or ""
    return _speaker(None), cue.text


def _is_name(prefix: str) -> bool:
    """Short, and no sentence inside: "We agreed. Note: ..." is not said by "We agreed. Note"."""
    return len(prefix) <= _MAX_NAME_LENGTH and all(
        len(word) <= _MAX_ABBREVIATION_LENGTH or not word.endswith(".") for word in prefix.split()
    )


def _speaker(name: str | None) -> Speaker:
    if name is None or name == UNKNOWN_SPEAKER:
        return Speaker(id=UNKNOWN_SPEAKER, name=None, source=SPEAKER_SOURCE)
    return Speaker(id=name, name=name, source=SPEAKER_SOURCE)


def _clean(text: str) -> str:
    """Join a cue's lines with spaces, decode character references, collapse whitespace."""
    return " ".join(html.unescape(text).split())


def _invalid_line(name: str, number: int, line: str, *, reason: str) -> InvalidSubtitles:
    excerpt = line if len(line) <= _EXCERPT_LENGTH else line[: _EXCERPT_LENGTH - 3] + "..."
    return InvalidSubtitles(f"{name} line {number}: {reason} {excerpt!r}")
