"""`minutekeeper serve` (the HTTP API and web pages) and `minutekeeper tokens ...`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from minutekeeper.cli.context import state
from minutekeeper.consent import Principal, Role
from minutekeeper.core.errors import InvalidInput

app = typer.Typer(
    help="API tokens: each is one person in one tenant with one role.", no_args_is_help=True
)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the HTTP API (/v1, OpenAPI at /docs) and the web pages."""
    import uvicorn

    from minutekeeper.api import create_app

    runtime = state(ctx).runtime()
    runtime.engine  # noqa: B018 (a database problem is reported before the server starts)
    application = create_app(runtime=runtime)
    typer.echo(f"minutekeeper: http://{host}:{port}/ (API docs at /docs)", err=True)
    # uvicorn's access log prints query strings; requests are logged by route in /metrics.
    uvicorn.run(application, host=host, port=port, log_level=log_level, access_log=False)


@app.command("create")
def create(
    ctx: typer.Context,
    subject: Annotated[str, typer.Option(help="The person: a name (made a member if new) or id.")],
    role: Annotated[Role, typer.Option(help="member, admin or ml_exporter.")] = Role.MEMBER,
    tenant: Annotated[str | None, typer.Option(help="Tenant name; default: the local one.")] = None,
    name: Annotated[str, typer.Option(help="A label to recognise the token by.")] = "",
    days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="Valid for this many days.")
    ] = None,
) -> None:
    """Make a token and print it once (only its hash is kept)."""
    from minutekeeper.api.tokens import create_token

    cli = state(ctx)
    settings = cli.settings()
    person = _person(ctx, tenant or settings.local_tenant, subject, role)
    token, info = create_token(
        cli.service(),
        person,
        name=name or f"{role.value} token",
        valid_for=timedelta(days=days or settings.token_days),
    )
    until = f"{info.expires_at:%Y-%m-%d}" if info.expires_at else "never"
    typer.echo(
        f"token {info.id} for {person.subject_id} ({role.value}), valid until {until}:", err=True
    )
    typer.echo(token)


def _person(ctx: typer.Context, tenant_name: str, ref: str, role: Role) -> Principal:
    if not ref.strip():
        raise InvalidInput("--subject needs a name or a subject id")
    found = state(ctx).service().ensure_person(tenant_name=tenant_name, ref=ref.strip())
    return Principal(tenant_id=found.tenant_id, subject_id=found.id, role=role)


@app.command("list")
def list_(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="Tenant name; default: the local one.")] = None,
) -> None:
    """The tenant's tokens (never the secrets)."""
    from minutekeeper.api.tokens import list_tokens

    cli = state(ctx)
    owner = _person(
        ctx, tenant or cli.settings().local_tenant, cli.settings().local_user, Role.ADMIN
    )
    for info in list_tokens(cli.engine(), owner.tenant_id):
        status = (
            "revoked"
            if info.revoked_at
            else (f"until {info.expires_at:%Y-%m-%d}" if info.expires_at else "no expiry")
        )
        typer.echo(f"{info.id}  {info.role.value:<11} {info.subject_id}  {status}  {info.name}")


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="The token's id (`tokens list`).")],
    tenant: Annotated[str | None, typer.Option(help="Tenant name; default: the local one.")] = None,
) -> None:
    """Revoke a token now: its next request gets 401."""
    from minutekeeper.api.tokens import revoke_token

    cli = state(ctx)
    owner = _person(
        ctx, tenant or cli.settings().local_tenant, cli.settings().local_user, Role.ADMIN
    )
    info = revoke_token(cli.engine(), owner.tenant_id, token_id.strip())
    typer.echo(f"token {info.id} revoked")
