"""`minutekeeper members ...`: the tenant's people, by name.

A guest is a name heard in a meeting or seen in a thread; a member is a person an admin
vouched for, who can hold a token and record their own consent. The command line acts as
the local admin here, as it does for the tenant's switches and notices: whoever can run it
on the install's data folder or database is its operator. Making someone a member records
no consent for them (`consent.members`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated

import typer

from minutekeeper.cli.context import CliState, state
from minutekeeper.cli.output import write_output
from minutekeeper.consent import Principal, Role, Subject, SubjectKind
from minutekeeper.core.errors import InvalidInput

app = typer.Typer(
    help="The tenant's people: members, and guests (names heard in meetings).",
    no_args_is_help=True,
)
TenantOption = Annotated[
    str | None, typer.Option(help="Tenant name; default: the local one.", show_default=False)
]


def _admin(cli: CliState, tenant: str | None) -> Principal:
    return cli.principal(Role.ADMIN, tenant=tenant)


def _arg(name: str) -> str:
    """`name` quoted for a command line shown to the user."""
    from minutekeeper.consent import shell_word

    return shell_word(name)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Their name, as people will see it.")],
    tenant: TenantOption = None,
) -> None:
    """Add a member: a person of the tenant who can hold a token and record their own
    consent. A name someone has already (a member, or a guest heard in a meeting) is
    refused: promote that guest if it is this person, or choose another name."""
    cli = state(ctx)
    member = cli.service().add_member(_admin(cli, tenant), name)
    shown = member.display_name or member.id
    typer.echo(f"{shown} is a member now. Their token: minutekeeper tokens create --subject "
               f"{_arg(shown)} (add --role admin for an admin).")  # fmt: skip


@app.command("list")
def list_(
    ctx: typer.Context,
    ids: Annotated[bool, typer.Option("--ids", help="Show each person's id too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    tenant: TenantOption = None,
) -> None:
    """The tenant's people, oldest first: name, member or guest, and the roles of the
    tokens they hold now."""
    cli = state(ctx)
    admin = _admin(cli, tenant)
    people = cli.service().subjects(admin.tenant_id)
    roles = _live_roles(cli, admin.tenant_id)
    if as_json:
        rows = [{"id": p.id, "name": p.display_name, "kind": p.kind.value,
                 "roles": roles.get(p.id, []), "erased": p.erased_at is not None}
                for p in people]  # fmt: skip
        write_output(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", None)
        return
    _print_people(people, roles, ids=ids)
    if any(p.kind is SubjectKind.GUEST and p.erased_at is None for p in people):
        typer.echo("Guests are names heard in meetings; they never count as consenting. "
                   "minutekeeper members promote NAME makes one a member.", err=True)  # fmt: skip


def _print_people(people: Sequence[Subject], roles: dict[str, list[str]], *, ids: bool) -> None:
    names = [p.display_name or "(erased)" for p in people]
    width = min(max((len(n) for n in names), default=4), 40)
    typer.echo(f"{'NAME':<{width}}  KIND    TOKENS" + ("         ID" if ids else ""))
    for person, name in zip(people, names, strict=True):
        held = ",".join(roles.get(person.id, [])) or "-"
        line = f"{name:<{width}}  {person.kind.value:<6}  {held:<13}"
        typer.echo((f"{line}  {person.id}" if ids else line).rstrip())


def _live_roles(cli: CliState, tenant_id: str) -> dict[str, list[str]]:
    """Each person's roles among their tokens neither revoked nor expired."""
    from minutekeeper.api.tokens import list_tokens

    now = cli.service().clock()
    held: dict[str, set[str]] = {}
    for info in list_tokens(cli.engine(), tenant_id):
        if info.revoked_at is None and (info.expires_at is None or info.expires_at > now):
            held.setdefault(info.subject_id, set()).add(info.role.value)
    return {subject: sorted(roles) for subject, roles in held.items()}


@app.command("promote")
def promote(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The guest's name (or id, where names repeat).")],
    tenant: TenantOption = None,
) -> None:
    """Make a guest a member: you vouch that this name is a person of the tenant. It
    records no consent: they read the notice and decide in their own session, and what
    was heard under their name before stays a guest's words."""
    cli = state(ctx)
    member = cli.service().promote(_admin(cli, tenant), name)
    shown = member.display_name or member.id
    tokens = _live_roles(cli, member.tenant_id).get(member.id)
    typer.echo(f"{shown} is a member now (was a guest). No consent was recorded: they read "
               "the notice and decide themselves, in their own session.")  # fmt: skip
    if tokens:
        typer.echo(f"The tokens they hold ({', '.join(tokens)}) now act as a member's.")
    else:
        typer.echo(f"Their token: minutekeeper tokens create --subject {_arg(shown)}")


@app.command("rename")
def rename(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="Their name now (or id, where names repeat).")],
    new: Annotated[str, typer.Argument(help="The new name: one nobody else has.")],
    tenant: TenantOption = None,
) -> None:
    """Change the name people see (member or guest). A name someone else has is refused,
    so a typed name always finds one person."""
    cli = state(ctx)
    admin = _admin(cli, tenant)
    if cli.service().resolve_person(admin.tenant_id, old).id == admin.subject_id:
        raise InvalidInput(
            f"{old.strip()!r} is who the command line acts as (MINUTEKEEPER_LOCAL_USER): the "
            "next command would find no one of that name and start a new person"
        )
    renamed, before = cli.service().rename_subject(admin, old, new)
    typer.echo(f"{before} is {renamed.display_name} now ({renamed.kind.value}).")
