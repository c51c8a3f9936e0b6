"""Job rows shared by several workers: one claim per job, leases that run out when a worker
dies, a finish only its holder may write, and the sweep that queues again what was lost,
each returned to one sweeper only."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from minutekeeper.core.errors import DatabaseUnavailable
from minutekeeper.core.progress import Stage, overall
from minutekeeper.jobs import store
from minutekeeper.jobs.runner import Executor
from minutekeeper.jobs.store import JobStatus
from tests.conftest import Clock, World

LEASE_S = 30.0
REQUEUE_S = 300.0


def new_job(engine: Engine, world: World, clock: Clock, kind: str = "meeting") -> str:
    member = world.member("Ann")
    job = store.create_job(engine, tenant_id=member.tenant_id, owner_id=member.subject_id,
                           kind=kind, params={"title": "t"}, clock=clock)  # fmt: skip
    return job.id


def sweep(engine: Engine, clock: Clock) -> list[str]:
    return store.requeue_stale(engine, lease_s=LEASE_S, requeue_s=REQUEUE_S, clock=clock)


def test_a_job_is_claimed_once_however_often_it_is_delivered(
    engine: Engine, world: World, clock: Clock
) -> None:
    job_id = new_job(engine, world, clock)
    first = store.start(engine, job_id, worker="w1", clock=clock)
    assert first is not None and first.worker == "w1" and first.attempts == 1
    assert store.start(engine, job_id, worker="w2", clock=clock) is None
    assert store.succeed(engine, job_id, {"ok": True}, worker="w1", clock=clock)
    assert store.start(engine, job_id, worker="w2", clock=clock) is None


def test_a_dead_workers_job_goes_back_to_the_queue_and_its_late_finish_is_refused(
    engine: Engine, world: World, clock: Clock
) -> None:
    job_id = new_job(engine, world, clock)
    store.start(engine, job_id, worker="dead", clock=clock)
    clock.advance(seconds=LEASE_S - 1)
    assert sweep(engine, clock) == []  # still within its lease
    assert store.heartbeat(engine, job_id, "dead", clock=clock)
    clock.advance(seconds=LEASE_S - 1)
    assert sweep(engine, clock) == []  # the heartbeat renewed it
    clock.advance(seconds=2)
    assert sweep(engine, clock) == [job_id]
    assert sweep(engine, clock) == []  # one sweeper publishes it, not every one
    queued = store.get_job(engine, job_id)
    assert queued.status is JobStatus.QUEUED and queued.worker is None
    again = store.start(engine, job_id, worker="alive", clock=clock)
    assert again is not None and again.attempts == 2
    # The presumed-dead worker wakes up: it may neither renew, report nor finish.
    assert not store.heartbeat(engine, job_id, "dead", clock=clock)
    store.report(engine, job_id, stage=Stage.SUMMARIZING, progress=0.9, worker="dead", clock=clock)
    assert not store.fail(engine, job_id, code="x", message="late", worker="dead", clock=clock)
    assert store.get_job(engine, job_id).stage is Stage.STARTING
    assert store.succeed(engine, job_id, {"by": "alive"}, worker="alive", clock=clock)
    done = store.get_job(engine, job_id)
    assert done.status is JobStatus.SUCCEEDED and done.result == {"by": "alive"}


def test_a_job_interrupted_too_often_fails_instead_of_running_again(
    engine: Engine, world: World, clock: Clock
) -> None:
    job_id = new_job(engine, world, clock)
    for attempt in range(store.MAX_ATTEMPTS):
        assert store.start(engine, job_id, worker=f"w{attempt}", clock=clock) is not None
        clock.advance(seconds=LEASE_S + 1)
        due = sweep(engine, clock)
    assert due == []
    failed = store.get_job(engine, job_id)
    assert failed.status is JobStatus.FAILED and failed.error_code == "interrupted"
    assert failed.params == {}


def test_a_queued_job_nobody_took_is_published_again_once_per_requeue_period(
    engine: Engine, world: World, clock: Clock
) -> None:
    job_id = new_job(engine, world, clock)
    clock.advance(seconds=REQUEUE_S - 1)
    assert sweep(engine, clock) == []
    clock.advance(seconds=2)
    assert sweep(engine, clock) == [job_id]
    assert sweep(engine, clock) == []
    clock.advance(seconds=REQUEUE_S + 1)
    assert sweep(engine, clock) == [job_id]


def test_a_database_outage_leaves_the_job_for_a_retry_instead_of_failing_it(
    engine: Engine, world: World, clock: Clock
) -> None:
    job_id = new_job(engine, world, clock)
    finished: list[str] = []

    def handler(job: Any, report: Any) -> dict[str, Any]:
        raise DatabaseUnavailable("the database went away")

    executor = Executor(engine, {"meeting": handler}, lease_s=LEASE_S,
                        on_finished=lambda job, status, s: finished.append(status))  # fmt: skip
    with pytest.raises(DatabaseUnavailable):
        executor.run(job_id)
    assert store.get_job(engine, job_id).status is JobStatus.RUNNING
    assert executor.run(job_id) is None  # a second delivery does not run it beside the first


def test_the_executor_finishes_what_it_claimed_and_fails_an_unknown_kind(
    engine: Engine, world: World, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="minutekeeper.jobs")
    reports: list[tuple[Stage, float]] = []

    def handler(job: Any, report: Any) -> dict[str, Any]:
        report(Stage.TRANSCRIBING, 0.5)
        report(Stage.DIARIZING, 0.0)
        report(Stage.TRANSCRIBING, 0.9)  # a stage reported late never sets progress back
        found = store.get_job(engine, job.id)
        reports.append((found.stage, found.progress))
        return {"title": job.params["title"]}

    executor = Executor(engine, {"meeting": handler}, lease_s=LEASE_S)
    job_id = new_job(engine, world, clock)
    assert executor.run(job_id) == "succeeded"
    done = store.get_job(engine, job_id)
    assert done.result == {"title": "t"} and done.params == {}
    assert reports == [(Stage.TRANSCRIBING, overall(Stage.DIARIZING, 0.0))]
    assert executor.run(job_id) is None
    odd = new_job(engine, world, clock, kind="mystery")
    assert executor.run(odd) == "failed"
    assert "mystery" in (store.get_job(engine, odd).error_message or "")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "minutekeeper.jobs")
    assert re.search(
        rf"^job {job_id} \(meeting\) started, attempt 1\n"
        rf"job {job_id} \(meeting\) ended: succeeded after \d+\.\d s$",
        logged,
        re.MULTILINE,
    ), logged
    assert re.search(rf"^job {odd} \(mystery\) ended: failed \(error\) after [\d.]+ s$",
                     logged, re.MULTILINE), logged  # fmt: skip
