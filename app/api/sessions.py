"""Web sessions: what the pages' cookie holds instead of an API token.

Signing in with a token starts a session: a random id (32 bytes) goes into the cookie and
only its SHA-256 is stored, with the token it signs in as. A session ends at sign-out,
when its token is revoked (`tokens.revoke_token`), after `idle` without a request, and
`lifetime` after it began whatever happens. Every sign-in gets a new id, and ends the
session of a cookie the browser still sent, so an id fixed in a browser before sign-in
never becomes a signed-in one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from minutekeeper.api.tokens import (
    ApiTokenRecord,
    TokenInfo,
    Unauthenticated,
    WebSessionRecord,
    digest,
    live_token,
)
from minutekeeper.core.db import read_transaction, row_transaction, table_of, utcnow
from minutekeeper.core.settings import Settings

ID_BYTES = 32
# A session's last request is written at most this often: a page load makes several.
SEEN_EVERY = timedelta(minutes=1)
ENDED = "your session has ended: sign in again"


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lasts: `idle` without a request, `lifetime` in all."""

    idle: timedelta
    lifetime: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(
            idle=timedelta(minutes=settings.session_idle_minutes),
            lifetime=timedelta(days=settings.session_days),
        )


def start_session(
    engine: Engine,
    token: TokenInfo,
    *,
    policy: SessionPolicy,
    replacing: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> str:
    """A new session signed in as `token`; returns its id for the cookie (shown once).
    `replacing` (the id a cookie still held) is ended; the token's sessions that are over
    are deleted, so the table holds what may still be used."""
    session_id = secrets.token_urlsafe(ID_BYTES)
    now = clock()
    table = table_of(WebSessionRecord)
    over = or_(
        table.c.ended_at.is_not(None),
        table.c.expires_at <= now,
        table.c.last_seen_at <= now - policy.idle,
    )
    with row_transaction(engine) as conn:
        if replacing:
            _end(conn, replacing, now)
        conn.execute(delete(table).where(table.c.token_id == token.id, over))
        conn.execute(
            insert(table).values(
                id_sha256=digest(session_id),
                token_id=token.id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + policy.lifetime,
                ended_at=None,
            )
        )
    return session_id


def session_token(
    engine: Engine,
    session_id: str,
    *,
    policy: SessionPolicy,
    clock: Callable[[], datetime] = utcnow,
) -> TokenInfo:
    """The live token a session signs in as, or `Unauthenticated`: an unknown id (a cookie
    from before sessions held a token itself), an ended or expired session, or a token
    revoked or expired since."""
    sessions, tokens = table_of(WebSessionRecord), table_of(ApiTokenRecord)
    query = (
        select(tokens, sessions.c.last_seen_at, sessions.c.expires_at.label("session_expires"),
               sessions.c.ended_at)
        .join(sessions, sessions.c.token_id == tokens.c.id)
        .where(sessions.c.id_sha256 == digest(session_id))
    )  # fmt: skip
    with read_transaction(engine) as conn:
        row = conn.execute(query).first()
    now = clock()
    if (
        row is None
        or row.ended_at is not None
        or row.session_expires <= now
        or row.last_seen_at <= now - policy.idle
    ):
        raise Unauthenticated(ENDED)
    info = live_token(row._mapping, now=now)
    if now - row.last_seen_at >= SEEN_EVERY:
        with row_transaction(engine) as conn:
            conn.execute(
                update(sessions)
                .where(sessions.c.id_sha256 == digest(session_id))
                .values(last_seen_at=now)
            )
    return info


def end_session(engine: Engine, session_id: str, *, clock: Callable[[], datetime] = utcnow) -> None:
    """Sign out: the session's cookie no longer signs anyone in (ending it twice, or an
    unknown one, does nothing)."""
    with row_transaction(engine) as conn:
        _end(conn, session_id, clock())


def _end(conn: Connection, session_id: str, now: datetime) -> None:
    table = table_of(WebSessionRecord)
    conn.execute(
        update(table)
        .where(table.c.id_sha256 == digest(session_id), table.c.ended_at.is_(None))
        .values(ended_at=now)
    )
