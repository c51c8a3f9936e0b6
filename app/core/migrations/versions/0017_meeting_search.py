"""Full-text search over saved meetings: `meeting_search` holds one row per transcript
segment and per summary item (its text, speaker or owner, and the segment and start it
points at); the database indexes its words. On SQLite an FTS5 table over those rows
(external content, Porter stemming) kept in step by triggers; on PostgreSQL a generated
`tsvector` column (English stemming) with a GIN index. The meetings already saved are
indexed here, by the rules of this revision (`features.meetings.search_index.entries`).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-09
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_FTS = "meeting_search_fts"
_SECTIONS = ("overview", "key_points", "decisions", "action_items", "open_questions", "chapters")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SQLITE = [
    f"CREATE VIRTUAL TABLE {_FTS} USING fts5(text, content='meeting_search', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER meeting_search_ai AFTER INSERT ON meeting_search BEGIN "
    f"INSERT INTO {_FTS}(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER meeting_search_ad AFTER DELETE ON meeting_search BEGIN "
    f"INSERT INTO {_FTS}({_FTS}, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER meeting_search_au AFTER UPDATE ON meeting_search BEGIN "
    f"INSERT INTO {_FTS}({_FTS}, rowid, text) VALUES ('delete', old.id, old.text); "
    f"INSERT INTO {_FTS}(rowid, text) VALUES (new.id, new.text); END",
]
_POSTGRESQL = [
    "ALTER TABLE meeting_search ADD COLUMN words tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED",
    "CREATE INDEX ix_meeting_search_words ON meeting_search USING gin (words)",
]


def upgrade() -> None:
    op.create_table(
        "meeting_search",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.String(length=36), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("section", sa.String(length=32), nullable=True),
        sa.Column("segment_id", sa.String(length=64), nullable=True),
        sa.Column("start", sa.Float(), nullable=True),
        sa.Column("speaker", sa.String(length=200), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_meeting_search_meeting_id_meetings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_search")),
    )
    op.create_index("ix_meeting_search_meeting", "meeting_search", ["meeting_id", "ordinal"])
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _SQLITE if sqlite else _POSTGRESQL:
        op.execute(statement)
    _index_saved_meetings()


def _index_saved_meetings() -> None:
    conn = op.get_bind()
    meetings = sa.table(
        "meetings",
        sa.column("id", sa.String),
        sa.column("transcript", sa.JSON),
        sa.column("summary", sa.JSON),
    )
    names = ("meeting_id", "ordinal", "kind", "section", "segment_id", "start", "speaker", "text")
    search = sa.table("meeting_search", *(sa.column(name) for name in names))
    for meeting_id in conn.execute(sa.select(meetings.c.id)).scalars().all():
        row = conn.execute(
            sa.select(meetings.c.transcript, meetings.c.summary).where(meetings.c.id == meeting_id)
        ).one()
        rows = _entries(row.transcript, row.summary)
        if rows:
            conn.execute(sa.insert(search), [{**r, "meeting_id": meeting_id} for r in rows])


def _entries(transcript: dict[str, Any], summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The rows of one meeting: its summary's items, then its transcript's segments."""
    rows: list[dict[str, Any]] = []
    for section in _SECTIONS if summary else ():
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


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("meeting_search_ai", "meeting_search_ad", "meeting_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute(f"DROP TABLE IF EXISTS {_FTS}")
    op.drop_index("ix_meeting_search_meeting", table_name="meeting_search")
    op.drop_table("meeting_search")
