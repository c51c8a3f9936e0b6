"""`minutekeeper consent ...`: notices, tenant switches, and the local user's own consent."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from minutekeeper.cli.context import state
from minutekeeper.consent import (
    DEFAULT_NOTICE_KEY,
    TRAIN_AI_SYSTEM,
    ConsentEvent,
    ConsentState,
    Role,
)
from minutekeeper.consent.errors import InvalidValue

app = typer.Typer(help="Notices, tenant switches and your own consent.", no_args_is_help=True)
notice_app = typer.Typer(help="Publish and show consent notices.", no_args_is_help=True)
tenant_app = typer.Typer(help="The tenant's switches (admin).", no_args_is_help=True)
app.add_typer(notice_app, name="notice")
app.add_typer(tenant_app, name="tenant")

Purpose = Annotated[str, typer.Option("--purpose", help="Purpose key, e.g. train_ai_system.")]
Subject = Annotated[
    str | None,
    typer.Option("--subject", help="Subject id; only your own is accepted (rule 7)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
# What a decision recorded from the command line came through: only the owner of a
# single-user install records consent here (`CliState.owner`).
LOCAL_OWNER = "local-owner"


class OnOff(StrEnum):
    ON = "on"
    OFF = "off"


def _flag(value: OnOff | None) -> bool | None:
    return None if value is None else value is OnOff.ON


@notice_app.command("publish")
def notice_publish(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Option("--file", help="Notice TOML; default: the shipped notice.")
    ] = None,
    material: Annotated[
        bool, typer.Option("--material", help="Mark this edit a material change.")
    ] = False,
) -> None:
    """Publish a notice version (the same content again creates no new version)."""
    from minutekeeper.consent import load_notice_file

    draft = load_notice_file(file)
    if material:
        draft = replace(draft, material_change=True)
    cli = state(ctx)
    version, created = cli.service().publish_notice(cli.principal(Role.ADMIN), draft)
    word = "published" if created else "unchanged, still"
    typer.echo(f"notice {version.key!r} {word} version {version.version} ({version.id})")


Language = Annotated[
    str | None,
    typer.Option("--language", help="Read the notice in this language, where translated."),
]


@notice_app.command("translate")
def notice_translate(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="TOML with language, title and body.")],
    key: Annotated[str, typer.Option(help="Notice key.")] = DEFAULT_NOTICE_KEY,
) -> None:
    """Publish the notice's current version in another language: its own title and body,
    the version's terms. A translation is never changed; another text needs a new version."""
    from minutekeeper.consent import TranslationDraft
    from minutekeeper.consent.errors import InvalidNotice

    try:
        data = tomllib.loads(file.read_text("utf-8"))
        draft = TranslationDraft(str(data["language"]), str(data["title"]), str(data["body"]))
    except FileNotFoundError as error:
        raise InvalidNotice(f"translation file {file} does not exist") from error
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InvalidNotice(f"cannot read translation file {file}: {error}") from error
    except KeyError as error:
        raise InvalidNotice(f"translation file {file} lacks the field {error.args[0]!r}") from error
    cli = state(ctx)
    admin = cli.principal(Role.ADMIN)
    service = cli.service()
    current = service.current_notice(admin.tenant_id, key)
    version, created = service.translate_notice(admin, current.id, draft)
    word = "published" if created else "unchanged, already"
    typer.echo(f"notice {version.key!r} version {version.version} in {version.language}: {word}")


@notice_app.command("show")
def notice_show(
    ctx: typer.Context,
    key: Annotated[str, typer.Option(help="Notice key.")] = DEFAULT_NOTICE_KEY,
    language: Language = None,
    as_json: AsJson = False,
) -> None:
    """Print the current version of a notice."""
    cli = state(ctx)
    wanted = [language] if language else []
    version = cli.service().current_notice(cli.principal().tenant_id, key, wanted)
    if as_json:
        typer.echo(json.dumps(_jsonable(version.__dict__), indent=2, ensure_ascii=False))
        return
    typer.echo(f"{version.title}\n(notice {version.key!r}, version {version.version})\n")
    typer.echo(version.body)


@tenant_app.command("set")
def tenant_set(
    ctx: typer.Context,
    ai_features: Annotated[OnOff | None, typer.Option(help="AI features for the tenant.")] = None,
    training_sharing: Annotated[
        OnOff | None, typer.Option(help="Keep consented content as training data.")
    ] = None,
    vendor_sharing: Annotated[
        OnOff | None, typer.Option(help="Share consented content with vendors.")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Revoke what turning a switch off revokes, unasked.")
    ] = False,
) -> None:
    """Turn the tenant's switches on or off. A switch is never anyone's consent. Turning
    training sharing or AI features off revokes every published export and retires every
    kept training example, for good: you are shown how many and asked first."""
    from minutekeeper.consent.errors import ConfirmationRequired

    cli = state(ctx)
    admin = cli.principal(Role.ADMIN)
    switches = {
        "ai_features_enabled": _flag(ai_features),
        "training_sharing_enabled": _flag(training_sharing),
        "vendor_sharing_enabled": _flag(vendor_sharing),
    }
    try:
        tenant = cli.runtime().set_switches(admin, confirm=yes, **switches)
    except ConfirmationRequired as error:
        typer.echo(f"This is {error}.")
        if not typer.confirm("Go on?", default=False):
            typer.echo("Nothing changed.")
            raise typer.Exit(1) from None
        tenant = cli.runtime().set_switches(admin, confirm=True, **switches)
    _print_switches(tenant.__dict__)


@tenant_app.command("show")
def tenant_show(ctx: typer.Context) -> None:
    """Print the tenant's switches."""
    cli = state(ctx)
    _print_switches(cli.service().tenant(cli.principal().tenant_id).__dict__)


def _print_switches(tenant: dict[str, Any]) -> None:
    for name in ("ai_features_enabled", "training_sharing_enabled", "vendor_sharing_enabled"):
        label = name.removesuffix("_enabled").replace("_", " ")
        typer.echo(f"{label}: {'on' if tenant[name] else 'off'}")


def _parse_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError as error:
        raise InvalidValue(f"--valid-until takes a date as YYYY-MM-DD, not {value!r}") from error
    return day.replace(tzinfo=UTC)


@app.command("give")
def give(
    ctx: typer.Context,
    purpose: Purpose = TRAIN_AI_SYSTEM,
    subject: Subject = None,
    valid_until: Annotated[
        str | None, typer.Option(help="Last day the consent holds (YYYY-MM-DD).")
    ] = None,
    language: Language = None,
    yes: Annotated[bool, typer.Option("--yes", help="Accept without a prompt.")] = False,
) -> None:
    """Show the notice, record that you saw it (in the language you read), and record
    your consent."""
    from minutekeeper.consent import check_request

    cli = state(ctx)
    service, me = cli.service(), cli.owner()
    # Refuse bad input before the notice is shown and its serving recorded.
    check_request(
        me,
        purpose=purpose,
        state=ConsentState.GIVEN,
        subject_id=subject,
        valid_until=_parse_date(valid_until),
        validity=service.validity,
        now=service.clock(),
    )
    version = service.current_notice(me.tenant_id, languages=[language] if language else [])
    typer.echo(f"{version.title}\n(notice {version.key!r}, version {version.version}, "
               f"{version.language})\n")  # fmt: skip
    typer.echo(version.body + "\n")
    service.serve_notice(me, version, surface="cli")
    if not yes and not typer.confirm(f"Agree to {purpose} as described above?", default=False):
        typer.echo("Nothing recorded. To refuse explicitly: minutekeeper consent refuse")
        return
    event = service.record(
        me,
        ConsentState.GIVEN,
        purpose=purpose,
        subject_id=subject,
        notice_version_id=version.id,
        valid_until=_parse_date(valid_until),
        via=LOCAL_OWNER,
    )
    _print_event(event)


@app.command("refuse")
def refuse(ctx: typer.Context, purpose: Purpose = TRAIN_AI_SYSTEM, subject: Subject = None) -> None:
    """Record that you do not agree."""
    cli = state(ctx)
    _print_event(
        cli.service().record(
            cli.owner(), ConsentState.REFUSED, purpose=purpose, subject_id=subject, via=LOCAL_OWNER
        )
    )


@app.command("withdraw")
def withdraw(
    ctx: typer.Context, purpose: Purpose = TRAIN_AI_SYSTEM, subject: Subject = None
) -> None:
    """Withdraw consent you gave: one call, as easy as giving it."""
    cli = state(ctx)
    _print_event(
        cli.service().record(
            cli.owner(),
            ConsentState.WITHDRAWN,
            purpose=purpose,
            subject_id=subject,
            via=LOCAL_OWNER,
        )
    )


@app.command("status")
def status(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Your current consent, and whether your contributions may be kept for training now."""
    cli = state(ctx)
    service, me = cli.service(), cli.principal()
    events = service.history(me)
    latest: dict[str, ConsentEvent] = {}
    for event in events:
        latest[event.purpose] = event
    preview = service.preview(me)
    tenant = service.tenant(me.tenant_id)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "subject_id": me.subject_id,
                    "consent": {p: _jsonable(e.__dict__) for p, e in latest.items()},
                    "tenant": _jsonable(tenant.__dict__),
                    "training_use_now": {
                        "result": preview.result.value,
                        "reasons": list(preview.reasons),
                    },
                },
                indent=2,
            )
        )
        return
    if not latest:
        typer.echo("You have not decided on any purpose yet (no consent is assumed).")
    for purpose, event in latest.items():
        until = f", valid until {event.valid_until:%Y-%m-%d}" if event.valid_until else ""
        typer.echo(
            f"{purpose}: {event.state.value} at {event.recorded_at:%Y-%m-%d %H:%M} UTC{until}"
        )
    _print_switches(tenant.__dict__)
    verdict = "may be kept" if preview.allowed else "will not be kept"
    reasons = f" ({', '.join(preview.reasons)})" if preview.reasons else ""
    typer.echo(f"Meeting summaries with only you in them {verdict} for training{reasons}.")


@app.command("history")
def history(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Every consent decision you recorded, oldest first, with its ledger hash."""
    cli = state(ctx)
    events = cli.service().history(cli.principal())
    if as_json:
        typer.echo(json.dumps([_jsonable(e.__dict__) for e in events], indent=2))
        return
    if not events:
        typer.echo("No consent decisions recorded.")
    for event in events:
        typer.echo(
            f"#{event.seq} {event.recorded_at:%Y-%m-%d %H:%M:%S} {event.purpose} "
            f"{event.state.value} via {event.method} entry {event.entry_hash[:16]}"
            + (f" (notice read in {event.served_language})" if event.served_language else "")
        )


def _print_event(event: ConsentEvent) -> None:
    typer.echo(f"recorded: {event.purpose} {event.state.value} (ledger entry #{event.seq})")


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, tuple):
            return list(value)
        return value

    return {k: convert(v) for k, v in values.items()}
