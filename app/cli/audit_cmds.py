"""`minutekeeper audit ...`: verify the hash chains, sign a checkpoint."""

from __future__ import annotations

import typer

from minutekeeper.cli.context import state

app = typer.Typer(help="The tamper-evident audit chain.", no_args_is_help=True)


@app.command("verify")
def verify(ctx: typer.Context) -> None:
    """Exit 0 if every chain is intact (against its signed checkpoints and the witness) and
    the consent projection, kept candidates, exports and tombstones match what the chains
    recorded; 1 naming the first bad entry or row otherwise. Warnings do not fail it."""
    report = state(ctx).service().verify()
    for chain in report.chains:
        if chain.ok:
            counts = f"{chain.entries} entries, {chain.checkpoints} signed checkpoints"
            typer.echo(f"{chain.chain}: ok ({counts})")
        else:
            typer.echo(f"{chain.chain}: BROKEN at entry {chain.first_bad_seq}: {chain.problem}")
    for check in report.checks:
        if check.ok:
            typer.echo(f"{check.name}: ok ({check.rows} rows match {check.source})")
        else:
            typer.echo(f"{check.name}: DIFFERS from {check.source}: {check.problems[0]}")
            for problem in check.problems[1:]:
                typer.echo(f"  {problem}")
    for warning in report.warnings:
        typer.echo(f"warning: {warning}")
    if not report.ok:
        raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint(ctx: typer.Context) -> None:
    """Sign the current end of every chain now (also done every N entries)."""
    signed = state(ctx).service().checkpoint()
    typer.echo(f"signed {signed} checkpoint(s)")
