"""What `compose` takes and gives: a request (mode, tone, length) and a `Draft`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from minutekeeper.features.compose.errors import InvalidChoice

MODES = ("reply", "followup", "rewrite")
TONES = ("neutral", "friendly", "formal", "concise")
LENGTHS = ("short", "medium", "long")
# Words a draft of each length may have (inclusive).
LENGTH_WORDS = {"short": (3, 40), "medium": (20, 110), "long": (60, 250)}
# Who wrote a follow-up built from the meeting's items after the model's drafts failed.
FROM_ITEMS = "meeting items"
# A draft's verdict: what its reader is told first, and how loudly.
VERDICTS = ("passed", "failed", "from_items")


@dataclass(frozen=True)
class ComposeRequest:
    instruction: str = ""
    mode: str = "reply"
    tone: str = "neutral"
    length: str = "short"
    user: str = "me"  # the person the draft speaks as
    n: int = 1

    def __post_init__(self) -> None:
        for name, value, choices in (
            ("mode", self.mode, MODES),
            ("tone", self.tone, TONES),
            ("length", self.length, LENGTHS),
        ):
            if value not in choices:
                raise InvalidChoice(f"unknown {name} {value!r}; choose: {', '.join(choices)}")
        if not 1 <= self.n <= 5:
            raise InvalidChoice(f"n must be 1 to 5 alternatives, not {self.n}")
        if self.mode == "rewrite" and not self.instruction.strip():
            raise InvalidChoice("rewrite needs the text to rewrite as the instruction")


@dataclass(frozen=True)
class Draft:
    text: str
    alternatives: tuple[str, ...]
    used_messages: tuple[str, ...]  # ids of the thread messages the prompt showed
    used_items: tuple[str, ...]  # meeting items (segment ids) a follow-up drew on
    notes: tuple[str, ...] = field(default=())
    failed_checks: tuple[str, ...] = field(default=())  # of the returned text, if any remain
    written_by: str = ""  # the model's name, or FROM_ITEMS for a follow-up built from them

    @property
    def verdict(self) -> str:
        """'failed' when a check of the text failed, 'from_items' for a follow-up written
        from the meeting's items because the model's drafts failed, else 'passed'."""
        if self.failed_checks:
            return "failed"
        return "from_items" if self.written_by == FROM_ITEMS else "passed"

    @property
    def headline(self) -> str:
        """What every entry point shows before the draft, so a failed draft is never
        presented as done: "This draft misses: Friday; and is too long: 120 words for short
        (at most 40). Edit it ..." (the failed checks, each said as what the draft does)."""
        if self.failed_checks:
            edit = "Edit it before you send it, or draft again."
            return f"This draft {said(self.failed_checks)}. {edit}"
        if self.written_by == FROM_ITEMS:
            return (
                "The model's drafts failed their checks, so this follow-up is written from "
                "the meeting's decisions and action items."
            )
        return "Here is your draft."


def said(failed: Sequence[str]) -> str:
    """Failed checks joined to follow "This draft": "misses: Friday; and is too long: ..."."""
    return "; ".join(failed[:-1]) + "; and " + failed[-1] if len(failed) > 1 else failed[0]
