"""Due dates: find a deadline phrase in a sentence and resolve it against the meeting date.
Without a meeting date the phrase is kept and its day left open (a date written out in
full, 2026-12-03, needs no meeting date and is kept as a day).

Calendar phrases ("December 3rd", "in two weeks", "tomorrow") are read by `dateparser`
(a maintained parser) with the meeting date as its base. Phrases that depend on a convention
about weeks are resolved here, with the convention written down once (weeks start on
Monday):

- a bare weekday, or "this <weekday>": the next such day after the meeting (a week later
  when it is the meeting's own weekday);
- "next <weekday>" and "<weekday> next week": that weekday in the following calendar week;
- "end of the week": Friday of the meeting's week; "end of next week": Friday of the next;
- "next week": Monday of the next week; "end of the month": its last day;
- "end of day", "EOD", "today", "tonight": the meeting date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from minutekeeper.features.summary.errors import InvalidMeetingDate

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY = "|".join(WEEKDAYS)
_MONTH = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_NUMBER = r"a|an|one|two|three|four|five|six|\d{1,2}"
_ORDINAL = r"\d{1,2}(?:st|nd|rd|th)?"
_WHEN = rf"""
    (?:the\s+)?end\s+of\s+(?:the\s+|this\s+|next\s+)?(?:day|week|month)
  | eod | today | tonight | tomorrow
  | (?:next|this|coming)\s+(?:week|month|{_DAY})
  | (?:{_DAY})(?:\s+(?:next|this)\s+week)?
  | in\s+(?:{_NUMBER})\s+(?:days?|weeks?)
  | (?:{_MONTH})\.?\s+{_ORDINAL}
  | (?:the\s+)?{_ORDINAL}\s+(?:of\s+)?(?:{_MONTH})
  | \d{{4}}-\d{{2}}-\d{{2}}
"""
_LEAD = r"(?:(?:by|before|until|till|on|due|no\s+later\s+than)\s+)?"
PHRASE = re.compile(rf"\b{_LEAD}(?P<when>{_WHEN})\b", re.IGNORECASE | re.VERBOSE)
_FRIDAY = 4
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Without a meeting date, a phrase counts when it would resolve to a day from this one.
_ANY_DAY = date(2024, 1, 1)


def parse_day(value: str, *, option: str) -> date:
    """A meeting date as typed (YYYY-MM-DD); `option` names the field in the refusal."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError as error:
        raise InvalidMeetingDate(f"{option} takes YYYY-MM-DD, not {value!r}") from error


@dataclass(frozen=True)
class Due:
    phrase: str  # as said, e.g. "by Thursday"
    date: date | None  # None: no meeting date to resolve the phrase against


def find_due(text: str, meeting_date: date | None) -> Due | None:
    """The first deadline phrase in `text` that resolves to a day, or None. Without a
    meeting date, the first that would: its phrase, its day left open."""
    for match in PHRASE.finditer(text):
        when = match.group("when")
        resolved = resolve(when, meeting_date or _ANY_DAY)
        if resolved is None:
            continue
        if meeting_date is None and not _ISO_DAY.fullmatch(when):
            resolved = None
        return Due(match.group(0).strip(), resolved)
    return None


def resolve(when: str, meeting_date: date) -> date | None:
    """The day a phrase like "Thursday" or "end of next week" means, said on `meeting_date`."""
    words = re.sub(r"\s+", " ", when.lower().strip()).removeprefix("the ")
    monday = meeting_date - timedelta(days=meeting_date.weekday())
    fixed = {
        "today": meeting_date,
        "tonight": meeting_date,
        "eod": meeting_date,
        "end of day": meeting_date,
        "end of the day": meeting_date,
        "end of this day": meeting_date,
        "tomorrow": meeting_date + timedelta(days=1),
        "end of the week": monday + timedelta(days=_FRIDAY),
        "end of this week": monday + timedelta(days=_FRIDAY),
        "end of week": monday + timedelta(days=_FRIDAY),
        "end of next week": monday + timedelta(days=7 + _FRIDAY),
        "next week": monday + timedelta(days=7),
        "coming week": monday + timedelta(days=7),
        "end of the month": _month_end(meeting_date, 0),
        "end of this month": _month_end(meeting_date, 0),
        "end of month": _month_end(meeting_date, 0),
        "end of next month": _month_end(meeting_date, 1),
        "next month": _month_end(meeting_date, 0) + timedelta(days=1),
    }
    if words in fixed:
        return fixed[words]
    weekday = _weekday(words)
    if weekday is not None:
        if words.startswith("next ") or words.endswith(" next week"):
            return monday + timedelta(days=7 + weekday)
        ahead = (weekday - meeting_date.weekday()) % 7 or 7
        return meeting_date + timedelta(days=ahead)
    return _calendar(words, meeting_date)


def _weekday(words: str) -> int | None:
    for index, name in enumerate(WEEKDAYS):
        if re.fullmatch(rf"(?:(?:next|this|coming) )?{name}(?: (?:next|this) week)?", words):
            return index
    return None


def _month_end(day: date, months_ahead: int) -> date:
    year, month = divmod(day.month - 1 + months_ahead + 1, 12)
    return date(day.year + year, month + 1, 1) - timedelta(days=1)


def _calendar(words: str, meeting_date: date) -> date | None:
    import dateparser

    words = re.sub(r"\b(a|an)\b", "1", words)
    parsed = dateparser.parse(
        words,
        languages=["en"],
        settings={
            "RELATIVE_BASE": datetime.combine(meeting_date, datetime.min.time()),
            "PREFER_DATES_FROM": "future",
            "REQUIRE_PARTS": ["day"],
        },
    )
    return parsed.date() if parsed is not None else None
