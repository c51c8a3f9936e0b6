"""What `compose` takes and gives: a request (mode, tone, length) and a `Draft`."""

from __future__ import annotations

from dataclasses import dataclass, field

from minutekeeper.features.compose.errors import InvalidChoice

MODES = ("reply", "followup", "rewrite")
TONES = ("neutral", "friendly", "formal", "concise")
LENGTHS = ("short", "medium", "long")
# Words a draft of each length may have (inclusive).
LENGTH_WORDS = {"short": (3, 40), "medium": (20, 110), "long": (60, 250)}


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
    written_by: str = ""  # the model's name, or "meeting items" for a follow-up built from them
