"""Who is calling, and may they: every route takes its principal from here.

A token comes as `Authorization: Bearer ...` (the API), or the web pages' session cookie
names a session signed in with one. A request authenticated by the cookie that changes
something must come from this server's own pages (its Origin, else its Referer, is this
server's), so another site cannot act for a signed-in user.
A request with `Sec-GPC: 1` opts its subject out of training (rule 14).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated
from urllib.parse import SplitResult, urlsplit

import anyio
from fastapi import Depends, Request

from minutekeeper.api.authn import authenticate_presented, presented_token, token_of
from minutekeeper.api.sessions import SessionPolicy
from minutekeeper.api.tokens import Forbidden, Unauthenticated
from minutekeeper.consent import Principal, Role
from minutekeeper.runtime import Runtime

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _runtime(request: Request) -> Runtime:
    return get_runtime(request)  # async: no trip through the thread pool


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


def bearer_or_cookie(request: Request) -> tuple[str, bool]:
    """The token and whether it came from the session cookie."""
    presented = presented_token({k.lower(): v for k, v in request.headers.raw})
    if presented is None:
        raise Unauthenticated("sign in: send Authorization: Bearer <token>")
    return presented


def session_policy(request: Request) -> SessionPolicy:
    return SessionPolicy.from_settings(get_runtime(request).settings)


def same_origin(request: Request) -> bool:
    """Whether the request comes from this server's own pages: its Origin (else its
    Referer: some browsers send no Origin) is `public_url` where one is set (behind a
    proxy), else the host the request was sent to (its Host header). A request with
    neither, or `Origin: null`, is not."""
    sent = request.headers.get("origin") or request.headers.get("referer") or ""
    source = urlsplit(sent)
    if source.scheme not in ("http", "https") or not source.netloc:
        return False
    public_url = get_runtime(request).settings.public_url
    if public_url:
        own = urlsplit(public_url)
        try:
            return (source.scheme, _netloc(source)) == (own.scheme, _netloc(own))
        except ValueError:  # a port that is no number
            return False
    return source.netloc.lower() == request.headers.get("host", request.url.netloc).lower()


def _netloc(url: SplitResult) -> str:
    """host[:port], with the scheme's default port left out, as browsers write Origin."""
    default = {"http": 80, "https": 443}[url.scheme]
    host = (url.hostname or "").lower()
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return host if url.port in (None, default) else f"{host}:{url.port}"


def sends_gpc(request: Request) -> bool:
    return request.headers.get("sec-gpc", "").strip() == "1"


def accepted_languages(header: str | None) -> list[str]:
    """An Accept-Language header's tags, most wanted first ('*' and q=0 left out)."""
    ranked = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag and tag != "*" and weight > 0:
            ranked.append((-weight, index, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


@dataclass(frozen=True)
class Caller:
    """An authenticated caller and what they came through ("token:<id>" for a bearer
    token, "session:<token id>" for the web pages' cookie): consent events record it."""

    principal: Principal
    via: str


async def _authenticated(request: Request, runtime: Runtime) -> Caller:
    # Async, and no database call for the token the authentication middleware checked:
    # each sync dependency would cost a trip through the thread pool.
    presented = bearer_or_cookie(request)
    from_cookie = presented[1]
    info = token_of(request.scope)
    if info is None:
        check = partial(authenticate_presented, runtime.engine, presented,
                        policy=session_policy(request))  # fmt: skip
        info = await anyio.to_thread.run_sync(check)
    if from_cookie and request.method not in SAFE_METHODS and not same_origin(request):
        raise Forbidden("a signed-in page may only send this from this server's own pages")
    return Caller(info.principal, f"{'session' if from_cookie else 'token'}:{info.id}")


async def current_caller(request: Request, runtime: RuntimeDep) -> Caller:
    caller = await _authenticated(request, runtime)
    if sends_gpc(request):
        honour = partial(runtime.service.honour_gpc, caller.principal, via=caller.via)
        await anyio.to_thread.run_sync(honour)
    return caller


async def current_principal(caller: Annotated[Caller, Depends(current_caller)]) -> Principal:
    return caller.principal


async def deciding_caller(request: Request, runtime: RuntimeDep) -> Caller:
    """The caller of the consent route itself, which handles `Sec-GPC` with the decision:
    honouring it first would withdraw the consent the same request may override it with."""
    return await _authenticated(request, runtime)


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only `roles` through (403 for any other valid token)."""
    allowed = frozenset(roles)
    names = " or ".join(r.value for r in roles)

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"this needs the {names} role")
        return principal

    check.roles = allowed  # type: ignore[attr-defined]  # read by `refused_role`
    return check


def refused_role(request: Request) -> Forbidden | None:
    """The 403 a request gets for its role, found without running the route: FastAPI
    reads the body before dependencies, and a wrong role must not learn how a route
    parses its body."""
    info = token_of(request.scope)
    route = request.scope.get("route")
    pending = list(getattr(getattr(route, "dependant", None), "dependencies", []))
    while info is not None and pending:
        dependant = pending.pop()
        roles = getattr(dependant.call, "roles", None)
        if roles is not None and info.role not in roles:
            return Forbidden("this needs the " + " or ".join(sorted(roles)) + " role")
        pending.extend(dependant.dependencies)
    return None


def require_caller(*roles: Role) -> Callable[[Caller], Awaitable[Caller]]:
    """As `require`, for routes that also need what the caller came through."""
    allowed = frozenset(roles)
    names = " or ".join(r.value for r in roles)

    async def check(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
        if caller.principal.role not in allowed:
            raise Forbidden(f"this needs the {names} role")
        return caller

    check.roles = allowed  # type: ignore[attr-defined]  # read by `refused_role`
    return check


Anyone = Annotated[Principal, Depends(current_principal)]
MemberCaller = Annotated[Caller, Depends(require_caller(Role.MEMBER, Role.ADMIN))]
Deciding = Annotated[Caller, Depends(deciding_caller)]
Member = Annotated[Principal, Depends(require(Role.MEMBER, Role.ADMIN))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Exporter = Annotated[Principal, Depends(require(Role.ML_EXPORTER))]
