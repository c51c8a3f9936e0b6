"""`minutekeeper`: a thin Typer layer over the same services the API uses.

A user mistake (missing file, bad value, unreachable database) is one line on stderr and
exit code 1, never a traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from minutekeeper.cli import (
    attribution_cmds,
    audit_cmds,
    compose_cmds,
    consent_cmds,
    export_cmds,
    finetune_cmds,
    meeting_cmds,
    member_cmds,
    service_cmds,
    summary_cmds,
    transcribe_cmds,
    worker_cmds,
)
from minutekeeper.cli.context import CliState
from minutekeeper.core.errors import AppError

app = typer.Typer(
    name="minutekeeper",
    help="Self-hosted meeting assistant with a consent gate for training data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(consent_cmds.app, name="consent")
app.add_typer(attribution_cmds.app, name="attributions")
app.add_typer(audit_cmds.app, name="audit")
app.add_typer(transcribe_cmds.models_app, name="models")
app.add_typer(meeting_cmds.app, name="meetings")
app.add_typer(export_cmds.app, name="export")
app.add_typer(export_cmds.candidates_app, name="candidates")
app.add_typer(member_cmds.app, name="members")
app.add_typer(service_cmds.app, name="tokens")
app.command("serve")(service_cmds.serve)
app.command("worker")(worker_cmds.worker)
app.command("transcribe")(transcribe_cmds.transcribe)
app.command("summarize")(summary_cmds.summarize)
app.command("ask")(summary_cmds.ask)
app.command("search")(meeting_cmds.search)
app.command("compose")(compose_cmds.compose)
app.command("feedback")(compose_cmds.feedback)
app.command("purge")(export_cmds.purge)
app.command("erase")(export_cmds.erase)
app.command("train")(finetune_cmds.train)
transcribe_cmds.models_app.command("lineage")(finetune_cmds.lineage)
transcribe_cmds.models_app.command("remove")(finetune_cmds.remove_model)


@app.callback()
def _root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Data folder (database, keys, caches). Env: MINUTEKEEPER_DATA_DIR."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="Database URL instead of SQLite. Env: MINUTEKEEPER_DATABASE_URL."),
    ] = None,
) -> None:
    ctx.obj = CliState(data_dir=data_dir, database_url=database_url)
    _model_notices_on_stderr()


def _model_notices_on_stderr() -> None:
    """What preparing an embedded model says once (preparing it, falling back to another)
    is one plain line on stderr, where a command's output never goes; other model logs
    (an endpoint's retries) stay out of a command's one-line errors."""
    models = logging.getLogger("minutekeeper.models.embedded_llm")
    if not any(isinstance(h, _StderrLine) for h in models.handlers):
        models.addHandler(_StderrLine())
        models.setLevel(logging.INFO)
        models.propagate = False


class _StderrLine(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        typer.echo(record.getMessage(), err=True)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit code."""
    try:
        result = app(args=argv, prog_name="minutekeeper", standalone_mode=False)
    except AppError as error:
        typer.echo(f"error: {error.message}", err=True)
        return 1
    except typer.Abort:
        typer.echo("error: aborted (no answer given; --yes answers for scripts)", err=True)
        return 1
    except typer.Exit as error:
        return error.exit_code
    except typer.TyperException as error:  # usage errors: typer prints them with help hints
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"error: {error}", err=True)
        return int(getattr(error, "exit_code", 2))
    return result if isinstance(result, int) else 0
