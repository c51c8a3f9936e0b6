"""The full-text index of saved meetings: each transcript segment (its words, speaker and
start) and each summary item (its text, and the moment its first citation names) is one
row of `meeting_search`, written by the store in the transaction that writes the meeting
(saved, speakers renamed, a person's words erased, deleted).

The words are indexed by the database itself (migration 0017): on SQLite an FTS5 table
over these rows (`meeting_search_fts`, kept in step by triggers, Porter stemming), on
PostgreSQL a `tsvector` column generated from the text (English stemming) with a GIN
index. `features.meetings.search` queries them.

Deleting rows leaves their words in FTS5's older index segments until those are merged:
after a deletion or an erasure `purge_removed` merges them at once, so the words are gone
from the file once SQLite's `secure_delete` and the caller's WAL checkpoint are.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, insert, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from minutekeeper.core.db import Base, is_sqlite, table_of

FTS_TABLE = "meeting_search_fts"  # SQLite: the FTS5 table over `meeting_search`
TSVECTOR_COLUMN = "words"  # PostgreSQL: the generated tsvector column, GIN-indexed
# What migration 0017 makes beside the table that no `*Record` can declare: FTS5's table
# and its shadow tables (SQLite), the tsvector column and its index (PostgreSQL).
UNDECLARED_TABLES = (FTS_TABLE, *(f"{FTS_TABLE}_{s}" for s in ("data", "idx", "docsize", "config")))
UNDECLARED_INDEXES = ("ix_meeting_search_words",)
SUMMARY_SECTIONS = ("overview", "key_points", "decisions", "action_items", "open_questions",
                    "chapters")  # fmt: skip
# Control characters never reach the index: the search marks matched words with two.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class SearchEntryRecord(Base):
    __tablename__ = "meeting_search"
    __table_args__ = (Index("ix_meeting_search_meeting", "meeting_id", "ordinal"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id"))
    ordinal: Mapped[int] = mapped_column(Integer)  # the summary's items first, then segments
    kind: Mapped[str] = mapped_column(String(16))  # transcript | summary
    section: Mapped[str | None] = mapped_column(String(32))  # a summary item's section
    segment_id: Mapped[str | None] = mapped_column(String(64))  # its segment, or cited one
    start: Mapped[float | None] = mapped_column(Float)
    speaker: Mapped[str | None] = mapped_column(String(200))  # or an action item's owner
    text: Mapped[str] = mapped_column(Text)


def entries(
    transcript: Mapping[str, Any], summary: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """The index rows of a meeting stored as `transcript` and `summary` (their JSON forms):
    the summary's items in their sections' order, then the transcript's segments."""
    rows: list[dict[str, Any]] = []
    for section in SUMMARY_SECTIONS if summary else ():
        for item in (summary or {}).get(section) or []:
            said = item.get("text") or item.get("task") or item.get("title") or ""
            cited = (item.get("citations") or [{}])[0]
            rows.append({"kind": "summary", "section": section, "text": said,
                         "segment_id": cited.get("segment_id"), "start": cited.get("start"),
                         "speaker": item.get("owner")})  # fmt: skip
    names = {s["id"]: s.get("name") or s["id"] for s in transcript.get("speakers", [])}
    for segment in transcript.get("segments", []):
        rows.append({"kind": "transcript", "section": None, "text": segment["text"],
                     "segment_id": segment["id"], "start": segment["start"],
                     "speaker": names.get(segment["speaker"], segment["speaker"])})  # fmt: skip
    kept = [row for row in rows if row["text"].strip()]
    return [
        {**row, "ordinal": i, "text": _CONTROL.sub(" ", row["text"]),
         "speaker": str(row["speaker"])[:200] if row["speaker"] else None}
        for i, row in enumerate(kept)
    ]  # fmt: skip


def index_meeting(
    conn: Connection,
    meeting_id: str,
    transcript: Mapping[str, Any],
    summary: Mapping[str, Any] | None,
) -> None:
    """(Re)index the meeting on the caller's transaction `conn`: its old rows go, the rows
    of `transcript` and `summary` come in."""
    unindex(conn, [meeting_id])
    rows = entries(transcript, summary)
    if rows:
        conn.execute(insert(SearchEntryRecord), [{**r, "meeting_id": meeting_id} for r in rows])


def unindex(conn: Connection, meeting_ids: Collection[str]) -> None:
    """Remove the meetings' rows on the caller's transaction `conn`."""
    entry = table_of(SearchEntryRecord)
    conn.execute(entry.delete().where(entry.c.meeting_id.in_(list(meeting_ids))))


def purge_removed(conn: Connection) -> None:
    """Words that must be gone (a deletion, an erasure) leave the index's file too: on
    SQLite, FTS5 keeps a removed row's words in its older segments until they are merged,
    so they are merged now. PostgreSQL's dead rows wait for VACUUM, as the table's do."""
    if is_sqlite(conn):
        conn.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')"))
