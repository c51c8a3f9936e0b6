"""`/v1/compose`: draft a chat message (a reply, a meeting follow-up, a rewrite), and tell
what was actually sent. Drafts are the author's own: anyone else's reads as missing."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, BackgroundTasks

from app.api.deps import Member, RuntimeDep
from app.api.routes.meetings import own_meeting
from app.api.runtime import Runtime
from app.api.schemas import ComposeCreate, DraftPublic, FeedbackCreate, FeedbackPublic
from app.core.errors import InvalidInput
from app.jobs.tasks import log
from consent.domain import Principal
from features.compose.draft import ComposeRequest
from features.compose.service import draft_message
from features.compose.store import StoredDraft, get_draft, record_draft, record_feedback
from features.compose.thread import parse_json

router = APIRouter(prefix="/v1/compose", tags=["compose"])


def draft_public(stored: StoredDraft) -> DraftPublic:
    draft = stored.draft
    return DraftPublic(
        id=stored.id,
        text=draft.text,
        alternatives=list(draft.alternatives),
        written_by=draft.written_by,
        used_messages=list(draft.used_messages),
        used_items=list(draft.used_items),
        notes=list(draft.notes),
        failed_checks=list(draft.failed_checks),
    )


@router.post("", response_model=DraftPublic, status_code=201)
def compose(
    body: ComposeCreate, runtime: RuntimeDep, me: Member, background: BackgroundTasks
) -> Any:
    """Draft a message in your name from a thread and an instruction (or, for a follow-up,
    from one of your meetings). The draft is kept so you can report what you sent."""
    me_name = runtime.service.find_subject(me.tenant_id, me.subject_id).display_name or "me"
    request = ComposeRequest(
        instruction=body.instruction,
        mode=body.mode,
        tone=body.tone,
        length=body.length,
        user=me_name,
        n=body.n,
    )
    if body.mode == "reply" and not body.thread:
        raise InvalidInput("a reply needs the thread it answers")
    if body.mode == "followup" and body.meeting_id is None:
        raise InvalidInput("a follow-up needs meeting_id (one of your meetings)")
    summary, meeting_id = None, None
    if body.meeting_id is not None:
        stored = own_meeting(runtime, me, body.meeting_id)
        if stored.summary is None:
            raise InvalidInput(f"meeting {stored.info.id} has no summary yet")
        summary, meeting_id = stored.summary, stored.info.id
    messages = [m.model_dump(exclude_none=True) for m in body.thread]
    thread = parse_json(json.dumps({"messages": messages}), where="thread")
    generator = runtime.models.generator()
    draft = draft_message(thread, request, generator=generator, meeting=summary)
    draft_id = record_draft(
        runtime.engine,
        tenant_id=me.tenant_id,
        author_id=me.subject_id,
        request=request,
        thread=thread.messages,
        draft=draft,
        model_id=draft.written_by,
        meeting_id=meeting_id,
    )
    background.add_task(_offer, runtime, me, draft_id)
    return draft_public(_own(runtime, me, draft_id))


def _own(runtime: Runtime, me: Principal, draft_id: str) -> StoredDraft:
    return get_draft(
        runtime.engine, tenant_id=me.tenant_id, author_id=me.subject_id, draft_id=draft_id
    )


@router.get("/{draft_id}", response_model=DraftPublic)
def get_one(draft_id: str, runtime: RuntimeDep, me: Member) -> Any:
    return draft_public(_own(runtime, me, draft_id))


@router.post("/{draft_id}/feedback", response_model=FeedbackPublic, status_code=201)
def feedback(
    draft_id: str,
    body: FeedbackCreate,
    runtime: RuntimeDep,
    me: Member,
    background: BackgroundTasks,
) -> Any:
    """Record the text you actually sent (edited or not) and, if you like, a rating. The
    same feedback again changes nothing; different feedback for the same draft is refused."""
    before = _own(runtime, me, draft_id).feedback
    recorded = record_feedback(
        runtime.engine,
        tenant_id=me.tenant_id,
        author_id=me.subject_id,
        draft_id=draft_id,
        sent_text=body.sent_text,
        rating=body.rating,
    )
    if before is None:
        background.add_task(_offer, runtime, me, recorded.draft_id)
    return FeedbackPublic(
        draft_id=recorded.draft_id, rating=recorded.rating, recorded_at=recorded.recorded_at
    )


def _offer(runtime: Runtime, me: Principal, draft_id: str) -> None:
    """Offer the draft (or the sent text) for training; best effort, after the answer."""
    from features.training import offer_all, stored_draft_offers

    try:
        offers = stored_draft_offers(
            runtime.service, me.tenant_id, author_id=me.subject_id, draft_id=draft_id
        )
        offer_all(runtime.service, runtime.models.redactor(), me.tenant_id, offers)
    except Exception as error:
        log.warning("training capture failed: %s", type(error).__name__)
