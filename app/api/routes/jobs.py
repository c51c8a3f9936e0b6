"""`/v1/jobs`: a background job's status, and a server-sent-events stream of its progress.
A job is visible to the person who started it only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from minutekeeper.api.deps import Anyone, RuntimeDep
from minutekeeper.api.envelope import ErrorDetail
from minutekeeper.api.schemas import JobPublic
from minutekeeper.consent import Principal
from minutekeeper.core.errors import without_folders
from minutekeeper.core.progress import stage_share
from minutekeeper.jobs.store import Job, JobNotFound, get_job

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

POLL_S = 0.5
HEARTBEAT_S = 15.0
STREAM_LIMIT_S = 3600.0


def job_public(job: Job) -> JobPublic:
    # Rows written before messages were cleaned of folders are cleaned here.
    message = without_folders(job.error_message or "")
    error = (
        ErrorDetail(code=job.error_code or "failed", message=message)
        if job.error_code or job.error_message
        else None
    )
    return JobPublic(
        id=job.id,
        kind=job.kind,
        status=job.status.value,
        stage=job.stage,
        stage_progress=_rounded(stage_share(job.stage, job.progress)),
        progress=round(job.progress, 3),
        result=job.result,
        error=error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def _rounded(share: float | None) -> float | None:
    return None if share is None else round(share, 3)


def own_job(runtime: Any, me: Principal, job_id: str) -> Job:
    job = get_job(runtime.engine, job_id, tenant_id=me.tenant_id)
    if job.owner_id != me.subject_id:
        raise JobNotFound(f"no job {job_id!r}")
    return job


@router.get("/{job_id}", response_model=JobPublic)
def job_status(job_id: str, runtime: RuntimeDep, me: Anyone) -> Any:
    return job_public(own_job(runtime, me, job_id))


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`progress` events, then one `done` (or `failed`).",
        }
    },
)
async def job_events(job_id: str, runtime: RuntimeDep, me: Anyone) -> StreamingResponse:
    """Server-sent events: the job as JSON each time it changes, until it finishes."""
    first = await anyio.to_thread.run_sync(own_job, runtime, me, job_id)
    return StreamingResponse(
        _events(runtime, first),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(runtime: Any, job: Job) -> AsyncIterator[str]:
    last, quiet, waited = "", 0.0, 0.0
    while True:
        data = job_public(job).model_dump_json()
        if data != last:
            event = "progress" if not job.finished else job.status.value
            yield f"event: {event}\ndata: {data}\n\n"
            last, quiet = data, 0.0
        elif quiet >= HEARTBEAT_S:
            yield ": still working\n\n"
            quiet = 0.0
        if job.finished or waited >= STREAM_LIMIT_S:
            if not job.finished:
                yield f"event: timeout\ndata: {json.dumps({'id': job.id})}\n\n"
            return
        await anyio.sleep(POLL_S)
        quiet += POLL_S
        waited += POLL_S
        job = await anyio.to_thread.run_sync(get_job, runtime.engine, job.id)
