"""Transcript files: JSON (the project's own, read and written), WebVTT, SRT and plain text.

Reading JSON checks every field and names the first bad one, so a hand-edited or foreign
file fails with a message a person can act on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from minutekeeper.features.transcription.errors import InputNotFound, InvalidTranscript
from minutekeeper.features.transcription.transcript import Segment, Speaker, Transcript, Word

FORMAT_VERSION = 1
FORMATS = ("json", "vtt", "srt", "text")


def to_dict(transcript: Transcript) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "source": transcript.source,
        "language": transcript.language,
        "language_probability": transcript.language_probability,
        "duration": round(transcript.duration, 3),
        "speakers": [{"id": s.id, "name": s.name, "source": s.source} for s in transcript.speakers],
        "segments": [
            {
                "id": seg.id,
                "speaker": seg.speaker,
                "start": round(seg.start, 3),
                "end": round(seg.end, 3),
                "text": seg.text,
                "words": [
                    {"start": round(w.start, 3), "end": round(w.end, 3), "text": w.text,
                     "probability": None if w.probability is None else round(w.probability, 4)}
                    for w in seg.words
                ],
                **({"louder": seg.louder} if seg.louder is not None else {}),
            }
            for seg in transcript.segments
        ],
    }  # fmt: skip


def display_names(transcript: Transcript) -> dict[str, str]:
    return {s.id: s.name or s.id for s in transcript.speakers}


def render(transcript: Transcript, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(to_dict(transcript), indent=2, ensure_ascii=False) + "\n"
    names = display_names(transcript)
    if fmt == "vtt":
        cues = [
            f"{seg.id}\n{_clock(seg.start, '.')} --> {_clock(seg.end, '.')}\n"
            f"<v {names.get(seg.speaker, seg.speaker)}>{seg.text}"
            for seg in transcript.segments
        ]
        return "WEBVTT\n\n" + "\n\n".join(cues) + ("\n" if cues else "")
    if fmt == "srt":
        cues = [
            f"{i}\n{_clock(seg.start, ',')} --> {_clock(seg.end, ',')}\n"
            f"{names.get(seg.speaker, seg.speaker)}: {seg.text}"
            for i, seg in enumerate(transcript.segments, start=1)
        ]
        return "\n\n".join(cues) + ("\n" if cues else "")
    if fmt == "text":
        return "".join(
            f"[{_clock(seg.start, '.')[:8]}] {names.get(seg.speaker, seg.speaker)}: {seg.text}\n"
            for seg in transcript.segments
        )
    raise InvalidTranscript(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def load_json(path: Path) -> Transcript:
    """Read a transcript JSON written by `render(..., "json")`."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError as error:
        raise InputNotFound(f"{path}: no such file") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidTranscript(f"{path}: not a transcript JSON file ({error})") from error
    return from_dict(data, where=str(path))


def from_dict(data: Any, *, where: str = "transcript") -> Transcript:
    root = _Fields(data, where)
    speakers = tuple(
        Speaker(
            id=item.text("id"),
            name=item.optional_text("name"),
            source=item.optional_text("source") or "unknown",
        )
        for item in root.items("speakers")
    )
    known = {s.id for s in speakers}
    segments = tuple(_segment(item, known) for item in root.items("segments"))
    return Transcript(
        segments=segments,
        speakers=speakers,
        duration=root.number("duration"),
        source=root.optional_text("source") or "json",
        language=root.optional_text("language"),
        language_probability=root.optional_number("language_probability"),
    )


def _segment(item: _Fields, speakers: set[str]) -> Segment:
    speaker = item.text("speaker")
    if speaker not in speakers:
        raise InvalidTranscript(f"{item.where}.speaker: {speaker!r} is not in speakers")
    start, end = item.number("start"), item.number("end")
    if end < start:
        raise InvalidTranscript(f"{item.where}.end: {end} is before start {start}")
    words = tuple(
        Word(w.number("start"), w.number("end"), w.text("text"), w.optional_number("probability"))
        for w in item.items("words", required=False)
    )
    louder = item.optional_text("louder")
    if louder is not None and louder not in speakers:
        raise InvalidTranscript(f"{item.where}.louder: {louder!r} is not in speakers")
    return Segment(item.text("id"), speaker, start, end, item.text("text"), words, louder)


class _Fields:
    """Typed access to a JSON object that names the path of the first bad field."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise InvalidTranscript(f"{where}: expected an object")
        self.data, self.where = data, where

    def _get(self, key: str, types: tuple[type, ...], *, required: bool) -> Any:
        value = self.data.get(key)
        if value is None and not required:
            return None
        if value is None or isinstance(value, bool) or not isinstance(value, types):
            kind = " or ".join(t.__name__ for t in types)
            raise InvalidTranscript(f"{self.where}.{key}: expected {kind}, got {value!r:.40}")
        return value

    def text(self, key: str) -> str:
        return str(self._get(key, (str,), required=True))

    def optional_text(self, key: str) -> str | None:
        value = self._get(key, (str,), required=False)
        return None if value is None else str(value)

    def number(self, key: str) -> float:
        return float(self._get(key, (int, float), required=True))

    def optional_number(self, key: str) -> float | None:
        value = self._get(key, (int, float), required=False)
        return None if value is None else float(value)

    def items(self, key: str, *, required: bool = True) -> list[_Fields]:
        values = self._get(key, (list,), required=required) or []
        return [_Fields(value, f"{self.where}.{key}[{i}]") for i, value in enumerate(values)]
