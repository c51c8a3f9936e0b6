"""The ML team's training export: re-decide every candidate, write, re-check, publish.

1. An export row is created `building`, with a per-export pseudonym key, and a staging
   folder `<exports>/.staging/<id>` whose lock file says the builder is alive.
2. In one read snapshot: pin the ledger position, re-decide every candidate of the tenant
   there (`BulkDecider`, the gate's own rules), and stream the included ones into the files
   of ARCHITECTURE.md §5, a row group per batch; the export's records go to the database
   batch by batch.
3. Under the writer lock (the one every consent write takes): re-check what changed since
   the pin. If anyone in an included record has a new consent event or was erased, a
   candidate was purged or tombstoned, or the tenant's switches changed, the build starts
   again at the new position (rule 11). Otherwise the manifest and dataset card are
   written, the staging folder is renamed into place, and the row becomes `active`, all
   in that transaction.

A builder that dies leaves only its staging folder and a `building` row, which
`catalog.sweep` cleans up. Nothing is ever published half-written.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import shutil
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, func, insert, select, update

from app.core.db import (
    read_transaction,
    row_transaction,
    write_transaction,
)
from consent.catalog import STAGING, ExportInfo, builder_lock, fail, get_export, row, sweep
from consent.chain import ChainWriter
from consent.dataset import (
    CARD_FILE,
    MANIFEST_FILE,
    DatasetWriter,
    ExportRow,
    FileEntry,
    dataset_card,
    file_entry,
    valid_messages,
    write_json,
)
from consent.domain import Artifact, ArtifactKind, DataClass, Decision
from consent.errors import ExportConflict
from consent.gate import RULES_VERSION, Reason
from consent.ledger import tail_seq
from consent.purposes import CONSENT_PURPOSES, TRAIN_AI_SYSTEM, covers
from consent.redecide import BulkDecider
from consent.store import (
    ArtifactRecord,
    CandidateContributorRecord,
    ConsentEventRecord,
    DatasetExportRecord,
    ExportedExampleRecord,
    SubjectRecord,
    TenantSwitchChangeRecord,
    TrainingCandidateRecord,
)

BATCH_SIZE = 5000
ATTEMPTS = 3


@dataclass
class ExportHooks:
    """Points where a caller (a test, a progress bar) sees the build: after each written
    batch, and after the files are written, before the re-check."""

    on_batch: Callable[[int], None] = lambda written: None
    before_recheck: Callable[[], None] = lambda: None


@dataclass
class _Build:
    pin: int
    decided_at: datetime
    files: list[FileEntry]
    counts: Counter[str] = field(default_factory=Counter)
    tasks: Counter[str] = field(default_factory=Counter)
    profiles: set[str] = field(default_factory=set)
    notice_versions: set[str] = field(default_factory=set)
    included: int = 0
    candidates: int = 0


def create_export(
    engine: Engine,
    writer: ChainWriter,
    tenant_id: str,
    *,
    requested_by: str,
    exports_dir: Path,
    supersedes: str | None = None,
    hooks: ExportHooks | None = None,
    attempts: int = ATTEMPTS,
    batch_size: int = BATCH_SIZE,
) -> ExportInfo:
    """Build, re-check and publish a new export version of the tenant's candidates."""
    hooks = hooks or ExportHooks()
    sweep(engine, writer, exports_dir)
    supersedes_id = get_export(engine, tenant_id, supersedes).id if supersedes else None
    export_id = str(uuid.uuid4())
    staging = exports_dir / STAGING / export_id
    with builder_lock(exports_dir, export_id):
        _start(
            engine,
            writer,
            tenant_id,
            export_id,
            exports_dir / export_id,
            requested_by,
            supersedes_id,
        )
        try:
            for _ in range(attempts):
                _reset(engine, export_id, staging)
                built = _build(engine, writer, tenant_id, export_id, staging, hooks, batch_size)
                hooks.before_recheck()
                if _publish(engine, writer, export_id, staging, built, requested_by):
                    return get_export(engine, tenant_id, export_id)
            raise ExportConflict(
                f"consent kept changing while export {export_id} was written "
                f"({attempts} attempts); nothing was published, try again"
            )
        except BaseException as error:
            fail(engine, writer, export_id, staging, reason=_reason(error))
            raise


def _reason(error: BaseException) -> str:
    code = getattr(error, "code", type(error).__name__)
    return f"{code}: {error}"[:500]


def _start(
    engine: Engine,
    writer: ChainWriter,
    tenant_id: str,
    export_id: str,
    path: Path,
    requested_by: str,
    supersedes_id: str | None,
) -> None:
    table = DatasetExportRecord
    with write_transaction(engine) as conn:
        version = (
            conn.execute(
                select(func.max(table.version)).where(table.tenant_id == tenant_id)
            ).scalar()
            or 0
        ) + 1
        conn.execute(
            insert(table).values(
                id=export_id,
                tenant_id=tenant_id,
                version=version,
                supersedes_id=supersedes_id,
                requested_by=requested_by,
                status="building",
                path=str(path),
                pseudonym_key=secrets.token_hex(32),
                created_at=writer.clock(),
            )
        )
        writer.audit(
            conn,
            actor=requested_by,
            action="export.started",
            object_type="dataset_export",
            object_id=export_id,
            payload={"id": export_id, "version": version, "supersedes": supersedes_id},
        )


def _reset(engine: Engine, export_id: str, staging: Path) -> None:
    """Start an attempt from nothing: no records, an empty staging folder."""
    with row_transaction(engine) as conn:
        conn.execute(
            delete(ExportedExampleRecord).where(ExportedExampleRecord.export_id == export_id)
        )
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)


# --- building ------------------------------------------------------------------------

_tc, _art = TrainingCandidateRecord, ArtifactRecord
_CANDIDATES = (
    select(
        _tc.id,
        _tc.artifact_id,
        _art.kind.label("artifact_kind"),
        _art.captured_at,
        _tc.decision_id,
        _tc.example_kind,
        _tc.task,
        _tc.messages,
        _tc.contributors,
        _tc.redaction_profile,
        _tc.expires_at,
        _tc.status,
    )
    .join(_art, _art.id == _tc.artifact_id)
    .order_by(_tc.captured_at, _tc.id)
)


def _build(
    engine: Engine,
    writer: ChainWriter,
    tenant_id: str,
    export_id: str,
    staging: Path,
    hooks: ExportHooks,
    batch_size: int,
) -> _Build:
    names = _Pseudonyms(_pseudonym_key(engine, export_id))
    files = DatasetWriter(staging)
    try:
        with read_transaction(engine) as conn:
            pin = tail_seq(conn)
            decided_at = writer.clock()
            decider = BulkDecider(
                conn,
                tenant_id=tenant_id,
                purpose=TRAIN_AI_SYSTEM,
                ledger_seq=pin,
                decided_at=decided_at,
            )
            built = _Build(pin=pin, decided_at=decided_at, files=[])
            stream = conn.execution_options(stream_results=True, yield_per=batch_size).execute(
                _CANDIDATES.where(_tc.tenant_id == tenant_id)
            )
            for rows in stream.partitions():
                batch = [r for r in (_included(row, decider, built, names) for row in rows) if r]
                files.add(batch)
                _insert_records(engine, export_id, batch)
                hooks.on_batch(built.included)
        built.files = files.close()
        return built
    except BaseException:
        files.abort()
        raise


def _pseudonym_key(engine: Engine, export_id: str) -> bytes:
    with read_transaction(engine) as conn:
        return bytes.fromhex(
            conn.execute(
                select(DatasetExportRecord.pseudonym_key).where(DatasetExportRecord.id == export_id)
            ).scalar_one()
        )


class _Pseudonyms(dict[str, str]):
    """subject id -> HMAC-SHA256 under the export's key (memoised: few subjects, many rows)."""

    def __init__(self, key: bytes) -> None:
        super().__init__()
        self.key = key

    def __missing__(self, subject_id: str) -> str:
        value = hmac.new(self.key, subject_id.encode(), hashlib.sha256).hexdigest()[:24]
        self[subject_id] = value
        return value


def pseudonym(key_hex: str, subject_id: str) -> str:
    """The pseudonym `subject_id` has in the export whose key is `key_hex`."""
    return _Pseudonyms(bytes.fromhex(key_hex))[subject_id]


def _included(
    row: Any, decider: BulkDecider, built: _Build, names: _Pseudonyms
) -> ExportRow | None:
    """The record this candidate becomes, or None (counted under its reason)."""
    built.candidates += 1
    reason, decision = _exclusion(row, decider)
    if reason is not None or decision is None:
        built.counts[reason or "EXCLUDED"] += 1
        return None
    seqs = sorted({v.consent_seq for v in decision.contributors if v.consent_seq is not None})
    notices = sorted({n for s in seqs if (n := decider.notice_version_of(s))})
    built.included += 1
    built.tasks[row.task] += 1
    built.profiles.add(row.redaction_profile)
    built.notice_versions.update(notices)
    return ExportRow(
        record_id=f"r{built.included:09d}",
        candidate_id=row.id,
        artifact_id=row.artifact_id,
        artifact_kind=row.artifact_kind,
        capture_decision_id=row.decision_id,
        task=row.task,
        example_kind=row.example_kind,
        messages=row.messages,
        contributors=[names[c] for c in row.contributors],
        consent_event_seqs=seqs,
        notice_version_ids=notices,
        redaction_profile=row.redaction_profile,
        captured_at=row.captured_at,
        expires_at=row.expires_at,
    )


def _exclusion(row: Any, decider: BulkDecider) -> tuple[str | None, Decision | None]:
    if row.status != "eligible":
        return f"CANDIDATE_{row.status.upper()}", None
    if row.expires_at <= decider.decided_at:
        return "CANDIDATE_EXPIRED", None
    if not valid_messages(row.messages):
        return "INVALID_EXAMPLE", None
    decision = decider.decide(
        Artifact(
            id=row.artifact_id,
            tenant_id=decider.tenant_id,
            kind=ArtifactKind(row.artifact_kind),
            data_class=DataClass.DERIVED_CONTENT,
            contributors=tuple(row.contributors),
            captured_at=row.captured_at,
            content_sha256="",
        )
    )
    if decision.allowed:
        return None, decision
    generic = Reason.NON_CONSENTING_CONTRIBUTOR.value
    return next((r for r in decision.reasons if r != generic), generic), None


def _insert_records(engine: Engine, export_id: str, batch: list[ExportRow]) -> None:
    if not batch:
        return
    with row_transaction(engine) as conn:
        conn.execute(
            insert(ExportedExampleRecord),
            [
                {"export_id": export_id, "record_id": r.record_id, "candidate_id": r.candidate_id}
                for r in batch
            ],
        )


# --- re-checking and publishing ------------------------------------------------------


def _publish(
    engine: Engine,
    writer: ChainWriter,
    export_id: str,
    staging: Path,
    built: _Build,
    requested_by: str,
) -> bool:
    """Re-check and publish under the writer lock; False when the build is out of date."""
    with write_transaction(engine) as conn:
        export = row(conn, export_id)
        if _changed_since(conn, export, built):
            return False
        rechecked = tail_seq(conn)
        published_at = writer.clock()
        manifest = _manifest(export, built, rechecked, published_at=published_at)
        card = dataset_card(manifest)
        (staging / CARD_FILE).write_text(card, encoding="utf-8")
        manifest["files"].append(_entry_of(staging, CARD_FILE))
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
            )
        except BaseException:
            final.rename(staging)  # the transaction rolls back: nothing stays published
            raise
    return True


def _entry_of(folder: Path, name: str) -> dict[str, Any]:
    return file_entry(folder, name, rows=0).as_json()


def _changed_since(conn: Connection, export: Any, built: _Build) -> bool:
    """Whether anything the export's decisions rest on changed since they were made (rule 11)."""
    er, cc = ExportedExampleRecord, CandidateContributorRecord
    e, tc, subject = ConsentEventRecord, TrainingCandidateRecord, SubjectRecord
    in_export = select(er.candidate_id).where(er.export_id == export.id)
    contributors = select(cc.subject_id).where(cc.candidate_id.in_(in_export)).distinct()
    purposes = [p for p in CONSENT_PURPOSES if covers(p, TRAIN_AI_SYSTEM)]
    new_events = exists().where(
        e.seq > built.pin, e.purpose.in_(purposes), e.subject_id.in_(contributors)
    )
    erased = exists().where(subject.id.in_(contributors), subject.erased_at.is_not(None))
    retired = exists().where(tc.id.in_(in_export), tc.status != "eligible")
    switched = exists().where(
        TenantSwitchChangeRecord.tenant_id == export.tenant_id,
        TenantSwitchChangeRecord.changed_at > built.decided_at,
    )
    return bool(conn.execute(select(new_events | erased | retired | switched)).scalar())


def _manifest(
    export: Any, built: _Build, rechecked: int, *, published_at: datetime
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
