"""Request and response bodies (`*Create`, `*Update`, `*Public`). Requests forbid unknown
fields, so a typo is a 422, never silently ignored, and no body can name whose consent it
records: that is always the token's subject."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from minutekeeper.api.envelope import ErrorDetail
from minutekeeper.consent import ArtifactKind
from minutekeeper.core.progress import Stage


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Public(BaseModel):
    """A response body, validated from the domain's frozen dataclasses by attribute."""

    model_config = ConfigDict(from_attributes=True)


Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a list (`app.api.paging`)."""

    items: list[Item]
    next_cursor: str | None = Field(
        description=(
            "Where the next page starts: send it back as `cursor` (with the same `limit`). "
            "null when this page is the last."
        )
    )


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
    version: str


# --- consent --------------------------------------------------------------------


class NoticePublic(Public):
    id: str
    key: str
    version: int
    language: str
    title: str
    body: str
    body_sha256: str
    purposes: list[str]
    artifact_kinds: list[str]
    retention_days: int
    recipients: list[str]
    material_change: bool
    created_at: datetime
    translation_id: str | None = Field(
        default=None, description="The translation read (None: the version's own language)."
    )
    languages: list[str] = Field(
        default_factory=list,
        description="The languages this version can be read in: its own first.",
    )


class ServedNoticePublic(BaseModel):
    notice: NoticePublic
    served_id: str = Field(description="The record that this person was shown this version.")
    served_at: datetime


class ConsentCreate(Strict):
    decision: Literal["given", "refused", "withdrawn"]
    purpose: str = Field(default="train_ai_system", max_length=64)
    notice_version_id: str | None = Field(
        default=None,
        max_length=36,
        description="The notice version you were shown (GET /v1/consent/notice); needed to give.",
    )
    valid_until: date | None = Field(default=None, description="Last day a consent holds.")
    override_gpc: bool = Field(
        default=False,
        description=(
            "Give consent although this browser sends Global Privacy Control (Sec-GPC: 1); "
            "recorded as the event's method. Without it such a give is answered 409."
        ),
    )


class ConsentEventPublic(Public):
    """One event of a person's receipt. Its position in the ledger is not shown: the ledger
    is shared by every tenant of the server, so positions would count their events too."""

    id: str
    purpose: str
    state: str
    method: str
    notice_version_id: str | None
    recorded_at: datetime
    valid_until: datetime | None
    gpc: bool
    via: str | None = Field(
        description=(
            'What it came through: "token:<id>", "session:<token id>", "local-owner" or '
            '"system"; empty on events recorded before this was kept.'
        )
    )
    entry_hash: str = Field(description="This entry's link in the ledger's hash chain.")
    served_language: str | None = Field(
        default=None, description="The language the notice was read in before this give."
    )


class CurrentConsentPublic(Public):
    purpose: str
    state: str
    notice_version_id: str | None
    recorded_at: datetime
    valid_until: datetime | None


class SwitchesPublic(Public):
    ai_features_enabled: bool
    training_sharing_enabled: bool
    vendor_sharing_enabled: bool


class TrainingUse(Public):
    result: str
    reasons: list[str]


class ConsentMe(BaseModel):
    subject_id: str
    consent: list[CurrentConsentPublic]
    tenant: SwitchesPublic
    training_use_now: TrainingUse = Field(
        description="Whether a meeting summary with only you in it may be kept for training now."
    )


class CheckpointPublic(BaseModel):
    chain: str
    seq: int
    entry_hash: str
    signed_at: str
    public_key: str
    signature: str = Field(
        description="Ed25519 over the canonical JSON of chain, seq, entry_hash and signed_at."
    )


class ConsentReceipt(BaseModel):
    subject_id: str
    events: list[ConsentEventPublic]
    checkpoint: CheckpointPublic | None = Field(
        description=(
            "The first signed checkpoint of the ledger covering your newest event (null until "
            "one is signed: at the next opt-out anyone records, or within minutes). Also kept "
            "in the operator's witness file."
        )
    )


# --- admin ----------------------------------------------------------------------


class TenantPublic(SwitchesPublic):
    id: str
    name: str


class TenantUpdate(Strict):
    """Switches take JSON true/false only (`StrictBool`, as in every request): pydantic's lax
    bool would also take 0, 0.0 or "off", which the published schema calls invalid."""

    ai_features_enabled: StrictBool | None = None
    training_sharing_enabled: StrictBool | None = None
    vendor_sharing_enabled: StrictBool | None = None
    confirm: StrictBool = Field(
        default=False,
        description=(
            "Turning training sharing or AI features off revokes every published export and "
            "retires every kept example, for good; when there is any, the request is answered "
            "409 `confirmation_required` with the counts unless this is true."
        ),
    )


class NoticeCreate(Strict):
    key: str = Field(default="training", max_length=64)
    title: str = Field(max_length=200)
    body: str = Field(max_length=100_000)
    purposes: list[str] = Field(default_factory=lambda: ["train_ai_system"], max_length=20)
    artifact_kinds: list[str] = Field(
        default_factory=lambda: [kind.value for kind in ArtifactKind],
        max_length=20,
        description="What the notice covers; default: every kind of AI output.",
    )
    retention_days: int = Field(default=365, ge=1, le=3650)
    recipients: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Who receives kept examples beyond the tenant itself (none: the tenant).",
    )
    language: str = Field(default="en", max_length=16)
    material_change: StrictBool = Field(
        default=False,
        description=(
            "Mark this edit material. Longer retention, a new purpose, kind or recipient is "
            "material whatever this says, judged against the version each person agreed to."
        ),
    )


class TranslationCreate(Strict):
    language: str = Field(max_length=16, description="A language tag: 'de', 'pt-br'.")
    title: str = Field(max_length=200)
    body: str = Field(max_length=100_000)


class NoticePublished(BaseModel):
    notice: NoticePublic
    created: bool = Field(description="False when the same content was already published.")


class SubjectPublic(Public):
    id: str
    kind: str
    display_name: str | None
    erased: bool


class ConsentCounts(BaseModel):
    purpose: str
    counts: dict[str, int] = Field(description="Members per state; 'undecided' for no decision.")


class AuditChainPublic(Public):
    chain: str
    ok: bool


class AuditCheckPublic(Public):
    name: str
    ok: bool


class AuditReport(Public):
    """The chains are shared by every tenant of the server: a tenant sees whether they and
    what rests on them hold, not their lengths, positions or other tenants' rows. The
    operator's `minutekeeper audit verify` names where something is wrong."""

    ok: bool
    chains: list[AuditChainPublic]
    checks: list[AuditCheckPublic] = Field(
        description=(
            "Data checked against the chains: the consent projection, and the kept "
            "candidates, exports, tombstones and artifacts the audit chain's facts describe."
        )
    )
    warnings: list[str] = Field(description="Weaker evidence than there could be; not a failure.")


# --- jobs and meetings ----------------------------------------------------------


class JobPublic(Public):
    id: str
    kind: str
    status: Literal["queued", "running", "succeeded", "failed"]
    stage: Stage = Field(
        description=(
            "Where the job is. A meeting job goes preparing_models, transcribing, diarizing, "
            "summarizing, offering (to the consent gate, for training), skipping what does "
            "not apply (a transcript file is neither transcribed nor diarized); an export "
            "job goes deciding, writing. Before: queued (requeued when its worker stopped), "
            "starting; after: done or failed."
        )
    )
    stage_progress: float | None = Field(
        description="The share of the stage done (0..1), for a stage that measures it "
        "(transcribing); null for the others."
    )
    progress: float = Field(
        description="The share of the whole job done (0..1); it never goes back while the "
        "job runs, and jumps over stages that do not apply."
    )
    result: dict[str, Any] | None
    error: ErrorDetail | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class MeetingAccepted(BaseModel):
    meeting_id: str = Field(description="The meeting's id once its job succeeds.")
    job: JobPublic


class MeetingInfoPublic(Public):
    id: str
    title: str
    source: str
    duration: float
    meeting_date: date | None
    created_at: datetime
    summarized: bool
    has_audio: bool = False
    role: Literal["owner", "participant"] = Field(
        default="owner",
        description="owner: you uploaded it; participant: shared with you because you "
        "confirmed words in it are yours (you read it; only its owner renames or deletes).",
    )
    shared_by: str | None = Field(
        default=None, description="For a participant: the name of the owner who shares it."
    )


class MeetingPublic(BaseModel):
    meeting: MeetingInfoPublic
    transcript: dict[str, Any]
    summary: dict[str, Any] | None


class SpeakersUpdate(Strict):
    names: dict[str, str] = Field(
        description="Speaker id (S1, C2, a track name) -> the person's name.", max_length=50
    )


class QuestionCreate(Strict):
    question: str = Field(min_length=1, max_length=2000)
    engine: Literal["extractive", "llm", "hybrid"] | None = Field(
        default=None, description="How to answer; default: the server's summary engine."
    )


class SearchHitPublic(BaseModel):
    """Where a search's words are said: a transcript segment or a summary item."""

    id: str = Field(description="The hit's id (a page's `next_cursor` is its last hit's).")
    meeting_id: str
    title: str
    role: Literal["owner", "participant"]
    kind: Literal["transcript", "summary"]
    section: str | None = Field(description="A summary item's section (decisions, ...).")
    speaker: str | None = Field(description="Who said it; for an action item, its owner.")
    snippet: str = Field(description="The words around what was found.")
    highlights: list[tuple[int, int]] = Field(
        description="[start, end) of each matched word in `snippet`, in characters."
    )
    start: float | None = Field(
        description="Seconds into the meeting: the segment's start, or the moment a summary "
        "item cites first (null: it cites none)."
    )
    at: str | None = Field(description="`start` as m:ss (h:mm:ss past an hour).")
    link: str = Field(description="The meeting page at that moment.")


# --- compose --------------------------------------------------------------------


class ThreadMessage(Strict):
    id: str | None = Field(default=None, max_length=100)
    author: str = Field(min_length=1, max_length=200)
    text: str = Field(max_length=20_000)
    time: str | None = Field(default=None, max_length=64)
    reply_to: str | None = Field(default=None, max_length=100)


class ComposeCreate(Strict):
    thread: list[ThreadMessage] = Field(default_factory=list, max_length=500)
    instruction: str = Field(default="", max_length=5000)
    mode: Literal["reply", "followup", "rewrite"] = "reply"
    tone: Literal["neutral", "friendly", "formal", "concise"] = "neutral"
    length: Literal["short", "medium", "long"] = "short"
    meeting_id: str | None = Field(default=None, max_length=36)
    n: int = Field(default=1, ge=1, le=5)


class DraftPublic(Public):
    id: str
    text: str
    alternatives: list[str]
    written_by: str
    used_messages: list[str]
    used_items: list[str]
    notes: list[str]
    failed_checks: list[str]
    verdict: Literal["passed", "failed", "from_items"] = Field(
        description="failed: a check of the text failed (read headline before sending); "
        "from_items: a follow-up written from the meeting's items after the model's drafts failed"
    )
    headline: str = Field(description="What to show first: the failed checks in words, if any.")


class FeedbackCreate(Strict):
    sent_text: str = Field(min_length=1, max_length=20_000)
    rating: int | None = Field(default=None, ge=1, le=5)


class FeedbackPublic(Public):
    draft_id: str
    rating: int | None
    recorded_at: datetime


# --- exports --------------------------------------------------------------------


class ExportCreate(Strict):
    supersedes: str | None = Field(default=None, max_length=36)


class ExportPublic(Public):
    id: str
    version: int
    status: str
    status_reason: str | None
    supersedes_id: str | None
    manifest_sha256: str | None
    counts: dict[str, Any] | None
    created_at: datetime
    published_at: datetime | None
    revoked_at: datetime | None


class TombstonePublic(Public):
    record_id: str
    reason: str
    at: str


class AttributionItemPublic(BaseModel):
    id: str
    text: str
    start: float | None = None
    end: float | None = None


class AttributionPublic(Public):
    id: str
    source_kind: str = Field(description="meeting, draft or transcript")
    source_id: str
    label: str = Field(description="The speaker label or thread author the claim is about.")
    status: str = Field(description="pending, confirmed, rejected or voided")
    items: list[AttributionItemPublic] = Field(
        description="Only the words attributed to you, never the rest of the source."
    )
    audio: bool = Field(
        description="Whether each item can be heard at /v1/attributions/{id}/items/{item}/audio."
    )
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    answers: dict[str, bool]


class AttributionAnswer(Strict):
    answers: dict[str, Literal["me", "not_me"]] = Field(
        description='Every item of the request: "me" or "not_me".', max_length=5000
    )
