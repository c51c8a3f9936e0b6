"""The ML team's training export: re-decide every candidate, write, re-check, publish.

1. An export row is created `building`, with a per-export pseudonym key, and a staging
   folder `<exports>/.staging/<id>` whose lock file says the builder is alive.
2. In one read snapshot: pin the ledger position, re-decide every candidate of the tenant
   there (`BulkDecider`, the gate's own rules), and stream the included ones into the files
   of ARCHITECTURE.md §5, a row group per batch; the export's records go to the database
   batch by batch.
3. Under the writer lock (the one every consent write takes): re-check what changed since
   the pin. If anyone in an included record has a new consent event or was erased, an
   included candidate reached its expiry and was purged, or the tenant's switches changed,
   the build starts again at the new position (rule 11). Otherwise the manifest and dataset card are
   written, the staging folder is renamed into place, and the row becomes `active`, all
   in that transaction.

A builder that dies leaves only its staging folder and a `building` row, which
`catalog.sweep` cleans up. Nothing is ever published half-written.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import secrets
import shutil
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    String,
    Text,
    cast,
    delete,
    exists,
    func,
    insert,
    select,
    type_coerce,
    update,
)

from app.core.db import (
    checkpoint_wal,
    read_transaction,
    row_transaction,
    write_transaction,
)
from consent.catalog import STAGING, ExportInfo, builder_lock, fail, get_export, row, sweep
from consent.chain import ChainWriter
from consent.dataset import (
    CARD_FILE,
    MANIFEST_FILE,
    Batch,
    DatasetWriter,
    FileEntry,
    dataset_card,
    file_entry,
    valid_messages,
    write_json,
)
from consent.domain import ArtifactKind
from consent.errors import ExportConflict
from consent.gate import RULES_VERSION
from consent.ledger import tail_seq
from consent.purposes import CONSENT_PURPOSES, TRAIN_AI_SYSTEM, covers
from consent.redecide import BulkDecider, Outcome
from consent.store import (
    ArtifactRecord,
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
    switch_changes: int  # how many the snapshot held
    files: list[FileEntry]
    counts: Counter[str] = field(default_factory=Counter)
    tasks: Counter[str] = field(default_factory=Counter)
    profiles: set[str] = field(default_factory=set)
    notice_versions: set[str] = field(default_factory=set)
    included: int = 0
    candidates: int = 0
    subjects: set[str] = field(default_factory=set)  # everyone in an included record


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
    exports_dir = exports_dir.resolve()
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
                checkpoint_wal(engine)  # not in the publishing transaction, under the lock
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
# JSON and timestamps come back raw: the export decodes them itself (orjson; a timestamp
# only when the record is kept), which is most of the difference between 8,000 and
# 20,000 candidates a second.
_CANDIDATES = (
    select(
        _tc.id,
        _tc.artifact_id,
        _art.kind.label("artifact_kind"),
        type_coerce(_art.captured_at, String).label("captured_at"),
        _tc.decision_id,
        _tc.example_kind,
        _tc.task,
        cast(_tc.messages, Text).label("messages"),
        cast(_tc.contributors, Text).label("contributors"),
        _tc.redaction_profile,
        type_coerce(_tc.expires_at, String).label("expires_at"),
        _tc.status,
    )
    .join(_art, _art.id == _tc.artifact_id)
    .order_by(_tc.captured_at, _tc.id)
)


_gc_lock = threading.Lock()
_gc_builds: list[tuple[int, int, int]] = []  # the thresholds before the first running build


@contextmanager
def _few_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while a build allocates millions of
    short-lived, acyclic objects (decoded rows); reference counting frees them anyway.
    Builds running side by side in one process restore the setting when the last ends."""
    with _gc_lock:
        _gc_builds.append(gc.get_threshold())
        gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        with _gc_lock:
            first = _gc_builds[0]
            _gc_builds.pop()
            if not _gc_builds:
                gc.set_threshold(*first)


def _utc(value: datetime | str) -> datetime:
    """A raw timestamp as UTC: PostgreSQL's driver gives datetimes, SQLite naive UTC text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(value + "+00:00")


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
        with _few_collections(), read_transaction(engine) as conn:
            pin = tail_seq(conn)
            decided_at = writer.clock()
            decider = BulkDecider(
                conn,
                tenant_id=tenant_id,
                purpose=TRAIN_AI_SYSTEM,
                ledger_seq=pin,
                decided_at=decided_at,
            )
            built = _Build(pin=pin, decided_at=decided_at, files=[],
                           switch_changes=_switch_changes(conn, tenant_id))  # fmt: skip
            stream = conn.execution_options(stream_results=True, yield_per=batch_size).execute(
                _CANDIDATES.where(_tc.tenant_id == tenant_id)
            )
            # Writing a batch in a second thread while the next is decided was tried: the
            # GIL made it slower (21,600/s against 25,600/s for 100,000 candidates).
            for rows in stream.partitions():
                batch = _batch(rows, decider, built, names)
                files.add(batch)
                _insert_records(engine, export_id, batch)
                hooks.on_batch(built.included)
        built.files = files.close()
        built.subjects = set(names)
        return built
    except BaseException:
        files.abort()
        raise


def _batch(rows: Any, decider: BulkDecider, built: _Build, names: _Pseudonyms) -> Batch:
    batch = Batch()
    for candidate in rows:
        _consider(candidate, decider, built, names, batch)
    return batch


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


def _consider(
    row: Any, decider: BulkDecider, built: _Build, names: _Pseudonyms, batch: Batch
) -> None:
    """Add the record this candidate becomes to `batch`, or count why it is left out."""
    built.candidates += 1
    found = _decided(row, decider)
    if isinstance(found, str):
        built.counts[found] += 1
        return
    outcome, messages, contributors, captured_at, expires_at = found
    built.included += 1
    built.tasks[row.task] += 1
    built.profiles.add(row.redaction_profile)
    built.notice_versions.update(outcome.notice_version_ids)
    batch.record_id.append(f"r{built.included:09d}")
    batch.candidate_id.append(row.id)
    batch.artifact_id.append(row.artifact_id)
    batch.artifact_kind.append(row.artifact_kind)
    batch.capture_decision_id.append(row.decision_id)
    batch.task.append(row.task)
    batch.example_kind.append(row.example_kind)
    batch.messages.append(messages)
    batch.contributors.append([names[c] for c in contributors])
    batch.consent_event_seqs.append(outcome.consent_event_seqs)
    batch.notice_version_ids.append(outcome.notice_version_ids)
    batch.redaction_profile.append(row.redaction_profile)
    batch.captured_at.append(captured_at)
    batch.expires_at.append(expires_at)


_Kept = tuple[Outcome, list[dict[str, str]], tuple[str, ...], datetime, datetime]


def _decided(row: Any, decider: BulkDecider) -> str | _Kept:
    """Why the candidate is left out, or what the kept record needs."""
    if row.status != "eligible":
        return f"CANDIDATE_{row.status.upper()}"
    expires_at = _utc(row.expires_at)
    if expires_at <= decider.decided_at:
        return "CANDIDATE_EXPIRED"
    try:
        messages = orjson.loads(row.messages)
        contributors = tuple(orjson.loads(row.contributors))
    except orjson.JSONDecodeError:  # e.g. a lone surrogate: not text UTF-8 can carry
        return "INVALID_EXAMPLE"
    if not valid_messages(messages):
        return "INVALID_EXAMPLE"
    captured_at = _utc(row.captured_at)
    outcome = decider.outcome(ArtifactKind(row.artifact_kind), contributors, captured_at)
    if outcome.reason is not None:
        return outcome.reason
    return outcome, messages, contributors, captured_at, expires_at


def _insert_records(engine: Engine, export_id: str, batch: Batch) -> None:
    if not len(batch):
        return
    into = f"INSERT INTO {ExportedExampleRecord.__tablename__} (export_id, record_id, candidate_id)"
    with row_transaction(engine) as conn:
        if engine.dialect.name == "postgresql":  # one statement, not one per row
            conn.exec_driver_sql(
                f"{into} SELECT %s, * FROM unnest(%s::text[], %s::text[])",
                (export_id, batch.record_id, batch.candidate_id),
            )
            return
        rows = [(export_id, r, c) for r, c in zip(batch.record_id, batch.candidate_id, strict=True)]
        rows.sort(key=lambda row: row[2])  # in index order: each B-tree page is touched once
        conn.exec_driver_sql(f"{into} VALUES (?, ?, ?)", rows)


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
        published_at = writer.clock()
        if _changed_since(conn, export, built, now=published_at):
            return False
        rechecked = tail_seq(conn)
        manifest = _manifest(export, built, rechecked, published_at=published_at)
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
            )
        except BaseException:
            final.rename(staging)  # the transaction rolls back: nothing stays published
            raise
    return True


def _changed_since(conn: Connection, export: Any, built: _Build, *, now: datetime) -> bool:
    """Whether anything the export's decisions rest on changed since they were made (rule 11).

    Runs under the writer lock, so it reads only what changed since the pin (a few rows)
    and compares it with the people in the included records, kept in memory by the build:
    a consent event of theirs, their erasure, a switch change, or an included candidate
    that reached its expiry and was purged.
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
    if _switch_changes(conn, export.tenant_id) != built.switch_changes:
        return True
    expired = exists().where(
        tc.tenant_id == export.tenant_id,
        tc.expires_at > built.decided_at,
        tc.expires_at <= now,
        tc.status != "eligible",
        exists().where(er.export_id == export.id, er.candidate_id == tc.id),
    )
    return bool(conn.execute(select(expired)).scalar())


def _switch_changes(conn: Connection, tenant_id: str) -> int:
    table = TenantSwitchChangeRecord
    return int(conn.execute(select(func.count()).where(table.tenant_id == tenant_id)).scalar_one())


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
