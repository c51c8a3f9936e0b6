"""Running jobs. `JobRunner` is what the API needs; `InProcessRunner` runs them on threads
of the server process (the default). Each job kind has a handler: it gets the job and a
progress callback and returns the job's result (a small JSON object)."""

from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable, Mapping
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
    """Daemon threads taking job ids from a queue. Stopping waits `stop_wait_s` for the
    running jobs and then lets the process go: a job cut off there is still `running` in
    its row, and the next start queues it again (`store.recover`)."""

    def __init__(
        self,
        engine: Engine,
        handlers: Mapping[str, Handler],
        *,
        workers: int = 1,
        on_finished: OnFinished = lambda job, status, seconds: None,
        stop_wait_s: float = 10.0,
    ) -> None:
        self._engine = engine
        self._handlers = dict(handlers)
        self._workers = workers
        self._on_finished = on_finished
        self._stop_wait_s = stop_wait_s
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._work, name=f"minutekeeper-job-{n}", daemon=True)
            for n in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()
        for job_id in store.recover(self._engine):
            self.submit(job_id)

    def submit(self, job_id: str) -> None:
        if not self._threads:
            raise RuntimeError("the job runner is not started")
        self._queue.put(job_id)

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + self._stop_wait_s
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads = []

    def _work(self) -> None:
        while (job_id := self._queue.get()) is not None:
            try:
                self.run(job_id)
            except Exception as error:  # the database went away: the row says running,
                log.error("job %s: %s", job_id, type(error).__name__)  # the next start retries

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
