"""`minutekeeper attributions ...`: words someone attributed to you by name, and your answer.

Answering is your own act, like consent: from the command line only the owner of a
single-user install answers; anyone else answers in their own web or API session.
"""

from __future__ import annotations

from typing import Annotated

import typer

from minutekeeper.cli.context import report_offers, state
from minutekeeper.core.errors import InvalidInput

app = typer.Typer(help="Words attributed to you by name: confirm or refuse them.",
                  no_args_is_help=True)  # fmt: skip


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Your requests, newest first."""
    cli = state(ctx)
    found = cli.service().attribution_requests(cli.principal())
    if not found:
        typer.echo("Nobody has attributed words to you.")
    for r in found:
        typer.echo(f"{r.id}  {r.status:<9} {r.source_kind} {r.source_id[:8]} "
                   f"label {r.label!r}: {len(r.items)} item(s)")  # fmt: skip


@app.command("show")
def show(
    ctx: typer.Context,
    request_id: Annotated[str, typer.Argument(help="The request's id (`attributions list`).")],
) -> None:
    """The words attributed to you, and only those."""
    cli = state(ctx)
    r = cli.service().attribution_request(cli.principal(), request_id.strip())
    typer.echo(f"{r.source_kind} {r.source_id}, label {r.label!r} ({r.status}); "
               f"answer by {r.expires_at:%Y-%m-%d}:")  # fmt: skip
    for item in r.items:
        when = f"[{item.start:.1f}s] " if item.start is not None else ""
        typer.echo(f"  {item.id}: {when}{item.text}")
    typer.echo("Confirming says these words are yours, and that they may be older than "
               "your consent.")  # fmt: skip


@app.command("answer")
def answer(
    ctx: typer.Context,
    request_id: Annotated[str, typer.Argument(help="The request's id.")],
    mine: Annotated[
        bool, typer.Option("--mine/--not-mine", help="Every item is yours, or not all are.")
    ],
    not_mine: Annotated[
        list[str],
        typer.Option(
            "--not",
            metavar="ITEM",
            help="An item's id (`attributions show`) that is not yours (repeat).",
        ),
    ] = [],  # noqa: B006 (typer reads the default; it is never mutated)
) -> None:
    """Say whether the words are yours: --mine for all of them, or --not-mine (with --not
    ITEM for each item that is not yours, or none to refuse them all)."""
    cli = state(ctx)
    me = cli.owner()
    via, _ = cli.acting()
    service = cli.service()
    request = service.attribution_request(me, request_id.strip())
    ids = [i.id for i in request.items]
    unknown = sorted(set(not_mine) - set(ids))
    if unknown:
        raise InvalidInput(f"no item {', '.join(unknown)} in this request; it has {', '.join(ids)}")
    if mine and not_mine:
        raise InvalidInput("--mine says every item is yours: leave out --not")
    refused = set(not_mine) if not_mine else set(ids)
    answers = {i: mine or i not in refused for i in ids}
    answered = service.answer_attribution(me, request.id, answers, via=via)
    typer.echo(f"recorded: {answered.status}")
    from minutekeeper.features.attribution import offer_again

    report_offers(cli, me.tenant_id, offer_again(service, cli.runtime().offers, answered))
