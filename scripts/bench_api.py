"""Throughput and latency of the consent API over HTTP: `GET /v1/consent/me` (the read) and
`POST /v1/consent` (the write) under concurrent clients, on SQLite and PostgreSQL, against
`GET /health` measured in the same run, on the same server, with the same client.

    .venv/bin/python scripts/bench_api.py [--requests 2000] [--concurrency 32]
        [--backend sqlite|postgresql|both] [--warmup 200]

For each backend the script makes a fresh database (a SQLite file in a temporary folder, or
a fresh schema of the PostgreSQL at MINUTEKEEPER_TEST_PG_URL, default the local `test`
database; skipped when unreachable), and, with the CLI in one child process (not timed),
publishes the shipped notice, turns training sharing on and makes one member token per
client. It then starts `minutekeeper serve` (uvicorn, one process) on a free port of
127.0.0.1 and waits for `/health`. Each client fetches the notice (which records that it
was served to that person) and gives consent once. Then, each after --warmup requests that
are not counted: `/health`, the baseline (what this server and this client reach at most;
it runs `SELECT 1` and looks up the package version), the read, and the write (each client
alternates `withdrawn` and `given`; every write appends to the hash-chained ledger under
the database-wide writer lock, so writes serialize by design). The server is stopped
(SIGTERM, then SIGKILL) and the folder and schema removed at the end, also on failure.

The client is asyncio on raw keep-alive sockets (one connection and one token per client;
requests are built once, responses parsed only as far as status and Content-Length), so
that it takes little of the CPU the server needs. It shares the machine with the server:
the table shows the CPU each used (percent of one core; `other` is the rest of the
machine, PostgreSQL's processes included, so a busy machine shows there), and the server's
CPU time per request, which a busy machine disturbs less than the rates. Each run does
exactly --requests requests per measurement, spread over the clients as they finish.

Targets, on 2 cores, for the read: >= 500 requests/s and a p99 latency <= 50 ms; the write
is reported. Missing a target is a result (exit 0); any unexpected status or failed request
is an error, shown in the table, and makes the script exit non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_RPS = 500  # the read, requests per second
TARGET_P99_MS = 50.0  # the read, p99 latency
BUSY_OTHER = 0.2  # SQLite: more CPU than this (share of a core) used by others is a warning
TOKEN = re.compile(r"^mk_[0-9a-f]{12}_\S+$", re.MULTILINE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0  # the server waits up to 10 s for running jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per measurement")
    parser.add_argument("--concurrency", type=int, default=32, help="clients (connections)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--warmup", type=int, default=200, help="requests before each, uncounted")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # set-up job (JSON)
    args = parser.parse_args()
    if args.child:
        set_up_child(json.loads(args.child))
        return
    if args.requests < 1 or args.concurrency < 1 or args.warmup < 0:
        parser.error("--requests and --concurrency must be at least 1, --warmup at least 0")
    print(f"{os.cpu_count()} CPUs; load average before the run: {_loadavg()}", flush=True)
    print(f"server: {_server_stack()}; client: asyncio, {args.concurrency} connections")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    errors = 0
    for backend in backends:
        results = run_backend(backend, args)
        if results is not None:
            report(backend, results)
            errors += sum(r.error_count for r in results)
    print(f"\nload average after the run: {_loadavg()}")
    if errors:
        print(f"FAILED: {errors} requests did not get the expected answer", file=sys.stderr)
        sys.exit(1)


def _server_stack() -> str:
    """What uvicorn will pick (it uses httptools and uvloop only when installed)."""
    from importlib.metadata import version
    from importlib.util import find_spec

    http = "httptools" if find_spec("httptools") else "h11"
    loop = "uvloop" if find_spec("uvloop") else "asyncio"
    return f"uvicorn {version('uvicorn')}, http={http}, loop={loop}, one process"


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- one backend --------------------------------------------------------------------


def run_backend(backend: str, args: argparse.Namespace) -> list[Result] | None:
    with database(backend) as found:
        if found is None:
            return None
        url, folder = found
        data_dir = folder / "data"
        started = time.perf_counter()
        tokens = set_up(data_dir, url, args.concurrency)
        print(f"\n[{backend}] set-up (notice, switch, {len(tokens)} tokens) took "
              f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
        with server(data_dir, url, folder / "server.log") as (port, pid):
            return asyncio.run(measure_all(port, pid, tokens, args))


@contextmanager
def database(backend: str) -> Iterator[tuple[str | None, Path] | None]:
    """A temporary folder and a database URL (None: the SQLite file in the data folder;
    nothing at all: PostgreSQL is unreachable); both removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=f"mk-bench-api-{backend}-"))
    try:
        if backend == "sqlite":
            yield None, folder
        else:
            with pg_schema() as url:
                yield (url, folder) if url else None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def pg_schema() -> Iterator[str | None]:
    """A URL to a fresh schema (None when PostgreSQL is unreachable), dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = os.environ.get("MINUTEKEEPER_TEST_PG_URL", DEFAULT_PG_URL)
    schema = f"mk_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        except Exception as error:
            shown = make_url(base).render_as_string()
            print(f"\n[postgresql] skipped: {shown} is unreachable: {str(error).splitlines()[0]}")
            yield None
            return
        try:
            url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def _cli_args(data_dir: Path, url: str | None) -> list[str]:
    return ["--data-dir", str(data_dir), *(["--database-url", url] if url else [])]


def set_up(data_dir: Path, url: str | None, members: int) -> list[str]:
    """The notice published, training sharing on, one member token per client: the CLI's
    own commands, run in one child process (a process per command costs 1.5 s each)."""
    job = json.dumps({"cli": _cli_args(data_dir, url), "members": members})
    done = subprocess.run(
        [sys.executable, __file__, "--child", job], capture_output=True, text=True, check=False
    )
    tokens = TOKEN.findall(done.stdout)
    if done.returncode != 0 or len(tokens) != members:
        sys.exit(f"set-up failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return tokens


def set_up_child(job: dict[str, Any]) -> None:
    sys.path.insert(0, str(ROOT))
    from minutekeeper.cli import main as cli

    base = [str(a) for a in job["cli"]]
    commands = [["consent", "notice", "publish"], ["consent", "tenant", "set",
                "--training-sharing", "on"]]  # fmt: skip
    members = int(job["members"])
    commands += [
        ["tokens", "create", "--role", "member", "--subject", f"bench-member-{i:03d}"]
        for i in range(members)
    ]
    for command in commands:
        code = cli([*base, *command])
        if code != 0:
            sys.exit(f"minutekeeper {' '.join(command)}: exit {code}")


# --- the server ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_command(data_dir: Path, url: str | None, port: int) -> list[str]:
    script = Path(sys.executable).parent / "minutekeeper"
    program = [str(script)] if script.exists() else [sys.executable, "-m", "minutekeeper.cli"]
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    return [*program, *_cli_args(data_dir, url), *serve]


@contextmanager
def server(data_dir: Path, url: str | None, log: Path) -> Iterator[tuple[int, int]]:
    """`minutekeeper serve` on a free port, up (its /health answers 200) until the block
    ends; then SIGTERM, and SIGKILL if it has not stopped within STOP_TIMEOUT_S."""
    port = _free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            _server_command(data_dir, url, port), cwd=ROOT, stdout=out, stderr=out
        )
    try:
        _wait_until_up(proc, port, log)
        yield port, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            print(f"server {proc.pid} did not stop on SIGTERM: killed", file=sys.stderr)


def _wait_until_up(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"the server did not come up (exit {proc.poll()}):\n{tail}")


# --- the client ---------------------------------------------------------------------


def http_request(method: str, path: str, token: str = "", body: bytes = b"") -> bytes:
    """One HTTP/1.1 request, built once and sent as often as needed."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection:
    """One keep-alive connection; reopened when the server closes it or it fails."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = (await self.reader.readuntil(b"\r\n\r\n")).lower()
        status = int(head[9:12])
        found = re.search(rb"\r\ncontent-length: *(\d+)", head)
        if found is None:  # every answer of this API has a length; anything else is broken
            self.close()
            raise ConnectionError(f"answer {status} without Content-Length")
        body = await self.reader.readexactly(int(found.group(1)))
        if b"\r\nconnection: close" in head:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Client:
    """One simulated person: a connection, a token, and where their consent stands."""

    conn: Connection
    token: str
    read: bytes = b""
    notice: bytes = b""
    give: bytes = b""
    withdraw: bytes = b""
    given: bool = False

    def next_write(self) -> bytes:
        return self.withdraw if self.given else self.give

    async def before_write(self) -> None:
        """A give must follow a serving of the notice after the withdrawal before it (rule
        6): the person reads the notice again first, as the page does. Not timed."""
        if not self.given:
            status, body = await self.conn.send(self.notice)
            _expect("GET /v1/consent/notice", 200, status, body)


@dataclass
class Endpoint:
    name: str
    expect: int
    make: Callable[[Client], bytes]
    after: Callable[[Client], None] = lambda client: None  # on the expected answer
    before: Callable[[Client], Awaitable[None]] | None = None  # untimed, before each


HEALTH = http_request("GET", "/health")


def _flip(client: Client) -> None:
    client.given = not client.given


ENDPOINTS = (
    Endpoint("GET /health", 200, lambda client: HEALTH),
    Endpoint("GET /v1/consent/me", 200, lambda client: client.read),
    Endpoint("POST /v1/consent", 201, Client.next_write, _flip, Client.before_write),
)


async def prepare(port: int, tokens: list[str]) -> list[Client]:
    """The clients, each having fetched the notice (recorded as served to that person) and
    given consent once, so that the read shows a decision and the writes start with
    `withdrawn`."""
    clients = [Client(Connection(port), token) for token in tokens]
    for client in clients:
        client.notice = http_request("GET", "/v1/consent/notice", client.token)
        status, body = await client.conn.send(client.notice)
        _expect("GET /v1/consent/notice", 200, status, body)
        given = {"decision": "given", "notice_version_id": json.loads(body)["notice"]["id"]}
        client.read = http_request("GET", "/v1/consent/me", client.token)
        client.give = http_request("POST", "/v1/consent", client.token, json.dumps(given).encode())
        withdrawn = json.dumps({"decision": "withdrawn"}).encode()
        client.withdraw = http_request("POST", "/v1/consent", client.token, withdrawn)
        status, body = await client.conn.send(client.give)
        _expect("POST /v1/consent (given)", 201, status, body)
        client.given = True
    return clients


def _expect(what: str, expected: int, status: int, body: bytes) -> None:
    if status != expected:
        raise RuntimeError(f"{what}: {status} {body[:300]!r} (expected {expected})")


# --- measuring ----------------------------------------------------------------------


@dataclass
class Result:
    endpoint: str
    latencies: list[float] = field(default_factory=list)  # seconds, every request
    errors: Counter[str] = field(default_factory=Counter)  # status (or failure) -> count
    wall_s: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # who -> share of one core
    baseline_rps: float = 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.wall_s if self.wall_s else 0.0

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)  # nearest rank
        return 1000 * ordered[max(0, math.ceil(len(ordered) * q / 100) - 1)] if ordered else 0.0


async def measure_all(
    port: int, pid: int, tokens: list[str], args: argparse.Namespace
) -> list[Result]:
    """Each endpoint in turn, /health first (the baseline), after its warm-up."""
    clients = await prepare(port, tokens)
    results: list[Result] = []
    try:
        for endpoint in ENDPOINTS:
            if args.warmup:
                await run_load(clients, endpoint, args.warmup, Result(endpoint.name))
            result = Result(endpoint.name)
            before = cpu_times(pid)
            await run_load(clients, endpoint, args.requests, result)
            result.cpu = cpu_shares(before, cpu_times(pid))
            result.wall_s = result.cpu.pop("wall")
            results.append(result)
    finally:
        for client in clients:
            client.conn.close()
    for result in results:
        result.baseline_rps = results[0].rps
    return results


async def run_load(clients: list[Client], endpoint: Endpoint, requests: int, into: Result) -> None:
    """Exactly `requests` requests, each client sending its next as soon as it has its
    answer, until none are left."""
    left = [requests]

    async def drive(client: Client) -> None:
        while left[0] > 0:
            left[0] -= 1
            if endpoint.before is not None:
                await endpoint.before(client)
            raw = endpoint.make(client)
            started = time.perf_counter()
            try:
                status, _ = await client.conn.send(raw)
            except (OSError, ValueError, asyncio.IncompleteReadError) as error:
                client.conn.close()
                into.errors[type(error).__name__] += 1
                into.latencies.append(time.perf_counter() - started)
                continue
            into.latencies.append(time.perf_counter() - started)
            if status == endpoint.expect:
                endpoint.after(client)
            else:
                into.errors[str(status)] += 1

    await asyncio.gather(*(drive(client) for client in clients))


def cpu_times(server_pid: int) -> dict[str, float]:
    """CPU seconds so far: this process (the client), the server (all its threads), and
    the whole machine (busy time of every CPU), with the wall clock."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(f"/proc/{server_pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    server = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    with open("/proc/stat") as stat:
        cpu = [int(x) for x in stat.readline().split()[1:8]]
    busy = (sum(cpu) - cpu[3] - cpu[4]) / CLK_TCK  # all but idle and iowait
    return {"client": usage.ru_utime + usage.ru_stime, "server": server, "busy": busy,
            "wall": time.perf_counter()}  # fmt: skip


def cpu_shares(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    wall = after["wall"] - before["wall"]
    used = {key: after[key] - before[key] for key in before}
    other = max(0.0, used["busy"] - used["client"] - used["server"])
    return {"client": used["client"] / wall, "server": used["server"] / wall,
            "other": other / wall, "wall": wall}  # fmt: skip


# --- the report ---------------------------------------------------------------------


def report(backend: str, results: list[Result]) -> None:
    header = ["endpoint", "requests", "req/s", "p50 ms", "p99 ms", "errors", "vs /health"]
    header += [f"{who} CPU" for who in CPU_COLUMNS] + ["server CPU ms/req"]
    rows = [header, *map(_row, results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    cores = os.cpu_count() or 1
    print(f"\n[{backend}] (CPU: percent of one core; {cores} cores = {100 * cores} %)")
    for row in rows:
        rest = (cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True))
        cells = [row[0].ljust(widths[0]), *rest]
        print("  " + "  ".join(cells))
    busy = max(r.cpu["other"] for r in results)
    if backend == "sqlite" and busy > BUSY_OTHER:
        print(f"[{backend}] note: other processes used up to {100 * busy:.0f} % of a core "
              "during these measurements: the numbers are disturbed")  # fmt: skip
    elif backend == "postgresql":
        print(f"[{backend}] note: `other` includes PostgreSQL's own processes")
    read = next(r for r in results if r.endpoint == ENDPOINTS[1].name)
    p99 = read.percentile_ms(99)
    met = read.rps >= TARGET_RPS and p99 <= TARGET_P99_MS
    print(
        f"[{backend}] read target (>= {TARGET_RPS} req/s and p99 <= {TARGET_P99_MS:.0f} ms): "
        f"{'met' if met else 'MISSED'} ({read.rps:,.0f} req/s, p99 {p99:.1f} ms)"
    )


CPU_COLUMNS = ("client", "server", "other")


def _row(r: Result) -> list[str]:
    errors = ", ".join(f"{n} x {what}" for what, n in r.errors.most_common()) or "0"
    return [
        r.endpoint,
        f"{len(r.latencies):,}",
        f"{r.rps:,.0f}",
        f"{r.percentile_ms(50):.1f}",
        f"{r.percentile_ms(99):.1f}",
        errors,
        f"x{r.rps / r.baseline_rps:.2f}" if r.baseline_rps else "-",
        *(f"{100 * r.cpu[who]:.0f} %" for who in CPU_COLUMNS),
        f"{1000 * r.cpu['server'] / r.rps:.2f}" if r.rps else "-",
    ]


if __name__ == "__main__":
    main()
