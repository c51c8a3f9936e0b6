"""A summary written as JSON reads back as the same summary (saved meetings rely on it)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from minutekeeper.features.summary.render import from_dict, to_dict
from minutekeeper.features.summary.summary import ActionItem, Chapter, Citation, Point, Summary

texts = st.text(min_size=1, max_size=40)
seconds = st.floats(min_value=0, max_value=36_000, allow_nan=False)
citations = st.lists(
    st.builds(Citation, st.from_regex(r"s\d{4}", fullmatch=True), seconds), max_size=3
).map(tuple)
points = st.lists(st.builds(Point, texts, citations), max_size=3).map(tuple)
days = st.none() | st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))
actions = st.lists(
    st.builds(ActionItem, texts, st.none() | texts, days, st.none() | texts, citations),
    max_size=3,
).map(tuple)
chapters = st.lists(st.builds(Chapter, texts, seconds, seconds, citations), max_size=3).map(tuple)


@given(
    st.builds(
        Summary,
        overview=points,
        key_points=points,
        decisions=points,
        action_items=actions,
        open_questions=points,
        chapters=chapters,
        engine=st.sampled_from(["extractive", "llm", "hybrid"]),
        meeting_date=days,
        notes=st.lists(texts, max_size=2).map(tuple),
        dropped_claims=st.integers(0, 50),
    )
)
def test_to_dict_then_from_dict_is_the_same_summary(summary: Summary) -> None:
    assert from_dict(to_dict(summary)) == summary
