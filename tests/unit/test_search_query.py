"""A search query is what a person typed, read as words and "quoted phrases" only: nothing
in it reaches FTS5's (or tsquery's) own syntax."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minutekeeper.core.errors import InvalidInput
from minutekeeper.features.meetings.search import MAX_QUERY, SearchQuery, marked, runs


@pytest.mark.parametrize(
    ("typed", "words", "phrases"),
    [
        ("Calendar sync", ("calendar", "sync"), ()),
        ('"annual plan" pricing', ("pricing",), (("annual", "plan"),)),
        ('"ship"', ("ship",), ()),  # a quoted word is a word
        ("NEAR(calendar sync, 2)", ("near", "calendar", "sync", "2"), ()),
        ("text:calendar*", ("text", "calendar"), ()),
        ('"unclosed phrase', (), (("unclosed", "phrase"),)),
        ("café ß 東京", ("café", "ß", "東京"), ()),
        ("don't", ("don", "t"), ()),
        ("a a A", ("a",), ()),
    ],
)
def test_a_query_is_its_words_and_quoted_phrases(
    typed: str, words: tuple[str, ...], phrases: tuple[tuple[str, ...], ...]
) -> None:
    assert SearchQuery.parse(typed) == SearchQuery(words, phrases)


@pytest.mark.parametrize("typed", ["", "   ", '"', '""', "!?", "*:()", "_", "x" * (MAX_QUERY + 1)])
def test_an_empty_wordless_or_too_long_query_is_invalid(typed: str) -> None:
    with pytest.raises(InvalidInput):
        SearchQuery.parse(typed)


def test_as_fts5_every_word_and_phrase_is_one_quoted_string() -> None:
    query = SearchQuery.parse('ship "annual plan" OR -x')
    assert query.fts5() == '"ship" "or" "x" "annual plan"'


@pytest.fixture(scope="module")
def fts() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(text, tokenize='porter unicode61')")
    conn.execute("INSERT INTO t VALUES ('We ship the annual plan on Thursday.')")
    return conn


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=MAX_QUERY))
def test_whatever_is_typed_fts5_runs_it_or_it_was_refused(
    fts: sqlite3.Connection, typed: str
) -> None:
    try:
        query = SearchQuery.parse(typed)
    except InvalidInput:
        return
    fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (query.fts5(),)).fetchall()


def test_a_typed_operator_never_widens_a_search(fts: sqlite3.Connection) -> None:
    def found(typed: str) -> int:
        rows = fts.execute(
            "SELECT rowid FROM t WHERE t MATCH ?", (SearchQuery.parse(typed).fts5(),)
        )
        return len(rows.fetchall())

    assert found("shipping") == 1 and found('"annual plan"') == 1
    assert found("ship OR zebra") == 0 and found("zebra OR ship") == 0
    assert found("NOT zebra") == 0 and found("ship*") == 1 and found("text:ship") == 0


def test_a_snippets_markers_become_highlight_spans() -> None:
    snippet, spans = marked("we \x02ship\x03 the \x02plan\x03.")
    assert snippet == "we ship the plan." and spans == ((3, 7), (12, 16))
    assert runs(snippet, spans) == [("we ", False), ("ship", True), (" the ", False),
                                    ("plan", True), (".", False)]  # fmt: skip
