"""Consent's tables. Rows are `*Record`; they never leave this package as ORM objects.

Insert-only tables (see `IMMUTABLE_TABLES`) are protected by database triggers created in
the migration: the store itself refuses UPDATE and DELETE on the ledger, the audit chain and
the facts decisions rest on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from minutekeeper.core.db import Base, UTCDateTime

ID = String(36)
HASH = String(64)


class TenantRecord(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    ai_features_enabled: Mapped[bool] = mapped_column(Boolean)
    training_sharing_enabled: Mapped[bool] = mapped_column(Boolean)
    vendor_sharing_enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A single-user local install's owner, pinned (and chained) on its first run: the only
    # person who may record consent without a token. Set once, never changed.
    owner_id: Mapped[str | None] = mapped_column(String(36))
    # When a second member or the first token made the tenant multi-user; never unset.
    multi_user_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TenantSwitchChangeRecord(Base):
    """Every change of a tenant's switches: the history decisions replay against."""

    __tablename__ = "tenant_switch_changes"
    __table_args__ = (Index("ix_tenant_switch_changes_tenant_at", "tenant_id", "changed_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    actor_id: Mapped[str] = mapped_column(String(200))
    ai_features_enabled: Mapped[bool] = mapped_column(Boolean)
    training_sharing_enabled: Mapped[bool] = mapped_column(Boolean)
    vendor_sharing_enabled: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SubjectRecord(Base):
    __tablename__ = "subjects"
    __table_args__ = (Index("ix_subjects_tenant_name", "tenant_id", "display_name"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SubjectPromotionRecord(Base):
    """A guest made a member by an admin (`consent.members.promote`), once per person; its
    row is chained (`audit.PAYLOAD_TABLES`). Words that reached the server before
    `promoted_at` stay a guest's to the gate."""

    __tablename__ = "subject_promotions"
    __table_args__ = (Index("uq_subject_promotions_subject", "subject_id", unique=True),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"))
    actor_id: Mapped[str] = mapped_column(String(200))
    promoted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NoticeRecord(Base):
    __tablename__ = "notices"
    __table_args__ = (Index("uq_notices_tenant_key", "tenant_id", "key", unique=True),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    key: Mapped[str] = mapped_column(String(64))


class NoticeVersionRecord(Base):
    __tablename__ = "notice_versions"
    __table_args__ = (
        Index("uq_notice_versions_notice_version", "notice_id", "version", unique=True),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("notices.id"))
    version: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(HASH)
    purposes: Mapped[list[str]] = mapped_column(JSON)
    artifact_kinds: Mapped[list[str]] = mapped_column(JSON)
    retention_days: Mapped[int] = mapped_column(Integer)
    material_change: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Who receives what is kept, beyond the tenant itself (none: the tenant alone). Empty
    # on versions published before recipients were named.
    recipients: Mapped[list[str] | None] = mapped_column(JSON)


class NoticeTranslationRecord(Base):
    """A notice version in another language: its own title and body, the version's terms."""

    __tablename__ = "notice_translations"
    __table_args__ = (
        Index(
            "uq_notice_translations_version_language",
            "notice_version_id",
            "language",
            unique=True,
        ),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    notice_version_id: Mapped[str] = mapped_column(ForeignKey("notice_versions.id"))
    language: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(HASH)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NoticeServedRecord(Base):
    __tablename__ = "notices_served"
    __table_args__ = (
        Index("ix_notices_served_subject_version", "subject_id", "notice_version_id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"))
    notice_version_id: Mapped[str] = mapped_column(ForeignKey("notice_versions.id"))
    surface: Mapped[str] = mapped_column(String(32))
    served_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The translation the person read; None: the version's own language.
    translation_id: Mapped[str | None] = mapped_column(ForeignKey("notice_translations.id"))


class ConsentEventRecord(Base):
    """The ledger: insert-only, ordered by a server sequence, hash-chained."""

    __tablename__ = "consent_events"
    __table_args__ = (
        Index("ix_consent_events_subject_purpose_seq", "subject_id", "purpose", "seq"),
        Index("uq_consent_events_idempotency", "subject_id", "idempotency_key", unique=True),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(ID, unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"))
    actor_id: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))
    notice_version_id: Mapped[str | None] = mapped_column(ForeignKey("notice_versions.id"))
    served_notice_id: Mapped[str | None] = mapped_column(ForeignKey("notices_served.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gpc: Mapped[bool] = mapped_column(Boolean)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # What the decision came through: "token:<id>", "session:<token id>", "local-owner" or
    # "system". Empty only on events written before it was recorded.
    via: Mapped[str | None] = mapped_column(String(80))
    prev_hash: Mapped[str] = mapped_column(HASH)
    entry_hash: Mapped[str] = mapped_column(HASH)


class CurrentConsentRecord(Base):
    """Projection of the ledger: the newest event per (subject, purpose, scope).

    Derived data, rebuilt from the ledger by `ledger.rebuild_projection`.
    """

    __tablename__ = "current_consent"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    notice_version_id: Mapped[str | None] = mapped_column(String(36))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ArtifactRecord(Base):
    __tablename__ = "artifacts"
    __table_args__ = (
        Index("ix_artifacts_tenant_captured", "tenant_id", "captured_at"),
        Index("ix_artifacts_source", "source_kind", "source_id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(32))
    data_class: Mapped[str] = mapped_column(String(32))
    input: Mapped[Any] = mapped_column(JSON)
    output: Mapped[Any] = mapped_column(JSON)
    contributors: Mapped[list[str]] = mapped_column(JSON)
    model_id: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(64))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the content's own time
    content_sha256: Mapped[str] = mapped_column(HASH)
    # When the content reached the server, and the contributors for whom `captured_at` is
    # trusted (`Artifact.time_vouched_by`); older rows have the capture time and nobody.
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    time_vouched_by: Mapped[list[str] | None] = mapped_column(JSON)
    # subject -> [[label, binding], ...]: the claims that attribute words to them.
    attributions: Mapped[dict[str, list[list[str]]] | None] = mapped_column(JSON)
    # The saved thing the content was made from ("meeting", id) or ("draft", id): how
    # deleting it finds what was made of it. None: an unsaved transcript, or captured
    # before sources were recorded (migration 0016).
    source_kind: Mapped[str | None] = mapped_column(String(16))
    source_id: Mapped[str | None] = mapped_column(String(64))


class DeletedSourceRecord(Base):
    """A saved meeting or draft that was deleted (ids only): capture refuses content made
    from it afterwards, such as an answer offered in the background as it was deleted."""

    __tablename__ = "deleted_sources"

    source_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AttributionRequestRecord(Base):
    """A question to the person a claim names; their answer is a ledger event (purpose
    `attribution`) bound to `binding`. This row is what the person is shown."""

    __tablename__ = "attribution_requests"
    __table_args__ = (
        Index("ix_attribution_requests_subject", "subject_id", "status"),
        Index("ix_attribution_requests_binding", "binding"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"))
    source_kind: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    binding: Mapped[str] = mapped_column(HASH)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    requested_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answers: Mapped[dict[str, bool] | None] = mapped_column(JSON)


class GateDecisionRecord(Base):
    __tablename__ = "gate_decisions"
    __table_args__ = (Index("ix_gate_decisions_artifact", "artifact_id"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    artifact_id: Mapped[str] = mapped_column(ForeignKey("artifacts.id"))
    purpose: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    contributors: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    ledger_seq: Mapped[int] = mapped_column(BigInteger)
    rules_version: Mapped[str] = mapped_column(String(32))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TrainingCandidateRecord(Base):
    """A redacted training example the gate allowed at capture; re-decided at export."""

    __tablename__ = "training_candidates"
    __table_args__ = (
        Index("ix_training_candidates_tenant_status", "tenant_id", "status"),
        Index("ix_training_candidates_artifact", "artifact_id"),
        Index("ix_training_candidates_tenant_captured", "tenant_id", "captured_at", "id"),
        Index("ix_training_candidates_tenant_expires", "tenant_id", "expires_at"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    artifact_id: Mapped[str] = mapped_column(ForeignKey("artifacts.id"))
    decision_id: Mapped[str] = mapped_column(ForeignKey("gate_decisions.id"))
    example_kind: Mapped[str] = mapped_column(String(16))  # whole | segments
    task: Mapped[str] = mapped_column(String(32))
    messages: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    contributors: Mapped[list[str]] = mapped_column(JSON)  # the subjects whose words it holds
    redaction_profile: Mapped[str] = mapped_column(String(64))
    consent_event_seqs: Mapped[list[int]] = mapped_column(JSON)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # eligible|tombstoned|superseded|purged|excluded
    status: Mapped[str] = mapped_column(String(16))


class CandidateContributorRecord(Base):
    """Whose words a candidate holds, one row per subject: how a withdrawal or an erasure
    finds the subject's candidates without reading every example."""

    __tablename__ = "candidate_contributors"
    __table_args__ = (Index("ix_candidate_contributors_subject", "subject_id"),)

    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("training_candidates.id"), primary_key=True
    )
    subject_id: Mapped[str] = mapped_column(String(36), primary_key=True)


class DatasetExportRecord(Base):
    """One version of a tenant's training export (ARCHITECTURE.md §5).

    building -> active (published) | failed; active -> revoked when a contributor withdraws
    or is erased (rule 10). `pseudonym_key` is the per-export HMAC key; it never leaves the
    server, and is what lets a subject be traced to the exports that hold their words.
    """

    __tablename__ = "dataset_exports"
    __table_args__ = (
        Index("uq_dataset_exports_tenant_version", "tenant_id", "version", unique=True),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    version: Mapped[int] = mapped_column(Integer)
    supersedes_id: Mapped[str | None] = mapped_column(ForeignKey("dataset_exports.id"))
    requested_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # building | active | revoked | failed
    status_reason: Mapped[str | None] = mapped_column(String(500))
    ledger_seq: Mapped[int | None] = mapped_column(BigInteger)
    rechecked_seq: Mapped[int | None] = mapped_column(BigInteger)
    manifest_sha256: Mapped[str | None] = mapped_column(HASH)
    path: Mapped[str] = mapped_column(String(1000))
    pseudonym_key: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExportedExampleRecord(Base):
    """ExportRecord of §4: which candidate each record of an export came from."""

    __tablename__ = "export_records"
    __table_args__ = (Index("ix_export_records_candidate", "candidate_id"),)

    export_id: Mapped[str] = mapped_column(ForeignKey("dataset_exports.id"), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("training_candidates.id"))


class ModelLineageRecord(Base):
    """Which export trained a model (`consent.exports.lineage`): insert-only, and audited."""

    __tablename__ = "model_lineage"
    __table_args__ = (Index("ix_model_lineage_export", "export_id"),)

    model_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    export_id: Mapped[str] = mapped_column(ForeignKey("dataset_exports.id"))
    export_version: Mapped[int] = mapped_column(Integer)
    manifest_sha256: Mapped[str] = mapped_column(HASH)
    ledger_seq: Mapped[int] = mapped_column(BigInteger)
    base_model: Mapped[str] = mapped_column(String(1000))
    base_model_id: Mapped[str | None] = mapped_column(String(80))
    trained_by: Mapped[str] = mapped_column(String(200))
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime)
    examples: Mapped[int] = mapped_column(Integer)
    heldout: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class TombstoneRecord(Base):
    """A record of a published export that may no longer be used, and why."""

    __tablename__ = "tombstones"

    export_id: Mapped[str] = mapped_column(ForeignKey("dataset_exports.id"), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntryRecord(Base):
    """The audit chain: hashes and ids only, never raw personal data (rule 13)."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    payload_sha256: Mapped[str] = mapped_column(HASH)
    # Ids, hashes, states and times that records outside the chain must still agree with
    # (`consent.facts`): hashed into the entry, and read back by `audit verify`.
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    prev_hash: Mapped[str] = mapped_column(HASH)
    entry_hash: Mapped[str] = mapped_column(HASH)


class AuditCheckpointRecord(Base):
    """A signed statement "chain X had entry_hash H at seq N"."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("uq_audit_checkpoints_chain_seq", "chain", "seq", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(BigInteger)
    entry_hash: Mapped[str] = mapped_column(HASH)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    public_key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))


class UnchainedRecord(Base):
    """A kept candidate or an export from before the chain recorded their facts (listed by
    migration 0013), until `consent.facts.adopt` chains them as they stand."""

    __tablename__ = "unchained_records"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # candidate | export
    id: Mapped[str] = mapped_column(ID, primary_key=True)


IMMUTABLE_TABLES: tuple[str, ...] = (
    ConsentEventRecord.__tablename__,
    AuditEntryRecord.__tablename__,
    AuditCheckpointRecord.__tablename__,
    NoticeVersionRecord.__tablename__,
    NoticeServedRecord.__tablename__,
    TenantSwitchChangeRecord.__tablename__,
    GateDecisionRecord.__tablename__,
    ModelLineageRecord.__tablename__,
)
