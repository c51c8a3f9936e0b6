"""Which export trained which model, so a withdrawal can be traced to the models it touched.

A training run reads the export through `training_set`: the export must be `active` (not
revoked, failed or still building), its manifest must hash to the sha256 the database
recorded at publication, and every data file to the hash in the manifest; records with a
tombstone or past their `expires_at` are dropped, and an export with nothing left is
refused as expired. When the model is saved, `record_lineage` writes model id -> export id
and version -> manifest sha256 -> the ledger position the export was built at, after
reading the export's status again under the writer lock that a withdrawal also takes: a
withdrawal during training either revokes the export first (and the run registers
nothing) or finds the lineage row already written, so `models_trained_on` lists the model.

`models_trained_on(subject)` finds the subject in each training export by pseudonym: the
HMAC-SHA256 of the subject id under the export's own key (it never leaves the server),
looked up in the export's `records.parquet`. It works after the person is erased (the id
stays, the name goes) and for models fine-tuned from such a model, which are listed too.
A model retired later (`record_removal`, audited) keeps its lineage row for that reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from minutekeeper.consent.chain import ChainWriter
from minutekeeper.consent.errors import ConsentError
from minutekeeper.consent.exports import tombstones
from minutekeeper.consent.exports.catalog import ExportInfo, get_export, row
from minutekeeper.consent.exports.dataset import (
    DATA_FILE,
    MANIFEST_FILE,
    RECORDS_FILE,
    valid_messages,
)
from minutekeeper.consent.store import (
    CandidateContributorRecord,
    DatasetExportRecord,
    ExportedExampleRecord,
    ModelLineageRecord,
)
from minutekeeper.core.db import read_transaction, write_transaction


class ExportNotUsable(ConsentError):
    """The export may not (or can no longer) be used for training."""

    code = "export_not_usable"


@dataclass(frozen=True)
class TrainingExample:
    record_id: str
    task: str
    messages: list[dict[str, str]]


@dataclass(frozen=True)
class TrainingSet:
    export: ExportInfo
    examples: list[TrainingExample]
    dropped: dict[str, int]  # reason -> records left out ("tombstoned", "expired")


@dataclass(frozen=True)
class Lineage:
    model_id: str
    tenant_id: str
    export_id: str
    export_version: int
    manifest_sha256: str
    ledger_seq: int
    base_model: str
    base_model_id: str | None  # set when the base is itself a model trained here
    trained_by: str
    trained_at: datetime
    examples: int
    heldout: int
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LineageHit:
    """A model whose training data held the subject's words (directly, or through its base)."""

    lineage: Lineage
    export_id: str  # the export holding the subject's records (the ancestor's, if through)
    export_version: int
    export_status: str
    records: int  # the subject's records in the export the model (or its ancestor) saw
    withdrawn: int  # of those, records tombstoned since
    through: str | None  # the ancestor model that saw them, when not this model itself


def training_set(engine: Engine, tenant_id: str, ref: str, *, now: datetime) -> TrainingSet:
    """The usable examples of the tenant's export `ref`, checked against its manifest."""
    import pyarrow.parquet as pq

    info = get_export(engine, tenant_id, ref)
    _check_usable(info)
    folder = Path(info.path)
    manifest = _verified_manifest(info, folder)
    with read_transaction(engine) as conn:
        withdrawn = {t["record_id"] for t in tombstones.tombstones_of(conn, info.id)}
    expiry = {
        r["record_id"]: r["expires_at"]
        for r in pq.read_table(
            folder / RECORDS_FILE, columns=["record_id", "expires_at"]
        ).to_pylist()
    }
    examples: list[TrainingExample] = []
    dropped = {"tombstoned": 0, "expired": 0}
    table = pq.read_table(folder / DATA_FILE, columns=["record_id", "task", "messages"])
    for record in table.to_pylist():
        record_id = record["record_id"]
        if record_id in withdrawn:
            dropped["tombstoned"] += 1
        elif record_id not in expiry or _utc(expiry[record_id]) <= now:
            dropped["expired"] += 1
        elif not valid_messages(record["messages"]):
            raise ExportNotUsable(
                f"export v{info.version}: record {record_id} is not a chat example"
            )
        else:
            examples.append(TrainingExample(record_id, record["task"], record["messages"]))
    if not examples and not manifest["counts"]["included"]:
        raise ExportNotUsable(
            f"export v{info.version} ({info.id}) holds no records, so there is nothing to train "
            "on; `minutekeeper export show` says why its candidates were excluded"
        )
    if not examples:
        raise ExportNotUsable(
            f"export v{info.version} ({info.id}) has no usable record left: "
            f"{dropped['expired']} expired, {dropped['tombstoned']} withdrawn, of "
            f"{manifest['counts']['included']}; build a new export (`minutekeeper export create`)"
        )
    return TrainingSet(info, examples, dropped)


def _check_usable(info: ExportInfo) -> None:
    if info.status == "active":
        return
    why = f" ({info.status_reason})" if info.status_reason else ""
    if info.status == "revoked":
        raise ExportNotUsable(
            f"export v{info.version} ({info.id}) is revoked{why} and may not be used for "
            f"training; build a new export (`minutekeeper export create --supersedes "
            f"v{info.version}`) and train on that"
        )
    raise ExportNotUsable(
        f"export v{info.version} ({info.id}) is {info.status}{why}, not published"
    )


def _verified_manifest(info: ExportInfo, folder: Path) -> dict[str, Any]:
    """The manifest, after checking it and every file it lists against their hashes."""
    try:
        raw = (folder / MANIFEST_FILE).read_bytes()
    except OSError as error:
        raise ExportNotUsable(f"export v{info.version}: cannot read {folder / MANIFEST_FILE}: "
                              f"{error.strerror}") from error  # fmt: skip
    if hashlib.sha256(raw).hexdigest() != info.manifest_sha256:
        raise ExportNotUsable(
            f"export v{info.version}: {MANIFEST_FILE} is not the one published (sha256 differs)"
        )
    manifest: dict[str, Any] = json.loads(raw)
    for entry in manifest["files"]:
        path = folder / entry["path"]
        try:
            digest = _sha256_file(path)
        except OSError as error:
            raise ExportNotUsable(f"export v{info.version}: cannot read {path}: "
                                  f"{error.strerror}") from error  # fmt: skip
        if digest != entry["sha256"]:
            raise ExportNotUsable(
                f"export v{info.version}: {entry['path']} was changed after publication "
                "(its sha256 differs from the manifest)"
            )
    return manifest


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def record_lineage(engine: Engine, writer: ChainWriter, lineage: Lineage) -> None:
    """Write the lineage row and its audit entry, if the export is still active."""
    with write_transaction(engine) as conn:  # the lock a withdrawal's tombstones take
        export = row(conn, lineage.export_id)
        if export.status != "active" or export.manifest_sha256 != lineage.manifest_sha256:
            why = f": {export.status_reason}" if export.status_reason else ""
            raise ExportNotUsable(
                f"export v{export.version} was {export.status} while the model trained{why}; "
                "the model was not registered"
            )
        table = ModelLineageRecord
        exists = conn.execute(
            select(table.model_id).where(table.model_id == lineage.model_id)
        ).first()
        if exists is not None:
            raise ConsentError(f"a model {lineage.model_id!r} already has a lineage record")
        conn.execute(insert(ModelLineageRecord).values(**_columns(lineage)))
        writer.audit(
            conn,
            actor=lineage.trained_by,
            action="model.trained",
            object_type="model",
            object_id=lineage.model_id,
            payload={
                "model_id": lineage.model_id,
                "export_id": lineage.export_id,
                "manifest_sha256": lineage.manifest_sha256,
                "ledger_seq": lineage.ledger_seq,
                "base_model": lineage.base_model,
            },
        )


def record_removal(
    engine: Engine, writer: ChainWriter, tenant_id: str, model_id: str, *, actor: str, reason: str
) -> None:
    """Audit that a model trained here is retired (its lineage row stays: it still tells
    whose words trained it). Refused for a model this tenant has no lineage for."""
    with write_transaction(engine) as conn:
        table = ModelLineageRecord
        found = conn.execute(
            select(table.model_id).where(table.model_id == model_id, table.tenant_id == tenant_id)
        ).first()
        if found is None:
            raise ConsentError(f"no model {model_id!r} was trained on this tenant's exports")
        payload = {"model_id": model_id, "reason": reason}
        writer.audit(conn, actor=actor, action="model.removed", object_type="model",
                     object_id=model_id, payload=payload)  # fmt: skip


def _columns(lineage: Lineage) -> dict[str, Any]:
    return {name: getattr(lineage, name) for name in Lineage.__dataclass_fields__}


def lineages(engine: Engine, tenant_id: str) -> list[Lineage]:
    """The tenant's trained models, oldest first."""
    with read_transaction(engine) as conn:
        rows = conn.execute(
            select(ModelLineageRecord)
            .where(ModelLineageRecord.tenant_id == tenant_id)
            .order_by(ModelLineageRecord.trained_at, ModelLineageRecord.model_id)
        ).all()
    return [_lineage(r) for r in rows]


def _lineage(r: Any) -> Lineage:
    return Lineage(**{name: getattr(r, name) for name in Lineage.__dataclass_fields__})


def models_trained_on(engine: Engine, tenant_id: str, subject_id: str) -> list[LineageHit]:
    """The models trained on an export that held the subject's words, and the models
    fine-tuned from those, oldest first."""
    models = lineages(engine, tenant_id)
    with read_transaction(engine) as conn:
        exports = {
            e.id: e
            for e in conn.execute(
                select(DatasetExportRecord).where(DatasetExportRecord.tenant_id == tenant_id)
            ).all()
        }
        withdrawn = {
            e: {t["record_id"] for t in tombstones.tombstones_of(conn, e)}
            for e in {m.export_id for m in models}
        }
    found: dict[str, tuple[int, int]] = {}  # export id -> (records, withdrawn)
    for export_id in {m.export_id for m in models}:
        held = _records_holding(engine, exports[export_id], subject_id)
        if held:
            found[export_id] = (len(held), len(withdrawn[export_id].intersection(held)))
    hits: dict[str, LineageHit] = {}
    for model in models:  # oldest first, so a base is always seen before its descendants
        if model.export_id in found:
            export = exports[model.export_id]
            records, gone = found[model.export_id]
            hits[model.model_id] = LineageHit(model, export.id, export.version, export.status,
                                              records, gone, through=None)  # fmt: skip
        elif model.base_model_id in hits:
            ancestor = hits[model.base_model_id]
            hits[model.model_id] = replace(
                ancestor, lineage=model, through=ancestor.through or ancestor.lineage.model_id
            )
    return list(hits.values())


def _records_holding(engine: Engine, export: Any, subject_id: str) -> list[str]:
    """The export's records with the subject among their contributors: by pseudonym in its
    `records.parquet`; from the database's record -> candidate -> contributor rows when the
    file is gone (an erasure deletes the data files of every export holding the person;
    those rows stay)."""
    import pyarrow.parquet as pq

    name = hmac.new(bytes.fromhex(export.pseudonym_key), subject_id.encode(),
                    hashlib.sha256).hexdigest()[:24]  # fmt: skip
    try:
        records = pq.read_table(Path(export.path) / RECORDS_FILE,
                                columns=["record_id", "contributors"]).to_pylist()  # fmt: skip
    except OSError:
        er, cc = ExportedExampleRecord, CandidateContributorRecord
        with read_transaction(engine) as conn:
            return list(
                conn.execute(
                    select(er.record_id)
                    .join(cc, cc.candidate_id == er.candidate_id)
                    .where(er.export_id == export.id, cc.subject_id == subject_id)
                ).scalars()
            )
    return [r["record_id"] for r in records if name in r["contributors"]]


def lineage_exists(engine: Engine, model_id: str) -> bool:
    with read_transaction(engine) as conn:
        table = ModelLineageRecord
        found = conn.execute(select(table.model_id).where(table.model_id == model_id)).first()
    return found is not None


def lineage_json(hit: LineageHit) -> Mapping[str, Any]:
    model = hit.lineage
    return {
        "model_id": model.model_id,
        "trained_on_export_id": model.export_id,
        "trained_on_export_version": model.export_version,
        "manifest_sha256": model.manifest_sha256,
        "ledger_seq": model.ledger_seq,
        "subject_export_id": hit.export_id,
        "subject_export_version": hit.export_version,
        "subject_export_status": hit.export_status,
        "base_model": model.base_model,
        "trained_at": model.trained_at.isoformat(),
        "subject_records": hit.records,
        "subject_records_withdrawn": hit.withdrawn,
        "through": hit.through,
    }


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
