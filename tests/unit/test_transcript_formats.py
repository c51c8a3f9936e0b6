"""Transcript JSON round trip, field-naming errors, subtitle rendering, speaker splitting."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from minutekeeper.features.transcription import align, formats
from minutekeeper.features.transcription.errors import InvalidTranscript
from minutekeeper.features.transcription.service import loudest_other
from minutekeeper.features.transcription.transcript import Segment, Speaker, Transcript, Word
from minutekeeper.models.asr import AsrSegment, AsrWord
from minutekeeper.models.diarization import SpeakerTurn

TRANSCRIPT = Transcript(
    segments=(
        Segment("s0001", "S1", 0.0, 1.5, 'Hello "there", ünïcode', (Word(0.0, 0.7, "Hello", 0.9),)),
        Segment("s0002", "S2", 1.6, 3.0, "Second line", ()),
        Segment("s0003", "S2", 3.0, 3.2, "Heard through S2's microphone", (), louder="S1"),
    ),
    speakers=(Speaker("S1", "Alice", "diarization"), Speaker("S2", None, "diarization")),
    duration=3.2,
    source="recording",
    language="en",
    language_probability=0.98,
)


def test_json_round_trip_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(formats.render(TRANSCRIPT, "json"))
    assert formats.load_json(path) == TRANSCRIPT


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["segments"][1].pop("start"), "segments[1].start"),
        (lambda d: d["segments"][0].update(speaker="S9"), "segments[0].speaker"),
        (lambda d: d["segments"][0]["words"][0].update(end="late"), "segments[0].words[0].end"),
        (lambda d: d.update(speakers="Alice"), "speakers"),
        (lambda d: d["segments"][0].update(end=-1), "segments[0].end"),
        (lambda d: d["segments"][2].update(louder="S9"), "segments[2].louder"),
    ],
)
def test_malformed_transcript_json_names_the_field(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], object], field: str
) -> None:
    data = formats.to_dict(TRANSCRIPT)
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidTranscript, match=re.escape(f".{field}:")):
        formats.load_json(path)


def test_not_json_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text("{not json")
    with pytest.raises(InvalidTranscript, match="not a transcript JSON"):
        formats.load_json(path)


def test_vtt_srt_and_text_use_names_and_timestamps() -> None:
    vtt = formats.render(TRANSCRIPT, "vtt")
    assert vtt.startswith("WEBVTT\n") and "00:00:01.600 --> 00:00:03.000\n<v S2>Second line" in vtt
    srt = formats.render(TRANSCRIPT, "srt")
    assert "1\n00:00:00,000 --> 00:00:01,500\nAlice: Hello" in srt
    assert formats.render(TRANSCRIPT, "text").splitlines()[1] == "[00:00:01] S2: Second line"


def test_a_segment_is_split_at_the_word_where_the_speaker_changes() -> None:
    words = tuple(AsrWord(i * 0.5, i * 0.5 + 0.4, f" w{i}", 0.9) for i in range(6))  # 0.0 … 2.9 s
    segment = AsrSegment(0.0, 2.9, "w0 w1 w2 w3 w4 w5", words)
    turns = [SpeakerTurn(0.0, 1.45, "S1"), SpeakerTurn(1.45, 3.0, "S2")]
    pieces = align.attribute((segment,), turns, default="S1")
    assert [(p.speaker, p.text) for p in pieces] == [("S1", "w0 w1 w2"), ("S2", "w3 w4 w5")]
    assert pieces[1].start == pytest.approx(1.5)


def test_without_turns_everything_is_the_default_speaker() -> None:
    segment = AsrSegment(0.0, 1.0, "hello", ())
    assert [p.speaker for p in align.attribute((segment,), [], default="C2")] == ["C2"]


def test_a_long_pause_inside_a_segment_starts_a_new_piece() -> None:
    words = (AsrWord(0.0, 0.4, " Morning.", 0.9), AsrWord(15.0, 15.3, " No,", 0.9),
             AsrWord(15.4, 15.8, " wait.", 0.9))  # fmt: skip
    segment = AsrSegment(0.0, 15.8, "Morning. No, wait.", words)
    pieces = align.attribute((segment,), [], default="Bob")
    assert [(p.start, p.end, p.text) for p in pieces] == [
        (0.0, 0.4, "Morning."),
        (15.0, 15.8, "No, wait."),
    ]


def test_a_track_louder_than_the_speakers_own_is_named() -> None:
    quiet, loud = np.full(16_000, 0.01), np.full(16_000, 0.5)
    tracks = {"Ann": np.concatenate([loud, quiet]), "Ben": np.concatenate([quiet, loud])}
    assert loudest_other(tracks, "Ann", 0.0, 1.0) is None
    assert loudest_other(tracks, "Ann", 1.0, 2.0) == "Ben"
    assert loudest_other(tracks, "Ben", 0.2, 0.8) == "Ann"
    # Equal levels are the speaker's own; past a track's end it is silent.
    assert loudest_other({"Ann": loud, "Ben": loud}, "Ben", 0.0, 1.0) is None
    assert loudest_other({"Ann": loud[:8000], "Ben": quiet}, "Ben", 0.6, 0.9) is None
