"""Running jobs. `JobRunner` is what the API needs; `InProcessRunner` runs them on threads
of the server process (the default). Each job kind has a handler: it gets the job and a
progress callback and returns the job's result (a small JSON object)."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from app.core.errors import AppError
from app.jobs import store
from app.jobs.store import Job

log = logging.getLogger("minutekeeper.jobs")

Report = Callable[[str, float], None]  # stage, share done
Handler = Callable[[Job, Report], dict[str, Any]]
OnFinished = Callable[[Job, str, float], None]  # job, status, seconds
REPORT_EVERY_S = 0.5


class JobRunner(Protocol):
    def start(self) -> None:
        """Begin running; picks up jobs a previous server left queued or running."""

    def submit(self, job_id: str) -> None: ...

    def stop(self) -> None:
        """Stop taking jobs and wait for the running ones."""


class InProcessRunner:
    def __init__(
        self,
        engine: Engine,
        handlers: Mapping[str, Handler],
        *,
        workers: int = 1,
        on_finished: OnFinished = lambda job, status, seconds: None,
    ) -> None:
        self._engine = engine
        self._handlers = dict(handlers)
        self._workers = workers
        self._on_finished = on_finished
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="minutekeeper-job")
        for job_id in store.recover(self._engine):
            self.submit(job_id)

    def submit(self, job_id: str) -> None:
        if self._pool is None:
            raise RuntimeError("the job runner is not started")
        self._pool.submit(self.run, job_id)

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(self, job_id: str) -> None:
        """Run one queued job to its end; nothing if another runner took it first."""
        job = store.start(self._engine, job_id)
        if job is None:
            return
        started = time.perf_counter()
        status = store.JobStatus.FAILED
        try:
            handler = self._handlers.get(job.kind)
            if handler is None:
                raise AppError(f"no handler for jobs of kind {job.kind!r}")
            result = handler(job, _Reporter(self._engine, job.id))
            store.succeed(self._engine, job.id, result)
            status = store.JobStatus.SUCCEEDED
        except AppError as error:
            store.fail(self._engine, job.id, code=error.code, message=error.message)
        except Exception as error:
            # The message may quote what the job read; log where it failed, not what it said.
            where = "".join(traceback.format_tb(error.__traceback__)[-3:])
            log.error("job %s (%s) failed: %s\n%s", job.id, job.kind, type(error).__name__, where)
            store.fail(
                self._engine,
                job.id,
                code="internal_error",
                message=f"the job failed unexpectedly ({type(error).__name__}); "
                "the error is logged on the server",
            )
        finally:
            self._on_finished(job, status.value, time.perf_counter() - started)


class _Reporter:
    """Writes progress to the job row, at most every `REPORT_EVERY_S` unless the stage
    changes."""

    def __init__(self, engine: Engine, job_id: str) -> None:
        self._engine = engine
        self._job_id = job_id
        self._stage = ""
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, stage: str, progress: float) -> None:
        now = time.monotonic()
        with self._lock:
            if stage == self._stage and now - self._last < REPORT_EVERY_S:
                return
            self._stage, self._last = stage, now
        store.report(self._engine, self._job_id, stage=stage, progress=progress)
