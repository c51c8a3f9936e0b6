"""`minutekeeper meetings ...`: the meetings `summarize` saved, by id: list, show, delete."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from minutekeeper.cli.context import state
from minutekeeper.cli.output import write_output
from minutekeeper.core.errors import InvalidInput

app = typer.Typer(
    help="Meetings saved by summarize: list, show and delete them.", no_args_is_help=True
)


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Your tenant's meetings, newest first."""
    from minutekeeper.features.meetings.store import list_meetings
    from minutekeeper.features.summary.render import clock

    cli = state(ctx)
    found = list_meetings(cli.engine(), cli.principal().tenant_id)
    if as_json:
        rows = [
            {
                "id": m.id,
                "title": m.title,
                "source": m.source,
                "duration": m.duration,
                "meeting_date": m.meeting_date.isoformat() if m.meeting_date else None,
                "created_at": m.created_at.isoformat(),
                "summarized": m.summarized,
            }
            for m in found
        ]
        write_output(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", None)
        return
    if not found:
        typer.echo("No meetings yet: `minutekeeper summarize RECORDING` saves one.")
        return
    for m in found:
        day = m.meeting_date.isoformat() if m.meeting_date else f"{m.created_at:%Y-%m-%d}"
        typer.echo(f"{m.id}  {day}  {clock(m.duration):>8}  {m.title}")


@app.command("show")
def show(
    ctx: typer.Context,
    meeting: Annotated[str, typer.Argument(help="Meeting id (or its first characters).")],
    fmt: Annotated[str, typer.Option("--format", help="md or json.")] = "md",
    with_transcript: Annotated[
        bool, typer.Option("--transcript/--no-transcript", help="Append the cited transcript.")
    ] = True,
) -> None:
    """A saved meeting's summary (with its transcript)."""
    from minutekeeper.features.meetings.store import find_meeting
    from minutekeeper.features.summary import render
    from minutekeeper.features.transcription.formats import render as render_transcript

    if fmt not in render.FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; choose: {', '.join(render.FORMATS)}")
    cli = state(ctx)
    stored = find_meeting(cli.engine(), cli.principal().tenant_id, meeting)
    if stored.summary is None:
        shown = render_transcript(stored.transcript, "json" if fmt == "json" else "text")
        write_output(shown, None)
        return
    transcript = stored.transcript if with_transcript else None
    write_output(render.render(stored.summary, fmt, transcript), None)


@app.command("delete")
def delete(
    ctx: typer.Context,
    meeting: Annotated[str, typer.Argument(help="Meeting id (or its first characters).")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a saved meeting and everything kept of it: its recording, transcript and
    summary, the drafts written from it, and what was kept of it for training (its records
    in published exports get tombstones). Cannot be undone."""
    from minutekeeper.api.idempotency import DELETED_ANSWER, forget_quoting
    from minutekeeper.core.db import checkpoint_wal
    from minutekeeper.features.meetings.store import find_meeting

    cli = state(ctx)
    me = cli.principal()
    if not yes:
        found = find_meeting(cli.engine(), me.tenant_id, meeting)
        question = (f"Delete meeting {found.info.id} ({found.info.title!r}) and everything "
                    "kept of it? This cannot be undone")  # fmt: skip
        if not typer.confirm(question, default=False):
            typer.echo("Nothing deleted.")
            raise typer.Exit(1)
        meeting = found.info.id  # exactly the one confirmed
    deleted = cli.runtime().delete_meeting(me.tenant_id, meeting, owner_id=None,
                                           actor_id=me.subject_id, exact=not yes)  # fmt: skip
    forget_quoting(cli.engine(), deleted.people, deleted.words, why=DELETED_ANSWER)
    checkpoint_wal(cli.engine(), truncate=True)  # its words are still in the log's old pages
    typer.echo(
        f"deleted meeting {deleted.meeting_id}: {len(deleted.drafts)} draft(s), "
        f"{deleted.artifacts} training artifact(s) emptied, {deleted.candidates} kept "
        f"example(s) retired; {len(deleted.exports)} export(s) got tombstones"
    )


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help='Words to find; "a quoted phrase" as said.')],
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many hits.")] = 20,
    cursor: Annotated[
        str | None, typer.Option(help="Go on after this hit (the line `more:` names).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Find words in your meetings' transcripts and summaries, and in meetings shared with
    you (you confirmed words in them are yours): newest meeting first."""
    from minutekeeper.features.meetings.search import SearchQuery, runs
    from minutekeeper.features.sharing import role_of, search_meetings
    from minutekeeper.features.summary.render import clock

    cli = state(ctx)
    parsed = SearchQuery.parse(query)
    me = cli.principal()
    found = search_meetings(cli.service(), me, parsed, after=cursor, limit=limit + 1)
    hits, more = found[:limit], len(found) > limit
    if as_json:
        rows = [
            {"id": str(h.id), "meeting_id": h.meeting_id, "title": h.title,
             "role": role_of(me, h.owner_id), "kind": h.kind, "section": h.section,
             "speaker": h.speaker, "snippet": h.snippet, "start": h.start,
             "segment_id": h.segment_id}
            for h in hits
        ]  # fmt: skip
        write_output(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", None)
    elif not hits:
        typer.echo(f"Nothing found for {query!r}.")
    for h in [] if as_json else hits:
        at = clock(h.start) if h.start is not None else "-"
        said = "".join(
            typer.style(t, bold=True) if m else t for t, m in runs(h.snippet, h.highlights)
        )
        who = f", {h.speaker}" if h.speaker else ""
        typer.echo(f"{h.meeting_id[:8]}  {at:>8}  {h.title} ({h.kind}{who}): {said}")
    if more:
        typer.echo(f"more: --cursor {hits[-1].id}", err=True)
