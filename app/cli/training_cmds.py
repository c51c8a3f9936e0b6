"""`minutekeeper purge`: what the retention rules say may no longer be kept for training."""

from __future__ import annotations

import typer

from app.cli.context import state


def purge(ctx: typer.Context) -> None:
    """Purge training candidates past their retention (each purge is audited)."""
    from consent.capture import purge_expired

    purged = purge_expired(state(ctx).service())
    typer.echo(f"purged {purged} expired training candidate(s)")
