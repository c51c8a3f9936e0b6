"""The shell around the features: settings, database and migrations (`app.core`), the
`Runtime` that builds the running parts once, the CLI (`app.cli`), the HTTP API and web
pages (`app.api`) and the job runner (`app.jobs`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from minutekeeper.core.lazy import public_api

if TYPE_CHECKING:
    from minutekeeper.api import create_app as create_app
    from minutekeeper.cli import main as main
    from minutekeeper.core.settings import Settings as Settings
    from minutekeeper.runtime import Runtime as Runtime

__all__, __getattr__ = public_api(__name__, __file__)
