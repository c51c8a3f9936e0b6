"""`/v1/compose`: draft a chat message (a reply, a meeting follow-up, a rewrite), and tell
what was actually sent. Drafts are the author's own: anyone else's reads as missing."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, BackgroundTasks

from minutekeeper.api.deps import Caller, Member, MemberCaller, RuntimeDep
from minutekeeper.api.schemas import ComposeCreate, DraftPublic, FeedbackCreate, FeedbackPublic
from minutekeeper.consent import Principal
from minutekeeper.features.compose import service as drafts
from minutekeeper.features.compose.draft import ComposeRequest
from minutekeeper.features.compose.store import StoredDraft, get_draft
from minutekeeper.features.compose.thread import parse_messages
from minutekeeper.features.guard import require_ai_features
from minutekeeper.runtime import Runtime

router = APIRouter(prefix="/v1/compose", tags=["compose"])


def draft_public(stored: StoredDraft) -> DraftPublic:
    draft = stored.draft
    return DraftPublic.model_validate(
        {"id": stored.id, **asdict(draft), "verdict": draft.verdict, "headline": draft.headline}
    )


@router.post("", response_model=DraftPublic, status_code=201)
def compose(
    body: ComposeCreate, runtime: RuntimeDep, caller: MemberCaller, background: BackgroundTasks
) -> Any:
    """Draft a message in your name from a thread and an instruction (or, for a follow-up,
    from one of your meetings). The draft is kept so you can report what you sent."""
    me = caller.principal
    require_ai_features(runtime.service, me.tenant_id)
    me_name = runtime.service.find_subject(me.tenant_id, me.subject_id).display_name or "me"
    request = ComposeRequest(
        instruction=body.instruction,
        mode=body.mode,
        tone=body.tone,
        length=body.length,
        user=me_name,
        n=body.n,
    )
    thread = parse_messages([m.model_dump(exclude_none=True) for m in body.thread])
    stored = drafts.compose_draft(
        runtime.engine,
        request,
        thread,
        tenant_id=me.tenant_id,
        author_id=me.subject_id,
        models=runtime.models,
        meeting_id=body.meeting_id,
        owner_id=me.subject_id,
    )
    background.add_task(_offer, runtime, caller, stored.id)
    return draft_public(stored)


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
    caller: MemberCaller,
    background: BackgroundTasks,
) -> Any:
    """Record the text you actually sent (edited or not) and, if you like, a rating. The
    same feedback again changes nothing; different feedback for the same draft is refused."""
    me = caller.principal
    recorded, first = drafts.give_feedback(
        runtime.engine,
        draft_id,
        tenant_id=me.tenant_id,
        author_id=me.subject_id,
        sent_text=body.sent_text,
        rating=body.rating,
    )
    if first:
        background.add_task(_offer, runtime, caller, recorded.draft_id)
    return FeedbackPublic.model_validate(recorded)


def _offer(runtime: Runtime, me: Caller, draft_id: str) -> None:
    """Offer the draft (or the sent text) for training, after the answer was sent."""
    who = me.principal
    runtime.offers.draft(who.tenant_id, author_id=who.subject_id, draft_id=draft_id,
                         via=me.via)  # fmt: skip
