"""The progress callbacks every layer passes down: one definition of each."""

from __future__ import annotations

from collections.abc import Callable

# The share of the work done so far, from 0.0 to 1.0 (a transcription, a download).
Progress = Callable[[float], None]
# A stage of a longer job ("transcribing", "summarizing") and the share of the whole done.
StageProgress = Callable[[str, float], None]
