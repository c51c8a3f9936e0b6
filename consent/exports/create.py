"""`create_export`, the ML team's training export: re-decide every candidate, write,
re-check, publish (`build`, then `publish`, again while consent keeps changing).

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

import secrets
import shutil
import uuid
from pathlib import Path

from sqlalchemy import Engine, delete, func, insert, select

from minutekeeper.consent import facts
from minutekeeper.consent.chain import ChainWriter
from minutekeeper.consent.errors import ExportConflict
from minutekeeper.consent.exports.build import BATCH_SIZE, ExportHooks, build
from minutekeeper.consent.exports.catalog import (
    STAGING,
    ExportInfo,
    builder_lock,
    fail,
    get_export,
    sweep,
)
from minutekeeper.consent.exports.publish import publish
from minutekeeper.consent.store import DatasetExportRecord, ExportedExampleRecord
from minutekeeper.core.db import checkpoint_wal, row_transaction, write_transaction

ATTEMPTS = 3


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
                built = build(engine, writer, tenant_id, export_id, staging, hooks, batch_size)
                checkpoint_wal(engine)  # not in the publishing transaction, under the lock
                hooks.before_recheck()
                if publish(engine, writer, export_id, staging, built, requested_by):
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
            facts=facts.export(export_id, "building"),
        )


def _reset(engine: Engine, export_id: str, staging: Path) -> None:
    """Start an attempt from nothing: no records, an empty staging folder."""
    with row_transaction(engine) as conn:
        conn.execute(
            delete(ExportedExampleRecord).where(ExportedExampleRecord.export_id == export_id)
        )
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
