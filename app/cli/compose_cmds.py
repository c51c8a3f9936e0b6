"""`minutekeeper compose` drafts a chat message from a thread, an instruction, a meeting;
`minutekeeper feedback` records the text that was actually sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from minutekeeper.cli.context import report_offers, state
from minutekeeper.cli.output import write_output
from minutekeeper.core.errors import InvalidInput

if TYPE_CHECKING:
    from minutekeeper.features.summary.summary import Summary

_LEAD = {"failed": "CHECK FAILED", "from_items": "note"}


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
        str | None, typer.Option(help="A saved meeting's id (see `meetings list`), for followup.")
    ] = None,
    summary_file: Annotated[
        Path | None,
        typer.Option("--summary", help="Or a summary file (summarize --format json)."),
    ] = None,
    n: Annotated[int, typer.Option(help="Drafts to offer (1 to 5).")] = 1,
    user: Annotated[str | None, typer.Option(help="Who the draft speaks as.")] = None,
    llm: Annotated[
        str | None,
        typer.Option(help="LLM: name, fine-tuned id, folder, hub id, or an endpoint's model."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Draft a reply to a thread, a follow-up after a meeting, or a rewrite of your text.

    The draft is kept with an id; `minutekeeper feedback ID --sent TEXT` records what you
    actually sent.
    """
    from minutekeeper.features.compose import service as drafts
    from minutekeeper.features.compose.draft import ComposeRequest
    from minutekeeper.features.compose.thread import Thread, load_thread

    if fmt not in ("text", "json"):
        raise InvalidInput(f"unknown format {fmt!r}; choose: text, json")
    cli = state(ctx)
    request = ComposeRequest(
        instruction=instruction,
        mode=mode,
        tone=tone,
        length=length,
        user=user or cli.settings().local_user,
        n=n,
    )
    loaded = load_thread(thread) if thread is not None else Thread(())
    summary = _summary_file(summary_file) if summary_file is not None else None
    me = cli.ai_user()
    via, own = cli.acting()
    stored = drafts.compose_draft(
        cli.engine(),
        request,
        loaded,
        tenant_id=me.tenant_id,
        author_id=me.subject_id,
        models=cli.runtime().models.choosing(llm_model=llm),
        meeting_id=meeting,
        summary=summary,
        owner_id=me.subject_id,  # a follow-up is of one of your own meetings
    )
    report_offers(
        cli,
        me.tenant_id,
        cli.runtime().offers.draft(
            me.tenant_id,
            author_id=me.subject_id,
            draft_id=stored.id,
            via=via,
            speaks_for_self=own,
        ),
    )
    draft = stored.draft
    if fmt == "json":
        body = {
            "id": stored.id,
            "text": draft.text,
            "written_by": draft.written_by,
            "alternatives": list(draft.alternatives),
            "used_messages": list(draft.used_messages),
            "used_items": list(draft.used_items),
            "notes": list(draft.notes),
            "failed_checks": list(draft.failed_checks),
            "verdict": draft.verdict,
            "headline": draft.headline,
        }
        write_output(json.dumps(body, indent=2, ensure_ascii=False) + "\n", None)
        return
    # A draft that failed a check (or the model's drafts did) says so before its text.
    lines = [] if draft.verdict == "passed" else [f"{_LEAD[draft.verdict]}: {draft.headline}\n"]
    lines += [draft.text, *(f"\n(alternative) {a}" for a in draft.alternatives)]
    lines += [f"\nnote: {note}" for note in draft.notes]
    lines += [f"\ndraft {stored.id}: after sending, `minutekeeper feedback {stored.id} --sent ...`"]
    write_output("\n".join(lines) + "\n", None)


def feedback(
    ctx: typer.Context,
    draft: Annotated[str, typer.Argument(help="The draft's id (compose prints it).")],
    sent: Annotated[str | None, typer.Option(help="The message as you sent it.")] = None,
    sent_file: Annotated[
        Path | None, typer.Option(help="Or a file holding it ('-' reads stdin).")
    ] = None,
    rating: Annotated[int | None, typer.Option(help="How good the draft was, 1 to 5.")] = None,
) -> None:
    """Record the text you actually sent for a draft, and optionally rate the draft."""
    from minutekeeper.features.compose.service import give_feedback
    from minutekeeper.features.compose.store import check_feedback, check_rating

    check_rating(rating)  # a rating out of range is named first, whatever else is missing
    if (sent is None) == (sent_file is None):
        raise InvalidInput("give the sent message once: --sent TEXT or --sent-file FILE")
    text = sent if sent is not None else _read_text(sent_file)
    cli = state(ctx)
    me = cli.principal()
    via, own = cli.acting()
    check_feedback(text, rating)  # bad input is named before the draft is looked up
    recorded, first = give_feedback(
        cli.engine(),
        draft,
        tenant_id=me.tenant_id,
        author_id=me.subject_id,
        sent_text=text,
        rating=rating,
    )
    rated = f", rated {recorded.rating}/5" if recorded.rating is not None else ""
    typer.echo(f"recorded what you sent for draft {recorded.draft_id}{rated}")
    if first:  # the same feedback sent again is not offered twice
        report_offers(
            cli,
            me.tenant_id,
            cli.runtime().offers.draft(
                me.tenant_id,
                author_id=me.subject_id,
                draft_id=recorded.draft_id,
                via=via,
                speaks_for_self=own,
            ),
        )


def _read_text(path: Path | None) -> str:
    assert path is not None
    if str(path) == "-":
        return typer.get_text_stream("stdin").read()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise InvalidInput(f"{path}: no such file") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{path}: cannot read it as UTF-8 text ({error})") from error


def _summary_file(path: Path) -> Summary:
    from minutekeeper.features.summary.render import from_dict

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise InvalidInput(f"summary {path}: no such file") from error
    except (OSError, ValueError) as error:
        raise InvalidInput(f"summary {path}: not a summary JSON file ({error})") from error
    if not isinstance(data, dict):
        raise InvalidInput(f"summary {path}: expected a summary object")
    return from_dict(data, where=str(path))
