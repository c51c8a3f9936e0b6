"""Scaled out for real: two API server processes and two `minutekeeper worker` processes on
127.0.0.1, one PostgreSQL and a Redis broker, started and stopped here. Jobs finish once
each whatever is delivered twice, lost or killed; the consent chains stay linear however
both servers write."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from minutekeeper.consent.chain import CHAINS
from minutekeeper.consent.domain import Principal, Role
from minutekeeper.consent.service import ConsentService
from minutekeeper.core.db import create_db_engine, read_transaction, table_of
from minutekeeper.core.settings import Settings
from minutekeeper.features.meetings.store import MeetingRecord
from minutekeeper.jobs.store import JobRecord
from tests.cluster import Cluster, redis_server_binary, running_cluster
from tests.conftest import pg_schema
from tests.integration.api_support import add_person, seed
from tests.integration.test_webhook import PUBLIC, SECRET, Receiver, receiver, verified

ROOT = Path(__file__).resolve().parents[2]
VTT = ROOT / "examples" / "meeting.vtt"
SPEECH = ROOT / "tests" / "fixtures" / "audio" / "two_speakers.wav"
UPLOADS = 50
# A killed worker's job goes to the other within a few seconds; a lost message is
# published again after REQUEUE_S.
LEASE_S = "3"
REQUEUE_S = "4"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@dataclass
class Deployment:
    cluster: Cluster
    engine: Engine
    service: ConsentService
    hooks: Receiver  # what the workers' webhook posted
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    people: dict[tuple[str, str], Principal] = field(default_factory=dict)

    def url(self, n: int) -> str:
        return self.cluster.servers[n % len(self.cluster.servers)].url

    def auth(self, label: str = "member") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['acme', label]}"}

    def upload(self, n: int, path: Path, label: str = "member") -> str:
        with path.open("rb") as handle:
            reply = httpx.post(f"{self.url(n)}/v1/meetings", headers=self.auth(label),
                               files={"recording": (path.name, handle)},
                               data={"title": f"upload {n}"}, timeout=60)  # fmt: skip
        assert reply.status_code == 202, reply.text
        job_id: str = reply.json()["job"]["id"]
        return job_id

    def finished(self, job_ids: list[str], timeout: float, label: str = "member") -> list[Any]:
        """Each job once it ended, polled through both servers in turn."""
        deadline = time.monotonic() + timeout
        done: dict[str, Any] = {}
        n = 0
        while len(done) < len(job_ids):
            for job_id in job_ids:
                if job_id in done:
                    continue
                n += 1
                job = httpx.get(f"{self.url(n)}/v1/jobs/{job_id}", headers=self.auth(label),
                                timeout=30).json()  # fmt: skip
                if job["status"] in ("succeeded", "failed"):
                    done[job_id] = job
            if time.monotonic() > deadline:
                rows = self.rows(job_ids)
                stuck = [(r.id[:8], r.status, r.stage) for r in rows if r.id not in done]
                raise AssertionError(f"{len(stuck)} jobs did not finish: {stuck}")
            time.sleep(0.2)
        return [done[job_id] for job_id in job_ids]

    def rows(self, job_ids: list[str]) -> list[Any]:
        jobs = table_of(JobRecord)
        with read_transaction(self.engine) as conn:
            return list(conn.execute(select(jobs).where(jobs.c.id.in_(job_ids))).all())

    def meetings(self, ids: list[str]) -> list[Any]:
        meetings = table_of(MeetingRecord)
        with read_transaction(self.engine) as conn:
            query = select(meetings.c.id, meetings.c.summary).where(meetings.c.id.in_(ids))
            return list(conn.execute(query).all())


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, _pg_checked: None) -> Iterator[Deployment]:
    if redis_server_binary() is None:
        reason = "redis-server is not installed (Debian package redis-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("cluster")
    with (
        receiver() as hooks,
        pg_schema() as url,
        running_cluster(
            root,
            url,
            job_lease_s=LEASE_S,
            job_requeue_s=REQUEUE_S,
            webhook_url=hooks.url,
            webhook_secret=SECRET,
            public_url=PUBLIC,
        ) as cluster,
    ):
        key = Path(cluster.env["MINUTEKEEPER_AUDIT_KEY_PATH"])
        settings = Settings(data_dir=root / "tests", database_url=url, audit_key_path=key)
        engine = create_db_engine(settings)
        service = ConsentService.from_settings(engine, settings)
        deployment = Deployment(cluster, engine, service, hooks)
        seed(deployment.service, deployment.tokens, deployment.people)
        yield deployment
        engine.dispose()


def metric(url: str, name: str) -> float:
    """One sample of a Prometheus text exposition (0 when it is not there yet)."""
    for line in httpx.get(url, timeout=30).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def worker_pid(row: Any) -> int:
    return int(row.worker.split(":")[1])


def test_fifty_parallel_uploads_through_both_servers_each_end_with_one_summary(
    deployment: Deployment,
) -> None:
    with ThreadPoolExecutor(16) as pool:
        job_ids = list(pool.map(lambda n: deployment.upload(n, VTT), range(UPLOADS)))
    jobs = deployment.finished(job_ids, timeout=400)
    assert [job["status"] for job in jobs] == ["succeeded"] * UPLOADS
    assert sorted(job["result"]["meeting_id"] for job in jobs) == sorted(job_ids)
    meetings = deployment.meetings(job_ids)
    assert len(meetings) == UPLOADS and all(m.summary["overview"] for m in meetings)
    rows = deployment.rows(job_ids)
    assert {row.attempts for row in rows} == {1}  # nothing ran twice
    workers = deployment.cluster.live_workers()
    assert {worker_pid(row) for row in rows} == {w.pid for w in workers}  # both took jobs
    # What an operator watches: each worker's finished jobs, the servers' shared backlog.
    ran = [metric(w.metrics_url, 'minutekeeper_jobs_total{kind="meeting",status="succeeded"}')
           for w in workers]  # fmt: skip
    assert sum(ran) == UPLOADS and all(ran)
    for server in deployment.cluster.servers:
        url = f"{server.url}/metrics"
        assert metric(url, 'minutekeeper_jobs_waiting{status="queued"}') == 0
        assert metric(url, 'minutekeeper_jobs_waiting{status="running"}') == 0


def test_consent_written_through_both_servers_keeps_the_chains_linear(
    deployment: Deployment,
) -> None:
    labels = [f"racer{n}" for n in range(10)]
    for label in labels:
        add_person(deployment.service, deployment.tokens, deployment.people, "acme", label,
                   Role.MEMBER)  # fmt: skip

    def flip_flop(n: int) -> None:
        headers = deployment.auth(labels[n])
        for flip in range(6):
            here, there = deployment.url(n + flip), deployment.url(n + flip + 1)
            if flip % 2 == 0:
                notice = httpx.get(f"{here}/v1/consent/notice", headers=headers, timeout=30)
                body = {"decision": "given", "notice_version_id": notice.json()["notice"]["id"]}
            else:
                body = {"decision": "withdrawn"}
            written = httpx.post(f"{here}/v1/consent", json=body, headers=headers, timeout=30)
            assert written.status_code == 201, written.text
            # Read through the other server right after the write returned: never older.
            me = httpx.get(f"{there}/v1/consent/me", headers=headers, timeout=30).json()
            assert {c["state"] for c in me["consent"]} == {body["decision"]}, me

    with ThreadPoolExecutor(len(labels)) as pool:
        list(pool.map(flip_flop, range(len(labels))))

    verified = deployment.cluster.servers[1].cli("audit", "verify")
    assert "ledger: ok" in verified and "audit: ok" in verified, verified
    with read_transaction(deployment.engine) as conn:
        for chain in CHAINS:
            seq = chain.table.c.seq
            seqs = list(conn.execute(select(seq).order_by(seq)).scalars())
            assert seqs == list(range(1, len(seqs) + 1)), chain.name


def test_jobs_queued_when_redis_restarts_still_finish(deployment: Deployment) -> None:
    redis = deployment.cluster.redis
    with ThreadPoolExecutor(8) as pool:
        job_ids = list(pool.map(lambda n: deployment.upload(n, VTT), range(16)))
    redis.stop()  # it keeps nothing on disk: the queued messages are gone
    lost = [row.id for row in deployment.rows(job_ids) if row.status == "queued"]
    assert lost, "every job had finished before the broker went down"
    job_ids += [deployment.upload(n, VTT) for n in range(2)]  # accepted while it is down
    redis.start()
    jobs = deployment.finished(job_ids, timeout=120)
    assert [job["status"] for job in jobs] == ["succeeded"] * len(job_ids)
    assert len(deployment.meetings(job_ids)) == len(job_ids)


def test_a_job_on_a_worker_goes_through_its_stages_logs_it_and_posts_the_webhook(
    deployment: Deployment,
) -> None:
    """The same stages as in a server's own runner (tests/integration/test_api_meetings.py),
    each write of the row kept by a trigger; the worker logs the job's start and end, and
    the worker that finished it posts the webhook (tests/integration/test_webhook.py)."""
    watch = [
        "CREATE TABLE seen (n serial PRIMARY KEY, job_id text, stage text, progress float8)",
        "CREATE FUNCTION seen_job() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO seen (job_id, stage, progress) VALUES (NEW.id, NEW.stage, NEW.progress); "
        "RETURN NEW; END $$",
        "CREATE TRIGGER seen_jobs AFTER UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION seen_job()",
    ]
    with deployment.engine.begin() as conn:
        for statement in watch:
            conn.exec_driver_sql(statement)
    try:
        job_id = deployment.upload(0, VTT)
        [job] = deployment.finished([job_id], timeout=120)
        with deployment.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT stage, progress FROM seen WHERE job_id = %s ORDER BY n", (job_id,)
            ).all()
    finally:
        with deployment.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER seen_jobs ON jobs")
    assert job["status"] == "succeeded", job
    stages = [stage for n, (stage, _) in enumerate(rows) if n == 0 or rows[n - 1].stage != stage]
    assert stages == ["starting", "preparing_models", "summarizing", "offering", "done"], rows
    assert [row.progress for row in rows] == sorted(row.progress for row in rows)
    logs = "".join(worker.logs() for worker in deployment.cluster.workers)
    assert f"minutekeeper.jobs: job {job_id} (meeting) started, attempt 1" in logs
    assert re.search(rf"job {job_id} \(meeting\) ended: succeeded after \d+\.\d s", logs)
    assert "upload 0" not in logs  # its title
    deadline = time.monotonic() + 30
    while not (posts := [p for p in deployment.hooks.posted if p.json()["job_id"] == job_id]):
        assert time.monotonic() < deadline, "no webhook post for the job"
        time.sleep(0.1)
    [posted] = posts
    body = verified(posted)
    assert body["meeting_id"] == job_id and body["status"] == "succeeded"
    assert body["links"]["meeting"] == f"{PUBLIC}/meetings/{job_id}"
    assert "upload 0" not in posted.body.decode()


def test_a_job_whose_worker_is_killed_finishes_once_on_the_other(deployment: Deployment) -> None:
    cluster = deployment.cluster
    job_id = deployment.upload(0, SPEECH)
    deadline = time.monotonic() + 60
    while (row := deployment.rows([job_id])[0]).status != "running":
        assert row.status == "queued" and time.monotonic() < deadline, row
        time.sleep(0.02)
    victim = next(w for w in cluster.live_workers() if w.pid == worker_pid(row))
    victim.kill()
    [job] = deployment.finished([job_id], timeout=120)
    assert job["status"] == "succeeded", job
    [row] = deployment.rows([job_id])
    [survivor] = cluster.live_workers()
    assert row.attempts == 2 and worker_pid(row) == survivor.pid
    [meeting] = deployment.meetings([job_id])
    assert meeting.summary is not None
    cluster.start_worker()  # two again, for whatever runs next
