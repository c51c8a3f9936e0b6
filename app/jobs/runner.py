"""Running jobs. `JobRunner` is what the API needs; `InProcessRunner` runs them on threads
of the server process (the default), `app.jobs.distributed.CeleryRunner` hands them to
workers through a queue. Both run a job the same way, through `Executor`: claim the row,
keep its lease alive, call the handler for its kind, finish the row, and log the job's
start and end (its id, kind, outcome and duration: never what it is about). Each handler
gets the job and a callback for its stages and returns the job's result (a small JSON
object)."""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from minutekeeper.core.errors import AppError, DatabaseUnavailable, without_folders
from minutekeeper.core.progress import Stage, StageProgress, overall
from minutekeeper.jobs import store
from minutekeeper.jobs.store import Job

log = logging.getLogger("minutekeeper.jobs")

Handler = Callable[[Job, StageProgress], dict[str, Any]]
OnFinished = Callable[[Job, str, float], None]  # job, status, seconds
OnDone = Callable[[Job], None]  # the finished row, once this worker's finish is committed
REPORT_EVERY_S = 0.5


class JobRunner(Protocol):
    def start(self) -> None:
        """Begin running; picks up jobs a previous server left queued or running."""

    def submit(self, job_id: str) -> None: ...

    def stop(self) -> None:
        """Stop taking jobs and wait for the running ones."""


def worker_name() -> str:
    """Who runs a job: host and process, told apart from this process's other attempts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Executor:
    """Runs one job to its end in this process. The claim makes the job this worker's;
    a heartbeat thread renews the lease every `lease_s / 4` while the handler runs, and the
    finish is written only while the job is still this worker's, so a worker that was
    presumed dead (and whose job went to another) cannot overwrite the other's result.

    A database outage is not the job's fault: `run` raises `DatabaseUnavailable` and leaves
    the row as it is, for a retry (distributed) or the next start (in-process)."""

    def __init__(
        self,
        engine: Engine,
        handlers: Mapping[str, Handler],
        *,
        lease_s: float = 60.0,
        on_finished: OnFinished = lambda job, status, seconds: None,
        on_done: OnDone | None = None,
    ) -> None:
        self._engine = engine
        self._handlers = dict(handlers)
        self._lease_s = lease_s
        self._on_finished = on_finished
        self._on_done = on_done

    def run(self, job_id: str) -> str | None:
        """The status the job ended in; None when it was not this worker's to run (taken
        by another, or finished already)."""
        worker = worker_name()
        job = store.start(self._engine, job_id, worker=worker)
        if job is None:
            return None
        started = time.perf_counter()
        log.info("job %s (%s) started, attempt %d", job.id, job.kind, job.attempts)
        beating = _Heartbeat(self._engine, job.id, worker, self._lease_s / 4)
        status = store.JobStatus.FAILED
        outcome = "failed (internal_error)"
        finished = False  # by this worker: one whose lease ran out leaves it to another
        try:
            with beating:
                result = self._handler(job)(job, _Reporter(self._engine, job.id, worker))
            finished = store.succeed(self._engine, job.id, result, worker=worker)
            status = store.JobStatus.SUCCEEDED
            outcome = status.value
        except DatabaseUnavailable:
            outcome = f"interrupted ({DatabaseUnavailable.code}), left to run again"
            raise
        except AppError as error:  # its owner reads the message: no server folder in it
            outcome = f"failed ({error.code})"
            message = without_folders(error.message)
            finished = store.fail(self._engine, job.id, code=error.code, message=message,
                                  worker=worker)  # fmt: skip
        except Exception as error:
            # The message may quote what the job read; log where it failed, not what it said.
            where = "".join(traceback.format_tb(error.__traceback__)[-3:])
            log.error("job %s (%s) failed: %s\n%s", job.id, job.kind, type(error).__name__, where)
            finished = store.fail(
                self._engine,
                job.id,
                code="internal_error",
                message=f"the job failed unexpectedly ({type(error).__name__}); "
                "the error is logged on the server",
                worker=worker,
            )
        finally:
            seconds = time.perf_counter() - started
            log.info("job %s (%s) ended: %s after %.1f s", job.id, job.kind, outcome, seconds)
            self._on_finished(job, status.value, seconds)
        if finished and self._on_done is not None:
            self._done(job.id, self._on_done)
        return status.value

    def _done(self, job_id: str, on_done: OnDone) -> None:
        """Hand the finished row to `on_done`; nothing it does can change the job."""
        try:
            on_done(store.get_job(self._engine, job_id))
        except Exception as error:
            log.warning("job %s: after its finish: %s", job_id, type(error).__name__)

    def _handler(self, job: Job) -> Handler:
        handler = self._handlers.get(job.kind)
        if handler is None:
            raise AppError(f"no handler for jobs of kind {job.kind!r}")
        return handler


class InProcessRunner:
    """Daemon threads taking job ids from a queue. Stopping waits `stop_wait_s` for the
    running jobs and then lets the process go: a job cut off there is still `running` in
    its row, and the next start queues it again (`store.recover`). One server per
    database: a second server's start would take back the first one's running jobs."""

    def __init__(
        self,
        engine: Engine,
        executor: Executor,
        *,
        workers: int = 1,
        stop_wait_s: float = 10.0,
    ) -> None:
        self._engine = engine
        self._executor = executor
        self._workers = workers
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
                self._executor.run(job_id)
            except Exception as error:  # the database went away: the row says running,
                log.error("job %s: %s", job_id, type(error).__name__)  # the next start retries


class _Heartbeat:
    """A thread renewing the worker's lease on its job while the job runs."""

    def __init__(self, engine: Engine, job_id: str, worker: str, every_s: float) -> None:
        self._engine = engine
        self._job_id = job_id
        self._worker = worker
        self._every_s = every_s
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="minutekeeper-lease", daemon=True)

    def __enter__(self) -> None:
        self._thread.start()

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._done.wait(self._every_s):
            try:
                if not store.heartbeat(self._engine, self._job_id, self._worker):
                    log.warning("job %s is no longer this worker's", self._job_id)
                    return
            except DatabaseUnavailable:  # the lease may run out; the finish is fenced
                log.warning("job %s: the database is unavailable for the heartbeat", self._job_id)


class _Reporter:
    """Writes a job's stage and overall progress (`core.progress.SPANS`) to its row: never
    backwards within an attempt, at most every `REPORT_EVERY_S` unless the stage changes."""

    def __init__(self, engine: Engine, job_id: str, worker: str) -> None:
        self._engine = engine
        self._job_id = job_id
        self._worker = worker
        self._stage: Stage | None = None
        self._progress = 0.0
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, stage: Stage, share: float) -> None:
        now = time.monotonic()
        with self._lock:
            if stage == self._stage and now - self._last < REPORT_EVERY_S:
                return
            self._stage, self._last = stage, now
            self._progress = progress = max(self._progress, overall(stage, share))
        store.report(
            self._engine, self._job_id, stage=stage, progress=progress, worker=self._worker
        )
