"""`minutekeeper compose`: draft a chat message from a thread, an instruction, a meeting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.context import state
from app.cli.output import write_output
from app.core.errors import InvalidInput

if TYPE_CHECKING:
    from features.summary.summary import Summary


def compose(
    ctx: typer.Context,
    thread: Annotated[
        Path | None, typer.Option(help="The thread: JSON, or 'Name: text' lines.")
    ] = None,
    instruction: Annotated[str, typer.Option(help="What the message should say.")] = "",
    mode: Annotated[str, typer.Option(help="reply, followup or rewrite.")] = "reply",
    tone: Annotated[str, typer.Option(help="neutral, friendly, formal or concise.")] = "neutral",
    length: Annotated[str, typer.Option(help="short, medium or long.")] = "short",
    meeting: Annotated[
        Path | None,
        typer.Option(help="The meeting's summary (summarize --format json), for followup."),
    ] = None,
    n: Annotated[int, typer.Option(help="Drafts to offer (1 to 5).")] = 1,
    user: Annotated[str | None, typer.Option(help="Who the draft speaks as.")] = None,
    llm: Annotated[str | None, typer.Option(help="LLM name or folder.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Draft a reply to a thread, a follow-up after a meeting, or a rewrite of your text."""
    from features.compose.draft import ComposeRequest
    from features.compose.service import draft_message
    from features.compose.thread import Thread, load_thread
    from models import registry

    if fmt not in ("text", "json"):
        raise InvalidInput(f"unknown format {fmt!r}; choose: text, json")
    settings = state(ctx).settings()
    request = ComposeRequest(instruction=instruction, mode=mode, tone=tone, length=length,
                             user=user or settings.local_user, n=n)  # fmt: skip
    if mode == "reply" and thread is None:
        raise InvalidInput("reply needs --thread FILE")
    if mode == "followup" and meeting is None:
        raise InvalidInput("followup needs a meeting: --meeting SUMMARY.json")
    loaded = load_thread(thread) if thread is not None else Thread(())
    summary = _meeting(meeting) if meeting is not None else None
    generator = registry.build_generator(settings, model=llm)
    draft = draft_message(loaded, request, generator=generator, meeting=summary)
    if fmt == "json":
        body = {
            "text": draft.text,
            "alternatives": list(draft.alternatives),
            "used_messages": list(draft.used_messages),
            "used_items": list(draft.used_items),
            "notes": list(draft.notes),
            "failed_checks": list(draft.failed_checks),
        }
        write_output(json.dumps(body, indent=2, ensure_ascii=False) + "\n", None)
        return
    lines = [draft.text, *(f"\n(alternative) {a}" for a in draft.alternatives)]
    lines += [f"\nnote: {note}" for note in draft.notes]
    lines += [f"\ncheck failed: {problem}" for problem in draft.failed_checks]
    write_output("\n".join(lines) + "\n", None)


def _meeting(path: Path) -> Summary:
    from features.summary.render import from_dict

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise InvalidInput(f"meeting {path}: no such file") from error
    except (OSError, ValueError) as error:
        raise InvalidInput(f"meeting {path}: not a summary JSON file ({error})") from error
    if not isinstance(data, dict):
        raise InvalidInput(f"meeting {path}: expected a summary object")
    return from_dict(data, where=str(path))
