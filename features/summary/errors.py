"""Summary errors. Model errors (unknown model, unsupported language) come from `models`."""

from __future__ import annotations

from minutekeeper.core.errors import AppError, InvalidInput


class SummaryError(AppError):
    code = "summary_error"


class UnknownEngine(InvalidInput):
    code = "unknown_engine"


class InvalidModelOutput(SummaryError):
    """The LLM's answer was not the JSON the schema asks for (after the one retry)."""

    code = "invalid_model_output"


class InvalidMeetingDate(InvalidInput):
    code = "invalid_meeting_date"


class UnsupportedTranscriptLanguage(InvalidInput):
    code = "unsupported_language"


class ContextTooSmall(SummaryError):
    """The model's context cannot hold even the instructions and one line of transcript."""

    code = "context_too_small"


class InvalidSummaryFile(InvalidInput):
    code = "invalid_summary_file"
