"""A scaled-out minutekeeper on 127.0.0.1 for tests and benchmarks: a Redis server of its
own (so it can be restarted), API servers and `minutekeeper worker` processes, all on one
PostgreSQL database and one shared media, export and audit-key folder, as docs/deploy.md
describes."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.conftest import cli_env
from tests.live_server import MINUTEKEEPER, LiveServer, free_port, live_server


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    """redis-server on a free port, keeping nothing on disk (like the machines' own): a
    restart forgets every queued message."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = redis_server_binary()
        assert binary is not None, "redis-server is not installed"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    client.close()
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=20)
            self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path
    metrics_url: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # Celery's warm shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    redis: RedisServer
    servers: list[LiveServer] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)

    def start_worker(self, *args: str) -> Worker:
        """A worker process serving its /metrics on a free port, returned once Celery says
        it is ready."""
        number = len(self.workers)
        data_dir = self.root / f"worker-{number}"
        data_dir.mkdir(parents=True, exist_ok=True)
        log = self.root / f"worker-{number}.log"
        port = free_port()
        with log.open("wb") as out:
            process = subprocess.Popen(
                [MINUTEKEEPER, "--data-dir", str(data_dir), "worker", "--metrics-port",
                 str(port), *args],
                stdout=out, stderr=subprocess.STDOUT, env=self.env,
            )  # fmt: skip
        worker = Worker(process, log, f"http://127.0.0.1:{port}/metrics")
        self.workers.append(worker)
        deadline = time.monotonic() + 120
        while " ready." not in worker.logs():
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the worker did not start: {worker.logs()}")
            time.sleep(0.1)
        return worker

    def live_workers(self) -> list[Worker]:
        return [w for w in self.workers if w.process.poll() is None]


def cluster_env(root: Path, database_url: str, broker_url: str, **settings: str) -> dict[str, str]:
    """What every process of one deployment shares (docs/deploy.md), as MINUTEKEEPER_*."""
    env = cli_env()
    shared = {
        "DATABASE_URL": database_url,
        "JOB_QUEUE": "celery",
        "BROKER_URL": broker_url,
        "MEDIA_DIR": str(root / "shared" / "media"),
        "EXPORT_DIR": str(root / "shared" / "exports"),
        "AUDIT_KEY_PATH": str(root / "shared" / "audit_ed25519.pem"),
        # The test process's shared cache where there is one: prepared once, not per cluster.
        "MODEL_CACHE_DIR": env.get("MINUTEKEEPER_MODEL_CACHE_DIR", str(root / "shared" / "models")),
        **settings,
    }
    env.update({f"MINUTEKEEPER_{name.upper()}": value for name, value in shared.items()})
    return env


@contextmanager
def running_cluster(
    root: Path,
    database_url: str,
    *,
    servers: int = 2,
    workers: int = 2,
    worker_args: tuple[str, ...] = (),
    **settings: str,
) -> Iterator[Cluster]:
    """Redis, then the API servers (the first one migrates the database), then workers;
    stopped in the opposite order."""
    redis_server = RedisServer(root / "redis")
    redis_server.start()
    env = cluster_env(root, database_url, redis_server.url, **settings)
    cluster = Cluster(root, env, redis_server)
    with ExitStack() as stack:
        stack.callback(redis_server.stop)
        for number in range(servers):
            server_env = {k: v for k, v in env.items() if k.startswith("MINUTEKEEPER_")}
            cluster.servers.append(
                stack.enter_context(
                    live_server(root / f"server-{number}", log_level="warning", **server_env)
                )
            )
        stack.callback(lambda: [w.stop() for w in cluster.workers])
        for _ in range(workers):
            cluster.start_worker(*worker_args)
        yield cluster
