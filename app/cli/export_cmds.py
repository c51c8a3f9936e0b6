"""`minutekeeper export ...`, `erase` and `purge`: the training data the consent rules let
the ML team have, and the commands that take it away again."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer

from minutekeeper.cli.context import state
from minutekeeper.consent import Role

app = typer.Typer(
    help="Training exports of consented, redacted examples (the ML team's side).",
    no_args_is_help=True,
)
candidates_app = typer.Typer(
    help="Training candidates: what the gate kept, before any export.", no_args_is_help=True
)
ExportRef = Annotated[str, typer.Argument(help="Export id, unique id prefix, or version number.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@app.command("create")
def create(
    ctx: typer.Context,
    supersedes: Annotated[
        str | None, typer.Option(help="The export this version replaces (e.g. a revoked one).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Re-decide every training candidate now and publish a new export version."""
    from minutekeeper.consent.exports import ExportHooks, create_export

    cli = state(ctx)
    exporter = cli.principal(Role.ML_EXPORTER)
    service = cli.service()

    def progress(written: int) -> None:
        typer.echo(f"\rexport: {written} records written", err=True, nl=False)

    info = create_export(
        service.engine,
        service.writer,
        exporter.tenant_id,
        requested_by=exporter.subject_id,
        exports_dir=cli.settings().resolved_export_dir(),
        supersedes=supersedes,
        hooks=ExportHooks(on_batch=progress),
    )
    typer.echo("", err=True)
    _show(info, as_json=as_json)


@app.command("list")
def list_(ctx: typer.Context, as_json: AsJson = False) -> None:
    """The tenant's export versions, newest first."""
    from minutekeeper.consent.exports import list_exports, sweep

    cli = state(ctx)
    service = cli.service()
    sweep(service.engine, service.writer, cli.settings().resolved_export_dir())
    exports = list_exports(service.engine, cli.principal(Role.ML_EXPORTER).tenant_id)
    if as_json:
        typer.echo(json.dumps([_json(e) for e in exports], indent=2))
        return
    if not exports:
        typer.echo("no exports yet; `minutekeeper export create` builds one")
    for e in exports:
        included = e.counts["included"] if e.counts else "-"
        created = f"{e.created_at:%Y-%m-%d %H:%M}"
        typer.echo(f"v{e.version}  {e.id}  {e.status:<8}  {included} records  {created}")


@app.command("show")
def show(ctx: typer.Context, ref: ExportRef, as_json: AsJson = False) -> None:
    """One export: status, counts, ledger position, folder."""
    from minutekeeper.consent.exports import get_export

    cli = state(ctx)
    _show(get_export(cli.engine(), cli.principal(Role.ML_EXPORTER).tenant_id, ref), as_json=as_json)


@app.command("tombstones")
def tombstones(ctx: typer.Context, ref: ExportRef) -> None:
    """The records of an export that may no longer be used, one JSON object per line."""
    from minutekeeper.consent.exports import export_tombstones, get_export, sync_files

    cli = state(ctx)
    tenant_id = cli.principal(Role.ML_EXPORTER).tenant_id
    info = get_export(cli.engine(), tenant_id, ref)
    sync_files(cli.engine(), [info.id])  # the folder's copy catches up if it fell behind
    for tombstone in export_tombstones(cli.engine(), tenant_id, info.id):
        typer.echo(json.dumps(tombstone))


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    ref: ExportRef,
    reason: Annotated[str, typer.Option(help="Why it may no longer be used.")],
) -> None:
    """Mark a published export revoked (audited)."""
    from minutekeeper.consent.exports import revoke_export

    cli = state(ctx)
    exporter = cli.principal(Role.ML_EXPORTER)
    service = cli.service()
    info = revoke_export(
        service.engine, service.writer, exporter.tenant_id, ref, actor_id=exporter.subject_id,
        reason=reason,
    )  # fmt: skip
    _show(info, as_json=False)


def _json(info: Any) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in asdict(info).items()}


def _show(info: Any, *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(_json(info), indent=2))
        return
    typer.echo(f"export v{info.version} {info.id}: {info.status}")
    if info.status_reason:
        typer.echo(f"  reason: {info.status_reason}")
    if info.supersedes_id:
        typer.echo(f"  supersedes: {info.supersedes_id}")
    if info.counts:
        counts = info.counts
        typer.echo(f"  records: {counts['included']} of {counts['candidates']} candidates")
        for why, n in counts["excluded"].items():
            typer.echo(f"  excluded {why}: {n}")
    if info.ledger_seq is not None:
        typer.echo(
            f"  ledger position: {info.ledger_seq} (re-checked through {info.rechecked_seq})"
        )
        typer.echo(f"  manifest sha256: {info.manifest_sha256}")
        typer.echo(f"  folder: {info.path}")


def erase(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="The person: subject id, id prefix, or name.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a person: their words in meetings and drafts (wherever they were attributed to
    them), the recordings of those meetings, their training candidates, their name, the
    data files of every export holding their records, stored answers and job messages
    quoting them, their tokens and web sessions. Cannot be undone."""
    from minutekeeper.api.idempotency import forget_quoting as forget_answers
    from minutekeeper.api.tokens import list_tokens, revoke_token
    from minutekeeper.core.db import checkpoint_wal
    from minutekeeper.features.erasure import erase_person
    from minutekeeper.jobs.store import forget_quoting as forget_job_messages

    cli = state(ctx)
    admin = cli.principal(Role.ADMIN)
    service = cli.service()
    person = service.find_subject(admin.tenant_id, subject)
    # Named as people know them, before the name goes with the rest.
    who = f"{person.display_name} ({person.id})" if person.display_name else person.id
    if not yes:
        typer.confirm(f"Erase {who} everywhere? This cannot be undone", abort=True)
    report = erase_person(service, admin.tenant_id, person.id, actor_id=admin.subject_id,
                          media_root=cli.settings().resolved_media_dir())  # fmt: skip
    people = [s.id for s in service.subjects(admin.tenant_id)] + [report.subject_id]
    answers = forget_answers(service.engine, people, report.words)
    jobs = forget_job_messages(service.engine, admin.tenant_id, report.words)
    # Nobody signs in as an erased person any more: their tokens and web sessions end.
    for token in list_tokens(service.engine, admin.tenant_id):
        if token.subject_id == report.subject_id and token.revoked_at is None:
            revoke_token(service.engine, admin.tenant_id, token.id)
    checkpoint_wal(service.engine, truncate=True)
    typer.echo(
        f"erased {who}: {report.meetings} meeting(s), {report.drafts} draft(s), "
        f"{report.candidates} training candidate(s), {report.artifacts} artifact(s), "
        f"{answers} stored answer(s), {jobs} job message(s); {len(report.exports)} export(s) "
        "got tombstones"
    )


def purge(ctx: typer.Context) -> None:
    """Purge training candidates past their retention (each purge is audited)."""
    from minutekeeper.consent import purge_expired

    purged = purge_expired(state(ctx).service())
    typer.echo(f"purged {purged} expired training candidate(s)")


@candidates_app.command("reredact")
def reredact(ctx: typer.Context) -> None:
    """Redact candidates kept under an older redaction profile again, with the current one;
    tombstone their published records whose text it changes, exclude those it cannot redact."""
    from minutekeeper.consent import reredact_candidates

    runtime = state(ctx).runtime()
    done = reredact_candidates(runtime.service, runtime.redactor())
    typer.echo(
        f"re-redacted: {done.rewritten} rewritten, {done.unchanged} unchanged, "
        f"{done.excluded} excluded; {len(done.exports)} export(s) got tombstones"
    )
