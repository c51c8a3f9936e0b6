"""Job rows: what was asked, how far it got, and how it ended.

The row is the truth a user sees (`GET /v1/jobs/{id}`, its event stream); runners only move
it along queued -> running -> succeeded | failed. A queue message only wakes a worker up: a
worker claims the row (`start`), which names it the job's `worker` and starts its lease;
while it runs it writes `heartbeat_at`, and only the named worker may finish the job. So a
message delivered twice runs the job once, and a worker that died leaves a lease that runs
out: `requeue_stale` gives its job to the next worker (the distributed queue), `recover`
to the restarted server (in-process). No job is silently lost or finished twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, mapped_column

from minutekeeper.core.db import (
    Base,
    UTCDateTime,
    read_transaction,
    row_transaction,
    table_of,
    utcnow,
)
from minutekeeper.core.errors import Conflict, NotFound
from minutekeeper.core.progress import Stage
from minutekeeper.core.quotes import needles, scrub

# A job interrupted this many times is failed instead of tried again.
MAX_ATTEMPTS = 3


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED})


class JobNotFound(NotFound):
    code = "job_not_found"


class JobStillRunning(Conflict):
    """A meeting cannot be deleted while its job still works on it (the job would save
    it, or offer it for training, after the deletion)."""

    code = "job_running"


class JobRecord(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_created", "status", "created_at"),
        Index("ix_jobs_owner_created", "owner_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    owner_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(64))
    progress: Mapped[float] = mapped_column(Float)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(1000))
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The worker running the job now (host:pid:attempt), when it last said so, and when
    # the job was last published to the queue.
    worker: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Job:
    id: str
    tenant_id: str
    owner_id: str
    kind: str
    status: JobStatus
    stage: Stage
    progress: float
    params: dict[str, Any]
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    worker: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def create_job(
    engine: Engine,
    *,
    tenant_id: str,
    owner_id: str,
    kind: str,
    params: dict[str, Any],
    job_id: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Job:
    values: dict[str, Any] = {
        "id": job_id or str(uuid.uuid4()),
        "tenant_id": tenant_id,
        "owner_id": owner_id,
        "kind": kind,
        "status": JobStatus.QUEUED.value,
        "stage": Stage.QUEUED.value,
        "progress": 0.0,
        "params": params,
        "result": None,
        "error_code": None,
        "error_message": None,
        "attempts": 0,
        "created_at": clock(),
        "started_at": None,
        "finished_at": None,
        "worker": None,
        "heartbeat_at": None,
    }
    values["enqueued_at"] = values["created_at"]
    with row_transaction(engine) as conn:
        conn.execute(insert(JobRecord).values(**values))
    return _job(values)


def get_job(engine: Engine, job_id: str, *, tenant_id: str | None = None) -> Job:
    """The job with this id (within `tenant_id` when given: another tenant's job reads as
    missing)."""
    table = table_of(JobRecord)
    query = select(table).where(table.c.id == job_id)
    if tenant_id is not None:
        query = query.where(table.c.tenant_id == tenant_id)
    with read_transaction(engine) as conn:
        row = conn.execute(query).first()
    if row is None:
        raise JobNotFound(f"no job {job_id!r}")
    return _job(row._mapping)


def release_meeting_job(conn: Connection, meeting_id: str) -> None:
    """For a meeting being deleted, on its deleting transaction `conn`: refuse
    (`JobStillRunning`) while the upload's job (it has the meeting's id) is unfinished,
    else delete the job's row with the meeting."""
    table = table_of(JobRecord)
    row = conn.execute(
        select(table.c.status).where(table.c.id == meeting_id).with_for_update()
    ).first()
    if row is None:
        return
    if JobStatus(row.status) not in FINISHED:
        raise JobStillRunning(_STILL_RUNNING.format(id=meeting_id))
    conn.execute(table.delete().where(table.c.id == meeting_id))


def refuse_while_processing(
    engine: Engine, job_id: str, *, tenant_id: str, owner_id: str | None = None
) -> None:
    """`JobStillRunning` when `job_id` is an unfinished job of the tenant (`owner_id`'s,
    when given): a meeting asked to be deleted before its upload's job has saved it."""
    table = table_of(JobRecord)
    query = select(table.c.status).where(table.c.id == job_id, table.c.tenant_id == tenant_id)
    if owner_id is not None:
        query = query.where(table.c.owner_id == owner_id)
    with read_transaction(engine) as conn:
        status = conn.execute(query).scalar()
    if status is not None and JobStatus(status) not in FINISHED:
        raise JobStillRunning(_STILL_RUNNING.format(id=job_id))


_STILL_RUNNING = "meeting {id} is still being processed; delete it once its job has finished"


def start(
    engine: Engine,
    job_id: str,
    *,
    worker: str = "local",
    clock: Callable[[], datetime] = utcnow,
) -> Job | None:
    """Claim a queued job for `worker`; None when it is not queued (another worker has
    it, or it finished), so a job delivered twice never runs twice at once."""
    table = table_of(JobRecord)
    now = clock()
    with row_transaction(engine) as conn:
        claimed = conn.execute(
            update(table)
            .where(table.c.id == job_id, table.c.status == JobStatus.QUEUED.value)
            .values(
                status=JobStatus.RUNNING.value,
                stage=Stage.STARTING.value,
                progress=0.0,  # an attempt starts over
                attempts=table.c.attempts + 1,
                started_at=now,
                worker=worker[:128],
                heartbeat_at=now,
            )
        ).rowcount
        row = conn.execute(select(table).where(table.c.id == job_id)).first()
    return _job(row._mapping) if claimed and row is not None else None


def _held_by(table: Any, job_id: str, worker: str | None) -> list[Any]:
    """The conditions under which `worker` still holds the running job (any worker when
    None: the in-process runner has only itself)."""
    held = [table.c.id == job_id, table.c.status == JobStatus.RUNNING.value]
    if worker is not None:
        held.append(table.c.worker == worker)
    return held


def heartbeat(
    engine: Engine, job_id: str, worker: str, *, clock: Callable[[], datetime] = utcnow
) -> bool:
    """Renew `worker`'s lease on the job; False once the job is no longer its own."""
    table = table_of(JobRecord)
    with row_transaction(engine) as conn:
        renewed = conn.execute(
            update(table).where(*_held_by(table, job_id, worker)).values(heartbeat_at=clock())
        ).rowcount
    return bool(renewed)


def report(
    engine: Engine,
    job_id: str,
    *,
    stage: Stage,
    progress: float,
    worker: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """The stage the job is in and its overall progress (0..1), while `worker` holds it."""
    table = table_of(JobRecord)
    with row_transaction(engine) as conn:
        conn.execute(
            update(table)
            .where(*_held_by(table, job_id, worker))
            .values(stage=stage.value, progress=max(0.0, min(1.0, progress)), heartbeat_at=clock())
        )


def succeed(
    engine: Engine,
    job_id: str,
    result: dict[str, Any],
    *,
    worker: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> bool:
    return _finish(
        engine,
        job_id,
        worker,
        clock(),
        status=JobStatus.SUCCEEDED,
        stage=Stage.DONE.value,
        progress=1.0,
        result=result,
    )


def fail(
    engine: Engine,
    job_id: str,
    *,
    code: str,
    message: str,
    worker: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> bool:
    return _finish(
        engine,
        job_id,
        worker,
        clock(),
        status=JobStatus.FAILED,
        stage=Stage.FAILED.value,
        error_code=code[:64],
        error_message=message[:1000],
    )


def _finish(engine: Engine, job_id: str, worker: str | None, at: datetime, **values: Any) -> bool:
    """Only the worker holding the job finishes it (False otherwise: its lease ran out and
    the job went to another). A finished job keeps no params: they name people (speakers,
    tracks) and a finished job never runs again."""
    table = table_of(JobRecord)
    values["status"] = values["status"].value
    values["params"] = {}
    with row_transaction(engine) as conn:
        finished = conn.execute(
            update(table)
            .where(*_held_by(table, job_id, worker))
            .values(finished_at=at, heartbeat_at=None, **values)
        ).rowcount
    return bool(finished)


def requeue_stale(
    engine: Engine,
    *,
    lease_s: float,
    requeue_s: float,
    clock: Callable[[], datetime] = utcnow,
) -> list[str]:
    """The distributed queue's safety net, run by every worker now and then. A running job
    whose worker has not been heard from for `lease_s` goes back to the queue (or fails
    once it was interrupted `MAX_ATTEMPTS` times); a queued job published more than
    `requeue_s` ago and still not taken is due to be published again (a broker that
    restarted without persistence forgot it). Returns the ids to publish now; each is
    returned to one caller only, however many workers sweep at once."""
    table = table_of(JobRecord)
    now = clock()
    lost = (table.c.status == JobStatus.RUNNING.value) & (
        table.c.heartbeat_at < now - timedelta(seconds=lease_s)
    )
    with row_transaction(engine) as conn:
        conn.execute(
            update(table)
            .where(lost, table.c.attempts >= MAX_ATTEMPTS)
            .values(
                status=JobStatus.FAILED.value,
                stage=Stage.FAILED.value,
                params={},
                error_code="interrupted",
                error_message=f"the worker running this job stopped, {MAX_ATTEMPTS} times; "
                "upload the meeting again",
                finished_at=now,
                heartbeat_at=None,
            )
        )
        taken_back = conn.execute(
            update(table)
            .where(lost)
            .values(
                status=JobStatus.QUEUED.value,
                stage=Stage.REQUEUED.value,
                worker=None,
                heartbeat_at=None,
                enqueued_at=now,
            )
            .returning(table.c.id)
        ).all()
        forgotten = conn.execute(
            update(table)
            .where(
                table.c.status == JobStatus.QUEUED.value,
                or_(
                    table.c.enqueued_at.is_(None),
                    table.c.enqueued_at < now - timedelta(seconds=requeue_s),
                ),
            )
            .values(enqueued_at=now)
            .returning(table.c.id)
        ).all()
    return [row.id for row in [*taken_back, *forgotten]]


@dataclass(frozen=True)
class Backlog:
    """Jobs not finished yet, across every server and worker of the database."""

    queued: int
    running: int
    oldest_queued_s: float  # how long the oldest queued job has waited; 0 when none


def backlog(engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> Backlog:
    table = table_of(JobRecord)
    waiting = [JobStatus.QUEUED.value, JobStatus.RUNNING.value]
    with read_transaction(engine) as conn:
        rows = conn.execute(
            select(table.c.status, func.count(), func.min(table.c.created_at))
            .where(table.c.status.in_(waiting))
            .group_by(table.c.status)
        ).all()
    found = {row[0]: (int(row[1]), row[2]) for row in rows}
    queued, oldest = found.get(JobStatus.QUEUED.value, (0, None))
    return Backlog(
        queued=queued,
        running=found.get(JobStatus.RUNNING.value, (0, None))[0],
        oldest_queued_s=(clock() - oldest).total_seconds() if oldest else 0.0,
    )


def recover(engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> list[str]:
    """After a restart: jobs left running go back to the queue (their steps are keyed by the
    job id, so a second run finds what the first finished), or fail once they were
    interrupted `MAX_ATTEMPTS` times. Returns the ids now queued, oldest first."""
    table = table_of(JobRecord)
    running = table.c.status == JobStatus.RUNNING.value
    with row_transaction(engine) as conn:
        conn.execute(
            update(table)
            .where(running, table.c.attempts >= MAX_ATTEMPTS)
            .values(
                status=JobStatus.FAILED.value,
                stage=Stage.FAILED.value,
                error_code="interrupted",
                error_message=f"the server stopped while this job ran, {MAX_ATTEMPTS} times; "
                "upload the meeting again",
                params={},
                finished_at=clock(),
                heartbeat_at=None,
            )
        )
        conn.execute(
            update(table)
            .where(running)
            .values(
                status=JobStatus.QUEUED.value,
                stage=Stage.REQUEUED.value,
                worker=None,
                heartbeat_at=None,
            )
        )
        queued = conn.execute(
            select(table.c.id)
            .where(table.c.status == JobStatus.QUEUED.value)
            .order_by(table.c.created_at, table.c.id)
        ).all()
    return [row.id for row in queued]


def _job(values: Any) -> Job:
    get = values.__getitem__
    return Job(
        id=get("id"),
        tenant_id=get("tenant_id"),
        owner_id=get("owner_id"),
        kind=get("kind"),
        status=JobStatus(get("status")),
        stage=_stage(get("stage"), JobStatus(get("status"))),
        progress=get("progress"),
        params=get("params"),
        result=get("result"),
        error_code=get("error_code"),
        error_message=get("error_message"),
        attempts=get("attempts"),
        created_at=get("created_at"),
        started_at=get("started_at"),
        finished_at=get("finished_at"),
        worker=get("worker"),
    )


# What a row's stage written before stages were named (free text) reads as.
_STAGE_OF_STATUS = {
    JobStatus.QUEUED: Stage.QUEUED,
    JobStatus.RUNNING: Stage.STARTING,
    JobStatus.SUCCEEDED: Stage.DONE,
    JobStatus.FAILED: Stage.FAILED,
}


def _stage(value: str, status: JobStatus) -> Stage:
    try:
        return Stage(value)
    except ValueError:
        return _STAGE_OF_STATUS[status]


def cancel_queued(
    engine: Engine,
    tenant_id: str,
    *,
    kinds: Collection[str] | None,
    code: str,
    message: str,
    clock: Callable[[], datetime] = utcnow,
) -> int:
    """Fail the tenant's queued jobs (of `kinds`; None: all) before any worker starts them,
    with `code` and `message` as their error; returns how many."""
    table = table_of(JobRecord)
    waiting = [table.c.tenant_id == tenant_id, table.c.status == JobStatus.QUEUED.value]
    if kinds is not None:
        waiting.append(table.c.kind.in_(list(kinds)))
    now = clock()
    with row_transaction(engine) as conn:
        cancelled = conn.execute(
            update(table)
            .where(*waiting)
            .values(
                status=JobStatus.FAILED.value,
                stage=Stage.FAILED.value,
                error_code=code[:64],
                error_message=message[:1000],
                finished_at=now,
            )
        ).rowcount
    return int(cancelled)


def forget_quoting(engine: Engine, tenant_id: str, words: Iterable[str]) -> int:
    """Replace every string of the tenant's jobs (parameters, results, error messages) that
    quotes one of `words` (an erased person's); returns how many jobs changed."""
    found = needles(words)
    if not found:
        return 0
    table = table_of(JobRecord)
    changed = 0
    with row_transaction(engine) as conn:
        rows = conn.execute(
            select(table.c.id, table.c.params, table.c.result, table.c.error_message).where(
                table.c.tenant_id == tenant_id
            )
        ).all()
        for row in rows:
            params, in_params = scrub(row.params, found)
            result, in_result = scrub(row.result, found)
            message, in_message = scrub(row.error_message, found)
            if in_params or in_result or in_message:
                conn.execute(
                    table.update()
                    .where(table.c.id == row.id)
                    .values(params=params, result=result, error_message=message)
                )
                changed += 1
    return changed
