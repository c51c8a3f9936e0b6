"""Finding words in saved meetings through their full-text index (`search_index`).

A query is a person's words, never the database's query language: `SearchQuery.parse`
keeps only words (runs of letters and digits) and "quoted phrases"; they reach FTS5 as
quoted strings (a word holds no quote) and PostgreSQL through `plainto_tsquery` and
`phraseto_tsquery` as bound values. Quotes, operators, `NEAR(…)` or `column:` filters
typed by a person are searched for as words and never parsed. Every word and phrase must
be found; words match their other forms (ship, shipping).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from typing import Any, Literal

from sqlalchemy import func, literal_column, or_, select, table, text
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.sql.elements import ColumnElement

from minutekeeper.core.db import is_sqlite, read_transaction, rows_after, table_of
from minutekeeper.core.errors import InvalidInput
from minutekeeper.features.meetings.search_index import (
    FTS_TABLE,
    TSVECTOR_COLUMN,
    SearchEntryRecord,
)
from minutekeeper.features.meetings.store import MeetingRecord

MAX_QUERY = 200  # characters a query may have
_START, _STOP = "\x02", "\x03"  # around a matched word in a snippet; never in indexed text
_WORD = re.compile(r"[^\W_]+")
_PHRASE = re.compile(r'"([^"]*)"?')
_REGCONFIG: ColumnElement[Any] = literal_column("'english'::regconfig")
_HEADLINE = (f"StartSel={_START}, StopSel={_STOP}, MaxWords=24, MinWords=12, ShortWord=0, "
             "MaxFragments=1, FragmentDelimiter=\" … \"")  # fmt: skip
_SNIPPET_TOKENS = 16


@dataclass(frozen=True)
class SearchQuery:
    """What a person searches for: every word and every phrase must be found."""

    words: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def parse(cls, typed: str) -> SearchQuery:
        """The words and "quoted phrases" of `typed` (a quoted single word is a word);
        anything else in it only separates words. Empty, wordless or longer than
        `MAX_QUERY` characters: `InvalidInput`."""
        if len(typed) > MAX_QUERY:
            raise InvalidInput(f"the query is over {MAX_QUERY} characters")
        if not typed.strip():
            raise InvalidInput("the query is empty: give a word to search for")
        quoted = [tuple(w.lower() for w in _WORD.findall(p)) for p in _PHRASE.findall(typed)]
        words = [w.lower() for w in _WORD.findall(_PHRASE.sub(" ", typed))]
        words += [p[0] for p in quoted if len(p) == 1]
        query = cls(
            tuple(dict.fromkeys(words)), tuple(dict.fromkeys(p for p in quoted if len(p) > 1))
        )
        if not query.words and not query.phrases:
            raise InvalidInput("the query has no words to search for")
        return query

    def fts5(self) -> str:
        """As an FTS5 query: each word and phrase one quoted string, all of them required."""
        return " ".join([*(f'"{w}"' for w in self.words),
                         *(f'"{" ".join(p)}"' for p in self.phrases)])  # fmt: skip

    def tsquery(self) -> ColumnElement[Any]:
        """As a PostgreSQL tsquery made from bound values, all of it required."""
        parts = [func.plainto_tsquery(_REGCONFIG, " ".join(self.words))] if self.words else []
        parts += [func.phraseto_tsquery(_REGCONFIG, " ".join(p)) for p in self.phrases]
        return reduce(lambda a, b: a.op("&&")(b), parts)


@dataclass(frozen=True)
class SearchHit:
    id: int  # the index row's: the cursor of a page that ends with this hit
    meeting_id: str
    title: str
    owner_id: str
    created_at: datetime
    kind: Literal["transcript", "summary"]
    section: str | None  # a summary item's section
    segment_id: str | None  # the segment said, or the one a summary item cites first
    start: float | None
    speaker: str | None  # a segment's speaker, an action item's owner
    snippet: str
    highlights: tuple[tuple[int, int], ...]  # [start, end) of each matched run in it


def find_hits(
    engine: Engine,
    tenant_id: str,
    query: SearchQuery,
    *,
    owner_id: str,
    shared: Collection[str] = (),
    after: str | None = None,
    limit: int | None = None,
) -> list[SearchHit]:
    """Where the query is found in the tenant's meetings that `owner_id` owns or whose id
    is in `shared`, and nowhere else: newest meeting first, each one's summary items
    before its transcript in time order; those after the hit `after` (refused when it is
    no hit of this search), at most `limit`."""
    if after is not None and not after.isdigit():
        raise InvalidInput(f"the cursor {after!r} names nothing in this list")
    entry, meeting = table_of(SearchEntryRecord), table_of(MeetingRecord)
    with read_transaction(engine) as conn:
        match, snippet, source = _matching(conn, query)
        columns = [entry.c.id, entry.c.meeting_id, meeting.c.title, meeting.c.owner_id,
                   meeting.c.created_at, entry.c.kind, entry.c.section, entry.c.segment_id,
                   entry.c.start, entry.c.speaker, snippet.label("snippet")]  # fmt: skip
        visible = meeting.c.owner_id == owner_id
        if shared:
            visible = or_(visible, meeting.c.id.in_(sorted(shared)))
        found = (
            select(*columns)
            .select_from(source.join(meeting, meeting.c.id == entry.c.meeting_id))
            .where(match, meeting.c.tenant_id == tenant_id, visible)
        )
        order = [(meeting.c.created_at, True), (meeting.c.id, False), (entry.c.ordinal, False),
                 (entry.c.id, False)]  # fmt: skip
        rows = rows_after(conn, found, order=order, id_column=entry.c.id,
                          after=int(after) if after else None, limit=limit)  # fmt: skip
    return [_hit(row._mapping) for row in rows]


def _matching(conn: Connection, query: SearchQuery) -> tuple[Any, ColumnElement[Any], Any]:
    """The backend's match condition, snippet and FROM for `query`."""
    entry = table_of(SearchEntryRecord)
    if is_sqlite(conn):
        rowid: ColumnElement[Any] = literal_column(f"{FTS_TABLE}.rowid")
        match = text(f"{FTS_TABLE} MATCH :fts_query").bindparams(fts_query=query.fts5())
        snippet: ColumnElement[Any] = literal_column(
            f"snippet({FTS_TABLE}, 0, char(2), char(3), '…', {_SNIPPET_TOKENS})"
        )
        return match, snippet, table(FTS_TABLE).join(entry, entry.c.id == rowid)
    tsquery = query.tsquery()
    words: ColumnElement[Any] = literal_column(f"{entry.name}.{TSVECTOR_COLUMN}")
    snippet = func.ts_headline(_REGCONFIG, entry.c.text, tsquery, _HEADLINE)
    return words.op("@@")(tsquery), snippet, entry


def _hit(row: RowMapping) -> SearchHit:
    snippet, highlights = marked(row["snippet"] or "")
    return SearchHit(
        id=row["id"], meeting_id=row["meeting_id"], title=row["title"],
        owner_id=row["owner_id"], created_at=row["created_at"], kind=row["kind"],
        section=row["section"], segment_id=row["segment_id"], start=row["start"],
        speaker=row["speaker"], snippet=snippet, highlights=highlights,
    )  # fmt: skip


def marked(raw: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A snippet without its match markers, and where each marked run was in it."""
    out: list[str] = []
    found: list[tuple[int, int]] = []
    length, opened = 0, None
    for part in re.split(f"([{_START}{_STOP}])", raw):
        if part == _START:
            opened = length
        elif part == _STOP:
            if opened is not None and length > opened:
                found.append((opened, length))
            opened = None
        else:
            out.append(part)
            length += len(part)
    return "".join(out), tuple(found)


def runs(snippet: str, highlights: Sequence[tuple[int, int]]) -> list[tuple[str, bool]]:
    """The snippet as (text, matched) runs, for a page to mark the matched ones."""
    parts, at = [], 0
    for begin, end in highlights:
        if begin > at:
            parts.append((snippet[at:begin], False))
        parts.append((snippet[begin:end], True))
        at = end
    if at < len(snippet):
        parts.append((snippet[at:], False))
    return parts
