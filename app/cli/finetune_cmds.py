"""`minutekeeper train`, `models lineage` and `models remove`: the models fine-tuned on a
training export, which of them saw a person's words, and retiring one."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from minutekeeper.cli.context import state
from minutekeeper.cli.export_cmds import AsJson, ExportRef
from minutekeeper.consent import Role


def train(
    ctx: typer.Context,
    ref: ExportRef,
    base: Annotated[
        str,
        typer.Option(
            help="Model to fine-tune: gemma3-270m, qwen2.5-coder-0.5b-instruct, a fine-tuned "
            "id, a folder, or a hub id."
        ),
    ] = "gemma3-270m",
    name: Annotated[
        str | None, typer.Option(help="Id to register the model under (default: generated).")
    ] = None,
    epochs: Annotated[float, typer.Option(min=0.01, help="Passes over the training set.")] = 1.0,
    max_steps: Annotated[
        int | None, typer.Option(min=1, help="Optimizer steps; overrides --epochs.")
    ] = None,
    learning_rate: Annotated[float, typer.Option(min=0.0, help="Peak learning rate.")] = 5e-5,
    batch_size: Annotated[int, typer.Option(min=1, help="Examples per step.")] = 4,
    gradient_accumulation: Annotated[int, typer.Option(min=1, help="Batches per step.")] = 1,
    max_length: Annotated[
        int, typer.Option(min=16, help="Longest example in tokens; longer ones are left out.")
    ] = 2048,
    lora: Annotated[bool, typer.Option(help="Train LoRA adapters (peft), merged after.")] = False,
    lora_rank: Annotated[int, typer.Option(min=1, help="LoRA rank.")] = 16,
    heldout: Annotated[
        float, typer.Option(help="Share of records held out for evaluation (0 to <1).")
    ] = 0.1,
    plain_prompt: Annotated[
        bool, typer.Option(help="The plain 'User: …/Assistant:' format, not the chat template.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    threads: Annotated[int, typer.Option(min=0, help="CPU threads (0: all).")] = 0,
    as_json: AsJson = False,
) -> None:
    """Fine-tune a model on a training export, record which export trained it, and register
    it so `--llm ID` selects it. Refuses a revoked or expired export."""
    from minutekeeper.features.finetune import TrainRequest, train_on_export
    from minutekeeper.models.finetune import TrainingConfig

    cli = state(ctx)
    exporter = cli.principal(Role.ML_EXPORTER)
    config = TrainingConfig(
        epochs=epochs, max_steps=max_steps, learning_rate=learning_rate, batch_size=batch_size,
        gradient_accumulation=gradient_accumulation, max_length=max_length, lora=lora,
        lora_rank=lora_rank, lora_alpha=2 * lora_rank, seed=seed, threads=threads,
    )  # fmt: skip
    request = TrainRequest(export=ref, base_model=base, model_id=name, heldout_share=heldout,
                           plain_prompt=plain_prompt, config=config)  # fmt: skip

    def progress(step: int, steps: int, loss: float) -> None:
        typer.echo(f"\rtrain: step {step}/{steps}, loss {loss:.3f}   ", err=True, nl=False)

    report = train_on_export(cli.service(), cli.settings(), exporter, request, on_step=progress)
    typer.echo("", err=True)
    result = report.result
    if as_json:
        typer.echo(json.dumps({
            "model_id": report.model_id, "path": str(report.path),
            "converted": str(report.converted) if report.converted else None,
            "conversion_error": report.conversion_error, "dropped": report.dropped,
            **{k: v for k, v in asdict(result).items() if k != "log"},
        }, indent=2))  # fmt: skip
        return
    lineage = report.lineage
    typer.echo(f"model {report.model_id}: fine-tuned from {lineage.base_model} on export "
               f"v{lineage.export_version} ({lineage.export_id})")  # fmt: skip
    typer.echo(f"  {result.examples} examples, {result.heldout} held out, {result.steps} steps "
               f"on {result.device} in {result.seconds:.0f} s")  # fmt: skip
    left_out = {"longer than --max-length": result.too_long, **report.dropped}
    for why, n in left_out.items():
        if n:
            typer.echo(f"  left out: {n} {why}")
    typer.echo(f"  loss per assistant token, training set: {result.train_loss_before:.3f} -> "
               f"{result.train_loss_after:.3f}")  # fmt: skip
    if result.heldout_loss_before is not None and result.heldout_loss_after is not None:
        typer.echo(f"  held out: {result.heldout_loss_before:.3f} -> "
                   f"{result.heldout_loss_after:.3f}")  # fmt: skip
    typer.echo(f"  lineage: export manifest sha256 {lineage.manifest_sha256}, ledger position "
               f"{lineage.ledger_seq}")  # fmt: skip
    typer.echo(f"  saved: {report.path}")
    if report.converted is not None:
        typer.echo(f"  CTranslate2: {report.converted}")
    else:
        typer.echo(f"  CTranslate2: not converted ({report.conversion_error}); use "
                   "--llm-backend transformers")  # fmt: skip
    typer.echo(f"use it: minutekeeper summarize … --engine llm --llm {report.model_id}")


def lineage(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="The person: subject id, id prefix, or name.")],
    as_json: AsJson = False,
) -> None:
    """The fine-tuned models whose training exports held this person's words."""
    from minutekeeper.consent.exports import lineage_json, models_trained_on
    from minutekeeper.models.trained import find_trained

    cli = state(ctx)
    admin = cli.principal(Role.ADMIN)
    service = cli.service()
    person = service.find_subject(admin.tenant_id, subject)
    hits = models_trained_on(service.engine, admin.tenant_id, person.id)
    cache = cli.settings().resolved_model_cache_dir()
    if as_json:
        rows = [{**lineage_json(h), "registered_here": find_trained(cache, h.lineage.model_id)
                 is not None} for h in hits]  # fmt: skip
        typer.echo(json.dumps({"subject_id": person.id, "models": rows}, indent=2))
        return
    who = f"{person.display_name} ({person.id})" if person.display_name else person.id
    if not hits:
        typer.echo(f"no model was trained on an export holding the words of {who}")
        return
    typer.echo(f"{len(hits)} model(s) were trained on exports holding the words of {who}:")
    for hit in hits:
        model = hit.lineage
        seen = f"{hit.records} record(s) of export v{hit.export_version} ({hit.export_status}"
        seen += f", {hit.withdrawn} withdrawn since)" if hit.withdrawn else ")"
        via = f" through its base {hit.through}" if hit.through else ""
        here = "" if find_trained(cache, model.model_id) else " [not registered on this machine]"
        typer.echo(f"  {model.model_id}  trained {model.trained_at:%Y-%m-%d %H:%M} on export "
                   f"v{model.export_version}; saw {seen}{via}{here}")  # fmt: skip


def remove_model(
    ctx: typer.Context,
    model_id: Annotated[str, typer.Argument(help="The fine-tuned model's id.")],
    reason: Annotated[str, typer.Option(help="Why it is retired (audited).")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Retire a fine-tuned model, e.g. one trained on words since withdrawn: its folder and
    conversions are deleted on this machine and the removal is audited. Its lineage stays,
    so `models lineage` still names it; copies on other machines are not reached."""
    from minutekeeper.consent.exports import record_removal
    from minutekeeper.models.trained import registered, remove_trained

    cli = state(ctx)
    exporter = cli.principal(Role.ML_EXPORTER)
    cache = cli.settings().resolved_model_cache_dir()
    service = cli.service()
    registered(cache, model_id)  # an unknown id fails here, before the audit entry
    if not yes:
        typer.confirm(f"Delete the fine-tuned model {model_id!r} from this machine?", abort=True)
    record_removal(service.engine, service.writer, exporter.tenant_id, model_id,
                   actor=exporter.subject_id, reason=reason)  # fmt: skip
    for path in remove_trained(cache, model_id):
        typer.echo(f"deleted {path}")
    typer.echo(f"model {model_id} removed; its lineage stays (`minutekeeper models lineage`)")
