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

from minutekeeper.consent.chain import ChainWriter
from minutekeeper.consent.exports import tombstones
from minutekeeper.consent.store import (
    ArtifactRecord,
    CandidateContributorRecord,
    SubjectRecord,
    TrainingCandidateRecord,
)
from minutekeeper.consent.tenants import get_subject

ERASED = {"erased": True}


@dataclass(frozen=True)
class Erased:
    subject_id: str
    candidates: int
    artifacts: int
    exports: tuple[str, ...]  # exports that got tombstones


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
    conn.execute(
        update(SubjectRecord)
        .where(SubjectRecord.id == subject.id)
        .values(erased_at=func.coalesce(SubjectRecord.erased_at, at), display_name=None)
    )
    exports = tombstones.tombstone_subject(
        conn, writer, tenant_id=tenant_id, subject_id=subject.id, reason="erased", at=at,
        actor_id=actor_id,
    )  # fmt: skip
    tc, cc = TrainingCandidateRecord, CandidateContributorRecord
    candidates = conn.execute(
        update(tc)
        .where(
            tc.tenant_id == tenant_id,
            tc.id.in_(select(cc.candidate_id).where(cc.subject_id == subject.id)),
        )
        .values(status="purged", messages=[])
    ).rowcount
    # Contributor lists are JSON arrays of ids; an id is a UUID, so a quoted match is exact.
    artifacts = conn.execute(
        update(ArtifactRecord)
        .where(
            ArtifactRecord.tenant_id == tenant_id,
            cast(ArtifactRecord.contributors, Text).contains(f'"{subject.id}"', autoescape=True),
        )
        .values(input=ERASED, output=ERASED)
    ).rowcount
    writer.audit(
        conn,
        actor=actor_id,
        action="subject.erased",
        object_type="subject",
        object_id=subject.id,
        payload={"id": subject.id, "candidates": candidates, "artifacts": artifacts},
    )
    return Erased(subject.id, candidates, artifacts, tuple(exports))
