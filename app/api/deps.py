"""Who is calling, and may they: every route takes its principal from here.

A token comes as `Authorization: Bearer ...` (the API) or as the web pages' session
cookie. A request authenticated by the cookie that changes something must come from this
server's own pages (its Origin is checked), so another site cannot act for a signed-in user.
A request with `Sec-GPC: 1` opts its subject out of training (rule 14).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request

from app.api.runtime import Runtime
from app.api.tokens import Forbidden, TokenInfo, Unauthenticated, authenticate
from consent.domain import Principal, Role

SESSION_COOKIE = "minutekeeper_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def bearer_or_cookie(request: Request) -> tuple[str, bool]:
    """The token and whether it came from the session cookie."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return cookie, True
    raise Unauthenticated("sign in: send Authorization: Bearer <token>")


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return False
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


def current_token(request: Request, runtime: RuntimeDep) -> TokenInfo:
    token, from_cookie = bearer_or_cookie(request)
    info = authenticate(runtime.engine, token)
    if from_cookie and request.method not in SAFE_METHODS and not _same_origin(request):
        raise Forbidden("a signed-in page may only send this from this server's own pages")
    if request.headers.get("sec-gpc", "").strip() == "1":
        runtime.service.honour_gpc(info.principal)
    return info


def current_principal(info: Annotated[TokenInfo, Depends(current_token)]) -> Principal:
    return info.principal


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets only `roles` through (403 for any other valid token)."""
    allowed = frozenset(roles)
    names = " or ".join(r.value for r in roles)

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"this needs the {names} role")
        return principal

    return check


Anyone = Annotated[Principal, Depends(current_principal)]
Member = Annotated[Principal, Depends(require(Role.MEMBER, Role.ADMIN))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Exporter = Annotated[Principal, Depends(require(Role.ML_EXPORTER))]
