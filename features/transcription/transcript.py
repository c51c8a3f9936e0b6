"""The `Transcript`: what transcription produces and summaries, compose and capture read.

Every segment knows who spoke, because the consent gate decides per speaker. A speaker
whose name is None is not identified (an `unknown` subject for the gate).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float | None = None


@dataclass(frozen=True)
class Speaker:
    """`id` is what segments refer to; `name` is the person, None when nobody is known."""

    id: str
    name: str | None
    source: str  # diarization | track | channel | subtitle


@dataclass(frozen=True)
class Segment:
    id: str
    speaker: str
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    # Per-person tracks or channels: another speaker's track was louder over this segment,
    # so these words were most likely theirs, heard through this one's microphone (bleed).
    louder: str | None = None


@dataclass(frozen=True)
class Transcript:
    segments: tuple[Segment, ...]
    speakers: tuple[Speaker, ...]
    duration: float
    source: str
    language: str | None = None
    language_probability: float | None = None

    @property
    def text(self) -> str:
        return " ".join(segment.text for segment in self.segments)


def segment_id(index: int) -> str:
    """Stable ids: the same input gives the same ids, so citations stay valid."""
    return f"s{index + 1:04d}"
