"""Server-rendered web pages (Jinja2). Signing in stores the token in an HttpOnly,
SameSite=Strict session cookie; the pages' scripts then call the same `/v1` API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from app.api.deps import SESSION_COOKIE, get_runtime
from app.api.tokens import TokenInfo, authenticate
from app.core.errors import AppError

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def _signed_in(request: Request) -> TokenInfo | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return authenticate(get_runtime(request).engine, token)
    except AppError:
        return None


def _page(request: Request, name: str, **context: Any) -> Response:
    who = _signed_in(request)
    if who is None:
        return RedirectResponse("/signin", status_code=303)
    return templates.TemplateResponse(request, name, {"who": who, **context})


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        return RedirectResponse("/consent" if _signed_in(request) else "/signin", 303)

    @app.get("/signin", include_in_schema=False, response_class=HTMLResponse)
    def signin_form(request: Request) -> Response:
        return templates.TemplateResponse(request, "signin.html", {"who": None, "error": None})

    @app.post("/signin", include_in_schema=False)
    def signin(request: Request, token: Annotated[str, Form(max_length=200)]) -> Response:
        try:
            authenticate(get_runtime(request).engine, token.strip())
        except AppError as error:
            return templates.TemplateResponse(
                request, "signin.html", {"who": None, "error": error.message}, status_code=401
            )
        response = RedirectResponse("/consent", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token.strip(),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            max_age=12 * 3600,
        )
        return response

    @app.post("/signout", include_in_schema=False)
    def signout() -> Response:
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/consent", include_in_schema=False, response_class=HTMLResponse)
    def consent_page(request: Request) -> Response:
        return _page(request, "consent.html")
