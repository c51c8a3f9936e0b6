"""A withdrawal reaches exports already published (rule 10).

When a person withdraws, refuses, lets consent expire or is erased, every published export
holding a record with their words gets a tombstone for that record and is marked `revoked`;
their candidates are tombstoned too, their examples deleted (consent must hold without a
break, so those candidates can never be exported again). All of it happens in the caller's
transaction, under the writer lock that also guards publishing an export: a withdrawal is
either seen by an export's last re-check or finds the export published.

The database is the record; each export's `tombstones.jsonl` is rewritten from it after
the transaction commits (`sync_files`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Text,
    bindparam,
    cast,
    func,
    insert,
    or_,
    select,
    update,
)

from minutekeeper.consent import facts
from minutekeeper.consent.artifacts import attributions_of
from minutekeeper.consent.chain import ChainWriter
from minutekeeper.consent.domain import ArtifactKind
from minutekeeper.consent.exports.dataset import TOMBSTONES_FILE, write_tombstones
from minutekeeper.consent.ledger import tail_seq
from minutekeeper.consent.purposes import TRAIN_AI_SYSTEM
from minutekeeper.consent.redecide import BulkDecider
from minutekeeper.consent.store import (
    ArtifactRecord,
    CandidateContributorRecord,
    DatasetExportRecord,
    ExportedExampleRecord,
    TombstoneRecord,
    TrainingCandidateRecord,
)
from minutekeeper.core.db import read_transaction, rows_after, table_of

PUBLISHED = ("active", "revoked")
_CHUNK = 500


# The tenant's published records not yet tombstoned, and what a withdrawal reads of them:
# built once, since every withdrawal runs them and building them cost more than running.
_LIVE = (
    select(ExportedExampleRecord.export_id, ExportedExampleRecord.record_id)
    .join(DatasetExportRecord, DatasetExportRecord.id == ExportedExampleRecord.export_id)
    .outerjoin(TombstoneRecord, (TombstoneRecord.export_id == ExportedExampleRecord.export_id)
               & (TombstoneRecord.record_id == ExportedExampleRecord.record_id))
    .where(DatasetExportRecord.tenant_id == bindparam("tenant_id"),
           DatasetExportRecord.status.in_(PUBLISHED), TombstoneRecord.record_id.is_(None))
)  # fmt: skip
_THEIRS = select(CandidateContributorRecord.candidate_id).where(
    CandidateContributorRecord.subject_id == bindparam("subject_id")
)
_SUBJECT_LIVE = _LIVE.where(ExportedExampleRecord.candidate_id.in_(_THEIRS))
_SUBJECT_ELIGIBLE = select(TrainingCandidateRecord.id).where(
    TrainingCandidateRecord.tenant_id == bindparam("tenant_id"),
    TrainingCandidateRecord.status == "eligible",
    TrainingCandidateRecord.id.in_(_THEIRS),
)


def tombstone_subject(
    conn: Connection,
    writer: ChainWriter,
    *,
    tenant_id: str,
    subject_id: str,
    reason: str,
    at: datetime,
    actor_id: str,
) -> list[str]:
    """Tombstone the subject's records in every published export of the tenant and their
    candidates; returns the ids of the exports that got tombstones."""
    params = {"tenant_id": tenant_id, "subject_id": subject_id}
    hits = conn.execute(_SUBJECT_LIVE, params).all()
    why = f"a contributor: {reason}"
    exports = _tombstone(conn, writer, hits, reason=reason, why=why, at=at, actor_id=actor_id)
    mine = conn.execute(_SUBJECT_ELIGIBLE, params).scalars()
    retire(conn, writer, list(mine), status="tombstoned", reason=reason, actor_id=actor_id)
    return exports


def tombstone_tenant(
    conn: Connection,
    writer: ChainWriter,
    *,
    tenant_id: str,
    reason: str,
    at: datetime,
    actor_id: str,
) -> list[str]:
    """Tombstone every record of every published export of the tenant and retire all its
    kept candidates (a switch turned off: nothing kept so far may be used any more);
    returns the ids of the exports that got tombstones."""
    de = DatasetExportRecord
    hits = _live_records(conn, tenant_id)
    why = f"the tenant: {reason}"
    exports = _tombstone(conn, writer, hits, reason=reason, why=why, at=at, actor_id=actor_id)
    # An active export with no record left untombstoned (an empty one) is revoked too.
    empty = conn.execute(
        select(de.id).where(de.tenant_id == tenant_id, de.status == "active")
    ).scalars()
    for export_id in list(empty):
        conn.execute(
            update(de)
            .where(de.id == export_id)
            .values(status="revoked", revoked_at=at, status_reason=why)
        )
        writer.audit(conn, actor=actor_id, action="export.revoked",
                     object_type="dataset_export", object_id=export_id,
                     payload={"id": export_id, "reason": why},
                     facts=facts.export(export_id, "revoked"))  # fmt: skip
    tc = TrainingCandidateRecord
    kept = conn.execute(
        select(tc.id).where(tc.tenant_id == tenant_id, tc.status == "eligible")
    ).scalars()
    retire(conn, writer, list(kept), status="tombstoned", reason=reason, actor_id=actor_id)
    return exports


def tombstone_claim(
    conn: Connection,
    writer: ChainWriter,
    *,
    tenant_id: str,
    held: Mapping[str, Sequence[str]],
    reason: str,
    at: datetime,
    actor_id: str,
) -> list[str]:
    """Tombstone the kept candidates holding a person's words that rest on a claim of theirs
    (`held`: subject -> the claims' bindings) and their published records, in one pass, as
    a withdrawal does: the words are no longer confirmed theirs. Returns the exports that
    got tombstones."""
    tc, cc = TrainingCandidateRecord, CandidateContributorRecord
    resting = sorted(
        {
            candidate
            for subject_id, keys in held.items()
            for candidate in _resting_on(
                conn, tenant_id, keys,
                tc.id.in_(select(cc.candidate_id).where(cc.subject_id == subject_id)),
            )
        }
    )  # fmt: skip
    if not resting:
        return []
    hits = _live_records(conn, tenant_id, ExportedExampleRecord.candidate_id.in_(resting))
    why = f"an attribution: {reason}"
    exports = _tombstone(conn, writer, hits, reason=reason, why=why, at=at, actor_id=actor_id)
    retire(conn, writer, resting, status="tombstoned", reason=reason, actor_id=actor_id)
    return exports


def supersede(
    conn: Connection, writer: ChainWriter, *, tenant_id: str, keys: Sequence[str], actor_id: str
) -> list[str]:
    """Mark the kept candidates resting on a claim bound by one of `keys` `superseded`
    (their example deleted); returns their ids."""
    ids = _resting_on(conn, tenant_id, keys)
    retire(conn, writer, ids, status="superseded", reason="offered again", actor_id=actor_id,
           action="candidates.superseded")  # fmt: skip
    return ids


def any_kept(conn: Connection) -> bool:
    """Whether any tenant has a kept (eligible) candidate."""
    tc = TrainingCandidateRecord
    return conn.execute(select(tc.id).where(tc.status == "eligible").limit(1)).first() is not None


def published_counts(conn: Connection, tenant_id: str) -> tuple[int, int]:
    """The tenant's active exports and kept (eligible) candidates: what turning a switch
    off would revoke and retire."""
    de, tc = DatasetExportRecord, TrainingCandidateRecord
    exports = conn.execute(
        select(func.count()).where(de.tenant_id == tenant_id, de.status == "active")
    ).scalar_one()
    kept = conn.execute(
        select(func.count()).where(tc.tenant_id == tenant_id, tc.status == "eligible")
    ).scalar_one()
    return int(exports), int(kept)


def _tombstone(
    conn: Connection,
    writer: ChainWriter,
    hits: Sequence[Any],
    *,
    reason: str,
    why: str,
    at: datetime,
    actor_id: str,
) -> list[str]:
    """Tombstone `hits` (export id, record id) and revoke the exports they are in."""
    de, tomb = DatasetExportRecord, TombstoneRecord
    if hits:
        conn.execute(
            insert(tomb),
            [
                {"export_id": h.export_id, "record_id": h.record_id, "reason": reason, "at": at}
                for h in hits
            ],
        )
    per_export: dict[str, list[str]] = defaultdict(list)
    for h in hits:
        per_export[h.export_id].append(h.record_id)
    exports = sorted(per_export)
    if exports:
        writer.checkpoint_at_commit(conn)
    for export_id in exports:
        records = sorted(per_export[export_id])
        revoked = conn.execute(
            update(de)
            .where(de.id == export_id, de.status == "active")
            .values(status="revoked", revoked_at=at, status_reason=why)
        ).rowcount
        writer.audit(
            conn,
            actor=actor_id,
            action="export.tombstoned",
            object_type="dataset_export",
            object_id=export_id,
            payload={
                "export_id": export_id,
                "records": len(records),
                "reason": reason,
                "revoked": bool(revoked),
            },
            facts=facts.tombstones(export_id, records, "revoked"),
        )
    return exports


def retire(
    conn: Connection,
    writer: ChainWriter,
    ids: Sequence[str],
    *,
    status: str,
    reason: str,
    actor_id: str,
    action: str = "candidates.retired",
) -> None:
    """Set kept candidates `ids` to `status`, their examples deleted, and chain which ones
    (nothing is written for none)."""
    if not ids:
        return
    writer.checkpoint_at_commit(conn)
    tc = TrainingCandidateRecord
    ids = sorted(set(ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        conn.execute(update(tc).where(tc.id.in_(chunk)).values(status=status, messages=[]))
    writer.audit(conn, actor=actor_id, action=action, object_type="training_candidates",
                 object_id=ids[0] if len(ids) == 1 else f"{len(ids)} candidates",
                 payload={"ids": ids, "status": status, "reason": reason},
                 facts=facts.candidates(ids, status))  # fmt: skip


def tombstones_of(
    conn: Connection, export_id: str, *, after: str | None = None, limit: int | None = None
) -> list[dict[str, str]]:
    """The export's tombstones, oldest first (after the record `after`, at most `limit`)."""
    t = table_of(TombstoneRecord).c
    rows = rows_after(
        conn,
        select(t.record_id, t.reason, t.at).where(t.export_id == export_id),
        order=[(t.at, False), (t.record_id, False)],
        id_column=t.record_id,
        after=after,
        limit=limit,
    )
    return [{"record_id": r.record_id, "reason": r.reason, "at": r.at.isoformat()} for r in rows]


def sync_files(engine: Engine, export_ids: Iterable[str]) -> None:
    """Rewrite each export's `tombstones.jsonl` from the database, once per export however
    often it is named."""
    with read_transaction(engine) as conn:
        for export_id in sorted(set(export_ids)):
            folder = conn.execute(
                select(DatasetExportRecord.path).where(DatasetExportRecord.id == export_id)
            ).scalar_one()
            path = Path(folder)
            if path.is_dir():
                write_tombstones(path / TOMBSTONES_FILE, tombstones_of(conn, export_id))


def retire_failing(
    conn: Connection,
    writer: ChainWriter,
    *,
    tenant_id: str,
    decided_at: datetime,
    reason: str,
    actor_id: str,
) -> tuple[int, list[str]]:
    """Re-decide every kept candidate of the tenant now, under the newest rules; retire
    those the rules no longer allow and tombstone their records in published exports.
    Returns how many were retired and the exports that got tombstones."""
    tc, art = TrainingCandidateRecord, ArtifactRecord
    rows = conn.execute(
        select(tc.id, tc.contributors, art.kind, art.captured_at, art.received_at,
               art.time_vouched_by, art.attributions)
        .join(art, art.id == tc.artifact_id)
        .where(tc.tenant_id == tenant_id, tc.status == "eligible")
    ).all()  # fmt: skip
    if not rows:
        return 0, []
    decider = BulkDecider(conn, tenant_id=tenant_id, purpose=TRAIN_AI_SYSTEM,
                          ledger_seq=tail_seq(conn), decided_at=decided_at)  # fmt: skip
    failing = [
        row.id
        for row in rows
        if decider.outcome(
            ArtifactKind(row.kind),
            tuple(row.contributors),
            row.captured_at,
            received_at=row.received_at,
            vouched_by=tuple(row.time_vouched_by or ()),
            attributions=attributions_of(row.attributions),
            claims_recorded=row.attributions is not None,
        ).reason
        is not None
    ]
    if not failing:
        return 0, []
    hits = _live_records(conn, tenant_id, ExportedExampleRecord.candidate_id.in_(failing))
    why = f"re-decided: {reason}"
    exports = _tombstone(conn, writer, hits, reason=reason, why=why, at=decided_at,
                         actor_id=actor_id)  # fmt: skip
    retire(conn, writer, failing, status="tombstoned", reason=reason, actor_id=actor_id,
           action="candidates.redecided")  # fmt: skip
    return len(failing), exports


def _live_records(conn: Connection, tenant_id: str, *where: Any) -> list[Any]:
    """(export id, record id) of the tenant's published records not yet tombstoned, among
    those `where` selects."""
    return list(conn.execute(_LIVE.where(*where), {"tenant_id": tenant_id}).all())


def _resting_on(conn: Connection, tenant_id: str, keys: Sequence[str], *where: Any) -> list[str]:
    """The tenant's kept candidates whose artifact records a claim bound by one of `keys`
    (the bindings are hex digests: a text match finds exactly those)."""
    if not keys:
        return []
    tc, art = TrainingCandidateRecord, ArtifactRecord
    claimed = or_(*(cast(art.attributions, Text).contains(key) for key in keys))
    rows = conn.execute(
        select(tc.id)
        .join(art, art.id == tc.artifact_id)
        .where(tc.tenant_id == tenant_id, tc.status == "eligible", claimed, *where)
    ).scalars()
    return sorted(rows)


def tombstone_candidates(
    conn: Connection,
    writer: ChainWriter,
    *,
    tenant_id: str,
    candidate_ids: Sequence[str],
    reason: str,
    at: datetime,
    actor_id: str,
) -> list[str]:
    """Tombstone the published records of these candidates (their exports revoked), as a
    withdrawal does; the candidates themselves are the caller's to change. Returns the
    exports that got tombstones."""
    if not candidate_ids:
        return []
    hits = _live_records(
        conn, tenant_id, ExportedExampleRecord.candidate_id.in_(list(candidate_ids))
    )
    why = f"the records: {reason}"
    return _tombstone(conn, writer, hits, reason=reason, why=why, at=at, actor_id=actor_id)
