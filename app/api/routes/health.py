"""`/health` (and `/v1/health`) for load balancers, `/metrics` for Prometheus: neither needs
a token, and neither says anything about anyone."""

from __future__ import annotations

from functools import cache
from importlib.metadata import version
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import text

from minutekeeper.api.deps import RuntimeDep
from minutekeeper.api.schemas import Health
from minutekeeper.core.db import read_transaction
from minutekeeper.jobs.store import backlog

router = APIRouter(tags=["service"])


@router.get("/health", response_model=Health)
@router.get("/v1/health", response_model=Health)
def health(runtime: RuntimeDep) -> Any:
    """200 when the server can read its database (503 with the error envelope otherwise)."""
    with read_transaction(runtime.engine) as conn:
        conn.execute(text("SELECT 1"))
    return Health(status="ok", database="ok", version=_version())


@cache
def _version() -> str:
    return version("minutekeeper")  # reads package metadata: 1 ms, so once


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(runtime: RuntimeDep) -> Response:
    """Request counts and latencies per route, job durations, model load times, tokens, and
    the jobs still waiting in the shared database (the same on every server). Consent
    decisions by state only where `MINUTEKEEPER_METRICS_CONSENT_COUNTS` asks for them."""
    waiting = backlog(runtime.engine)
    runtime.telemetry.jobs_waiting.labels("queued").set(waiting.queued)
    runtime.telemetry.jobs_waiting.labels("running").set(waiting.running)
    runtime.telemetry.oldest_queued.set(waiting.oldest_queued_s)
    return Response(
        runtime.telemetry.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
