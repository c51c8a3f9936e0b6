"""The body of every error the API returns: `{"error": {"code", "message"}}`. Its own
module, below everything that answers with it (the error handlers, the authentication
middleware, the job routes), so none of them imports another to build one."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel


class ErrorDetail(BaseModel):
    code: str
    message: str
    problems: list[dict[str, str]] | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorDetail


def envelope(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"error": {"code": code, "message": message, **extra}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)
