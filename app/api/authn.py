"""Authentication before anything else reads the request: a `/v1` call without a valid
token (or web session) is answered 401 at once, whatever its body (a malformed body would
otherwise be a 422 that tells an anonymous caller how the route parses). The token found is
kept in the request's state, so the routes' dependencies and the idempotency layer do not
look it up again."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from http.cookies import SimpleCookie

import anyio
from sqlalchemy.engine import Engine

from minutekeeper.api.asgi import ASGIApp, Receive, Scope, Send
from minutekeeper.api.envelope import envelope
from minutekeeper.api.sessions import SessionPolicy, session_token
from minutekeeper.api.tokens import TokenInfo, Unauthenticated, authenticate
from minutekeeper.core.errors import AppError

SESSION_COOKIE = "minutekeeper_session"
OPEN = frozenset({"/v1/health"})
STATE_KEY = "token"


def presented_token(headers: dict[bytes, bytes]) -> tuple[str, bool] | None:
    """The bearer token, else the session cookie's id, and whether it came from the cookie."""
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), False
    cookies = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
    if SESSION_COOKIE in cookies and cookies[SESSION_COOKIE].value:
        return cookies[SESSION_COOKIE].value, True
    return None


def authenticate_presented(
    engine: Engine, presented: tuple[str, bool], *, policy: SessionPolicy
) -> TokenInfo:
    """The live token behind a bearer token, or behind the session a cookie names."""
    value, from_cookie = presented
    if from_cookie:
        return session_token(engine, value, policy=policy)
    return authenticate(engine, value)


def token_of(scope: Scope) -> TokenInfo | None:
    info = scope.get("state", {}).get(STATE_KEY)
    return info if isinstance(info, TokenInfo) else None


class AuthenticationMiddleware:
    def __init__(
        self, app: ASGIApp, *, engine: Callable[[], Engine], policy: SessionPolicy
    ) -> None:
        self.app = app
        self.engine = engine
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/") or path in OPEN:
            await self.app(scope, receive, send)
            return
        presented = presented_token(dict(scope["headers"]))
        try:
            if presented is None:
                raise Unauthenticated("sign in: send Authorization: Bearer <token>")
            check = partial(authenticate_presented, self.engine(), presented, policy=self.policy)
            if presented[1]:
                # A session may write when it was last seen, and a write may wait for the
                # database's writer lock: never on the event loop.
                info = await anyio.to_thread.run_sync(check)
            else:
                # A token on the event loop: one indexed read (~0.5 ms), and a trip through
                # the thread pool cost more than the read (scripts/bench_api.py).
                info = check()
        except AppError as error:
            response = envelope(401 if isinstance(error, Unauthenticated) else 503,
                                error.code, error.message)  # fmt: skip
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[STATE_KEY] = info
        await self.app(scope, receive, send)
