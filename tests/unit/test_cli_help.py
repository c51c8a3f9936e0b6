"""Every command's `--help`, through the console script's `main`: what each option takes is
said in words (`NAME=FILE`, `LABEL=NAME`), never as a Python annotation (`<list[str]>`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer

from minutekeeper.cli import app, main

# How a Python annotation reads when a help screen prints one.
PYTHON_TYPES = re.compile(
    r"(?:list|dict|tuple|set|Sequence|Optional|Union|Annotated)\[|str\]|int\]|Path\]|<class"
    r"|typing\.|NoneType|\| None"
)


def command_paths() -> Iterator[tuple[str, ...]]:
    """Every command and group of the app, as the words that reach it."""
    root = typer.main.get_command(app)
    context = typer.Context(root)

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        for name in command.list_commands(context) if hasattr(command, "commands") else []:
            yield from walk(command.get_command(context, name), (*path, name))

    yield from walk(root, ())


PATHS = list(command_paths())


@pytest.fixture(autouse=True)
def _model_logger_left_as_found() -> Iterator[None]:
    """`main` points the embedded models' notices at stderr for the rest of the process, as
    a command wants; in this shared test process that would hide them from other tests'
    log capture (tests/model/test_embedded_llm.py), so each test here puts the logger back."""
    logger = logging.getLogger("minutekeeper.models.embedded_llm")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


def help_text(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> str:
    assert main([*path, "--help"]) == 0
    return capsys.readouterr().out


def test_the_walk_reaches_every_command() -> None:
    assert len(PATHS) > 50
    for expected in (("summarize",), ("attributions", "answer"), ("consent", "notice", "show")):
        assert expected in PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(path) or "minutekeeper")
def test_no_help_screen_shows_a_python_type(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # no type is folded across two lines
    text = help_text(path, capsys)
    assert "Usage: minutekeeper" in text
    shown = PYTHON_TYPES.findall(text)
    assert not shown, f"`minutekeeper {' '.join(path)} --help` shows {shown}:\n{text}"


@pytest.mark.parametrize(
    ("path", "option", "metavar"),
    [
        (("transcribe",), "--track", "NAME=FILE"),
        (("summarize",), "--speaker", "LABEL=NAME"),
        (("ask",), "--track", "NAME=FILE"),
        (("attributions", "answer"), "--not", "ITEM"),
    ],
)
def test_a_repeated_option_says_what_one_value_looks_like(
    path: tuple[str, ...],
    option: str,
    metavar: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    text = help_text(path, capsys)
    assert re.search(rf"{re.escape(option)}\s+{re.escape(metavar)}\s", text), text
