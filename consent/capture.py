"""Capture: every AI output is offered to the gate for `train_ai_system`, and a training
candidate is kept only when the gate allows it (rules 8, 9).

- ALLOW: the whole example, redacted, becomes a candidate.
- PARTIAL (segment-level kinds, e.g. a transcript): the consenting speakers' segments
  alone, redacted; the others' segments are dropped, not masked.
- DENY: nothing is kept. The artifact and the decision stay (the decision is audited).

Redaction runs before anything is stored as a candidate; when it fails, nothing is kept
and the result says `REDACTION_FAILED`. The caller's own result (a summary, a draft)
never depends on any of this.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from minutekeeper.consent import facts
from minutekeeper.consent.artifacts import made_from_deleted
from minutekeeper.consent.domain import (
    Artifact,
    ArtifactKind,
    DataClass,
    Decision,
    Result,
    SubjectKind,
)
from minutekeeper.consent.errors import SourceDeleted
from minutekeeper.consent.purposes import TRAIN_AI_SYSTEM
from minutekeeper.consent.redaction import PROFILE, Person, RedactionFailed, Redactor
from minutekeeper.consent.service import ConsentService
from minutekeeper.consent.store import (
    CandidateContributorRecord,
    SubjectRecord,
    TrainingCandidateRecord,
)
from minutekeeper.core.db import read_transaction, write_transaction

TRANSCRIPT_SYSTEM = "A meeting transcript: what each speaker said, in order."
TRANSCRIPT_ASK = "Write the transcript of this part of the meeting."


@dataclass(frozen=True)
class Utterance:
    """One contributor's words in a segment-level example."""

    contributor: str  # a subject id, or UNKNOWN_SPEAKER
    text: str


@dataclass(frozen=True)
class Offer:
    """An AI output and the input behind it, as offered for training."""

    kind: ArtifactKind
    data_class: DataClass
    task: str  # meeting_summary | chat_draft | transcript
    input: Any
    output: Any
    contributors: tuple[str, ...]
    # The example as chat messages (system/user/assistant, ending with the assistant);
    # for segment-level kinds it is built from the consenting speakers' `utterances` instead.
    messages: tuple[Mapping[str, str], ...] = ()
    utterances: tuple[Utterance, ...] = ()
    author: str | None = None  # the requesting author (their name is redacted too)
    # subject id -> person: the people the example names or quotes (speakers, guests,
    # thread authors). Redaction hides them and every member of the tenant.
    roster: Mapping[str, Person] = field(default_factory=dict)
    model_id: str | None = None
    prompt_version: str | None = None
    # The content's own time as stated (a meeting's date), when it reached the server
    # (default: now), and the contributors who vouch for that time: whoever uploaded it
    # (their own words) or confirmed it. Anyone else's consent must have held without a
    # break from before the upload.
    content_time: datetime | None = None
    received_at: datetime | None = None
    vouched_by: tuple[str, ...] = ()
    # Contributors named by someone else's claim: subject -> (label, binding) pairs from
    # `ConsentService.attribute`; they count once they confirmed.
    attributions: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # The saved meeting or draft it was made from ("meeting", id): deleting that deletes
    # what was kept of it, and nothing from it is kept once it was deleted.
    source: tuple[str, str] | None = None


@dataclass(frozen=True)
class Captured:
    artifact: Artifact
    decision: Decision
    candidate_id: str | None
    excluded: tuple[str, ...]  # why no candidate was kept (empty when one was)


def capture_offer(
    service: ConsentService, redactor: Redactor, tenant_id: str, offer: Offer
) -> Captured:
    artifact = service.record_artifact(
        tenant_id,
        kind=offer.kind,
        data_class=offer.data_class,
        input=offer.input,
        output=offer.output,
        contributors=offer.contributors,
        captured_at=offer.content_time,
        received_at=offer.received_at,
        vouched_by=offer.vouched_by,
        attributions=offer.attributions,
        model_id=offer.model_id,
        prompt_version=offer.prompt_version,
        source=offer.source,
    )
    decision = service.decide(tenant_id, artifact.id, purpose=TRAIN_AI_SYSTEM)
    allowed = {v.contributor for v in decision.contributors if v.allowed}
    messages: Sequence[Mapping[str, str]]
    if decision.result is Result.ALLOW:
        # A segment-level offer (a transcript) carries utterances, not messages.
        messages = list(offer.messages) or _transcript_example(offer.utterances)
        kind, kept = "whole", list(offer.contributors)
    elif decision.result is Result.PARTIAL and offer.utterances:
        spoken = [t for t in offer.utterances if t.contributor in allowed]
        if not spoken:
            return Captured(artifact, decision, None, decision.reasons)
        kept = sorted({t.contributor for t in spoken})
        kind, messages = "segments", _transcript_example(spoken)
    else:
        return Captured(artifact, decision, None, decision.reasons)
    try:
        people = deny_list(service, tenant_id, offer.roster.values())
        redacted = redact_messages(messages, people, redactor)
    except RedactionFailed:
        return Captured(artifact, decision, None, (RedactionFailed.code,))
    seqs = sorted({v.consent_seq for v in decision.contributors if v.consent_seq is not None})
    retention = service.retention_days(tenant_id, decision)
    candidate_id = str(uuid.uuid4())
    values = {
        "id": candidate_id,
        "tenant_id": tenant_id,
        "artifact_id": artifact.id,
        "decision_id": decision.id,
        "example_kind": kind,
        "task": offer.task,
        "messages": redacted,
        "contributors": kept,
        "redaction_profile": PROFILE,
        "consent_event_seqs": seqs,
        "captured_at": artifact.captured_at,
        "expires_at": artifact.captured_at + timedelta(days=retention),
        "status": "eligible",
    }
    with write_transaction(service.engine) as conn:
        # Under the writer lock a deletion also takes: it either comes first and is seen
        # here, or comes after and finds this candidate to retire.
        if made_from_deleted(conn, artifact.id):
            return Captured(artifact, decision, None, (SourceDeleted.code,))
        conn.execute(insert(TrainingCandidateRecord).values(**values))
        conn.execute(
            insert(CandidateContributorRecord),
            [{"candidate_id": candidate_id, "subject_id": subject} for subject in set(kept)],
        )
        chained = facts.kept(candidate_id, values)
        service.writer.audit(conn, actor="capture", action="candidate.kept",
                             object_type="training_candidate", object_id=candidate_id,
                             payload=chained, facts=chained)  # fmt: skip
    return Captured(artifact, decision, candidate_id, ())


def _transcript_example(utterances: Sequence[Utterance]) -> list[dict[str, str]]:
    """The kept segments as one transcript excerpt; speakers are numbered, not named."""
    numbers: dict[str, int] = {}
    lines = []
    for utterance in utterances:
        number = numbers.setdefault(utterance.contributor, len(numbers) + 1)
        lines.append(f"Speaker {number}: {utterance.text.strip()}")
    return [
        {"role": "system", "content": TRANSCRIPT_SYSTEM},
        {"role": "user", "content": TRANSCRIPT_ASK},
        {"role": "assistant", "content": "\n".join(lines)},
    ]


def deny_list(service: ConsentService, tenant_id: str, roster: Iterable[Person]) -> list[Person]:
    """Everyone whose name redaction hides: the people an example names (its speakers and
    guests, its authors, the consenting ones included: a string cannot tell two Carols
    apart) and every member of the tenant, named or not in it."""
    subject = SubjectRecord
    with read_transaction(service.engine) as conn:
        members = conn.execute(
            select(subject.display_name).where(
                subject.tenant_id == tenant_id,
                subject.kind == SubjectKind.MEMBER.value,
                subject.display_name.is_not(None),
            )
        ).scalars()
        named = [Person(name) for name in members if name and name.strip()]
    return list(dict.fromkeys([*roster, *named]))


def redact_messages(
    messages: Sequence[Mapping[str, str]], people: Sequence[Person], redactor: Redactor
) -> list[dict[str, str]]:
    """Each message with `people` and everything else personal replaced by placeholders.
    A full name of `people` still there in any case ("will turner": both parts are words,
    matched only as written) means the redaction cannot be trusted: `RedactionFailed`."""
    redacted = [
        {"role": m["role"], "content": redactor.redact(m["content"], people=people)}
        for m in messages
    ]
    full_names = {_words(p.name) for p in people if len(p.name.split()) > 1}
    for message in redacted:
        words = _words(message["content"])
        if any(f" {name} " in f" {words} " for name in full_names):
            raise RedactionFailed("a name on the deny-list is still in the text")
    return redacted


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def purge_expired(service: ConsentService, *, actor_id: str = "retention") -> int:
    """Purge every candidate past its `expires_at` (rule 12): its example is deleted, the
    row stays as `purged` so exports and audits can still name it; each purge is audited.
    Returns how many were purged."""
    candidate = TrainingCandidateRecord
    now = service.clock()
    with write_transaction(service.engine) as conn:
        expired = (
            conn.execute(
                select(candidate.id).where(
                    candidate.status != "purged", candidate.expires_at <= now
                )
            )
            .scalars()
            .all()
        )
        for candidate_id in expired:
            conn.execute(
                update(candidate)
                .where(candidate.id == candidate_id)
                .values(status="purged", messages=[])
            )
            service.writer.audit(
                conn,
                actor=actor_id,
                action="candidate.purged",
                object_type="training_candidate",
                object_id=candidate_id,
                payload={"id": candidate_id, "reason": "expired"},
                facts=facts.candidates([candidate_id], "purged"),
            )
    return len(expired)
