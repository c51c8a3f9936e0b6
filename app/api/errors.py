"""Every error the API returns, in one envelope: `{"error": {"code", "message"}}`.

Domain errors know nothing about HTTP; this table maps their classes to status codes, and
the most specific class listed wins. Unexpected exceptions answer 500 with no detail, and
are logged by type and place only: their messages may quote customer content.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from minutekeeper.api.deps import refused_role
from minutekeeper.api.envelope import ErrorEnvelope as ErrorModel
from minutekeeper.api.envelope import envelope
from minutekeeper.api.tokens import Forbidden, Unauthenticated
from minutekeeper.consent import errors as consent
from minutekeeper.core.errors import (
    AppError,
    ConfigurationError,
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    NotFound,
    without_folders,
)
from minutekeeper.features.meetings.errors import NotMeetingOwner
from minutekeeper.features.summary.errors import SummaryError
from minutekeeper.features.transcription.errors import AudioTooLong
from minutekeeper.models.errors import ModelError, ModelUnavailable

__all__ = ["COMMON_RESPONSES", "ErrorModel", "PayloadTooLarge", "install", "status_of"]

log = logging.getLogger("minutekeeper.api")


class PayloadTooLarge(AppError):
    code = "payload_too_large"


class UnsupportedMediaType(InvalidInput):
    code = "unsupported_media_type"


STATUS: dict[type[AppError], int] = {
    AppError: 400,
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    Unauthenticated: 401,
    Forbidden: 403,
    NotMeetingOwner: 403,
    PayloadTooLarge: 413,
    AudioTooLong: 413,
    UnsupportedMediaType: 415,
    ConfigurationError: 500,
    DatabaseUnavailable: 503,
    consent.ConsentError: 409,
    consent.ConsentForOtherSubject: 403,
    consent.TenantMismatch: 403,
    consent.SubjectCannotConsent: 403,
    consent.IdempotencyConflict: 422,
    consent.AuditKeyError: 500,
    consent.ExportRevoked: 410,
    SummaryError: 500,
    ModelError: 422,
    ModelUnavailable: 503,
}


def status_of(error: AppError) -> int:
    """The status of the nearest class in `error`'s ancestry that the table lists."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, error: AppError) -> JSONResponse:
        return envelope(status_of(error), error.code, without_folders(error.message))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        forbidden = refused_role(request)
        if forbidden is not None:
            return envelope(403, forbidden.code, forbidden.message)
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in error.errors()
        ]
        first = problems[0] if problems else {"where": "request", "problem": "invalid"}
        message = f"{first['where']}: {first['problem']}"
        return envelope(422, "invalid_request", message, problems=problems)

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, error: DataError) -> JSONResponse:
        # The database refused a value the request carried (PostgreSQL: a NUL character).
        return envelope(422, "invalid_input", "the request holds a value the database cannot "
                        "store (such as a NUL character)")  # fmt: skip

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        forbidden = refused_role(request)
        if error.status_code == 400 and forbidden is not None:
            return envelope(403, forbidden.code, forbidden.message)
        if error.status_code == 400:  # a body the parser could not read: invalid, like JSON
            detail = error.detail if isinstance(error.detail, str) else "unreadable body"
            return envelope(422, "invalid_request", f"body: {detail}")
        code = _HTTP_CODES.get(error.status_code, f"http_{error.status_code}")
        message = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
        if error.status_code == 404 and message == "Not Found":
            message = f"no route {request.url.path}"
        return envelope(error.status_code, code, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        where = "".join(traceback.format_tb(error.__traceback__)[-3:])
        log.error(
            "unexpected %s on %s %s\n%s",
            type(error).__name__,
            request.method,
            _route(request),
            where,
        )
        return envelope(500, "internal_error", "the server failed; the error is logged")


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "unmatched")


COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorModel, "description": text}
    for status, text in (
        (403, "The token's role may not do this."),
        (404, "No such thing in your tenant (or not yours)."),
        (409, "It conflicts with what is recorded."),
        (410, "Revoked: no longer available."),
        (413, "The body is over the size limit."),
        (415, "Unsupported file type."),
        (503, "The database, or the language model's endpoint, is unavailable."),
    )
}
