"""Who spoke when, behind the `Diarizer` protocol (single-channel recordings only;
per-participant tracks and channels need no diarization)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class SpeakerTurn:
    """A stretch of audio attributed to one speaker label (`S1`, `S2`, … in order of
    first appearance)."""

    start: float
    end: float
    speaker: str


class Diarizer(Protocol):
    name: str

    def diarize(
        self, audio: np.ndarray, *, num_speakers: int | None = None
    ) -> list[SpeakerTurn]: ...
