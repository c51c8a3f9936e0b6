"""Compose errors: a bad thread file, an unknown choice, a model that wrote nothing."""

from __future__ import annotations

from app.core.errors import AppError, InvalidInput


class ComposeError(AppError):
    code = "compose_error"


class InvalidThread(InvalidInput):
    code = "invalid_thread"


class InvalidChoice(InvalidInput):
    code = "invalid_choice"


class EmptyDraft(ComposeError):
    """The model returned nothing usable, even after a second try."""

    code = "empty_draft"
