"""Request bodies are bounded while they stream in: an upload route may take the server's
upload limit, every other route a small JSON body. A declared Content-Length over the limit
is refused before a byte is read; an undeclared (chunked) body is cut off at the limit."""

from __future__ import annotations

import orjson

from minutekeeper.api.asgi import ASGIApp, Message, Receive, Scope, Send
from minutekeeper.api.errors import PayloadTooLarge

JSON_MAX_BYTES = 1 << 20


class BodyLimit:
    def __init__(self, app: ASGIApp, *, upload_max: int, upload_paths: tuple[str, ...]) -> None:
        self.app = app
        self.upload_max = upload_max
        self.upload_paths = upload_paths

    def limit_for(self, scope: Scope) -> int:
        if scope["method"] == "POST" and scope["path"].rstrip("/") in self.upload_paths:
            return self.upload_max
        return JSON_MAX_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        seen, exceeded, answered = 0, False, False

        async def bounded() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise PayloadTooLarge(_message(limit))
            return message

        async def guarded(message: Message) -> None:
            # Whatever the app makes of the cut-off body (a parse error), the answer is 413.
            nonlocal answered
            if not exceeded:
                await send(message)
            elif message["type"] == "http.response.start" and not answered:
                answered = True
                await _too_large(send, limit)

        try:
            await self.app(scope, bounded, guarded)
        except PayloadTooLarge:
            if not answered:
                await _too_large(send, limit)


def _message(limit: int) -> str:
    return f"the request body is over this server's limit of {limit:,} bytes"


async def _too_large(send: Send, limit: int) -> None:
    body = orjson.dumps({"error": {"code": "payload_too_large", "message": _message(limit)}})
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
