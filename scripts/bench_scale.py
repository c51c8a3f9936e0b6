"""Meeting jobs per minute with one and two `minutekeeper worker` processes, and the latency
the distributed path (Celery through Redis) adds to one job over the in-process runner,
measured in the same run on the same recordings and the same PostgreSQL.

    .venv/bin/python scripts/bench_scale.py [--jobs 12] [--latency-runs 6]
        [--recording tests/fixtures/audio/two_speakers.wav]

The deployment is the one the tests start (tests/cluster.py, as docs/deploy.md describes):
a Redis server of its own on a free port, one API server (`minutekeeper serve`,
MINUTEKEEPER_JOB_QUEUE=celery), workers, a fresh schema of the PostgreSQL at
MINUTEKEEPER_TEST_PG_URL (default the local `test` database), shared media and key folders
in a temporary folder; all removed at the end, also on failure. The in-process baseline is
`minutekeeper serve` with the default runner (one job at a time) on another fresh schema.

Each path first runs one job that is not counted (the in-process server loads its models
then; a worker loaded them at start). Latency: --latency-runs jobs one after another, each
from the upload to the moment a poll (every 20 ms) sees it finished; the table splits it
into the queue wait (the job's started_at - created_at, what the queue adds) and the run.
Throughput: --jobs uploads sent at once, from the first upload to the last job finished,
with one worker, then two, then the in-process server. Every worker uses the CPU threads
the defaults give it; on a 2-core machine two workers share the same two cores, so the
second worker shows what the queue costs and gains without new hardware, not what a
second machine would add.

Any failed job or unexpected status makes the script exit non-zero.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.cluster import redis_server_binary, running_cluster  # noqa: E402
from tests.live_server import LiveServer, live_server  # noqa: E402

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POLL_S = 0.02


@contextmanager
def pg_schema() -> Iterator[str]:
    base = os.environ.get("MINUTEKEEPER_TEST_PG_URL", DEFAULT_PG_URL)
    schema = f"mk_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Client:
    url: str
    token: str
    recording: Path

    def upload(self, title: str) -> str:
        with self.recording.open("rb") as handle:
            reply = httpx.post(f"{self.url}/v1/meetings", files={"recording": handle},
                               data={"title": title}, headers=self.auth(), timeout=60)  # fmt: skip
        if reply.status_code != 202:
            raise SystemExit(f"upload refused: {reply.status_code} {reply.text}")
        job_id: str = reply.json()["job"]["id"]
        return job_id

    def wait(self, job_id: str, timeout: float = 600) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job: dict[str, Any] = httpx.get(f"{self.url}/v1/jobs/{job_id}",
                                            headers=self.auth(), timeout=30).json()  # fmt: skip
            if job["status"] == "succeeded":
                return job
            if job["status"] == "failed":
                raise SystemExit(f"job {job_id} failed: {job['error']}")
            time.sleep(POLL_S)
        raise SystemExit(f"job {job_id} did not finish in {timeout} s")

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def client_of(server: LiveServer, recording: Path) -> Client:
    return Client(server.url, server.token("member", "bench"), recording)


def seconds(job: dict[str, Any], start: str, end: str) -> float:
    return (datetime.fromisoformat(job[end]) - datetime.fromisoformat(job[start])).total_seconds()


@dataclass
class Latency:
    total: list[float]
    queued: list[float]
    ran: list[float]


def latency(client: Client, runs: int) -> Latency:
    client.wait(client.upload("warm-up"))
    measured = Latency([], [], [])
    for n in range(runs):
        started = time.perf_counter()
        job = client.wait(client.upload(f"latency {n}"))
        measured.total.append(time.perf_counter() - started)
        measured.queued.append(seconds(job, "created_at", "started_at"))
        measured.ran.append(seconds(job, "started_at", "finished_at"))
    return measured


def throughput(client: Client, jobs: int) -> float:
    """Jobs per minute: all uploaded at once, until the last one finished."""
    started = time.perf_counter()
    with ThreadPoolExecutor(min(jobs, 8)) as pool:
        job_ids = list(pool.map(lambda n: client.upload(f"throughput {n}"), range(jobs)))
    for job_id in job_ids:
        client.wait(job_id)
    return jobs / (time.perf_counter() - started) * 60


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--latency-runs", type=int, default=6)
    parser.add_argument(
        "--recording", type=Path, default=ROOT / "tests/fixtures/audio/two_speakers.wav"
    )
    args = parser.parse_args()
    if redis_server_binary() is None:
        raise SystemExit("redis-server is not installed (Debian package redis-server)")
    recording = args.recording.resolve()
    if not recording.is_file():
        raise SystemExit(f"no recording at {recording}")
    print(f"{os.cpu_count()} CPUs; {args.jobs} jobs of {recording.name} per throughput run")

    with tempfile.TemporaryDirectory(prefix="mk-bench-scale-") as tmp:
        root = Path(tmp)
        with pg_schema() as url, running_cluster(root / "celery", url, servers=1,
                                                 workers=1) as cluster:  # fmt: skip
            client = client_of(cluster.servers[0], recording)
            queued = latency(client, args.latency_runs)
            one = throughput(client, args.jobs)
            cluster.start_worker()
            two = throughput(client, args.jobs)
        with pg_schema() as url:
            shared = root / "in-process"
            with live_server(shared / "server", log_level="warning",
                             MINUTEKEEPER_DATABASE_URL=url,
                             MINUTEKEEPER_MODEL_CACHE_DIR=str(root / "celery/shared/models"),
                             ) as server:  # fmt: skip
                client = client_of(server, recording)
                local = latency(client, args.latency_runs)
                baseline = throughput(client, args.jobs)

    print()
    print("one job, median of", args.latency_runs, "(ms)   end to end   queue wait        run")
    print(f"in-process runner                      {ms(local.total)}   {ms(local.queued)}   "
          f"{ms(local.ran)}")  # fmt: skip
    print(f"Celery + Redis, 1 worker               {ms(queued.total)}   {ms(queued.queued)}   "
          f"{ms(queued.ran)}")  # fmt: skip
    added = statistics.median(queued.total) - statistics.median(local.total)
    waited = statistics.median(queued.queued) - statistics.median(local.queued)
    print(f"added by the distributed path: {waited * 1000:+.0f} ms of queue wait, "
          f"{added * 1000:+.0f} ms end to end "
          f"(x{statistics.median(queued.total) / statistics.median(local.total):.2f})")  # fmt: skip
    print()
    print("throughput                      jobs/min   vs in-process")
    print(f"in-process runner (baseline)   {baseline:9.1f}        x1.00")
    print(f"Celery, 1 worker               {one:9.1f}        x{one / baseline:.2f}")
    print(f"Celery, 2 workers              {two:9.1f}        x{two / baseline:.2f}")
    print(f"2 workers / 1 worker: x{two / one:.2f}")


if __name__ == "__main__":
    main()
