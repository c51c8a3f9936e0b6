"""The webhook: a real HTTP server on 127.0.0.1 receives what is posted when a meeting's job
finishes (from the API server's own runner here; from a Celery worker in
test_scale_out.py): the ids, status and links, signed, and nothing that was said or typed;
a slow, failing or unreachable receiver leaves the job as it would be without one."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from minutekeeper.core.settings import Settings
from minutekeeper.jobs.store import Job, JobStatus
from minutekeeper.jobs.webhook import Webhook
from tests.conftest import cli_env
from tests.integration.api_support import Api, running_api
from tests.integration.test_api_meetings import finished, upload
from tests.live_server import MINUTEKEEPER, free_port

SECRET = "whsec-test-0123456789"
CANARY = "Zorblefrump"  # a word of the meeting and of its title, and nowhere else
VTT = (
    "WEBVTT\n\n00:00:00.000 --> 00:00:04.000\n<v Quintessa>We decided the Zorblefrump "
    "launch moves to December.\n\n00:00:04.000 --> 00:00:08.000\n<v Bob>I will send the "
    "Zorblefrump design by Thursday.\n"
)
PUBLIC = "https://meet.example.com"
KEYS = {"event", "job_id", "meeting_id", "status", "error_code", "links", "finished_at"}


@dataclass
class Posted:
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    """What a local HTTP server was posted; it answers with `statuses` in turn (then 200),
    and holds each answer until `release` is set."""

    url: str
    statuses: list[int] = field(default_factory=list)
    posted: list[Posted] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 30) -> list[Posted]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.posted) >= count, timeout), (
                f"{len(self.posted)} of {count} webhook posts arrived"
            )
            return list(self.posted)


@contextmanager
def receiver() -> Iterator[Receiver]:
    got = Receiver(url="")
    got.release.set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with got.arrived:
                got.posted.append(Posted(dict(self.headers.items()), body))
                got.arrived.notify_all()
            got.release.wait(30)
            status = got.statuses.pop(0) if got.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    got.url = f"http://127.0.0.1:{server.server_port}/hooks/minutekeeper?token=abc"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        got.release.set()
        server.shutdown()
        server.server_close()


def verified(posted: Posted) -> dict[str, Any]:
    """The posted JSON, once its signature checks out as the README tells receivers to."""
    headers = {k.lower(): v for k, v in posted.headers.items()}
    timestamp = headers["x-minutekeeper-timestamp"]
    assert abs(int(timestamp) - time.time()) < 120
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + posted.body,
                        hashlib.sha256).hexdigest()  # fmt: skip
    assert hmac.compare_digest(headers["x-minutekeeper-signature"], f"sha256={expected}")
    assert headers["content-type"] == "application/json"
    return posted.json()


def _no_content(posted: Posted, *words: str) -> None:
    seen = (posted.body.decode() + json.dumps(posted.headers)).lower()
    for word in (CANARY, "Quintessa", "December", "Thursday", *words):
        assert word.lower() not in seen, word


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite for the in-process runner; the Celery test below runs on PostgreSQL."""
    return f"sqlite:///{tmp_path / 'minutekeeper.db'}"


def _with_hook(settings: Settings, url: str, **more: Any) -> Settings:
    """`settings` with the webhook (validated like the environment's)."""
    return Settings(**{**settings.model_dump(), "webhook_url": url, **more})


def test_a_finished_meeting_job_is_posted_signed_with_ids_and_links_only(
    settings: Settings, tmp_path: Path
) -> None:
    with receiver() as got:
        hooked = _with_hook(settings, got.url, webhook_secret=SECRET, public_url=PUBLIC)
        with running_api(hooked) as api:
            accepted = _upload_vtt(api, VTT, title=f"{CANARY} planning")
            assert finished(api, accepted)["status"] == "succeeded"
            done = verified(got.wait_for(1)[0])
            _no_content(got.posted[0], "planning")
            german = api.client.get(f"/v1/meetings/{accepted}/transcript", headers=api.auth())
            failing = {**german.json(), "language": "de"}
            (tmp_path / "sitzung.json").write_text(json.dumps(failing))
            failed_id = upload(api, tmp_path / "sitzung.json").json()["meeting_id"]
            failed_job = finished(api, failed_id)
            assert failed_job["status"] == "failed"
            refused = verified(got.wait_for(2)[1])
            _no_content(got.posted[1], "English", "sitzung")
            ml = api.auth("acme", "ml_exporter")
            exported = api.client.post("/v1/exports", json={}, headers=ml)
            assert exported.status_code == 202, exported.text
            finished(api, exported.json()["id"], "ml_exporter")
    job = api.client.get(f"/v1/jobs/{accepted}", headers=api.auth()).json()
    assert set(done) == KEYS
    assert done == {
        "event": "meeting.job.finished",
        "job_id": accepted,
        "meeting_id": accepted,
        "status": "succeeded",
        "error_code": None,
        "links": {
            "meeting": f"{PUBLIC}/meetings/{accepted}",
            "api": f"{PUBLIC}/v1/meetings/{accepted}",
            "job": f"{PUBLIC}/v1/jobs/{accepted}",
        },
        "finished_at": done["finished_at"],
    }
    assert datetime.fromisoformat(done["finished_at"]) == datetime.fromisoformat(job["finished_at"])
    assert refused["status"] == "failed" and refused["error_code"] == "unsupported_language"
    assert refused["meeting_id"] is None and refused["job_id"] == failed_id
    assert refused["links"] == {"job": f"{PUBLIC}/v1/jobs/{failed_id}"}
    assert len(got.posted) == 2  # the export job is not a meeting's: nothing posted


def _upload_vtt(api: Api, vtt: str, *, title: str) -> str:
    files = {"recording": ("call.vtt", vtt.encode(), "text/vtt")}
    accepted = api.client.post("/v1/meetings", files=files, data={"title": title},
                               headers=api.auth())  # fmt: skip
    assert accepted.status_code == 202, accepted.text
    meeting_id: str = accepted.json()["meeting_id"]
    return meeting_id


def test_without_public_url_links_are_paths_and_an_unsigned_post_has_no_signature(
    settings: Settings,
) -> None:
    with receiver() as got, running_api(_with_hook(settings, got.url)) as api:
        meeting_id = _upload_vtt(api, VTT, title=CANARY)
        finished(api, meeting_id)
        (posted,) = got.wait_for(1)
    assert posted.json()["links"] == {
        "meeting": f"/meetings/{meeting_id}",
        "api": f"/v1/meetings/{meeting_id}",
        "job": f"/v1/jobs/{meeting_id}",
    }
    assert "X-Minutekeeper-Signature" not in posted.headers
    _no_content(posted)


def test_a_slow_or_unreachable_receiver_neither_delays_nor_fails_the_job(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="minutekeeper.webhook")
    with receiver() as got:
        got.release.clear()  # the receiver takes its time answering
        with running_api(_with_hook(settings, got.url, webhook_secret=SECRET)) as api:
            meeting_id = _upload_vtt(api, VTT, title="slow")
            got.wait_for(1)
            assert finished(api, meeting_id, timeout=5)["status"] == "succeeded"
            got.release.set()
    nobody = f"http://127.0.0.1:{free_port()}/hook?token=s3cr3t"
    with running_api(_with_hook(settings, nobody, webhook_secret=SECRET)) as api:
        meeting_id = _upload_vtt(api, VTT, title="unreachable")
        job = finished(api, meeting_id)
        assert job["status"] == "succeeded" and job["error"] is None
        assert api.client.get(f"/v1/meetings/{meeting_id}", headers=api.auth()).status_code == 200
    failures = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    (failure,) = failures  # tried again until the server stopped: then no more waiting
    assert re.fullmatch(rf"webhook for job {meeting_id} not delivered \(ConnectError\); "
                        r"tries: [1-4]", failure)  # fmt: skip
    assert "s3cr3t" not in caplog.text and SECRET not in caplog.text


def _job(job_id: str = "5b1c7a8e-0000-4000-8000-00000000000a") -> Job:
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    return Job(id=job_id, tenant_id="t", owner_id="o", kind="meeting",
               status=JobStatus.SUCCEEDED, stage="done", progress=1.0, params={},
               result={"meeting_id": job_id}, error_code=None, error_message=None,
               attempts=1, created_at=at, started_at=at, finished_at=at)  # fmt: skip


def test_a_refused_or_busy_receiver_is_tried_again_with_the_same_delivery_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with receiver() as got:
        got.statuses = [503, 429, 200, 400]
        hook = Webhook(got.url, secret=SECRET, backoff_s=0.05)
        hook.job_finished(_job())
        first = got.wait_for(3)
        hook.job_finished(_job("5b1c7a8e-0000-4000-8000-00000000000b"))
        got.wait_for(4)
        hook.close()
    deliveries = [p.headers["X-Minutekeeper-Delivery"] for p in first]
    assert len(set(deliveries)) == 1 and all(verified(p) == first[0].json() for p in first)
    assert len(got.posted) == 4  # a 400 is the receiver's answer: not asked again
    assert "not delivered (HTTP 400); tries: 1" in caplog.text


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/x", "hooks.example.com", "http://"])
def test_a_webhook_url_that_is_not_http_stops_the_server_at_start_with_one_line(
    tmp_path: Path, url: str
) -> None:
    env = {**cli_env(), "MINUTEKEEPER_WEBHOOK_URL": url}
    done = subprocess.run([MINUTEKEEPER, "--data-dir", str(tmp_path), "serve", "--port",
                           str(free_port())], capture_output=True, text=True, env=env,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: invalid setting webhook_url: Value error, give an http:// or https:// address "
        "with a host, such as https://hooks.example.com/minutekeeper"
    ]
