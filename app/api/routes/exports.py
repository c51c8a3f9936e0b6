"""`/v1/exports` (ml_exporter role): build a training export (a job), list and read them,
download one as a tar or zip stream, and read its tombstones. A revoked export answers 410
everywhere but its tombstones, which are how its users learn what to drop."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from minutekeeper.api.deps import Exporter, RuntimeDep
from minutekeeper.api.paging import Paging, page_of
from minutekeeper.api.routes.jobs import job_public
from minutekeeper.api.schemas import ExportCreate, ExportPublic, JobPublic, Page, TombstonePublic
from minutekeeper.consent.errors import ExportRevoked
from minutekeeper.consent.exports import ExportInfo, export_tombstones, get_export, list_exports
from minutekeeper.core.errors import Conflict
from minutekeeper.jobs import tasks
from minutekeeper.jobs.store import create_job

router = APIRouter(prefix="/v1/exports", tags=["exports"])

CHUNK = 1 << 20
BLOCK = tarfile.BLOCKSIZE


def _usable(info: ExportInfo) -> ExportInfo:
    if info.status == "revoked":
        raise ExportRevoked(
            f"export {info.id} (version {info.version}) was revoked: stop using it, drop the "
            "records in its tombstones, and use the export that supersedes it"
        )
    if info.status != "active":
        raise Conflict(f"export {info.id} is {info.status}, not published")
    return info


@router.post("", response_model=JobPublic, status_code=202)
def create(body: ExportCreate, runtime: RuntimeDep, me: Exporter) -> Any:
    """Start building a new export version (follow the job; its result names the export)."""
    if body.supersedes is not None:
        get_export(runtime.engine, me.tenant_id, body.supersedes)  # refuse an unknown one now
    job = create_job(
        runtime.engine,
        tenant_id=me.tenant_id,
        owner_id=me.subject_id,
        kind=tasks.EXPORT,
        params=body.model_dump(),
    )
    runtime.jobs.submit(job.id)
    return job_public(job)


@router.get("", response_model=Page[ExportPublic])
def list_all(runtime: RuntimeDep, me: Exporter, paging: Paging) -> Any:
    """Every export version of the tenant, newest first, revoked ones included, a page at
    a time."""
    found = list_exports(runtime.engine, me.tenant_id, after=paging.cursor, limit=paging.fetch)
    return page_of([ExportPublic.model_validate(info) for info in found], paging, lambda e: e.id)


@router.get("/{export_id}", response_model=ExportPublic)
def get_one(export_id: str, runtime: RuntimeDep, me: Exporter) -> Any:
    return ExportPublic.model_validate(_usable(get_export(runtime.engine, me.tenant_id, export_id)))


@router.get("/{export_id}/tombstones", response_model=Page[TombstonePublic])
def tombstones(export_id: str, runtime: RuntimeDep, me: Exporter, paging: Paging) -> Any:
    """Records to drop from copies of this export, oldest first, a page at a time: their
    contributors withdrew or were erased after it was published."""
    found = export_tombstones(runtime.engine, me.tenant_id, export_id, after=paging.cursor,
                              limit=paging.fetch)  # fmt: skip
    return page_of(found, paging, lambda t: t["record_id"])


@router.get(
    "/{export_id}/download",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-tar": {}, "application/zip": {}}}},
)
def download(
    export_id: str,
    runtime: RuntimeDep,
    me: Exporter,
    format: Annotated[str, Query(pattern="^(tar|zip)$")] = "tar",
) -> StreamingResponse:
    """The export's folder as one tar or zip file, streamed."""
    info = _usable(get_export(runtime.engine, me.tenant_id, export_id))
    root = Path(info.path)
    name = f"minutekeeper-export-v{info.version}"
    files = sorted(p for p in root.rglob("*") if p.is_file())
    chunks = _tar(root, name, files) if format == "tar" else _zip(root, name, files)
    return StreamingResponse(
        chunks,
        media_type="application/x-tar" if format == "tar" else "application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )


def _tar(root: Path, name: str, files: list[Path]) -> Iterator[bytes]:
    """A POSIX tar written header by header, so nothing is held but one chunk."""
    for path in files:
        size = path.stat().st_size
        entry = tarfile.TarInfo(f"{name}/{path.relative_to(root).as_posix()}")
        entry.size, entry.mode, entry.mtime = size, 0o644, int(path.stat().st_mtime)
        yield entry.tobuf(format=tarfile.PAX_FORMAT)
        with path.open("rb") as source:
            while chunk := source.read(CHUNK):
                yield chunk
        if size % BLOCK:
            yield b"\0" * (BLOCK - size % BLOCK)
    yield b"\0" * (2 * BLOCK)


class _Sink(io.RawIOBase):
    """Where zipfile writes (it cannot seek, so zipfile writes data descriptors); the stream
    drains it after each chunk."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def drain(self) -> Iterator[bytes]:
        parts, self.parts = self.parts, []
        yield from parts


def _zip(root: Path, name: str, files: list[Path]) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for path in files:
            arcname = f"{name}/{path.relative_to(root).as_posix()}"
            big = path.stat().st_size > 1 << 31
            with archive.open(arcname, "w", force_zip64=big) as target, path.open("rb") as source:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                    yield from sink.drain()
            yield from sink.drain()
    yield from sink.drain()
