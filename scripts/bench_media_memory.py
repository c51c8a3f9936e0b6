"""Memory of an upload's job: the API server's peak RSS and the job's own, for a 10-minute
and a 2-hour recording uploaded through the real API, and what running each media job in
its own child process costs in time.

    .venv/bin/python scripts/bench_media_memory.py [--minutes 10 120] [--cost-runs 3]

- Recordings: FLAC of digital silence, 16 kHz mono, made with sox (`sox -n ... trim 0 N`),
  as in issue 21 (its 2-hour file is 1.3 MB). Silence keeps the run short: decoding and
  the voice activity filter see every sample, the speech model sees none.
- Per recording, a fresh `minutekeeper serve` (uvicorn, its own process, SQLite, the
  in-process job runner: the default) on a temporary data folder. The API server's peak RSS
  is its `VmHWM` once the job has finished (and its RSS before the upload); the job's peak
  RSS is what its child process measured of itself (`ru_maxrss`), read from the server's
  `/metrics` (`minutekeeper_media_job_peak_bytes`). A server without that metric ran the
  job in its own process (the code before issue 21): the job's memory is the server's.
- The fork server (the parent of the jobs' children, idle between jobs) is one more
  process on the machine: its RSS is shown too (most of it shared with the children).
- Cost of the child: `--cost-runs` times, the same 8-second speech clip transcribed in this
  process with models loaded once (the old path, after its first job) and through
  `MediaProcess` (a child per job that loads its models), alternately; medians.

Before issue 21 (measured there): the 2-hour FLAC took the API server from 2.35 GB to
4.47 GB RSS.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live_server import LiveServer, live_server  # noqa: E402

CLIP = ROOT / "tests" / "fixtures" / "audio" / "two_speakers.wav"
POLL_S = 0.2


def silence(path: Path, seconds: int) -> Path:
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(path),
                    "trim", "0", str(seconds)], check=True)  # fmt: skip
    return path


def status_kb(pid: int, field: str) -> int:
    found = re.search(rf"{field}:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return int(found.group(1)) if found else 0


def server_pid(server: LiveServer) -> int:
    """The uvicorn process: the one listening (the CLI execs nothing, it is that process)."""
    port = server.url.rsplit(":", 1)[1]
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True)
    found = re.search(r"pid=(\d+)", out.stdout)
    assert found, f"no process listens on {port}: {out.stdout!r}"
    return int(found.group(1))


def fork_server_kb(pid: int) -> int:
    """The RSS of the server's fork server (the parent of media jobs' children), if any."""
    for task in Path(f"/proc/{pid}/task").iterdir():  # started by a job's thread
        for child in (task / "children").read_text().split():
            if b"multiprocessing.forkserver" in Path(f"/proc/{child}/cmdline").read_bytes():
                return status_kb(int(child), "VmRSS")
    return 0


def metric(server: LiveServer, name: str) -> float | None:
    body = httpx.get(f"{server.url}/metrics", timeout=30).text
    found = re.search(rf"^{name} ([0-9.e+]+)$", body, re.MULTILINE)
    return float(found.group(1)) if found else None


def upload_and_wait(server: LiveServer, token: str, path: Path) -> tuple[dict[str, Any], float]:
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    with path.open("rb") as handle:
        reply = httpx.post(f"{server.url}/v1/meetings", headers=headers, timeout=600,
                           files={"recording": (path.name, handle, "audio/flac")})  # fmt: skip
    reply.raise_for_status()
    job_id = reply.json()["job"]["id"]
    while True:
        job = httpx.get(f"{server.url}/v1/jobs/{job_id}", headers=headers, timeout=30).json()
        if job["status"] in ("succeeded", "failed"):
            return job, time.perf_counter() - started
        time.sleep(POLL_S)


def measure(path: Path, workdir: Path) -> dict[str, float | str | None]:
    with live_server(workdir / f"data-{path.stem}", log_level="warning") as server:
        token = server.token("member", "bench")
        pid = server_pid(server)
        before = status_kb(pid, "VmRSS")
        job, seconds = upload_and_wait(server, token, path)
        if job["status"] != "succeeded":
            raise SystemExit(f"{path.name}: the job failed: {job['error']}")
        child = metric(server, "minutekeeper_media_job_peak_bytes_sum")
        return {
            "api_before_mb": before / 1024,
            "api_peak_mb": status_kb(pid, "VmHWM") / 1024,
            "fork_server_mb": fork_server_kb(pid) / 1024,
            "job_peak_mb": child / 2**20 if child else None,
            "seconds": seconds,
        }


def child_cost(runs: int) -> tuple[float, float, float]:
    """Medians of (in this process, models warm) and (a child per job) seconds, and the
    child's Whisper load time."""
    from minutekeeper.core.settings import Settings
    from minutekeeper.features.transcription.source import Source, transcribe_source
    from minutekeeper.jobs.media import MediaProcess
    from minutekeeper.models.cache import ModelCache

    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-media-")))
    source = Source(recording=CLIP)
    warm = ModelCache(settings)
    transcribe_source(source, models=warm)  # the old path's first job loads the models
    loads: list[float] = []

    def loaded(role: str, seconds: float) -> None:
        if role == "asr":
            loads.append(seconds)

    media = MediaProcess(settings, on_load=loaded)
    media(source)  # the fork server's start (once per process) is not a job's cost
    here, child = [], []
    for _ in range(runs):
        started = time.perf_counter()
        transcribe_source(source, models=warm)
        here.append(time.perf_counter() - started)
        started = time.perf_counter()
        media(source)
        child.append(time.perf_counter() - started)
    return statistics.median(here), statistics.median(child), statistics.median(loads[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, nargs="+", default=[10, 120])
    parser.add_argument("--cost-runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
        workdir = Path(tmp)
        rows = []
        for minutes in args.minutes:
            path = silence(workdir / f"silence-{minutes}min.flac", minutes * 60)
            size_mb = path.stat().st_size / 2**20
            print(f"{minutes} min ({size_mb:.1f} MB FLAC): uploading ...", flush=True)
            rows.append((minutes, measure(path, workdir)))
    print()
    print(f"{'recording':>10} {'API RSS before':>15} {'API peak RSS':>13} {'job peak RSS':>13}"
          f" {'fork server':>12} {'upload->done':>13}")  # fmt: skip
    for minutes, row in rows:
        job = f"{row['job_peak_mb']:.0f} MB" if row["job_peak_mb"] else "in the API"
        print(f"{minutes:>6} min {row['api_before_mb']:>12.0f} MB {row['api_peak_mb']:>10.0f} MB"
              f" {job:>13} {row['fork_server_mb']:>9.0f} MB {row['seconds']:>11.1f} s")  # fmt: skip
    print("before issue 21 (its measurement, 2 h): API server 2.35 GB -> 4.47 GB RSS")
    if args.cost_runs:
        here, child, load = child_cost(args.cost_runs)
        print(f"\nper job, {CLIP.name} (8.3 s of speech), median of {args.cost_runs}: "
              f"in this process with warm models {here:.2f} s, in a child {child:.2f} s "
              f"(+{child - here:.2f} s; the child's Whisper load {load:.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
