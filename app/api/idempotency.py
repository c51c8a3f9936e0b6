"""`Idempotency-Key` on mutating requests: a retry gets the first answer, nothing new is
written.

The key is reserved (a `pending` row, unique per subject and key) before the request runs,
so two copies racing each other cannot both run; the second is told to retry (409). A 2xx
answer is stored with a fingerprint of the request: the same key with the same method, path
and body replays it; the same key with anything else is refused (422). Any other answer
frees the key, so a corrected request may use it again.

The fingerprint is a SHA-256 of the body as it streams past, with a multipart boundary
taken out (a client picks a new one on every send), so even a large upload is compared
without being held in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import anyio
import orjson
from sqlalchemy import Integer, LargeBinary, String, delete, insert, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from minutekeeper.api.asgi import ASGIApp, Message, Receive, Scope, Send
from minutekeeper.api.authn import token_of
from minutekeeper.core.db import (
    Base,
    UTCDateTime,
    read_transaction,
    row_transaction,
    table_of,
    utcnow,
)
from minutekeeper.core.quotes import needles

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY = 200
# A reservation older than this belongs to a request that died with its server.
ABANDONED_AFTER = timedelta(minutes=10)
# Answers larger than this are not kept (mutating calls answer with small JSON).
MAX_STORED = 1 << 20


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    subject_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY), primary_key=True)
    state: Mapped[str] = mapped_column(String(8))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Fingerprint:
    """SHA-256 of method, path and body, with every copy of `boundary` left out."""

    def __init__(self, method: str, path: str, boundary: bytes) -> None:
        self._hash = hashlib.sha256(f"{method} {path}\n".encode())
        self._boundary = boundary
        self._carry = b""

    def update(self, chunk: bytes) -> None:
        if not self._boundary:
            self._hash.update(chunk)
            return
        data = (self._carry + chunk).replace(self._boundary, b"")
        keep = len(self._boundary) - 1  # the start of a boundary split across chunks
        self._hash.update(data[:-keep] if keep else data)
        self._carry = data[-keep:] if keep else b""

    def hexdigest(self) -> str:
        self._hash.update(self._carry)
        self._carry = b""
        return self._hash.hexdigest()


def _boundary(headers: dict[bytes, bytes]) -> bytes:
    content_type = headers.get(b"content-type", b"")
    for part in content_type.split(b";")[1:]:
        name, _, value = part.strip().partition(b"=")
        if name.lower() == b"boundary":
            return value.strip(b'"')
    return b""


class IdempotencyMiddleware:
    """Pure ASGI, so request bodies stream through untouched."""

    def __init__(self, app: ASGIApp, *, engine: Callable[[], Engine]) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(b"idempotency-key", b"").decode("latin-1").strip()
        info = token_of(scope)  # set by the authentication middleware on every /v1 call
        subject = info.subject_id if info is not None else None
        # A request carrying Sec-GPC is never answered from an earlier one: the signal must
        # reach the routes (a give is refused, the person opted out), and the ledger's own
        # Idempotency-Key check still keeps a repeated decision from being appended twice.
        gpc = headers.get(b"sec-gpc", b"").strip() == b"1"
        if not key or subject is None or gpc:
            await self.app(scope, receive, send)
            return
        if len(key) > MAX_KEY:
            await _send_error(
                send, 422, "invalid_input", f"Idempotency-Key is over {MAX_KEY} characters"
            )
            return
        fingerprint = Fingerprint(scope["method"], scope["path"], _boundary(headers))
        stored = await anyio.to_thread.run_sync(self._reserve, subject, key)
        if stored is not None:
            await self._replay(stored, fingerprint, receive, send)
            return
        await self._run_first(scope, receive, send, subject, key, fingerprint)

    def _reserve(self, subject: str, key: str) -> Any:
        """Reserve the key; returns the stored row when it is already taken."""
        table = table_of(IdempotencyRecord)
        mine = (table.c.subject_id == subject) & (table.c.key == key)
        now = utcnow()
        engine = self.engine()
        with row_transaction(engine) as conn:
            conn.execute(
                delete(table).where(
                    mine, table.c.state == "pending", table.c.created_at < now - ABANDONED_AFTER
                )
            )
        try:
            with row_transaction(engine) as conn:
                conn.execute(
                    insert(table).values(
                        subject_id=subject, key=key, state="pending", created_at=now
                    )
                )
        except sa_exc.IntegrityError:
            with read_transaction(engine) as conn:
                return conn.execute(select(table).where(mine)).first()
        return None

    async def _replay(
        self, stored: Any, fingerprint: Fingerprint, receive: Receive, send: Send
    ) -> None:
        while True:  # the body must be read to compare it
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            fingerprint.update(message.get("body", b""))
            if not message.get("more_body"):
                break
        if stored.state == "pending":
            await _send_error(
                send,
                409,
                "request_in_progress",
                "a request with this Idempotency-Key is still running; retry later",
            )
        elif stored.fingerprint != fingerprint.hexdigest():
            await _send_error(
                send,
                422,
                "idempotency_conflict",
                "this Idempotency-Key was used with a different request",
            )
        else:
            await _send(send, stored.status_code, stored.content_type, stored.body, replayed=True)

    async def _run_first(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        subject: str,
        key: str,
        fingerprint: Fingerprint,
    ) -> None:
        answer: dict[str, Any] = {"status": 500, "type": b"", "body": bytearray()}

        async def hashing_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                fingerprint.update(message.get("body", b""))
            return message

        async def capturing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["type"] = dict(message.get("headers", [])).get(b"content-type", b"")
            elif message["type"] == "http.response.body" and len(answer["body"]) <= MAX_STORED:
                answer["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, hashing_receive, capturing_send)
        finally:
            keep = 200 <= answer["status"] < 300 and len(answer["body"]) <= MAX_STORED
            await anyio.to_thread.run_sync(self._settle, subject, key, fingerprint, answer, keep)

    def _settle(
        self, subject: str, key: str, fingerprint: Fingerprint, answer: dict[str, Any], keep: bool
    ) -> None:
        table = table_of(IdempotencyRecord)
        mine = (table.c.subject_id == subject) & (table.c.key == key)
        with row_transaction(self.engine()) as conn:
            if not keep:
                conn.execute(delete(table).where(mine))
                return
            conn.execute(
                update(table)
                .where(mine)
                .values(
                    state="done",
                    fingerprint=fingerprint.hexdigest(),
                    status_code=answer["status"],
                    content_type=answer["type"].decode("latin-1")[:100],
                    body=bytes(answer["body"]),
                )
            )


async def _send(
    send: Send, status: int, content_type: str, body: bytes, *, replayed: bool = False
) -> None:
    headers = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode()),
    ]
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    await _send(send, status, "application/json", body)


ERASED_ANSWER = "the stored answer to this request quoted a person since erased; it is gone"
DELETED_ANSWER = "the stored answer to this request quoted a meeting since deleted; it is gone"


def forget_quoting(
    engine: Engine, subject_ids: Iterable[str], words: Iterable[str], *, why: str = ERASED_ANSWER
) -> int:
    """An erasure's (or a deleted meeting's) reach into stored answers: every answer kept
    for `subject_ids` that quotes one of `words` is replaced by a 410 `response_erased`
    saying `why`, so a retry learns the answer is gone instead of running the call again.
    Returns how many."""
    found = [w.encode() for w in needles(words)]
    people = list(subject_ids)
    if not found or not people:
        return 0
    table = table_of(IdempotencyRecord)
    erased = orjson.dumps({"error": {"code": "response_erased", "message": why}})
    changed = 0
    with row_transaction(engine) as conn:
        for start in range(0, len(people), 500):
            rows = conn.execute(
                select(table.c.subject_id, table.c.key, table.c.body).where(
                    table.c.subject_id.in_(people[start : start + 500]),
                    table.c.body.is_not(None),
                )
            ).all()
            for row in rows:
                if any(word in row.body for word in found):
                    conn.execute(
                        update(table)
                        .where(table.c.subject_id == row.subject_id, table.c.key == row.key)
                        .values(status_code=410, content_type="application/json", body=erased)
                    )
                    changed += 1
    return changed
