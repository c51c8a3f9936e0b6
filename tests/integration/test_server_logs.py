"""What `minutekeeper serve` logs about jobs at its default level: one line when each job
starts and one when it ends (id, kind, outcome, seconds), never what the job is about."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.live_server import live_server

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.timeout(180)
def test_serve_logs_each_jobs_start_and_end_and_nothing_of_its_content(tmp_path: Path) -> None:
    canary = f"okapi{uuid.uuid4().hex[:12]}"
    said = (EXAMPLES / "meeting.vtt").read_text()
    said += f"\n99\n00:02:40.000 --> 00:02:44.000\n<v Alice>The codeword is {canary}.\n"
    with live_server(tmp_path / "data") as server:
        token = server.token("member", "Alice")
        with httpx.Client(base_url=server.url, timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as client:  # fmt: skip
            accepted = client.post("/v1/meetings", data={"title": f"Review {canary}"},
                                   files={"recording": (f"{canary}.vtt", said)})  # fmt: skip
            assert accepted.status_code == 202, accepted.text
            job_id = accepted.json()["job"]["id"]
            deadline = time.monotonic() + 120
            while client.get(f"/v1/jobs/{job_id}").json()["status"] not in ("succeeded", "failed"):
                assert time.monotonic() < deadline, server.logs()
                time.sleep(0.2)
        logs = server.logs()
    assert canary not in logs  # the title, the file's name and the words said
    assert re.search(rf"minutekeeper\.jobs: job {job_id} \(meeting\) started, attempt 1$",
                     logs, re.MULTILINE), logs  # fmt: skip
    ended = rf"minutekeeper\.jobs: job {job_id} \(meeting\) ended: succeeded after \d+\.\d s$"
    assert re.search(ended, logs, re.MULTILINE), logs
