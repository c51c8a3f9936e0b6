"""Jobs on Celery workers through a Redis broker, for several API servers and workers that
share one PostgreSQL (settings.job_queue = "celery").

The job row stays the truth (`app.jobs.store`); a queue message only says "job X may be
ready". So the queue may deliver a message twice or lose it, and still each job runs to its
end once as a user sees it:

- twice: the worker's claim of the row succeeds once; the other copy finds the job taken
  and is acknowledged without running anything.
- lost with a dead worker: messages are acknowledged late (after the job), so the broker
  hands an unacknowledged one to another worker after `job_requeue_s`; sooner than that,
  the dead worker's lease (`job_lease_s`) runs out and a live worker's sweep queues the job
  again (`store.requeue_stale`).
- lost with the broker (Redis restarted without persistence): the sweep publishes again
  every job still queued `job_requeue_s` after it was last published.
- a database outage while a job is claimed or finished: the task is retried with
  exponential backoff.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from celery import Celery
from sqlalchemy.engine import Engine

from minutekeeper.core.errors import DatabaseUnavailable
from minutekeeper.core.settings import Settings
from minutekeeper.jobs import store
from minutekeeper.jobs.runner import Executor

log = logging.getLogger("minutekeeper.jobs")

TASK = "minutekeeper.run_job"
QUEUE = "minutekeeper"
RETRY_BACKOFF_MAX_S = 60
RETRIES = 12  # with backoff capped at a minute: about ten minutes of database outage


def celery_app(settings: Settings) -> Celery:
    """The Celery app both sides use: API servers publish, workers consume. Nothing is
    kept in a result backend: results are in the job rows."""
    app = Celery("minutekeeper", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,  # acknowledged after the job, not when taken
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a busy worker does not sit on others' jobs
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": settings.job_requeue_s},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker waits out a broker restart
        # A job running when the broker connection drops goes on: its row is the truth,
        # and its lost acknowledgement costs at most a duplicate delivery, refused by the
        # claim.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        # A quick failure when the broker is down: the job row is kept and the next
        # sweep publishes it.
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


class CeleryRunner:
    """`JobRunner` for an API server when workers run the jobs: submitting publishes."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self._app = celery_app(settings)
        self._engine = engine

    def start(self) -> None:
        """Nothing to recover here: the workers' sweep takes back what was interrupted."""

    def submit(self, job_id: str) -> None:
        publish(self._app, job_id)

    def stop(self) -> None:
        self._app.close()


def publish(app: Celery, job_id: str) -> bool:
    """Put the job on the queue; False (logged) when the broker cannot be reached: the
    job is already in its row, and a worker's sweep publishes it later."""
    try:
        app.send_task(TASK, args=[job_id], queue=QUEUE)
    except Exception as error:
        log.warning("job %s not published, the sweep will: %s", job_id, type(error).__name__)
        return False
    return True


def register(app: Celery, executor: Executor) -> None:
    """Give a worker's app the task that runs a job with this process's executor."""

    def run_job(self: Any, job_id: str) -> str | None:
        return executor.run(job_id)

    app.task(
        name=TASK,
        bind=True,
        acks_late=True,
        autoretry_for=(DatabaseUnavailable,),
        retry_backoff=True,
        retry_backoff_max=RETRY_BACKOFF_MAX_S,
        retry_jitter=True,
        max_retries=RETRIES,
    )(run_job)


class Sweeper:
    """A thread of each worker that, every `every_s`, queues again what was lost (see
    `store.requeue_stale`) and publishes it. Several workers may sweep at once: each job
    due is returned to one of them."""

    def __init__(
        self,
        app: Celery,
        engine: Engine,
        settings: Settings,
        *,
        on_requeued: Callable[[int], None] = lambda count: None,
    ) -> None:
        self._app = app
        self._engine = engine
        self._lease_s = settings.job_lease_s
        self._requeue_s = settings.job_requeue_s
        self.every_s = max(0.5, min(self._lease_s, self._requeue_s) / 2)
        self._on_requeued = on_requeued
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="minutekeeper-sweep", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def sweep(self) -> list[str]:
        due = store.requeue_stale(self._engine, lease_s=self._lease_s, requeue_s=self._requeue_s)
        for job_id in due:
            publish(self._app, job_id)
        if due:
            log.info("queued %d job(s) again", len(due))
            self._on_requeued(len(due))
        return due

    def _run(self) -> None:
        while True:
            try:
                self.sweep()
            except Exception as error:  # the database is away: try again next time
                log.warning("sweep failed: %s", type(error).__name__)
            if self._stopped.wait(self.every_s):
                return
