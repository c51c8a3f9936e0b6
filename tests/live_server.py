"""A real `minutekeeper serve` process on a free local port, for tests that need what a
user runs: its own process, its own logs (stdout and stderr kept in a file)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import cli_env

MINUTEKEEPER = str(Path(sys.executable).with_name("minutekeeper"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    log: Path
    env: dict[str, str]

    def cli(self, *args: str) -> str:
        """Run a CLI command on the server's data folder; returns its stdout."""
        done = subprocess.run([MINUTEKEEPER, "--data-dir", str(self.data_dir), *args],
                              capture_output=True, text=True, env=self.env, timeout=120,
                              check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    def token(self, role: str, subject: str) -> str:
        return self.cli("tokens", "create", "--role", role, "--subject", subject).strip()

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def live_server(data_dir: Path, *, log_level: str = "info", **env: str) -> Iterator[LiveServer]:
    """Start the server, wait for /health, stop it (SIGTERM, then SIGKILL) afterwards."""
    clean = cli_env()
    clean.update(env)
    port = free_port()
    log = data_dir.parent / f"server-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [MINUTEKEEPER, "--data-dir", str(data_dir), "serve", "--port", str(port),
             "--log-level", log_level],
            stdout=out, stderr=subprocess.STDOUT, env=clean,
        )  # fmt: skip
    server = LiveServer(f"http://127.0.0.1:{port}", data_dir, log, clean)
    try:
        _wait_healthy(server, process)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server as a person would (SIGTERM), killing it if it has not ended in 20 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_healthy(server: LiveServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {server.logs()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server did not answer /health in 60 s: {server.logs()}")
