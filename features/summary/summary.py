"""The `Summary`: what `summarize` produces. Every item cites the transcript segments it
comes from (segment id and start time), so a reader can check it against the meeting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Citation:
    segment_id: str
    start: float  # seconds from the start of the meeting


@dataclass(frozen=True)
class Point:
    """One sentence of the overview, a key point, a decision or an open question."""

    text: str
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class ActionItem:
    task: str
    owner: str | None  # a speaker or roster name; None when nobody took it on
    due: date | None
    due_phrase: str | None  # the words the date was read from, e.g. "by Thursday"
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class Chapter:
    title: str
    start: float
    end: float
    citations: tuple[Citation, ...]


# Where a summary's meeting date came from, as a reader is told it.
UPLOAD_DAY = "upload"
DATE_SOURCES = {
    "given": "given",
    "recording": "from the recording",
    UPLOAD_DAY: "the upload day",
}


def stated_day(day: date | None, told: str | None) -> date | None:
    """A meeting date as a claim about when its words were said (the uploader's, or the
    recording's own), which only ever makes them older for the consent gate. The upload
    day, a default to resolve due dates against, is no such claim."""
    return day if told != UPLOAD_DAY else None


@dataclass(frozen=True)
class Summary:
    overview: tuple[Point, ...]
    key_points: tuple[Point, ...]
    decisions: tuple[Point, ...]
    action_items: tuple[ActionItem, ...]
    open_questions: tuple[Point, ...]
    chapters: tuple[Chapter, ...]
    engine: str  # extractive | llm | hybrid (what actually produced it)
    meeting_date: date | None = None
    meeting_date_from: str | None = None  # a key of DATE_SOURCES; None without a date
    # What the reader should know: a fallback taken, claims dropped by the grounding check.
    notes: tuple[str, ...] = field(default=())
    dropped_claims: int = 0

    @property
    def stated_day(self) -> date | None:
        return stated_day(self.meeting_date, self.meeting_date_from)

    def items(self) -> tuple[Point | ActionItem | Chapter, ...]:
        """Everything that carries citations, for checks that every item is grounded."""
        return (
            *self.overview,
            *self.key_points,
            *self.decisions,
            *self.action_items,
            *self.open_questions,
            *self.chapters,
        )


@dataclass(frozen=True)
class Answer:
    """`ask`: an answer from the meeting, or `found=False` when the meeting does not say."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    found: bool
    engine: str
    notes: tuple[str, ...] = field(default=())
