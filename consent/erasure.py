"""Erasure of a person (rule 13): their candidates and the stored content of every artifact
their words are in are deleted, their name is removed, and published exports holding their
records get tombstones. The ledger, decisions and audit chain hold ids and hashes only, so
they stay as they are and still verify.

Content kept outside the consent module (meetings, drafts) is erased by the features that
own it, before this runs (see `features.erasure`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Text, cast, func, select, update

from minutekeeper.consent import facts
from minutekeeper.consent.chain import ChainWriter
from minutekeeper.consent.exports import tombstones
from minutekeeper.consent.facts import ERASED
from minutekeeper.consent.store import (
    ArtifactRecord,
    AttributionRequestRecord,
    CandidateContributorRecord,
    ExportedExampleRecord,
    SubjectRecord,
    TrainingCandidateRecord,
)
from minutekeeper.consent.tenants import get_subject

_CHUNK = 500


@dataclass(frozen=True)
class Erased:
    subject_id: str
    candidates: int
    artifacts: int
    exports: tuple[str, ...]  # exports that got tombstones
    holding: tuple[str, ...] = ()  # every export whose files hold their records


# Claims that said these words were theirs and were not refused or withdrawn.
CLAIMED = ("pending", "confirmed", "expired")


def claimed_sources(
    conn: Connection, tenant_id: str, subject_id: str
) -> dict[tuple[str, str], set[str]]:
    """The speaker labels and thread authors attributed to the person, by (source kind,
    source id): how erasure finds their words whatever name they went by there."""
    r = AttributionRequestRecord
    rows = conn.execute(
        select(r.source_kind, r.source_id, r.label).where(
            r.tenant_id == tenant_id, r.subject_id == subject_id, r.status.in_(CLAIMED)
        )
    ).all()
    found: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        found.setdefault((row.source_kind, row.source_id), set()).add(row.label)
    return found


def erase_subject(
    conn: Connection,
    writer: ChainWriter,
    *,
    tenant_id: str,
    subject_id: str,
    at: datetime,
    actor_id: str,
) -> Erased:
    subject = get_subject(conn, subject_id, tenant_id=tenant_id)
    tc, cc, art = TrainingCandidateRecord, CandidateContributorRecord, ArtifactRecord
    er, request = ExportedExampleRecord, AttributionRequestRecord
    theirs = select(cc.candidate_id).where(cc.subject_id == subject.id)
    holding = sorted(
        conn.execute(select(er.export_id).where(er.candidate_id.in_(theirs)).distinct()).scalars()
    )
    candidates = list(
        conn.execute(select(tc.id).where(tc.tenant_id == tenant_id, tc.id.in_(theirs))).scalars()
    )
    # Contributor lists are JSON arrays of ids; an id is a UUID, so a quoted match is exact.
    artifacts = list(
        conn.execute(
            select(art.id).where(
                art.tenant_id == tenant_id,
                cast(art.contributors, Text).contains(f'"{subject.id}"', autoescape=True),
            )
        ).scalars()
    )
    conn.execute(
        update(SubjectRecord)
        .where(SubjectRecord.id == subject.id)
        .values(erased_at=func.coalesce(SubjectRecord.erased_at, at), display_name=None)
    )
    # The words each request showed them go; the request stays (its answer is evidence).
    conn.execute(
        update(request)
        .where(request.tenant_id == tenant_id, request.subject_id == subject.id)
        .values(items=[])
    )
    exports = tombstones.tombstone_subject(
        conn, writer, tenant_id=tenant_id, subject_id=subject.id, reason="erased", at=at,
        actor_id=actor_id,
    )  # fmt: skip
    for start in range(0, len(candidates), _CHUNK):
        chunk = candidates[start : start + _CHUNK]
        conn.execute(update(tc).where(tc.id.in_(chunk)).values(status="purged", messages=[]))
    for start in range(0, len(artifacts), _CHUNK):
        chunk = artifacts[start : start + _CHUNK]
        conn.execute(update(art).where(art.id.in_(chunk)).values(input=ERASED, output=ERASED))
    writer.audit(
        conn,
        actor=actor_id,
        action="subject.erased",
        object_type="subject",
        object_id=subject.id,
        payload={"id": subject.id, "candidates": len(candidates), "artifacts": len(artifacts)},
        facts=facts.erased(subject.id, candidates, artifacts),
    )
    writer.checkpoint_at_commit(conn)
    return Erased(subject.id, len(candidates), len(artifacts), tuple(exports), tuple(holding))
