"""The one error base class every package's domain errors derive from.

Domain errors carry a stable machine code and a one-line message for people; they know
nothing about HTTP. The API maps classes to status codes in one table, the CLI prints the
message and exits 1.
"""

from __future__ import annotations

import re

# The folders of an absolute path (`/srv/media/1f2e/`, `/home/Jane Doe/`), not those of a
# URL or of `text/vtt`.
_FOLDERS = re.compile(r"(?<![\w.:/~-])/(?:[^/'\"\n:,;()]+/)+")


def without_folders(message: str) -> str:
    """`message` with each absolute path cut to its last part, for a client to read: a
    server's folders are nobody's business (`/srv/media/1f2e/recording.flac: truncated`
    reads `recording.flac: truncated`)."""
    return _FOLDERS.sub("", message)


class AppError(Exception):
    """A failure the user can act on: bad input, a missing thing, a refused operation."""

    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(AppError):
    code = "configuration_error"


class DatabaseUnavailable(AppError):
    code = "database_unavailable"


class NotFound(AppError):
    code = "not_found"


class InvalidInput(AppError):
    code = "invalid_input"


class Conflict(AppError):
    """The request contradicts what is already recorded."""

    code = "conflict"
