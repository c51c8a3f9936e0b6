"""Tells another system that a meeting's job has finished (`settings.webhook_url`): a POST
of ids, a status, an error code and links, never content (no title, name, transcript,
summary or error message: any of them may quote what was said). The receiver fetches what
it needs through the API with its own token.

Delivery runs on one background thread of the process that ran the job (the API server's
in-process runner, or a Celery worker), after the job's finish is committed: it never fails
or slows the job. Each try waits at most `TIMEOUT_S`; a refused connection, a timeout, a
429 or a 5xx answer is tried again `BACKOFF_S`, then twice and four times that, later;
what is still undelivered is logged (the job's id and why, never the URL, which may hold a
token) and dropped. With `webhook_secret` each POST is signed (`sign`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import uuid
from typing import Any

import httpx

from minutekeeper.jobs.store import Job, JobStatus
from minutekeeper.jobs.tasks import MEETING

log = logging.getLogger("minutekeeper.webhook")

EVENT = "meeting.job.finished"
TIMEOUT_S = 5.0
TRIES = 4
BACKOFF_S = 1.0
SIGNATURE = "X-Minutekeeper-Signature"
TIMESTAMP = "X-Minutekeeper-Timestamp"
DELIVERY = "X-Minutekeeper-Delivery"


def payload(job: Job, *, public_url: str | None) -> dict[str, Any]:
    """What is posted about a finished meeting job. A succeeded job links to its meeting
    (page and API); a failed one left no meeting to read, so it links to the job only.
    Links are absolute under `public_url`, else paths on the server."""
    base = (public_url or "").rstrip("/")
    meeting_id = (job.result or {}).get("meeting_id") if job.status == JobStatus.SUCCEEDED else None
    links = {"job": f"{base}/v1/jobs/{job.id}"}
    if meeting_id:
        links = {"meeting": f"{base}/meetings/{meeting_id}",
                 "api": f"{base}/v1/meetings/{meeting_id}", **links}  # fmt: skip
    return {
        "event": EVENT,
        "job_id": job.id,
        "meeting_id": meeting_id,
        "status": job.status.value,
        "error_code": job.error_code,
        "links": links,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def sign(body: bytes, secret: str, *, timestamp: int) -> str:
    """The signature header's value: sha256=<hex HMAC-SHA256 of b'<timestamp>.' + body>."""
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


class Webhook:
    """Posts `payload`s to one URL from a daemon thread, started on the first event.
    `job_finished` is the executor's `on_done`: it only queues."""

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        public_url: str | None = None,
        timeout_s: float = TIMEOUT_S,
        tries: int = TRIES,
        backoff_s: float = BACKOFF_S,
    ) -> None:
        self._url = url
        self._secret = secret
        self._public_url = public_url
        self._timeout_s = timeout_s
        self._tries = tries
        self._backoff_s = backoff_s
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def job_finished(self, job: Job) -> None:
        """Queue the event for a finished meeting job (other kinds say nothing)."""
        if job.kind != MEETING or not job.finished:
            return
        body = json.dumps(payload(job, public_url=self._public_url)).encode()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="minutekeeper-webhook",
                                                daemon=True)  # fmt: skip
                self._thread.start()
        self._queue.put((job.id, body))

    def close(self, wait_s: float = 10.0) -> None:
        """On the way out: each event still queued gets one more try, without waiting
        between tries, for up to `wait_s` in all; then what is left is lost with the
        process (as when it is killed)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopped.set()
        self._queue.put(None)
        thread.join(timeout=wait_s)

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout_s, follow_redirects=False) as client:
            while (item := self._queue.get()) is not None:
                job_id, body = item
                try:
                    self._deliver(client, job_id, body)
                except Exception as error:  # never let one event end the thread
                    log.warning("webhook for job %s failed: %s", job_id, type(error).__name__)

    def _deliver(self, client: httpx.Client, job_id: str, body: bytes) -> None:
        delivery = str(uuid.uuid4())  # the same on every try, for the receiver to dedupe
        why, tried = "", 0
        while tried < self._tries:
            if tried and self._stopped.wait(self._backoff_s * 2 ** (tried - 1)):
                break  # closing: no time to wait
            tried += 1
            try:
                answer = client.post(self._url, content=body, headers=self._headers(body, delivery))
            except httpx.TransportError as error:
                why = type(error).__name__
                continue
            if answer.is_success:
                log.info("webhook for job %s delivered", job_id)
                return
            why = f"HTTP {answer.status_code}"
            if answer.status_code != 429 and answer.status_code < 500:
                break  # the receiver refuses it: asking again changes nothing
        log.warning("webhook for job %s not delivered (%s); tries: %d", job_id, why, tried)

    def _headers(self, body: bytes, delivery: str) -> dict[str, str]:
        now = int(time.time())
        headers = {"Content-Type": "application/json", "User-Agent": "minutekeeper-webhook",
                   DELIVERY: delivery, TIMESTAMP: str(now)}  # fmt: skip
        if self._secret:
            headers[SIGNATURE] = sign(body, self._secret, timestamp=now)
        return headers
