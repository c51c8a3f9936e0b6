"""API tokens: bearer secrets stored only as hashes, each bound to one tenant, one subject
and one role.

A token reads `mk_<id>_<secret>`: the id finds the row, the secret (32 random bytes) is
checked against its SHA-256. A plain hash suffices because the secret is random, not a
password; the comparison is constant-time. The token itself is shown once, when made.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Index, String, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from minutekeeper.consent import ConsentService, Principal, Role
from minutekeeper.core.db import (
    Base,
    UTCDateTime,
    read_transaction,
    row_transaction,
    table_of,
    utcnow,
)
from minutekeeper.core.errors import AppError, InvalidInput, NotFound

PREFIX = "mk"
ID_BYTES = 6
SECRET_BYTES = 32


class Unauthenticated(AppError):
    """No token, or one that is unknown, expired or revoked: the caller must sign in."""

    code = "unauthenticated"


class Forbidden(AppError):
    """The token is valid but its role or tenant may not do this."""

    code = "forbidden"


class UnknownToken(NotFound):
    code = "unknown_token"


class ApiTokenRecord(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_tenant", "tenant_id"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSessionRecord(Base):
    """A web page sign-in: the SHA-256 of the random id its cookie holds (never the id
    itself) and the token it signs in as. Revoking the token ends it (`revoke_token`)."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_token", "token_id"),)

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[str] = mapped_column(ForeignKey("api_tokens.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class TokenInfo:
    id: str
    tenant_id: str
    subject_id: str
    role: Role
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @property
    def principal(self) -> Principal:
        return Principal(tenant_id=self.tenant_id, subject_id=self.subject_id, role=self.role)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    service: ConsentService,
    principal: Principal,
    *,
    name: str,
    valid_for: timedelta | None,
    clock: Callable[[], datetime] | None = None,
) -> tuple[str, TokenInfo]:
    """A new token for `principal`; returns the token (shown once) and what is stored.

    Its issuance is chained first (`ConsentService.token_issued`): the operator who issues
    tokens is who vouches that a token's holder is the person it names, and the first
    token makes the install multi-user for good."""
    if valid_for is not None and valid_for <= timedelta(0):
        raise InvalidInput("a token must be valid for a positive time")
    token_id = secrets.token_hex(ID_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    now = (clock or service.clock)()
    expires_at = now + valid_for if valid_for is not None else None
    service.token_issued(principal, token_id=token_id, expires_at=expires_at)
    values = {
        "id": token_id,
        "tenant_id": principal.tenant_id,
        "subject_id": principal.subject_id,
        "role": principal.role.value,
        "name": name.strip()[:200] or principal.role.value,
        "secret_sha256": digest(secret),
        "created_at": now,
        "expires_at": expires_at,
        "revoked_at": None,
    }
    with row_transaction(service.engine) as conn:
        conn.execute(insert(ApiTokenRecord).values(**values))
    return f"{PREFIX}_{token_id}_{secret}", _info(values)


def authenticate(
    engine: Engine, token: str, *, clock: Callable[[], datetime] = utcnow
) -> TokenInfo:
    """The live token behind a bearer string, or `Unauthenticated` (the message never says
    which part was wrong, so a guess learns nothing)."""
    prefix, _, rest = token.partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not token_id or not secret or len(token_id) != 2 * ID_BYTES:
        raise Unauthenticated("invalid token")
    table = table_of(ApiTokenRecord)
    with read_transaction(engine) as conn:
        row = conn.execute(select(table).where(table.c.id == token_id)).first()
    if row is None or not hmac.compare_digest(row.secret_sha256, digest(secret)):
        raise Unauthenticated("invalid token")
    return live_token(row._mapping, now=clock())


def live_token(values: Any, *, now: datetime) -> TokenInfo:
    """The token of a stored row (a mapping), or `Unauthenticated` if it was revoked or
    has expired by `now`."""
    info = _info(values)
    if info.revoked_at is not None:
        raise Unauthenticated("this token was revoked")
    if info.expires_at is not None and info.expires_at <= now:
        raise Unauthenticated("this token has expired")
    return info


def list_tokens(engine: Engine, tenant_id: str) -> list[TokenInfo]:
    table = table_of(ApiTokenRecord)
    query = select(table).where(table.c.tenant_id == tenant_id).order_by(table.c.created_at)
    with read_transaction(engine) as conn:
        return [_info(row._mapping) for row in conn.execute(query)]


def revoke_token(
    engine: Engine, tenant_id: str, token_id: str, *, clock: Callable[[], datetime] = utcnow
) -> TokenInfo:
    """Revoke a token of the tenant at once (revoking twice keeps the first time), and end
    the web sessions signed in with it in the same transaction."""
    table, sessions = table_of(ApiTokenRecord), table_of(WebSessionRecord)
    mine = (table.c.id == token_id) & (table.c.tenant_id == tenant_id)
    now = clock()
    with row_transaction(engine) as conn:
        conn.execute(
            update(table).where(mine & table.c.revoked_at.is_(None)).values(revoked_at=now)
        )
        row = conn.execute(select(table).where(mine)).first()
        if row is not None:
            conn.execute(
                update(sessions)
                .where(sessions.c.token_id == token_id, sessions.c.ended_at.is_(None))
                .values(ended_at=now)
            )
    if row is None:
        raise UnknownToken(f"no token {token_id!r} in this tenant")
    return _info(row._mapping)


def _info(values: Any) -> TokenInfo:
    get = values.__getitem__  # a row mapping or a dict
    return TokenInfo(
        id=get("id"),
        tenant_id=get("tenant_id"),
        subject_id=get("subject_id"),
        role=Role(get("role")),
        name=get("name"),
        created_at=get("created_at"),
        expires_at=get("expires_at"),
        revoked_at=get("revoked_at"),
    )
