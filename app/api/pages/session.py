"""Signing in with a token (kept in an HttpOnly, SameSite=Strict cookie) and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from minutekeeper.api.authn import SESSION_COOKIE
from minutekeeper.api.deps import get_runtime
from minutekeeper.api.pages.web import render, signed_in
from minutekeeper.api.tokens import authenticate
from minutekeeper.core.errors import AppError

router = APIRouter(include_in_schema=False)
SESSION_S = 12 * 3600


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse("/consent" if signed_in(request) else "/signin", status_code=303)


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request) -> Response:
    return render(request, "signin.html", signed_in(request), error=None)


@router.post("/signin")
def signin(request: Request, token: Annotated[str, Form(max_length=200)]) -> Response:
    token = token.strip()
    try:
        authenticate(get_runtime(request).engine, token)
    except AppError as error:
        return render(request, "signin.html", None, error=error.message, status_code=401)
    response = RedirectResponse("/consent", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=SESSION_S,
    )
    return response


@router.post("/signout")
def signout() -> Response:
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
    return response
