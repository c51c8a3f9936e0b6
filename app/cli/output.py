"""Writing results: to stdout, or to a file that appears whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from minutekeeper.core.errors import InvalidInput


def write_output(text: str, destination: Path | None) -> None:
    """Print `text`, or write it atomically: a failure leaves no partial file behind."""
    if destination is None:
        typer.echo(text, nl=False)
        return
    folder = destination.parent if str(destination.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidInput(f"cannot write {destination}: folder {folder} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def progress_bar(label: str, *, enabled: bool) -> Iterator[Callable[[float], None]]:
    """A progress bar on stderr fed with the share done (0..1); a no-op when disabled."""
    if not enabled:
        yield lambda share: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=1.0)
        yield lambda share: bar.update(task, completed=share)
