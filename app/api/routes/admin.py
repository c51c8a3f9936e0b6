"""`/v1/admin` (admin role): the tenant's switches, its notices, its people and how many
have consented (counts, never who decided what), and the audit chains."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter

from minutekeeper.api.deps import Admin, RuntimeDep
from minutekeeper.api.paging import Paging, page_of
from minutekeeper.api.schemas import (
    AuditReport,
    ConsentCounts,
    NoticeCreate,
    NoticePublic,
    NoticePublished,
    Page,
    SubjectPublic,
    TenantPublic,
    TenantUpdate,
    TranslationCreate,
)
from minutekeeper.consent import TRAIN_AI_SYSTEM, NoticeDraft, TranslationDraft

router = APIRouter(prefix="/v1/admin", tags=["admin"])
audit_router = APIRouter(prefix="/v1/audit", tags=["admin"])


@router.get("/tenant", response_model=TenantPublic)
def get_tenant(runtime: RuntimeDep, admin: Admin) -> Any:
    return TenantPublic.model_validate(runtime.service.tenant(admin.tenant_id))


@router.patch("/tenant", response_model=TenantPublic)
def set_switches(body: TenantUpdate, runtime: RuntimeDep, admin: Admin) -> Any:
    """Turn switches on or off (a field left out stays as it is). A switch is never
    anyone's consent: it only allows what each person's consent then decides. Turning
    training sharing or AI features off revokes the published exports, retires the kept
    examples (both for good: `confirm`) and cancels queued jobs that may no longer run."""
    switches = body.model_dump(exclude={"confirm"})
    tenant = runtime.set_switches(admin, confirm=body.confirm, **switches)
    return TenantPublic.model_validate(tenant)


@router.post("/notices", response_model=NoticePublished, status_code=201)
def publish_notice(body: NoticeCreate, runtime: RuntimeDep, admin: Admin) -> Any:
    """Publish a notice version; the same content again creates none (`created` false)."""
    draft = NoticeDraft(
        key=body.key,
        title=body.title,
        body=body.body,
        purposes=tuple(body.purposes),
        artifact_kinds=tuple(body.artifact_kinds),
        retention_days=body.retention_days,
        recipients=tuple(body.recipients),
        language=body.language,
    )
    if body.material_change:
        draft = replace(draft, material_change=True)
    version, created = runtime.service.publish_notice(admin, draft)
    return NoticePublished(notice=NoticePublic.model_validate(version), created=created)


@router.post("/notices/{version_id}/translations", response_model=NoticePublished, status_code=201)
def translate_notice(
    version_id: str, body: TranslationCreate, runtime: RuntimeDep, admin: Admin
) -> Any:
    """Publish the current version in another language: its own title and body, the
    version's terms. A translation is never changed (`created` false for the same text
    again; another text is 409: publish a new version)."""
    draft = TranslationDraft(language=body.language, title=body.title, body=body.body)
    version, created = runtime.service.translate_notice(admin, version_id, draft)
    return NoticePublished(notice=NoticePublic.model_validate(version), created=created)


@router.get("/subjects", response_model=Page[SubjectPublic])
def list_subjects(runtime: RuntimeDep, admin: Admin, paging: Paging) -> Any:
    """The tenant's people, oldest first: members and the guests heard in meetings, a
    page at a time."""
    found = runtime.service.subjects(admin.tenant_id, after=paging.cursor, limit=paging.fetch)
    subjects = [
        SubjectPublic(
            id=s.id, kind=s.kind.value, display_name=s.display_name, erased=s.erased_at is not None
        )
        for s in found
    ]
    return page_of(subjects, paging, lambda s: s.id)


@router.get("/consent-counts", response_model=ConsentCounts)
def consent_counts(runtime: RuntimeDep, admin: Admin, purpose: str = TRAIN_AI_SYSTEM) -> Any:
    """How many members gave, refused, withdrew or have not decided: counts only."""
    from minutekeeper.consent import validate_purpose

    purpose = validate_purpose(purpose)
    return ConsentCounts(
        purpose=purpose, counts=runtime.service.consent_counts(admin.tenant_id, purpose)
    )


@audit_router.get("/verify", response_model=AuditReport)
def verify(runtime: RuntimeDep, admin: Admin) -> Any:
    """Check every hash chain and signed checkpoint against the key file."""
    report = runtime.service.verify()
    return AuditReport.model_validate(report)
