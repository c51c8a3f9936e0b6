"""The ML team's side of the loop: fine-tune a model on a consented training export.

1. `consent.exports.lineage.training_set` reads the export: refused unless it is active and its
   files hash to what was published; tombstoned and expired records are left out.
2. The examples are split, by a hash of their record ids, into training and held-out sets
   (the held-out ids go into the model's metadata for `scripts/eval_finetune.py`).
3. `models.finetune` trains and saves the model into a staging folder.
4. The lineage row is written (refused if the export was revoked meanwhile), then the model
   is registered under its id so `--llm ID` selects it, then converted for CTranslate2.
   Lineage comes first on purpose: a crash between the steps leaves a lineage row for a
   model that was never registered (over-reporting, the safe side for tracing a
   withdrawal), never a registered model with no lineage.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from minutekeeper.consent import ConsentService, Principal
from minutekeeper.consent.exports import (
    Lineage,
    TrainingExample,
    lineage_exists,
    record_lineage,
    training_set,
)
from minutekeeper.core.settings import Settings
from minutekeeper.models.embedded_llm import GEMMA
from minutekeeper.models.errors import ModelError, ModelUnavailable
from minutekeeper.models.finetune import FinetuneResult, OnStep, TrainingConfig, finetune
from minutekeeper.models.locate import locate_llm
from minutekeeper.models.trained import (
    TRAINED,
    check_model_id,
    find_trained,
    publish_trained,
    trained_metadata,
)


@dataclass(frozen=True)
class TrainRequest:
    export: str  # id, id prefix or version number
    # Gemma 3 270M, whose fine-tuning scripts/eval_finetune.py measures; the default
    # generation model (Qwen2.5-Coder 0.5B) is named with --base.
    base_model: str = GEMMA.name
    model_id: str | None = None
    heldout_share: float = 0.1
    plain_prompt: bool = False  # the project's plain prompt format instead of the template
    config: TrainingConfig = field(default_factory=TrainingConfig)


@dataclass
class TrainReport:
    model_id: str
    path: Path
    lineage: Lineage
    result: FinetuneResult
    dropped: dict[str, int]
    converted: Path | None
    conversion_error: str | None


def split_heldout(
    examples: Sequence[TrainingExample], share: float
) -> tuple[list[TrainingExample], list[TrainingExample]]:
    """(train, held out): the `share` of examples whose record ids hash lowest, at least
    one held out once there are 5 examples, and never all of them."""
    ranked = sorted(examples, key=lambda e: hashlib.sha256(e.record_id.encode()).hexdigest())
    count = round(len(ranked) * share)
    if share > 0 and len(ranked) >= 5:
        count = max(count, 1)
    count = min(count, len(ranked) - 1)
    held = {e.record_id for e in ranked[:count]}
    train = [e for e in examples if e.record_id not in held]
    return train, [e for e in examples if e.record_id in held]


def train_on_export(
    service: ConsentService,
    settings: Settings,
    exporter: Principal,
    request: TrainRequest,
    *,
    on_step: OnStep | None = None,
) -> TrainReport:
    cache = settings.resolved_model_cache_dir()
    if not 0 <= request.heldout_share < 1:
        raise ModelError("--heldout must be at least 0 and below 1")
    # The export first: a refusal should not wait for the base model to be prepared.
    dataset = training_set(service.engine, exporter.tenant_id, request.export, now=service.clock())
    base = locate_llm(request.base_model, cache_dir=cache).folder
    if not (base / "config.json").is_file() or (base / "model.bin").is_file():
        raise ModelUnavailable(
            f"{request.base_model!r} is a CTranslate2 conversion; fine-tuning needs the "
            "Hugging Face checkpoint it was converted from"
        )
    export = dataset.export
    model_id = check_model_id(request.model_id or _default_id(request.base_model, export.version))
    if find_trained(cache, model_id) is not None or lineage_exists(service.engine, model_id):
        raise ModelError(f"a model {model_id!r} already exists; choose another --name")
    base_model_id = request.base_model if find_trained(cache, request.base_model) else None
    train, heldout = split_heldout(dataset.examples, request.heldout_share)
    (cache / TRAINED).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model_id}-", dir=cache / TRAINED))
    try:
        result = finetune(
            base,
            [e.messages for e in train],
            [e.messages for e in heldout],
            staging,
            request.config,
            plain_prompt_format=request.plain_prompt,
            on_step=on_step,
        )
        details = {
            "config": asdict(request.config),
            "plain_prompt": request.plain_prompt,
            "result": {k: v for k, v in asdict(result).items() if k != "log"},
            "dropped": dataset.dropped,
            "tasks": _tasks(train),
        }
        lineage = Lineage(
            model_id=model_id,
            tenant_id=exporter.tenant_id,
            export_id=export.id,
            export_version=export.version,
            manifest_sha256=str(export.manifest_sha256),
            ledger_seq=int(export.ledger_seq or 0),
            base_model=request.base_model,
            base_model_id=base_model_id,
            trained_by=exporter.subject_id,
            trained_at=service.clock(),
            examples=result.examples,
            heldout=result.heldout,
            details=details,
        )
        record_lineage(service.engine, service.writer, lineage)
        metadata = {
            "model_id": model_id,
            "base_model": request.base_model,
            "export_id": export.id,
            "export_version": export.version,
            "export_path": export.path,
            "manifest_sha256": export.manifest_sha256,
            "ledger_seq": export.ledger_seq,
            "trained_at": lineage.trained_at.isoformat(),
            "heldout_record_ids": [e.record_id for e in heldout],
            "log": result.log,
            **details,
        }
        path = publish_trained(staging, cache, model_id, metadata)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    converted, error = _convert(path, cache)
    return TrainReport(model_id, path, lineage, result, dataset.dropped, converted, error)


def _convert(path: Path, cache: Path) -> tuple[Path | None, str | None]:
    """The CTranslate2 conversion, made now so the first `--llm` use is fast; a model
    CTranslate2 cannot convert still runs on the transformers backend."""
    from minutekeeper.models.conversion import convert

    try:
        return convert(path, cache_dir=cache), None
    except ModelUnavailable as error:
        return None, error.message


def _default_id(base_model: str, version: int) -> str:
    stem = re.sub(r"[^a-z0-9._-]+", "-", Path(base_model).name.lower()).strip("-._")[:40]
    return f"{stem or 'model'}-ft-v{version}-{uuid.uuid4().hex[:6]}"


def _tasks(examples: Sequence[TrainingExample]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.task] = counts.get(example.task, 0) + 1
    return dict(sorted(counts.items()))


def heldout_examples(settings: Settings, service: ConsentService, exporter: Principal,
                     model_id: str) -> tuple[dict[str, Any], list[TrainingExample]]:  # fmt: skip
    """A fine-tuned model's metadata and its held-out examples, read again from its export
    (which must still be usable: a revoked export is not evaluated on either)."""
    metadata = trained_metadata(settings.resolved_model_cache_dir(), model_id)
    dataset = training_set(service.engine, exporter.tenant_id, str(metadata["export_id"]),
                           now=service.clock())  # fmt: skip
    held = set(metadata["heldout_record_ids"])
    return metadata, [e for e in dataset.examples if e.record_id in held]
