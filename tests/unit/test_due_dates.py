"""Due-date phrases resolved against the meeting date, by the conventions in dates.py."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minutekeeper.features.summary.dates import WEEKDAYS, find_due, resolve

MONDAY = date(2026, 11, 23)
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


@pytest.mark.parametrize(
    ("sentence", "phrase", "due"),
    [
        ("I will send the draft by Thursday.", "by Thursday", "2026-11-26"),
        ("I'll update the copy by Tuesday next week.", "by Tuesday next week", "2026-12-01"),
        ("Finish it by the end of next week?", "by the end of next week", "2026-12-04"),
        ("Send it to Carol by next Monday.", "by next Monday", "2026-11-30"),
        ("I'll rerun it by end of day.", "by end of day", "2026-11-23"),
        ("I'll call her tomorrow.", "tomorrow", "2026-11-24"),
        ("Have it done in two weeks.", "in two weeks", "2026-12-07"),
        ("By December 3rd, say?", "By December 3rd", "2026-12-03"),
        ("by the 15th of January", "by the 15th of January", "2027-01-15"),
        ("Wrap it up by the end of the month.", "by the end of the month", "2026-11-30"),
    ],
)
def test_phrases_resolve_to_the_day_the_team_means(sentence: str, phrase: str, due: str) -> None:
    found = find_due(sentence, MONDAY)
    assert found is not None
    assert (found.phrase, found.date.isoformat()) == (phrase, due)


@pytest.mark.parametrize("sentence", ["May I ask something?", "I sent it already.", "Soon, maybe."])
def test_sentences_without_a_deadline_have_none(sentence: str) -> None:
    assert find_due(sentence, MONDAY) is None


@given(days, st.sampled_from(WEEKDAYS))
def test_a_bare_weekday_is_the_next_such_day_within_a_week(day: date, weekday: str) -> None:
    due = resolve(weekday, day)
    assert due is not None
    assert 1 <= (due - day).days <= 7
    assert due.weekday() == WEEKDAYS.index(weekday)


@given(days, st.sampled_from(WEEKDAYS))
def test_next_weekday_falls_in_the_following_calendar_week(day: date, weekday: str) -> None:
    monday = day - timedelta(days=day.weekday())
    for phrase in (f"next {weekday}", f"{weekday} next week"):
        due = resolve(phrase, day)
        assert due is not None
        assert monday + timedelta(days=7) <= due < monday + timedelta(days=14)
        assert due.weekday() == WEEKDAYS.index(weekday)


@given(days)
def test_end_of_next_week_is_a_friday_after_the_meeting(day: date) -> None:
    due = resolve("end of next week", day)
    assert due is not None and due.weekday() == 4 and 5 <= (due - day).days <= 11


@pytest.mark.parametrize(
    ("sentence", "phrase", "due"),
    [
        ("I will send the draft by Thursday.", "by Thursday", None),
        ("Finish it by the end of next week?", "by the end of next week", None),
        ("Ship it by 2026-12-03.", "by 2026-12-03", date(2026, 12, 3)),  # needs no meeting date
    ],
)
def test_without_a_meeting_date_the_phrase_is_kept_and_its_day_left_open(
    sentence: str, phrase: str, due: date | None
) -> None:
    found = find_due(sentence, None)
    assert found is not None and (found.phrase, found.date) == (phrase, due)
    assert find_due("May I ask something?", None) is None
