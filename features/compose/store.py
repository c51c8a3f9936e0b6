"""Drafts as they were shown, and the feedback on them: the text the user actually sent
and an optional rating. Capture for training reads these rows (the sent text is the
best target a draft can have); erasure deletes them.

A draft belongs to the person it was written for: only they can read it back or send
feedback on it. An id from another person or tenant reads as "no such draft".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, mapped_column

from minutekeeper.core.db import (
    Base,
    UTCDateTime,
    read_transaction,
    row_transaction,
    rows_by_id_or_prefix,
    table_of,
    utcnow,
)
from minutekeeper.features.compose.draft import ComposeRequest, Draft
from minutekeeper.features.compose.errors import (
    AmbiguousDraft,
    DraftNotFound,
    FeedbackConflict,
    InvalidFeedback,
    MeetingDeleted,
)
from minutekeeper.features.compose.prompts import PROMPT_VERSION
from minutekeeper.features.compose.thread import Message
from minutekeeper.features.meetings.store import still_saved

MAX_SENT_CHARS = 20_000
RATINGS = range(1, 6)


class DraftRecord(Base):
    __tablename__ = "drafts"
    __table_args__ = (Index("ix_drafts_tenant_author", "tenant_id", "author_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    author_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"))  # who it speaks as
    user_name: Mapped[str] = mapped_column(String(200))  # the name the prompt gave them
    mode: Mapped[str] = mapped_column(String(16))
    tone: Mapped[str] = mapped_column(String(16))
    length: Mapped[str] = mapped_column(String(16))
    instruction: Mapped[str] = mapped_column(Text)
    thread: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # the messages the prompt showed
    meeting_id: Mapped[str | None] = mapped_column(ForeignKey("meetings.id"))
    used_items: Mapped[list[str]] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(Text)
    alternatives: Mapped[list[str]] = mapped_column(JSON)
    notes: Mapped[list[str]] = mapped_column(JSON)
    failed_checks: Mapped[list[str]] = mapped_column(JSON)
    model_id: Mapped[str] = mapped_column(String(500))
    prompt_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DraftFeedbackRecord(Base):
    __tablename__ = "draft_feedback"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    draft_id: Mapped[str] = mapped_column(ForeignKey("drafts.id"), unique=True)
    sent_text: Mapped[str] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Feedback:
    draft_id: str
    sent_text: str
    rating: int | None
    recorded_at: datetime


@dataclass(frozen=True)
class StoredDraft:
    id: str
    tenant_id: str
    author_id: str
    request: ComposeRequest
    thread: tuple[Message, ...]
    meeting_id: str | None
    draft: Draft
    model_id: str
    prompt_version: str
    created_at: datetime
    feedback: Feedback | None


def record_draft(
    engine: Engine,
    *,
    tenant_id: str,
    author_id: str,
    request: ComposeRequest,
    thread: Sequence[Message],
    draft: Draft,
    model_id: str,
    meeting_id: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> str:
    """Keep a draft as it was shown; returns its id. `thread` is the whole thread: only the
    messages the prompt used (`draft.used_messages`) are kept. A follow-up whose meeting
    was deleted since it was read is refused (`MeetingDeleted`) and nothing is kept; a
    deletion that starts while it is saved waits for it, then deletes it too."""
    used = set(draft.used_messages)
    draft_id = str(uuid.uuid4())
    values = {
        "id": draft_id,
        "tenant_id": tenant_id,
        "author_id": author_id,
        "user_name": request.user[:200],
        "mode": request.mode,
        "tone": request.tone,
        "length": request.length,
        "instruction": request.instruction,
        "thread": [asdict(m) for m in thread if m.id in used],
        "meeting_id": meeting_id,
        "used_items": list(draft.used_items),
        "text": draft.text,
        "alternatives": list(draft.alternatives),
        "notes": list(draft.notes),
        "failed_checks": list(draft.failed_checks),
        "model_id": model_id[:500],
        "prompt_version": PROMPT_VERSION,
        "created_at": clock(),
    }
    with row_transaction(engine) as conn:
        # A follow-up is written long after its meeting was read: it may be gone since.
        if meeting_id is not None and not still_saved(conn, tenant_id, meeting_id):
            raise MeetingDeleted(
                f"meeting {meeting_id} was deleted while this follow-up was being written; "
                "the draft was not kept"
            )
        conn.execute(insert(DraftRecord).values(**values))
    return draft_id


def get_draft(engine: Engine, *, tenant_id: str, author_id: str, draft_id: str) -> StoredDraft:
    with read_transaction(engine) as conn:
        return _load(conn, tenant_id, author_id, draft_id)


def draft_author(engine: Engine, *, tenant_id: str, draft_id: str) -> str | None:
    """Who wrote the draft (None: no such draft in the tenant)."""
    drafts = DraftRecord.__table__
    with read_transaction(engine) as conn:
        author: str | None = conn.execute(
            select(drafts.c.author_id).where(
                drafts.c.tenant_id == tenant_id, drafts.c.id == draft_id
            )
        ).scalar()
    return author


def record_feedback(
    engine: Engine,
    *,
    tenant_id: str,
    author_id: str,
    draft_id: str,
    sent_text: str,
    rating: int | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Feedback:
    """Record what was actually sent. A draft takes one feedback: sending the same again
    returns the first record; a different text or rating is refused."""
    sent_text = check_feedback(sent_text, rating)
    with row_transaction(engine) as conn:
        stored = _load(conn, tenant_id, author_id, draft_id)
        if stored.feedback is not None:
            if (stored.feedback.sent_text, stored.feedback.rating) == (sent_text, rating):
                return stored.feedback
            raise FeedbackConflict(
                f"draft {stored.id} already has feedback (recorded "
                f"{stored.feedback.recorded_at:%Y-%m-%d %H:%M} UTC); a draft takes one"
            )
        feedback = Feedback(stored.id, sent_text, rating, clock())
        conn.execute(insert(DraftFeedbackRecord).values(id=str(uuid.uuid4()), **asdict(feedback)))
    return feedback


def check_feedback(sent_text: str, rating: int | None) -> str:
    """The sent text as it will be kept (stripped), or InvalidFeedback naming what is wrong."""
    sent_text = sent_text.strip()
    if not sent_text:
        raise InvalidFeedback("the sent text is empty; give the message as you sent it")
    if len(sent_text) > MAX_SENT_CHARS:
        raise InvalidFeedback(
            f"the sent text has {len(sent_text)} characters; the limit is {MAX_SENT_CHARS}"
        )
    check_rating(rating)
    return sent_text


def check_rating(rating: int | None) -> None:
    """InvalidFeedback when a rating is given outside 1 to 5."""
    if rating is not None and rating not in RATINGS:
        raise InvalidFeedback(f"rating must be 1 to 5, not {rating}")


def _load(conn: Connection, tenant_id: str, author_id: str, draft_id: str) -> StoredDraft:
    drafts, feedback = DraftRecord.__table__, DraftFeedbackRecord.__table__
    query = (
        select(drafts, feedback.c.sent_text, feedback.c.rating, feedback.c.recorded_at)
        .outerjoin(feedback, feedback.c.draft_id == drafts.c.id)
        .where(drafts.c.tenant_id == tenant_id, drafts.c.author_id == author_id)
    )
    rows = rows_by_id_or_prefix(conn, query, drafts.c.id, draft_id)
    if not rows:
        raise DraftNotFound(f"no draft {draft_id!r} of yours")
    if len(rows) > 1:
        raise AmbiguousDraft(f"{draft_id!r} starts more than one of your drafts; type more of it")
    row = rows[0]
    r = row._mapping
    request = ComposeRequest(
        instruction=r["instruction"], mode=r["mode"], tone=r["tone"], length=r["length"],
        user=r["user_name"], n=1 + len(r["alternatives"]),
    )  # fmt: skip
    return StoredDraft(
        id=r["id"],
        tenant_id=r["tenant_id"],
        author_id=r["author_id"],
        request=request,
        thread=tuple(Message(**m) for m in r["thread"]),
        meeting_id=r["meeting_id"],
        draft=Draft(
            text=r["text"],
            alternatives=tuple(r["alternatives"]),
            used_messages=tuple(m["id"] for m in r["thread"]),
            used_items=tuple(r["used_items"]),
            notes=tuple(r["notes"]),
            failed_checks=tuple(r["failed_checks"]),
            written_by=r["model_id"],
        ),
        model_id=r["model_id"],
        prompt_version=r["prompt_version"],
        created_at=r["created_at"],
        feedback=Feedback(r["id"], r["sent_text"], r["rating"], r["recorded_at"])
        if r["sent_text"] is not None
        else None,
    )


@dataclass(frozen=True)
class TakenDrafts:
    """Drafts deleted with the meeting they were written from."""

    ids: tuple[str, ...]
    authors: tuple[str, ...]
    words: tuple[str, ...]  # what they held, to find copies of it elsewhere


def take_drafts_of(conn: Connection, tenant_id: str, meeting_id: str) -> TakenDrafts:
    """Delete the drafts written from the meeting and the feedback on them, on the caller's
    transaction `conn`."""
    drafts = table_of(DraftRecord)
    feedback = table_of(DraftFeedbackRecord)
    rows = conn.execute(
        select(drafts.c.id, drafts.c.author_id, drafts.c.text, drafts.c.instruction,
               feedback.c.sent_text)
        .outerjoin(feedback, feedback.c.draft_id == drafts.c.id)
        .where(drafts.c.tenant_id == tenant_id, drafts.c.meeting_id == meeting_id)
    ).all()  # fmt: skip
    ids = sorted(row.id for row in rows)
    if ids:
        conn.execute(feedback.delete().where(feedback.c.draft_id.in_(ids)))
        conn.execute(drafts.delete().where(drafts.c.id.in_(ids)))
    words = [w for row in rows for w in (row.text, row.instruction, row.sent_text) if w]
    return TakenDrafts(tuple(ids), tuple(sorted({row.author_id for row in rows})), tuple(words))


def erase_person(
    engine: Engine,
    tenant_id: str,
    *,
    subject_id: str,
    name: str | None,
    labels: Mapping[str, Set[str]],
) -> tuple[int, list[str]]:
    """Delete the drafts written for the person (and the feedback on them) and blank their
    messages in other people's drafts' threads: those by the authors attributed to them
    (`labels`: draft id -> author names claimed theirs) or named as they are now. Returns
    how many drafts changed and the words deleted (to find copies of them elsewhere)."""
    drafts = table_of(DraftRecord)
    feedback = table_of(DraftFeedbackRecord)
    words: list[str] = []
    with row_transaction(engine) as conn:
        mine = select(drafts.c.id).where(
            drafts.c.tenant_id == tenant_id, drafts.c.author_id == subject_id
        )
        for row in conn.execute(select(drafts.c.text, drafts.c.instruction).where(
                drafts.c.id.in_(mine))):  # fmt: skip
            words.extend((row.text, row.instruction))
        conn.execute(feedback.delete().where(feedback.c.draft_id.in_(mine)))
        changed = conn.execute(drafts.delete().where(drafts.c.id.in_(mine))).rowcount
        rows = conn.execute(
            select(drafts.c.id, drafts.c.thread).where(drafts.c.tenant_id == tenant_id)
        ).all()
        for row in rows:
            theirs = labels.get(row.id, set()) | ({name} if name else set())
            if not any(m.get("author") in theirs for m in row.thread):
                continue
            words.extend(m.get("text", "") for m in row.thread if m.get("author") in theirs)
            thread = [
                {**m, "author": "", "text": ""} if m.get("author") in theirs else m
                for m in row.thread
            ]
            conn.execute(drafts.update().where(drafts.c.id == row.id).values(thread=thread))
            changed += 1
    return changed, [w for w in words if w]
