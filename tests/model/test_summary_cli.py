"""`minutekeeper summarize` and `minutekeeper ask` through the installed console script."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from tests.model.conftest import FIXTURES
from tests.model.test_transcribe_cli import mk

EXAMPLES = Path(__file__).parents[2] / "examples"
VTT = str(EXAMPLES / "meeting.vtt")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("summary-cli")


def test_summarize_a_subtitle_file_as_json(data_dir: Path) -> None:
    result = mk(data_dir, "summarize", VTT, "--date", "2026-11-23", "--format", "json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["engine"] == "extractive"
    owners = sorted(a["owner"] for a in summary["action_items"])
    assert owners == ["Alice", "Bob", "Bob", "Bob", "Carol", "Carol"]
    first = summary["action_items"][0]
    assert (first["due"], first["due_phrase"]) == ("2026-11-26", "by Thursday")
    assert first["citations"][0] == {"segment_id": "s0008", "start": 43.15, "at": "00:43"}


def test_summarize_markdown_links_citations_to_transcript_anchors(
    data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "summary.md"
    result = mk(data_dir, "summarize", VTT, "--date", "2026-11-23", "-o", str(out))
    assert result.returncode == 0 and result.stdout == ""
    text = out.read_text()
    for heading in ("## Overview", "## Action items", "## Decisions", "## Chapters"):
        assert heading in text
    assert "[[00:43]](#s0008)" in text and '<a id="s0008"></a>' in text
    assert "due **2026-11-26** (by Thursday)" in text


def test_without_a_date_each_due_phrase_is_kept_and_its_day_left_open(data_dir: Path) -> None:
    result = mk(data_dir, "summarize", VTT, "--no-transcript", "--no-save")
    assert result.returncode == 0, result.stderr
    assert "**Bob**: Send the draft of the sync design document — due by Thursday [[00:43]]" in (
        result.stdout
    )
    assert "Due dates are not resolved to days: give the meeting date (--date)." in result.stdout
    as_json = mk(data_dir, "summarize", VTT, "--format", "json", "--no-save")
    first = json.loads(as_json.stdout)["action_items"][0]
    assert (first["due"], first["due_phrase"]) == (None, "by Thursday")


def silent_wav(path: Path, seconds: float) -> Path:
    """A 16 kHz mono WAV of digital silence."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * int(16000 * seconds))
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "nothing.wav: no such file"),
        ("folder", "folder.wav: is a folder, not a file"),
        ("loop", "loop.wav: cannot be read: too many levels of symbolic links"),
        ("empty", "empty.wav: the file is empty (0 bytes)"),
        ("silent", "no speech found in {files}/silent.wav (5.0 s of audio)"),
    ],
)
def test_a_file_that_holds_no_meeting_is_named_with_why_and_nothing_is_saved(
    tmp_path: Path, case: str, message: str
) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "folder.wav").mkdir()
    (files / "loop.wav").symlink_to(files / "loop.wav")
    (files / "empty.wav").touch()
    silent_wav(files / "silent.wav", 5.0)
    name = "nothing" if case == "missing" else case
    result = mk(tmp_path / "data", "summarize", str(files / f"{name}.wav"))
    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message.format(files=files) in lines[0] and "Errno" not in lines[0]
    assert result.stdout == ""
    listed = mk(tmp_path / "data", "meetings", "list")
    assert "No meetings yet" in listed.stdout, listed.stdout


def test_summarize_a_recording_end_to_end(data_dir: Path) -> None:
    result = mk(data_dir, "summarize", str(FIXTURES / "two_speakers.wav"), "--no-transcript")
    assert result.returncode == 0, result.stderr
    assert "## Overview" in result.stdout and "(#s0001)" in result.stdout
    assert "## Transcript" not in result.stdout


def test_ask_answers_with_a_citation(data_dir: Path) -> None:
    result = mk(data_dir, "ask", VTT, "When does calendar sync ship?", "--format", "json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["found"] and "January" in answer["answer"]
    assert answer["citations"]
    # offered for training, but a fresh install has training sharing off: nothing is said
    assert "training" not in result.stderr, result.stderr


def test_with_training_sharing_on_ask_says_in_words_why_nothing_was_kept(tmp_path: Path) -> None:
    switches = ["--ai-features", "on", "--training-sharing", "on"]
    for step in (["consent", "notice", "publish"], ["consent", "tenant", "set", *switches]):
        assert mk(tmp_path, *step).returncode == 0
    result = mk(tmp_path, "ask", VTT, "When does calendar sync ship?")
    assert result.returncode == 0, result.stderr
    # The asker has not agreed; the speakers cited are guests (no members here).
    (line,) = [s for s in result.stderr.splitlines() if "training" in s]
    assert line == (
        "training: meeting_answer not kept: not everyone in it has agreed; a guest is in it, "
        "and guests never count as agreeing; someone in it has not agreed "
        "(NON_CONSENTING_CONTRIBUTOR, GUEST, NO_CONSENT)"
    )


def test_ask_about_a_saved_meeting_by_its_id(data_dir: Path) -> None:
    saved = mk(data_dir, "summarize", VTT, "--title", "sync planning")
    assert saved.returncode == 0, saved.stderr
    meeting_id = saved.stderr.split("saved as meeting ")[1].split()[0]
    result = mk(data_dir, "ask", meeting_id[:8], "When does calendar sync ship?", "--format",
                "json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "January" in json.loads(result.stdout)["answer"]
    missing = mk(data_dir, "ask", "0123abcd", "When?")
    assert missing.returncode == 1 and "no saved meeting's id starts with it" in missing.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["summarize", "missing.wav"], "no such file"),
        (["summarize", VTT, "--engine", "magic"], "valid: extractive, llm, hybrid"),
        (["summarize", VTT, "--format", "pdf"], "choose: md, json"),
        (["summarize", VTT, "--date", "2026-13-01"], "--date takes YYYY-MM-DD"),
        (["summarize", VTT, "--llm", "no-such-model", "--engine", "llm"], "unknown LLM"),
        (["ask", VTT, "  "], "the question is empty"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(data_dir: Path, args: list[str], message: str) -> None:
    result = mk(data_dir, *args)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_transcript_json_names_the_field(data_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    good = mk(data_dir, "transcribe", VTT, "--format", "json").stdout
    transcript = json.loads(good)
    transcript["segments"][2]["start"] = "soon"
    broken.write_text(json.dumps(transcript))
    result = mk(data_dir, "summarize", str(broken))
    assert result.returncode == 1 and "segments[2].start" in result.stderr
    not_json = tmp_path / "not.json"
    not_json.write_text("{not json")
    assert "error:" in mk(data_dir, "summarize", str(not_json)).stderr
