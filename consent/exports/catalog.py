"""The registry of export versions: reading them, revoking them, and cleaning up after a
builder that died.

A builder holds `<exports>/.staging/<id>.lock` from before its row exists until it has
published or failed, so a `building` row whose lock can be taken has no builder left;
`sweep` (run before every export command) marks it `failed` and removes what it left.
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update

from minutekeeper.consent import facts
from minutekeeper.consent.chain import ChainWriter
from minutekeeper.consent.errors import ConsentError, UnknownExport
from minutekeeper.consent.exports import tombstones
from minutekeeper.consent.exports.dataset import CARD_FILE, MANIFEST_FILE, TOMBSTONES_FILE
from minutekeeper.consent.store import DatasetExportRecord, ExportedExampleRecord
from minutekeeper.core.db import (
    read_transaction,
    rows_after,
    rows_by_id_or_prefix,
    table_of,
    write_transaction,
)

STAGING = ".staging"


@dataclass(frozen=True)
class ExportInfo:
    id: str
    tenant_id: str
    version: int
    supersedes_id: str | None
    status: str
    status_reason: str | None
    ledger_seq: int | None
    rechecked_seq: int | None
    manifest_sha256: str | None
    path: str
    counts: dict[str, Any] | None
    created_at: datetime
    published_at: datetime | None
    revoked_at: datetime | None


@contextmanager
def builder_lock(exports_dir: Path, export_id: str) -> Iterator[None]:
    """Hold `<staging>/<id>.lock` while building; `sweep` takes a free lock to mean the
    builder is gone (killed, crashed), whatever state it left."""
    lock_dir = exports_dir / STAGING
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / f"{export_id}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)


# --- failures and the sweep ----------------------------------------------------------


def fail(
    engine: Engine, writer: ChainWriter, export_id: str, staging: Path, *, reason: str
) -> None:
    """Leave nothing of a failed build but its `failed` row (and the audit entry)."""
    shutil.rmtree(staging, ignore_errors=True)
    with write_transaction(engine) as conn:
        export = row(conn, export_id)
        if export.status == "building":  # renamed into place, but never committed
            shutil.rmtree(export.path, ignore_errors=True)
        conn.execute(
            delete(ExportedExampleRecord).where(ExportedExampleRecord.export_id == export_id)
        )
        failed = conn.execute(
            update(DatasetExportRecord)
            .where(DatasetExportRecord.id == export_id, DatasetExportRecord.status == "building")
            .values(status="failed", status_reason=reason)
        ).rowcount
        if failed:
            writer.audit(
                conn,
                actor="exporter",
                action="export.failed",
                object_type="dataset_export",
                object_id=export_id,
                payload={"id": export_id, "reason": reason},
                facts=facts.export(export_id, "failed"),
            )


def sweep(engine: Engine, writer: ChainWriter, exports_dir: Path) -> list[str]:
    """Fail the builds whose builder is gone and remove what they left; returns their ids.

    A builder holds `<exports>/.staging/<id>.lock` from before its row exists until it has
    published or failed, so a `building` row whose lock can be taken has no builder.
    """
    exports_dir = exports_dir.resolve()
    with read_transaction(engine) as conn:
        building = conn.execute(
            select(DatasetExportRecord.id, DatasetExportRecord.path).where(
                DatasetExportRecord.status == "building"
            )
        ).all()
    gone = []
    for export in building:
        if Path(export.path).parent != exports_dir:
            continue  # another machine's or another folder's build
        with _lock_if_free(exports_dir, export.id) as free:
            if not free:
                continue
            fail(engine, writer, export.id, exports_dir / STAGING / export.id,
                  reason="builder stopped before publishing")  # fmt: skip
            gone.append(export.id)
    return gone


@contextmanager
def _lock_if_free(exports_dir: Path, export_id: str) -> Iterator[bool]:
    path = exports_dir / STAGING / f"{export_id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            path.unlink(missing_ok=True)


# --- reading and revoking ------------------------------------------------------------


def row(conn: Connection, export_id: str) -> Any:
    return conn.execute(
        select(DatasetExportRecord).where(DatasetExportRecord.id == export_id)
    ).one()


def _info(row: Any) -> ExportInfo:
    return ExportInfo(
        id=row.id,
        tenant_id=row.tenant_id,
        version=row.version,
        supersedes_id=row.supersedes_id,
        status=row.status,
        status_reason=row.status_reason,
        ledger_seq=row.ledger_seq,
        rechecked_seq=row.rechecked_seq,
        manifest_sha256=row.manifest_sha256,
        path=row.path,
        counts=row.counts,
        created_at=row.created_at,
        published_at=row.published_at,
        revoked_at=row.revoked_at,
    )


def _find(conn: Connection, tenant_id: str, ref: str) -> Any:
    table = table_of(DatasetExportRecord)
    query = select(table).where(table.c.tenant_id == tenant_id)
    if ref.strip().lstrip("v").isdigit():
        found = conn.execute(query.where(table.c.version == int(ref.strip().lstrip("v")))).all()
    else:
        found = rows_by_id_or_prefix(conn, query, table.c.id, ref)
    if len(found) != 1:
        more = "more than one export" if found else "no export"
        raise UnknownExport(f"{more} matches {ref!r}; `minutekeeper export list` shows the exports")
    return found[0]


def get_export(engine: Engine, tenant_id: str, ref: str) -> ExportInfo:
    """The tenant's export with id (or unique id prefix, or version number) `ref`."""
    with read_transaction(engine) as conn:
        return _info(_find(conn, tenant_id, ref))


def list_exports(
    engine: Engine, tenant_id: str, *, after: str | None = None, limit: int | None = None
) -> list[ExportInfo]:
    """The tenant's exports, newest version first: those after the export `after`, at
    most `limit` (all, without these)."""
    table = table_of(DatasetExportRecord)
    with read_transaction(engine) as conn:
        rows = rows_after(
            conn,
            select(table).where(table.c.tenant_id == tenant_id),
            order=[(table.c.version, True), (table.c.id, False)],
            id_column=table.c.id,
            after=after,
            limit=limit,
        )
    return [_info(r) for r in rows]


def export_tombstones(
    engine: Engine, tenant_id: str, ref: str, *, after: str | None = None, limit: int | None = None
) -> list[dict[str, str]]:
    """The tombstones of the tenant's export `ref`, oldest first: those after the record
    `after`, at most `limit` (all, without these)."""
    with read_transaction(engine) as conn:
        export = _find(conn, tenant_id, ref)
        return tombstones.tombstones_of(conn, export.id, after=after, limit=limit)


# What stays of an export whose data files were deleted: its manifest (whose hash is
# chained and names what the files were), its card and its tombstones.
KEPT_AFTER_ERASURE = frozenset({MANIFEST_FILE, CARD_FILE, TOMBSTONES_FILE})


def delete_data_files(
    engine: Engine, writer: ChainWriter, export_ids: Sequence[str], *, reason: str, actor_id: str
) -> list[str]:
    """Delete the data files of published exports holding an erased person's records (rule
    13): the exports stay revoked, with `reason`; their manifests, cards and tombstones
    stay, so what was published and why it went can still be shown. Returns the ids whose
    files were deleted."""
    done = []
    with write_transaction(engine) as conn:
        for export_id in sorted(set(export_ids)):
            export = row(conn, export_id)
            if export.status not in tombstones.PUBLISHED:
                continue  # a build still running fails its re-check; a failed one left nothing
            folder = Path(export.path)
            for path in sorted(folder.rglob("*"), reverse=True):  # files before their folders
                name = path.relative_to(folder).as_posix()
                if path.is_file() and name not in KEPT_AFTER_ERASURE:
                    path.unlink()
                elif path.is_dir() and not any(path.iterdir()):
                    path.rmdir()
            conn.execute(
                update(DatasetExportRecord)
                .where(DatasetExportRecord.id == export_id)
                .values(status="revoked", revoked_at=export.revoked_at or writer.clock(),
                        status_reason=reason[:500])
            )  # fmt: skip
            writer.audit(conn, actor=actor_id, action="export.data_deleted",
                         object_type="dataset_export", object_id=export_id,
                         payload={"id": export_id, "reason": reason},
                         facts=facts.export(export_id, "revoked"))  # fmt: skip
            done.append(export_id)
    return done


def revoke_export(
    engine: Engine, writer: ChainWriter, tenant_id: str, ref: str, *, actor_id: str, reason: str
) -> ExportInfo:
    """Mark a published export revoked: its users must stop using it."""
    with write_transaction(engine) as conn:
        export = _find(conn, tenant_id, ref)
        if export.status not in ("active", "revoked"):
            raise ConsentError(
                f"export {export.id} is {export.status}; only a published export can be revoked"
            )
        if export.status == "active":
            conn.execute(
                update(DatasetExportRecord)
                .where(DatasetExportRecord.id == export.id)
                .values(status="revoked", revoked_at=writer.clock(), status_reason=reason[:500])
            )
            writer.audit(
                conn,
                actor=actor_id,
                action="export.revoked",
                object_type="dataset_export",
                object_id=export.id,
                payload={"id": export.id, "reason": reason},
                facts=facts.export(export.id, "revoked"),
            )
            writer.checkpoint_at_commit(conn)
        return _info(row(conn, export.id))
