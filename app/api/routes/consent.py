"""`/v1/consent`: the current notice (its serving recorded), give / refuse / withdraw, and
the caller's own state and receipt. The subject is always the token's subject."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request

from minutekeeper.api.deps import Anyone, Deciding, RuntimeDep, accepted_languages, sends_gpc
from minutekeeper.api.schemas import (
    CheckpointPublic,
    ConsentCreate,
    ConsentEventPublic,
    ConsentMe,
    ConsentReceipt,
    CurrentConsentPublic,
    NoticePublic,
    ServedNoticePublic,
    SwitchesPublic,
    TrainingUse,
)
from minutekeeper.consent import DEFAULT_NOTICE_KEY, ConsentState

router = APIRouter(prefix="/v1/consent", tags=["consent"])


@router.get("/notice", response_model=ServedNoticePublic)
def current_notice(
    runtime: RuntimeDep,
    me: Anyone,
    key: str = DEFAULT_NOTICE_KEY,
    language: Annotated[
        str | None,
        Query(max_length=16, description="Read it in this language, where translated."),
    ] = None,
    accept_language: Annotated[str | None, Header(max_length=1000)] = None,
) -> Any:
    """The notice to read before deciding, in `language` (else the first of your
    Accept-Language it is translated into, else its own); that you were shown this version,
    in that language, is recorded."""
    wanted = [language] if language else accepted_languages(accept_language)
    version = runtime.service.current_notice(me.tenant_id, key, wanted)
    served = runtime.service.serve_notice(me, version, surface="api")
    return ServedNoticePublic(
        notice=NoticePublic.model_validate(version), served_id=served.id, served_at=served.served_at
    )


@router.post("", response_model=ConsentEventPublic, status_code=201)
def decide(
    body: ConsentCreate,
    request: Request,
    runtime: RuntimeDep,
    me: Deciding,
    idempotency_key: str | None = Header(default=None, max_length=200),
) -> Any:
    """Give, refuse or withdraw: one call each, for your own consent only.

    A give must name the notice's current version, shown to you after your last opt-out
    (409 otherwise). While your browser sends `Sec-GPC: 1` a give is answered 409
    `gpc_signalled` (and the signal opts you out) unless you set `override_gpc`."""
    until = datetime.combine(body.valid_until, time.max, tzinfo=UTC) if body.valid_until else None
    event = runtime.service.record(
        me.principal,
        ConsentState(body.decision),
        purpose=body.purpose,
        notice_version_id=body.notice_version_id,
        valid_until=until,
        idempotency_key=idempotency_key,
        gpc=sends_gpc(request),
        override_gpc=body.override_gpc,
        via=me.via,
    )
    runtime.telemetry.consent_decided(event.state.value)
    return ConsentEventPublic.model_validate(event)


@router.get("/me", response_model=ConsentMe)
async def my_consent(runtime: RuntimeDep, me: Anyone) -> Any:
    """Your newest decision per purpose, the tenant's switches, and whether your words
    may be kept for training right now."""
    # On the event loop: one short read snapshot, the most frequent call of all; the
    # thread pool's hand-offs cost more than the read (119 -> 232 req/s, bench_api.py).
    tenant, current, preview = runtime.service.overview(me)
    return ConsentMe(
        subject_id=me.subject_id,
        consent=[CurrentConsentPublic.model_validate(c) for c in current],
        tenant=SwitchesPublic.model_validate(tenant),
        training_use_now=TrainingUse.model_validate(preview),
    )


@router.get("/me/history", response_model=ConsentReceipt)
def my_history(runtime: RuntimeDep, me: Anyone) -> Any:
    """Every decision you recorded, oldest first, each with its ledger hash: a receipt
    that `GET /v1/audit/verify` (admin) checks against the signed chain."""
    events, checkpoint = runtime.service.receipt(me)
    return ConsentReceipt(
        subject_id=me.subject_id,
        events=[ConsentEventPublic.model_validate(e) for e in events],
        checkpoint=CheckpointPublic.model_validate(checkpoint) if checkpoint else None,
    )
