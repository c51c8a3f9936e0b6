"""Follow-ups: the meeting's notes the model writes one from (`notes`), and a follow-up
written from the meeting's items for when the model's drafts fail their checks
(`from_items`): the decisions and who does what by when, in the requested tone and length.

The second says only what the summary says (each item is cited there), so it is right by
construction; it is used only when it passes the same checks as a model's draft.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from minutekeeper.features.compose.checks import words
from minutekeeper.features.compose.draft import LENGTH_WORDS
from minutekeeper.features.summary.render import clock
from minutekeeper.features.summary.summary import ActionItem, Summary

_GREETING_WORDS = 12  # room a model's follow-up needs beyond the notes: thanks, "Next steps:"
_OPENING = {
    "neutral": "Thanks, everyone. Here is what we agreed.",
    "friendly": "Thanks all, good meeting! Here is what we agreed.",
    "formal": "Thank you all for attending. Our decisions and next steps follow.",
    "concise": "Follow-up:",
}


def from_items(summary: Summary, *, user: str, tone: str, length: str) -> str | None:
    """The longest version within the length band (decisions and tasks with their dates,
    tasks alone, tasks with their weekdays, who is due when), or None when the meeting has
    no action items or no version fits."""
    if not summary.action_items:
        return None
    opening = _OPENING[tone]
    decisions = ["Decisions:", *(f"- {p.text.strip()}" for p in summary.decisions)]

    def steps(full: bool) -> list[str]:
        return ["Next steps:", *(step(item, user, full) for item in summary.action_items)]

    versions = [
        [opening, *(decisions if summary.decisions else []), *steps(True)],
        [opening, *steps(True)],
        [opening, *steps(False)],
        [f"{opening} {_who_when(summary.action_items, user)}"],
    ]
    low, high = LENGTH_WORDS[length]
    fitting = [v for v in versions if low <= words("\n".join(v)) <= high]
    return "\n".join(fitting[0]) if fitting else None


def notes(summary: Summary, *, user: str, length: str) -> tuple[str, tuple[str, ...], list[str]]:
    """Decisions and action items (owner, task, due day) as prompt lines, the segments they
    come from, and what a follow-up must name: the other owners and the due days.

    The notes are the longest version that leaves the follow-up room in its length band
    (decisions and tasks with their dates, tasks alone, tasks with their weekdays): a small
    model keeps most of what it is shown, so notes longer than the message cannot fit."""
    decisions = [f"- Decided: {p.text}" for p in summary.decisions]
    versions = [
        (decisions, [step(item, user) for item in summary.action_items]),
        ([], [step(item, user) for item in summary.action_items]),
        ([], [step(item, user, full=False) for item in summary.action_items]),
    ]
    room = LENGTH_WORDS[length][1] - _GREETING_WORDS
    said, tasks = next((v for v in versions if words("\n".join(v[0] + v[1])) <= room), versions[-1])
    cited = [c.segment_id for p in summary.decisions for c in p.citations] if said else []
    cited += [c.segment_id for item in summary.action_items for c in item.citations]
    expected = []
    for item in summary.action_items:
        expected += [item.owner] if item.owner and not is_mine(item, user) else []
        expected += [f"{item.due:%A}"] if item.due else []
    lines = said + tasks
    if not lines:
        lines = [f"- {p.text} [{clock(p.citations[0].start)}]" for p in summary.overview]
        cited = [p.citations[0].segment_id for p in summary.overview]
    return "\n".join(lines), tuple(dict.fromkeys(cited)), list(dict.fromkeys(expected))


def due_day(due: date | None, full: bool = True) -> str:
    if due is None:
        return ""
    return f" by {due:%A} {due.day} {due:%B}" if full else f" by {due:%A}"


def is_mine(item: ActionItem, user: str) -> bool:
    return item.owner is not None and item.owner.strip().lower() == user.strip().lower()


def step(item: ActionItem, user: str, full: bool = True) -> str:
    """'- Bob: Send the design by Thursday 26 November.', or '- I will ...' for the user's own."""
    task = item.task.strip().rstrip(".")
    if is_mine(item, user):
        return f"- I will {task[:1].lower()}{task[1:]}{due_day(item.due, full)}."
    return f"- {item.owner or 'Someone'}: {task}{due_day(item.due, full)}."


def _who_when(items: tuple[ActionItem, ...], user: str) -> str:
    """'Next steps: Bob (Thursday, Friday), Carol (Tuesday) and mine (Wednesday).'"""
    days: dict[str, list[str]] = defaultdict(list)
    for item in items:
        who = "mine" if is_mine(item, user) else item.owner or "someone"
        days[who] += [f"{item.due:%A}"] if item.due and f"{item.due:%A}" not in days[who] else []
    parts = [f"{who} ({', '.join(d)})" if d else who for who, d in days.items()]
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    return f"Next steps: {listed}."
