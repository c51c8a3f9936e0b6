"""Stored meetings: the transcript and its summary, kept per tenant, so later commands
(a follow-up draft, a question, capture for training) can name a meeting by its id.

Rows are `*Record` and stay in this module; callers get the frozen `StoredMeeting`. Every
lookup is scoped to one tenant: an id from another tenant reads as "no such meeting". Every
write keeps the meeting's full-text index (`search_index`) in step, in its transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Set
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, String, insert, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, mapped_column

from minutekeeper.core.db import (
    Base,
    UTCDateTime,
    read_transaction,
    row_transaction,
    rows_after,
    rows_by_id_or_prefix,
    table_of,
    utcnow,
)
from minutekeeper.features.meetings.errors import (
    AmbiguousMeeting,
    InvalidSpeakerName,
    MeetingNotFound,
)
from minutekeeper.features.meetings.search_index import index_meeting, purge_removed, unindex
from minutekeeper.features.summary.render import from_dict as summary_from_dict
from minutekeeper.features.summary.render import to_dict as summary_to_dict
from minutekeeper.features.summary.summary import Summary
from minutekeeper.features.transcription.formats import from_dict as transcript_from_dict
from minutekeeper.features.transcription.formats import to_dict as transcript_to_dict
from minutekeeper.features.transcription.transcript import Transcript

LIST_LIMIT = 50


class MeetingRecord(Base):
    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    owner_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"))
    title: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(500))
    language: Mapped[str | None] = mapped_column(String(16))
    duration: Mapped[float] = mapped_column(Float)
    meeting_date: Mapped[date | None] = mapped_column(Date)
    transcript: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class MeetingInfo:
    """What a listing shows, without loading the transcript."""

    id: str
    title: str
    source: str
    duration: float
    meeting_date: date | None
    created_at: datetime
    summarized: bool
    owner_id: str


@dataclass(frozen=True)
class StoredMeeting:
    info: MeetingInfo
    tenant_id: str
    owner_id: str
    transcript: Transcript
    summary: Summary | None


def save_meeting(
    engine: Engine,
    *,
    tenant_id: str,
    owner_id: str,
    title: str,
    transcript: Transcript,
    summary: Summary | None = None,
    meeting_id: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> MeetingInfo:
    """Keep a meeting; `meeting_id` lets a job key its result by its own id (a retried job
    then finds its meeting instead of making a second one)."""
    meeting_id = meeting_id or str(uuid.uuid4())
    transcript_dict = transcript_to_dict(transcript)
    summary_dict = summary_to_dict(summary) if summary else None
    values = {
        "id": meeting_id,
        "tenant_id": tenant_id,
        "owner_id": owner_id,
        "title": title[:200],
        "source": transcript.source[:500],
        "language": transcript.language,
        "duration": transcript.duration,
        # the stated day only: offers read it as a claim about the words' time
        "meeting_date": summary.stated_day if summary else None,
        "transcript": transcript_dict,
        "summary": summary_dict,
        "created_at": clock(),
    }
    with row_transaction(engine) as conn:
        conn.execute(insert(MeetingRecord).values(**values))
        index_meeting(conn, meeting_id, transcript_dict, summary_dict)
    return _info(values, summarized=summary is not None)


def find_meeting(
    engine: Engine,
    tenant_id: str,
    ref: str,
    *,
    owner_id: str | None = None,
    shared: Collection[str] = (),
) -> StoredMeeting:
    """The tenant's meeting with id `ref`, or the only one whose id starts with it; with
    `owner_id`, only that person's meetings and those whose ids are in `shared` are
    looked at (others' read as missing)."""
    with read_transaction(engine) as conn:
        return lookup(conn, tenant_id, ref, owner_id=owner_id, shared=shared)


def remove_meeting(conn: Connection, tenant_id: str, meeting_id: str) -> None:
    """Delete the meeting's row and its words' index on the caller's transaction `conn`
    (its drafts, which refer to it, must go first)."""
    table = table_of(MeetingRecord)
    unindex(conn, [meeting_id])
    conn.execute(table.delete().where(table.c.id == meeting_id, table.c.tenant_id == tenant_id))
    purge_removed(conn)


def _visible(table: Any, owner_id: str, shared: Collection[str]) -> Any:
    mine = table.c.owner_id == owner_id
    return or_(mine, table.c.id.in_(sorted(shared))) if shared else mine


def still_saved(conn: Connection, tenant_id: str, meeting_id: str) -> bool:
    """Whether the meeting is still saved, on the caller's transaction `conn`; if so, it
    stays so until that transaction ends (PostgreSQL: its row is share-locked, which a
    deletion waits for; SQLite's writer holds the whole database), so a row referring to
    it can be written there."""
    table = table_of(MeetingRecord)
    query = select(table.c.id).where(table.c.id == meeting_id, table.c.tenant_id == tenant_id)
    return conn.execute(query.with_for_update(read=True)).first() is not None


def lookup(
    conn: Connection,
    tenant_id: str,
    ref: str,
    *,
    owner_id: str | None,
    shared: Collection[str] = (),
    lock: bool = False,
) -> StoredMeeting:
    """`find_meeting` on the caller's transaction `conn`; with `lock`, the row is locked
    until it ends (PostgreSQL; SQLite's writer holds the whole database)."""
    table = table_of(MeetingRecord)
    query = select(table).where(table.c.tenant_id == tenant_id)
    if owner_id is not None:
        query = query.where(_visible(table, owner_id, shared))
    if lock:
        query = query.with_for_update()
    rows = rows_by_id_or_prefix(conn, query, table.c.id, ref)
    if not rows:
        raise MeetingNotFound(
            f"no meeting {ref!r}; `minutekeeper meetings list` shows the meetings you have"
        )
    if len(rows) > 1:
        raise AmbiguousMeeting(f"{ref!r} starts more than one meeting id; type more of it")
    row = rows[0]._mapping
    where = f"meeting {row['id']}"
    return StoredMeeting(
        info=_info(row, summarized=row["summary"] is not None),
        tenant_id=row["tenant_id"],
        owner_id=row["owner_id"],
        transcript=transcript_from_dict(row["transcript"], where=f"{where} transcript"),
        summary=summary_from_dict(row["summary"], where=f"{where} summary")
        if row["summary"] is not None
        else None,
    )


def transcripts_of(
    engine: Engine, tenant_id: str, meeting_ids: Collection[str]
) -> dict[str, Transcript]:
    """The transcripts of those of `meeting_ids` that are the tenant's meetings."""
    if not meeting_ids:
        return {}
    table = table_of(MeetingRecord)
    with read_transaction(engine) as conn:
        rows = conn.execute(
            select(table.c.id, table.c.transcript).where(
                table.c.tenant_id == tenant_id, table.c.id.in_(sorted(meeting_ids))
            )
        ).all()
    return {
        row.id: transcript_from_dict(row.transcript, where=f"meeting {row.id} transcript")
        for row in rows
    }


def existing(engine: Engine, meeting_ids: Collection[str]) -> set[str]:
    """Which of `meeting_ids` are saved meetings (of any tenant)."""
    table = table_of(MeetingRecord)
    with read_transaction(engine) as conn:
        return set(conn.execute(select(table.c.id).where(table.c.id.in_(meeting_ids))).scalars())


def list_meetings(
    engine: Engine,
    tenant_id: str,
    *,
    owner_id: str | None = None,
    shared: Collection[str] = (),
    after: str | None = None,
    limit: int | None = LIST_LIMIT,
) -> list[MeetingInfo]:
    """The tenant's newest meetings first (only `owner_id`'s and those whose ids are in
    `shared`, when `owner_id` is given): those after the meeting `after`, at most `limit`
    (all with None)."""
    table = table_of(MeetingRecord)
    columns = [c for c in table.c if c.name not in ("transcript", "summary")]
    query = select(*columns, table.c.summary.is_not(None).label("summarized")).where(
        table.c.tenant_id == tenant_id
    )
    if owner_id is not None:
        query = query.where(_visible(table, owner_id, shared))
    order = [(table.c.created_at, True), (table.c.id, False)]
    with read_transaction(engine) as conn:
        rows = rows_after(conn, query, order=order, id_column=table.c.id, after=after,
                          limit=limit)  # fmt: skip
    return [_info(r._mapping, summarized=bool(r.summarized)) for r in rows]


def _info(values: Mapping[Any, Any], *, summarized: bool) -> MeetingInfo:
    return MeetingInfo(
        id=values["id"],
        title=values["title"],
        source=values["source"],
        duration=values["duration"],
        meeting_date=values["meeting_date"],
        created_at=values["created_at"],
        summarized=summarized,
        owner_id=values["owner_id"],
    )


def rename_speakers(
    engine: Engine, tenant_id: str, meeting_id: str, names: Mapping[str, str]
) -> StoredMeeting:
    """Give speakers their names (speaker id -> name); an action item owned by a renamed
    speaker's old name follows it. Unknown speaker ids are refused."""
    table = table_of(MeetingRecord)
    mine = (table.c.id == meeting_id) & (table.c.tenant_id == tenant_id)
    with row_transaction(engine) as conn:
        row = conn.execute(select(table.c.transcript, table.c.summary).where(mine)).first()
        if row is None:
            raise MeetingNotFound(f"no meeting {meeting_id!r}")
        speakers = {s["id"]: s for s in row.transcript["speakers"]}
        unknown = sorted(set(names) - set(speakers))
        if unknown:
            raise InvalidSpeakerName(
                f"no speaker {', '.join(unknown)} in this meeting; it has {', '.join(speakers)}"
            )
        old = {speakers[sid]["name"] or sid: name for sid, name in names.items()}
        transcript = {
            **row.transcript,
            "speakers": [
                {**s, "name": names.get(s["id"], s["name"])} for s in row.transcript["speakers"]
            ],
        }
        summary = _renamed_owners(row.summary, old) if row.summary is not None else None
        conn.execute(table.update().where(mine).values(transcript=transcript, summary=summary))
        index_meeting(conn, meeting_id, transcript, summary)
    return find_meeting(engine, tenant_id, meeting_id)


def _renamed_owners(summary: dict[str, Any], old: Mapping[str, str]) -> dict[str, Any]:
    items = summary.get("action_items")
    if not isinstance(items, list):
        return summary
    renamed = [
        {**item, "owner": old.get(item["owner"], item["owner"])}
        if isinstance(item, dict) and isinstance(item.get("owner"), str)
        else item
        for item in items
    ]
    return {**summary, "action_items": renamed}


def erase_speaker(
    engine: Engine,
    tenant_id: str,
    *,
    name: str | None,
    labels: Mapping[str, Set[str]],
) -> tuple[list[str], list[str]]:
    """Remove a person's words from the tenant's meetings: the speakers attributed to them
    (`labels`: meeting id -> speaker names claimed theirs) or named as they are now have
    their segments deleted and leave the speaker list, and the summary (derived from
    everyone's words, theirs included) is dropped; the rest of the transcript stays.
    Returns the ids of the meetings that changed (their recordings hold the person's voice
    too) and the words deleted (to find copies of them elsewhere)."""
    table = table_of(MeetingRecord)
    changed: list[str] = []
    words: list[str] = []
    with row_transaction(engine) as conn:
        rows = conn.execute(
            select(table.c.id, table.c.transcript).where(table.c.tenant_id == tenant_id)
        ).all()
        for row in rows:
            transcript = row.transcript
            claimed = labels.get(row.id, set())
            theirs = {
                s["id"]
                for s in transcript["speakers"]
                if s.get("name") is not None and (s["name"] == name or s["name"] in claimed)
            }
            if not theirs:
                continue
            words.extend(s["text"] for s in transcript["segments"] if s["speaker"] in theirs)
            transcript = {
                **transcript,
                "speakers": [s for s in transcript["speakers"] if s["id"] not in theirs],
                "segments": [s for s in transcript["segments"] if s["speaker"] not in theirs],
            }
            conn.execute(
                table.update()
                .where(table.c.id == row.id)
                .values(transcript=transcript, summary=None)
            )
            index_meeting(conn, row.id, transcript, None)
            changed.append(row.id)
        if changed:
            purge_removed(conn)
    return changed, words
