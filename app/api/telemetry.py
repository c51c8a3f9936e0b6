"""Request counts and latencies by route template into the runtime's `Telemetry`."""

from __future__ import annotations

import time

from minutekeeper.api.asgi import ASGIApp, Message, Receive, Scope, Send
from minutekeeper.telemetry import Telemetry


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            self.telemetry.latency.labels(method, route).observe(time.perf_counter() - started)
            self.telemetry.requests.labels(method, route, str(status)).inc()
