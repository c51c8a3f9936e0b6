"""Speech recognition behind the `Transcriber` protocol.

Results cross the package boundary as plain frozen dataclasses; CTranslate2 and
faster-whisper objects never leave `models/`. Audio comes in as 16 kHz mono float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from minutekeeper.core.progress import Progress

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class AsrWord:
    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class AsrSegment:
    start: float
    end: float
    text: str
    words: tuple[AsrWord, ...]


@dataclass(frozen=True)
class AsrResult:
    language: str
    language_probability: float
    duration: float
    segments: tuple[AsrSegment, ...]


class Transcriber(Protocol):
    """Turns speech into timed text with word timestamps."""

    name: str

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str | None = None,
        hotwords: str | None = None,
        progress: Progress | None = None,
    ) -> AsrResult: ...
