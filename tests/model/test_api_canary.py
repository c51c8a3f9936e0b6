"""A string said in a meeting, typed as its title and in a draft never reaches the server's
logs (its job's start and end lines among them) or /metrics: the real server process at
debug log level, a tiny random LLM for drafts."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import LiveServer, live_server
from tests.model.tiny_llm import TEMPLATE, tiny_llama

EXAMPLES = Path(__file__).parents[2] / "examples"


def _finished(client: httpx.Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError("the meeting job did not finish")


def _use_everything(server: LiveServer, client: httpx.Client, canary: str, tmp: Path) -> str:
    """Upload, ask, draft and send, each with `canary` in it; returns the upload's job id."""
    vtt = (EXAMPLES / "meeting.vtt").read_text()
    vtt += f"\n99\n00:02:40.000 --> 00:02:44.000\n<v Alice>The codeword is {canary}.\n"
    (tmp / f"{canary}.vtt").write_text(vtt)
    with (tmp / f"{canary}.vtt").open("rb") as handle:
        accepted = client.post("/v1/meetings", data={"title": f"Review of {canary}"},
                               files={"recording": (f"{canary}.vtt", handle)}).json()  # fmt: skip
    job = _finished(client, accepted["job"]["id"])
    assert job["status"] == "succeeded", job
    meeting = client.get(f"/v1/meetings/{accepted['meeting_id']}").json()
    assert canary in str(meeting["transcript"])  # the user gets their words back
    asked = client.post(f"/v1/meetings/{accepted['meeting_id']}/ask",
                        json={"question": f"Who said {canary}?"})  # fmt: skip
    assert asked.status_code == 200, asked.text
    thread = [{"author": "Ann", "text": f"Is {canary} ready?"}]
    draft = client.post("/v1/compose", json={"thread": thread, "instruction": f"say {canary}"})
    assert draft.status_code == 201, draft.text
    sent = client.post(f"/v1/compose/{draft.json()['id']}/feedback",
                       json={"sent_text": f"Yes, {canary} is ready."})  # fmt: skip
    assert sent.status_code == 201, sent.text
    bad = client.post("/v1/meetings", files={"recording": ("x.json", f'{{"{canary}": 1}}')})
    assert bad.status_code == 422  # a broken upload's error may not log its content either
    job_id: str = job["id"]
    return job_id


@pytest.mark.slow
def test_a_canary_said_and_typed_never_reaches_logs_or_metrics(tmp_path: Path) -> None:
    canary = f"zebra{uuid.uuid4().hex[:12]}"
    model = tiny_llama(tmp_path / "tiny", chat_template=TEMPLATE, context=4096)
    with live_server(tmp_path / "data", log_level="debug",
                     MINUTEKEEPER_LLM_MODEL=str(model)) as server:  # fmt: skip
        server.cli("consent", "notice", "publish")
        token = server.token("member", "Alice")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
            job_id = _use_everything(server, client, canary, tmp_path)
            metrics = client.get("/metrics").text
        time.sleep(1)  # the answers' background capture (redaction) finishes
    logs = server.logs()
    assert "minutekeeper_http_requests_total" in metrics and "/v1/compose" in metrics
    assert canary not in metrics
    assert canary not in logs
    # The lines that say something of the meeting's job are among those checked.
    assert f"job {job_id} (meeting) started" in logs and f"job {job_id} (meeting) ended" in logs
