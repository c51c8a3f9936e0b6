"""Compose errors: a bad thread file, an unknown choice, a model that wrote nothing."""

from __future__ import annotations

from minutekeeper.core.errors import AppError, Conflict, InvalidInput, NotFound


class ComposeError(AppError):
    code = "compose_error"


class InvalidThread(InvalidInput):
    code = "invalid_thread"


class InvalidChoice(InvalidInput):
    code = "invalid_choice"


class EmptyDraft(ComposeError):
    """The model returned nothing usable, even after a second try."""

    code = "empty_draft"


class DraftNotFound(NotFound):
    code = "draft_not_found"


class AmbiguousDraft(InvalidInput):
    code = "ambiguous_draft"


class InvalidFeedback(InvalidInput):
    code = "invalid_feedback"


class FeedbackConflict(Conflict):
    """The draft already has different feedback; one draft takes one."""

    code = "feedback_conflict"


class MeetingDeleted(Conflict):
    """The follow-up's meeting was deleted while the follow-up was being written: the
    draft is not kept, since nothing made from a deleted meeting may stay."""

    code = "meeting_deleted"
