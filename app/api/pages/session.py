"""Signing in with a token and out. Signing in starts a web session (`api.sessions`): the
HttpOnly, SameSite=Strict cookie holds the session's random id, never the token. Both forms
are accepted only from this server's own page (Origin or Referer), so another site can
neither sign a visitor into an account of its choosing nor sign them out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from minutekeeper.api.authn import SESSION_COOKIE
from minutekeeper.api.deps import get_runtime, same_origin, session_policy
from minutekeeper.api.pages.web import render, signed_in, start_page
from minutekeeper.api.sessions import end_session, start_session
from minutekeeper.api.tokens import authenticate
from minutekeeper.core.errors import AppError

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request) -> Response:
    who = signed_in(request)
    return RedirectResponse(start_page(who) if who else "/signin", status_code=303)


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request) -> Response:
    return render(request, "signin.html", signed_in(request), error=None)


@router.post("/signin")
def signin(request: Request, token: Annotated[str, Form(max_length=200)]) -> Response:
    if not same_origin(request):
        return _cross_site(request, "sign in")
    engine = get_runtime(request).engine
    try:
        info = authenticate(engine, token.strip())
    except AppError as error:
        return render(request, "signin.html", None, error=error.message, status_code=401)
    policy = session_policy(request)
    session_id = start_session(
        engine, info, policy=policy, replacing=request.cookies.get(SESSION_COOKIE)
    )
    response = RedirectResponse(start_page(info), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=_served_over_https(request),
        max_age=int(policy.lifetime.total_seconds()),
    )
    return response


@router.post("/signout")
def signout(request: Request) -> Response:
    if not same_origin(request):
        return _cross_site(request, "sign out")
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        end_session(get_runtime(request).engine, session_id)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="strict", secure=_served_over_https(request)
    )
    return response


def _served_over_https(request: Request) -> bool:
    public_url = get_runtime(request).settings.public_url or ""
    return request.url.scheme == "https" or public_url.startswith("https://")


def _cross_site(request: Request, action: str) -> Response:
    """The 403 page for a sign-in or sign-out that did not come from this server's page:
    nothing is changed and no cookie is set."""
    retry = "/signin" if action == "sign in" else "/consent"
    page = render(request, "cross_site.html", None, status_code=403, action=action, retry=retry)
    return page
