"""Consent's values as they cross package boundaries: plain frozen dataclasses and enums."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class SubjectKind(StrEnum):
    MEMBER = "member"
    GUEST = "guest"
    UNKNOWN = "unknown"


class Role(StrEnum):
    MEMBER = "member"
    ADMIN = "admin"
    ML_EXPORTER = "ml_exporter"


class ConsentState(StrEnum):
    GIVEN = "given"
    RENEWED = "renewed"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    INVALIDATED = "invalidated"
    # The states of attribution events (purpose `attribution`): a person's answer to
    # whether words attributed to them are theirs, or a claim withdrawn by a rename.
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    VOIDED = "voided"


POSITIVE_STATES = frozenset({ConsentState.GIVEN, ConsentState.RENEWED})


class ArtifactKind(StrEnum):
    TRANSCRIPT = "transcript"
    MEETING_SUMMARY = "meeting_summary"
    MEETING_ANSWER = "meeting_answer"
    CHAT_DRAFT = "chat_draft"
    CHAT_FINAL = "chat_final"


# Kinds whose training examples can be built from the consenting speakers' segments alone.
SEGMENT_LEVEL_KINDS = frozenset({ArtifactKind.TRANSCRIPT})


class DataClass(StrEnum):
    CUSTOMER_CONTENT = "customer_content"
    DERIVED_CONTENT = "derived_content"


class Result(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    PARTIAL = "partial"


# The notice a person is shown before deciding on training use (a fresh install ships one).
DEFAULT_NOTICE_KEY = "training"

# The literal a transcript uses for a speaker nobody could name.
UNKNOWN_SPEAKER = "UNKNOWN"


@dataclass(frozen=True)
class Principal:
    """Who is acting: always taken from authentication, never from a request body."""

    tenant_id: str
    subject_id: str
    role: Role


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    ai_features_enabled: bool
    training_sharing_enabled: bool
    vendor_sharing_enabled: bool


@dataclass(frozen=True)
class Subject:
    id: str
    tenant_id: str
    kind: SubjectKind
    display_name: str | None
    erased_at: datetime | None
    promoted_at: datetime | None = None  # when a guest became this member; None: never a guest


@dataclass(frozen=True)
class NoticeVersion:
    id: str
    notice_id: str
    tenant_id: str
    key: str
    version: int
    language: str
    title: str
    body: str
    body_sha256: str
    purposes: tuple[str, ...]
    artifact_kinds: tuple[str, ...]
    retention_days: int
    material_change: bool
    created_at: datetime
    recipients: tuple[str, ...] = ()
    # Read in a translation: its id (the title, body and language above are its own; the
    # terms are the version's). None: the version's own text.
    translation_id: str | None = None
    # The languages the version can be read in: its own first, then its translations.
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServedNotice:
    id: str
    subject_id: str
    notice_version_id: str
    surface: str
    served_at: datetime
    translation_id: str | None = None


@dataclass(frozen=True)
class ConsentEvent:
    seq: int
    id: str
    tenant_id: str
    subject_id: str
    actor_id: str
    actor_role: str
    purpose: str
    scope: str
    state: ConsentState
    method: str
    notice_version_id: str | None
    served_notice_id: str | None
    recorded_at: datetime
    valid_until: datetime | None
    gpc: bool
    idempotency_key: str | None
    entry_hash: str
    via: str | None = None  # the token, session or local owner it came through
    # The language the notice was read in before this give (a receipt's view of the
    # serving it rests on; None where no notice was served).
    served_language: str | None = None


@dataclass(frozen=True)
class CurrentConsent:
    """A person's newest decision on one purpose (the ledger's projection)."""

    purpose: str
    state: ConsentState
    last_seq: int
    notice_version_id: str | None
    recorded_at: datetime
    valid_until: datetime | None


@dataclass(frozen=True)
class Artifact:
    id: str
    tenant_id: str
    kind: ArtifactKind
    data_class: DataClass
    contributors: tuple[str, ...]
    captured_at: datetime  # the content's own time: the earliest it can be
    content_sha256: str
    model_id: str | None = None
    prompt_version: str | None = None
    received_at: datetime | None = None  # when it reached the server (None: made just now)
    # The contributors for whom `captured_at` is trusted: it is their own upload, or they
    # confirmed it. For anyone else the content may be from any time before `received_at`.
    time_vouched_by: tuple[str, ...] = ()
    # Whose words are attributed to them by someone's claim: subject -> the (label,
    # binding) pairs naming them. Such a contributor counts only once they confirmed
    # (`consent.attribution`); one not listed spoke for themselves (an asker, an author).
    attributions: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    claims_recorded: bool = True  # False: stored before claims were (every name a claim)


@dataclass(frozen=True)
class Item:
    """One thing attributed to a person: a segment of a meeting, a message of a thread."""

    id: str
    text: str
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class Claim:
    """Words of a source (a meeting, a draft's thread, an unsaved transcript) attributed
    to `subject_id` under `label`: a claim until that person confirms it."""

    source_kind: str  # meeting | draft | transcript
    source_id: str
    label: str
    subject_id: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class AttributionRequest:
    """A question to the person a claim names: are these words yours?"""

    id: str
    tenant_id: str
    subject_id: str
    source_kind: str
    source_id: str
    label: str
    binding: str
    items: tuple[Item, ...]
    status: str  # pending | confirmed | rejected | voided
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    answers: Mapping[str, bool]

    def open_at(self, now: datetime) -> bool:
        return self.status == "pending" and self.expires_at > now


@dataclass(frozen=True)
class ContributorVerdict:
    contributor: str
    allowed: bool
    reasons: tuple[str, ...]
    consent_seq: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "contributor": self.contributor,
            "allowed": self.allowed,
            "reasons": list(self.reasons),
            "consent_seq": self.consent_seq,
        }


@dataclass(frozen=True)
class Decision:
    """The gate's answer for one artifact and purpose, with everything needed to replay it."""

    artifact_id: str
    purpose: str
    result: Result
    reasons: tuple[str, ...]
    contributors: tuple[ContributorVerdict, ...]
    ledger_seq: int
    rules_version: str
    decided_at: datetime
    id: str | None = None

    @property
    def allowed(self) -> bool:
        return self.result is Result.ALLOW
