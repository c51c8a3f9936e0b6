"""Server-rendered web pages (Jinja2). Signing in with a token starts a web session whose
random id (never the token) an HttpOnly, SameSite=Strict cookie holds; the pages show their
data server-side and their scripts call the same `/v1` API for every action (the cookie plus
the browser's Origin header). The only forms posted to the pages themselves, sign-in and
sign-out, are checked for this server's Origin as well."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from minutekeeper.api.pages.web import API_DIR, PageStop

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Mount the static files and add every page (none of them in the OpenAPI schema)."""
    from minutekeeper.api.pages import admin, attributions, compose, consent, meetings, session

    app.mount("/static", StaticFiles(directory=API_DIR / "static"), name="static")
    app.add_exception_handler(PageStop, _stopped)
    for module in (session, consent, attributions, meetings, compose, admin):
        app.include_router(module.router)


async def _stopped(request: Request, error: Exception) -> Response:
    assert isinstance(error, PageStop)
    return error.response
