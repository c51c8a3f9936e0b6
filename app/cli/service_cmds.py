"""`minutekeeper serve` (the HTTP API and web pages) and `minutekeeper tokens ...`."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Annotated, Any

import typer

from minutekeeper.cli.context import state
from minutekeeper.consent import Principal, Role, Subject, SubjectKind
from minutekeeper.core.errors import InvalidInput

app = typer.Typer(
    help="API tokens: each is one person in one tenant with one role.", no_args_is_help=True
)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    log_level: Annotated[
        str, typer.Option(help="Log level of the server and of minutekeeper's own loggers.")
    ] = "info",
) -> None:
    """Run the HTTP API (/v1, OpenAPI at /docs) and the web pages."""
    import uvicorn

    from minutekeeper.api import create_app

    runtime = state(ctx).runtime()
    runtime.engine  # noqa: B018 (a database problem is reported before the server starts)
    application = create_app(runtime=runtime)
    typer.echo(f"minutekeeper: http://{host}:{port}/ (API docs at /docs)", err=True)
    # uvicorn's access log prints query strings; requests are logged by route in /metrics.
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level=log_level,
        log_config=log_config(log_level),
        access_log=False,
    )


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging configuration plus minutekeeper's own loggers (each job's start
    and end, model loads) on stderr at `level`: uvicorn's alone configures only its own
    loggers, and the others' INFO lines would go nowhere."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["minutekeeper"] = {
        "()": "uvicorn.logging.DefaultFormatter",
        "fmt": "%(levelprefix)s %(name)s: %(message)s",
    }
    config["handlers"]["minutekeeper"] = {
        "formatter": "minutekeeper",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["minutekeeper"] = {
        "handlers": ["minutekeeper"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


@app.command("create")
def create(
    ctx: typer.Context,
    subject: Annotated[
        str | None,
        typer.Option(
            help="The person: a member's name (made a member if new) or id; default: the "
            "local user, the member this command line acts as."
        ),
    ] = None,
    role: Annotated[Role, typer.Option(help="member, admin or ml_exporter.")] = Role.MEMBER,
    tenant: Annotated[str | None, typer.Option(help="Tenant name; default: the local one.")] = None,
    name: Annotated[str, typer.Option(help="A label to recognise the token by.")] = "",
    days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="Valid for this many days.")
    ] = None,
) -> None:
    """Make a token for a member and print it once (only its hash is kept). Without
    --subject it is the local user's, so signing in with it on the web shows the meetings
    this command line saved. A guest (a name heard in a meeting) is refused: an admin
    makes them a member first."""
    from minutekeeper.api.tokens import create_token

    cli = state(ctx)
    settings = cli.settings()
    if subject is None:
        local = cli.principal(role, tenant=tenant)
        found, created = cli.service().find_subject(local.tenant_id, local.subject_id), False
    else:
        found, created = _found(ctx, tenant or settings.local_tenant, subject)
    shown = found.display_name or found.id
    if found.kind is not SubjectKind.MEMBER:
        raise InvalidInput(_not_a_member(found, tenant))
    person = Principal(tenant_id=found.tenant_id, subject_id=found.id, role=role)
    token, info = create_token(
        cli.service(),
        person,
        name=name or f"{role.value} token",
        valid_for=timedelta(days=days or settings.token_days),
    )
    until = f"{info.expires_at:%Y-%m-%d}" if info.expires_at else "never"
    if created:
        typer.echo(f"{shown} is a new member.", err=True)
    whose = " (the local user, as whom this command line acts)" if subject is None else ""
    typer.echo(f"token {info.id} for {shown}{whose} ({role.value}), valid until {until}:",
               err=True)  # fmt: skip
    typer.echo(token)


def _not_a_member(found: Subject, tenant: str | None) -> str:
    from minutekeeper.consent import promote_command

    if found.kind is not SubjectKind.GUEST or found.display_name is None:
        return f"subject {found.id} is no member ({found.kind.value}): it cannot hold a token"
    command = promote_command(found.display_name, tenant=tenant)
    return (
        f"{found.display_name!r} is a guest (a name heard in a meeting), not a member: a "
        "guest never records consent, so a token for them is refused. If they belong to "
        f"this tenant, make them a member first: {command}"
    )


def _found(ctx: typer.Context, tenant_name: str, ref: str) -> tuple[Subject, bool]:
    if not ref.strip():
        raise InvalidInput("--subject needs a name or a subject id")
    return state(ctx).service().ensure_person(tenant_name=tenant_name, ref=ref.strip())


def _person(ctx: typer.Context, tenant_name: str, ref: str, role: Role) -> Principal:
    found, _ = _found(ctx, tenant_name, ref)
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
    people = {p.id: p for p in cli.service().subjects(owner.tenant_id)}
    found = list_tokens(cli.engine(), owner.tenant_id)
    names = {info.id: _holder(people.get(info.subject_id), info.subject_id) for info in found}
    width = min(max((len(n) for n in names.values()), default=0), 40)
    for info in found:
        status = (
            "revoked"
            if info.revoked_at
            else (f"until {info.expires_at:%Y-%m-%d}" if info.expires_at else "no expiry")
        )
        typer.echo(
            f"{info.id}  {info.role.value:<11} {names[info.id]:<{width}}  {status}  {info.name}"
        )


def _holder(person: Subject | None, subject_id: str) -> str:
    """Who a token belongs to, as people know them: a name, marked where no member."""
    if person is None or person.display_name is None:
        return f"(erased {subject_id[:8]})"
    if person.kind is not SubjectKind.MEMBER:
        return f"{person.display_name} ({person.kind.value})"
    return person.display_name


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
