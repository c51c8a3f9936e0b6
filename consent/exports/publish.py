"""Publishing a built export version, under the writer lock (the one every consent write
takes): re-check what changed since the pin. If anyone in an included record has a new
consent event or was erased, an included candidate reached its expiry and was purged, the
tenant's switches changed or one of its meetings was deleted, the build is out of date
(rule 11) and nothing is published. Otherwise the manifest and dataset card are written,
the staging folder is renamed into place, and the row becomes `active`, all in that
transaction.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, exists, select, update

from minutekeeper.consent import facts
from minutekeeper.consent.chain import ChainWriter, latest_checkpoints
from minutekeeper.consent.exports.build import Build, deletions, switch_changes
from minutekeeper.consent.exports.catalog import row
from minutekeeper.consent.exports.dataset import (
    CARD_FILE,
    MANIFEST_FILE,
    dataset_card,
    file_entry,
    write_json,
)
from minutekeeper.consent.gate import RULES_VERSION
from minutekeeper.consent.ledger import tail_seq
from minutekeeper.consent.purposes import CONSENT_PURPOSES, TRAIN_AI_SYSTEM, covers
from minutekeeper.consent.store import (
    ConsentEventRecord,
    DatasetExportRecord,
    ExportedExampleRecord,
    SubjectRecord,
    TrainingCandidateRecord,
)
from minutekeeper.core.db import write_transaction


def publish(
    engine: Engine,
    writer: ChainWriter,
    export_id: str,
    staging: Path,
    built: Build,
    requested_by: str,
) -> bool:
    """Re-check and publish under the writer lock; False when the build is out of date."""
    with write_transaction(engine) as conn:
        export = row(conn, export_id)
        published_at = writer.clock()
        if _changed_since(conn, export, built, now=published_at):
            return False
        rechecked = tail_seq(conn)
        manifest = _manifest(export, built, rechecked, published_at=published_at)
        # Signed now, so the manifest carries a checkpoint covering every decision it rests
        # on; the publication itself is covered by the one signed at commit.
        writer.checkpoint(conn)
        writer.checkpoint_at_commit(conn)
        manifest["audit_checkpoints"] = latest_checkpoints(conn)
        card = dataset_card(manifest)
        (staging / CARD_FILE).write_text(card, encoding="utf-8")
        manifest["files"].append(file_entry(staging, CARD_FILE, rows=0).as_json())
        manifest_sha256 = write_json(staging / MANIFEST_FILE, manifest)
        final = Path(export.path)
        staging.rename(final)
        try:
            conn.execute(
                update(DatasetExportRecord)
                .where(DatasetExportRecord.id == export_id)
                .values(
                    status="active",
                    ledger_seq=built.pin,
                    rechecked_seq=rechecked,
                    manifest_sha256=manifest_sha256,
                    counts=manifest["counts"],
                    published_at=published_at,
                )
            )
            writer.audit(
                conn,
                actor=requested_by,
                action="export.published",
                object_type="dataset_export",
                object_id=export_id,
                payload={
                    "id": export_id,
                    "manifest_sha256": manifest_sha256,
                    "ledger_seq": built.pin,
                },
                facts=facts.export(export_id, "active", facts.records_sha256(conn, export_id)),
            )
        except BaseException:
            final.rename(staging)  # the transaction rolls back: nothing stays published
            raise
    return True


def _changed_since(conn: Connection, export: Any, built: Build, *, now: datetime) -> bool:
    """Whether anything the export's decisions rest on changed since they were made (rule 11).

    Runs under the writer lock, so it reads only what changed since the pin (a few rows)
    and compares it with the people in the included records, kept in memory by the build:
    a consent event of theirs, their erasure, a switch change, a meeting deleted in the
    tenant (its kept examples retired: any at all, the cheap and safe side), or an included
    candidate that reached its expiry and was purged.
    """
    e, subject = ConsentEventRecord, SubjectRecord
    tc, er = TrainingCandidateRecord, ExportedExampleRecord
    purposes = [p for p in CONSENT_PURPOSES if covers(p, TRAIN_AI_SYSTEM)]
    moved = conn.execute(
        select(e.subject_id).where(e.seq > built.pin, e.purpose.in_(purposes)).distinct()
    ).scalars()
    # Compared with the snapshot, not by timestamps: an erasure or a switch change that
    # read its clock before the build but committed after its snapshot must count too.
    erased = conn.execute(
        select(subject.id).where(
            subject.tenant_id == export.tenant_id, subject.erased_at.is_not(None)
        )
    ).scalars()
    if built.subjects.intersection(moved) or built.subjects.intersection(erased):
        return True
    if built.valid_until is not None and built.valid_until <= now:
        return True  # a consent ran out (no `expired` event need have been written yet)
    if switch_changes(conn, export.tenant_id) != built.switch_changes:
        return True
    if deletions(conn, export.tenant_id) != built.deletions:
        return True  # a meeting deleted meanwhile may have had included records
    expired = exists().where(
        tc.tenant_id == export.tenant_id,
        tc.expires_at > built.decided_at,
        tc.expires_at <= now,
        tc.status != "eligible",
        exists().where(er.export_id == export.id, er.candidate_id == tc.id),
    )
    return bool(conn.execute(select(expired)).scalar())


def _manifest(
    export: Any, built: Build, rechecked: int, *, published_at: datetime
) -> dict[str, Any]:
    counts = {
        "candidates": built.candidates,
        "included": built.included,
        "excluded": dict(sorted(built.counts.items())),
        "by_task": dict(sorted(built.tasks.items())),
    }
    return {
        "export_id": export.id,
        "version": export.version,
        "supersedes": export.supersedes_id,
        "tenant_id": export.tenant_id,
        "purpose": TRAIN_AI_SYSTEM,
        "created_at": export.created_at.isoformat(),
        "published_at": published_at.isoformat(),
        "ledger_seq": built.pin,
        "rechecked_seq": rechecked,
        "rules_version": RULES_VERSION,
        "notice_versions": sorted(built.notice_versions),
        "redaction_profiles": sorted(built.profiles),
        "pseudonyms": "HMAC-SHA256 of the subject id under this export's key (kept on the server)",
        "counts": counts,
        "files": [f.as_json() for f in built.files],
        "tombstones": "tombstones.jsonl: records withdrawn after publication; grows, so not hashed",
    }
