"""The progress callbacks every layer passes down, and the stages a job goes through: one
definition of each."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum


class Stage(StrEnum):
    """Where a job is: its row's `stage`, the API's `stage` (an enum in the OpenAPI).

    A meeting job goes through the working stages in this order, skipping those that do
    not apply (a transcript file is neither transcribed nor diarized; tracks, channels and
    `diarize=false` are not diarized); an export job is deciding, then writing."""

    QUEUED = "queued"
    REQUEUED = "requeued"  # its worker stopped, or the server restarted: it runs again
    STARTING = "starting"
    PREPARING_MODELS = "preparing_models"
    TRANSCRIBING = "transcribing"
    DIARIZING = "diarizing"
    SUMMARIZING = "summarizing"
    OFFERING = "offering"  # the results offered to the consent gate for training
    DECIDING = "deciding"  # an export re-decides every candidate
    WRITING = "writing"  # an export writes its records
    DONE = "done"
    FAILED = "failed"


# Each stage's part of a job's overall progress (from, to), and whether it reports how far
# it got within its part; a stage that does not stays at its start (shown without a share).
# Fixed per stage, so the share within the stage follows from the overall progress alone,
# and a skipped stage only makes the overall progress jump.
SPANS: dict[Stage, tuple[float, float, bool]] = {
    Stage.PREPARING_MODELS: (0.0, 0.05, False),
    Stage.TRANSCRIBING: (0.05, 0.75, True),  # transcription is most of a job's time
    Stage.DIARIZING: (0.75, 0.85, False),
    Stage.SUMMARIZING: (0.85, 0.95, False),
    Stage.OFFERING: (0.95, 1.0, False),
    Stage.DECIDING: (0.0, 0.05, False),
    Stage.WRITING: (0.05, 0.95, False),
    Stage.DONE: (1.0, 1.0, False),
}


def overall(stage: Stage, share: float) -> float:
    """A job's overall progress when it is `share` (0..1) through `stage`."""
    start, end, _ = SPANS.get(stage, (0.0, 0.0, False))
    return start + max(0.0, min(1.0, share)) * (end - start)


def stage_share(stage: Stage, progress: float) -> float | None:
    """How far through `stage` a job at overall `progress` is; None for a stage that does
    not measure that (waiting, loading models, finding speakers)."""
    start, end, measured = SPANS.get(stage, (0.0, 0.0, False))
    if not measured:
        return None
    return max(0.0, min(1.0, (progress - start) / (end - start)))


# The share of the work done so far, from 0.0 to 1.0 (a transcription, a download).
Progress = Callable[[float], None]
# The stage of a job a piece of work is in, and the share of that stage done (0.0 to 1.0).
StageProgress = Callable[[Stage, float], None]


def one_stage(stage: Stage, progress: Progress) -> StageProgress:
    """`progress` fed with one stage's share done (a command's bar for transcribing); the
    other stages pass it by."""

    def show(now: Stage, share: float) -> None:
        if now is stage:
            progress(share)

    return show
