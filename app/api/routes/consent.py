"""`/v1/consent`: the current notice (its serving recorded), give / refuse / withdraw, and
the caller's own state and receipt. The subject is always the token's subject."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from fastapi import APIRouter, Header

from app.api.deps import Anyone, RuntimeDep
from app.api.schemas import (
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
from consent import DEFAULT_NOTICE_KEY, ConsentEvent, ConsentState, NoticeVersion

router = APIRouter(prefix="/v1/consent", tags=["consent"])


def notice_public(version: NoticeVersion) -> NoticePublic:
    return NoticePublic(
        id=version.id,
        key=version.key,
        version=version.version,
        language=version.language,
        title=version.title,
        body=version.body,
        body_sha256=version.body_sha256,
        purposes=list(version.purposes),
        artifact_kinds=list(version.artifact_kinds),
        retention_days=version.retention_days,
        material_change=version.material_change,
        created_at=version.created_at,
    )


def event_public(event: ConsentEvent) -> ConsentEventPublic:
    return ConsentEventPublic(
        seq=event.seq,
        id=event.id,
        purpose=event.purpose,
        state=event.state.value,
        method=event.method,
        notice_version_id=event.notice_version_id,
        recorded_at=event.recorded_at,
        valid_until=event.valid_until,
        gpc=event.gpc,
        entry_hash=event.entry_hash,
    )


@router.get("/notice", response_model=ServedNoticePublic)
def current_notice(runtime: RuntimeDep, me: Anyone, key: str = DEFAULT_NOTICE_KEY) -> Any:
    """The notice to read before deciding; that you were shown this version is recorded."""
    version = runtime.service.current_notice(me.tenant_id, key)
    served = runtime.service.serve_notice(me, version.id, surface="api")
    return ServedNoticePublic(
        notice=notice_public(version), served_id=served.id, served_at=served.served_at
    )


@router.post("", response_model=ConsentEventPublic, status_code=201)
def decide(
    body: ConsentCreate,
    runtime: RuntimeDep,
    me: Anyone,
    idempotency_key: str | None = Header(default=None, max_length=200),
) -> Any:
    """Give, refuse or withdraw: one call each, for your own consent only."""
    until = datetime.combine(body.valid_until, time.max, tzinfo=UTC) if body.valid_until else None
    event = runtime.service.record(
        me,
        ConsentState(body.decision),
        purpose=body.purpose,
        notice_version_id=body.notice_version_id,
        valid_until=until,
        idempotency_key=idempotency_key,
    )
    runtime.telemetry.consent_events.labels(event.state.value).inc()
    return event_public(event)


@router.get("/me", response_model=ConsentMe)
async def my_consent(runtime: RuntimeDep, me: Anyone) -> Any:
    """Your newest decision per purpose, the tenant's switches, and whether your words
    may be kept for training right now."""
    # On the event loop: one short read snapshot, the most frequent call of all; the
    # thread pool's hand-offs cost more than the read (119 -> 232 req/s, bench_api.py).
    tenant, current, preview = runtime.service.overview(me)
    return ConsentMe(
        subject_id=me.subject_id,
        consent=[
            CurrentConsentPublic(
                purpose=c.purpose,
                state=c.state.value,
                ledger_seq=c.last_seq,
                notice_version_id=c.notice_version_id,
                recorded_at=c.recorded_at,
                valid_until=c.valid_until,
            )
            for c in current
        ],
        tenant=SwitchesPublic(
            ai_features_enabled=tenant.ai_features_enabled,
            training_sharing_enabled=tenant.training_sharing_enabled,
            vendor_sharing_enabled=tenant.vendor_sharing_enabled,
        ),
        training_use_now=TrainingUse(result=preview.result.value, reasons=list(preview.reasons)),
    )


@router.get("/me/history", response_model=ConsentReceipt)
def my_history(runtime: RuntimeDep, me: Anyone) -> Any:
    """Every decision you recorded, oldest first, each with its ledger hash: a receipt
    that `GET /v1/audit/verify` (admin) checks against the signed chain."""
    events = runtime.service.history(me)
    return ConsentReceipt(subject_id=me.subject_id, events=[event_public(e) for e in events])
