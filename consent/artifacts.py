"""Artifacts: an AI output with the input behind it and the people whose words are in it.

The gate reads only an artifact's structured fields (kind, tenant, contributors, capture
time); the content is stored for capture and export but never consulted (rule 18).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from minutekeeper.consent.chain import canonical_json, sha256_hex
from minutekeeper.consent.domain import Artifact, ArtifactKind, DataClass
from minutekeeper.consent.errors import (
    InvalidValue,
    SourceDeleted,
    TenantMismatch,
    UnknownArtifact,
)
from minutekeeper.consent.store import ArtifactRecord, DeletedSourceRecord

MAX_CONTENT_BYTES = 50_000_000
MAX_CONTRIBUTORS = 10_000


def _artifact(row: Any) -> Artifact:
    return Artifact(
        id=row.id,
        tenant_id=row.tenant_id,
        kind=ArtifactKind(row.kind),
        data_class=DataClass(row.data_class),
        contributors=tuple(row.contributors),
        captured_at=row.captured_at,
        content_sha256=row.content_sha256,
        model_id=row.model_id,
        prompt_version=row.prompt_version,
        received_at=row.received_at or row.captured_at,
        time_vouched_by=tuple(row.time_vouched_by or ()),
        attributions=attributions_of(row.attributions),
        claims_recorded=row.attributions is not None,
    )


def attributions_of(stored: Any) -> dict[str, tuple[tuple[str, str], ...]]:
    """The stored claims (`{subject: [[label, binding], ...]}`) as the gate reads them."""
    return {s: tuple((label, key) for label, key in claims) for s, claims in (stored or {}).items()}


def record_artifact(
    conn: Connection,
    *,
    tenant_id: str,
    kind: ArtifactKind,
    data_class: DataClass,
    input: Any,
    output: Any,
    contributors: Sequence[str],
    received_at: datetime,
    content_time: datetime | None = None,
    vouched_by: Sequence[str] = (),
    attributions: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    model_id: str | None = None,
    prompt_version: str | None = None,
    source: tuple[str, str] | None = None,
) -> Artifact:
    """Store an artifact. Its content time is `content_time` where one is stated and
    earlier than `received_at` (a stated time never makes content newer than its arrival),
    else its arrival; it is trusted only for the contributors in `vouched_by`. `source`
    names the saved meeting or draft it was made from: one deleted is refused."""
    if is_deleted(conn, source):
        raise SourceDeleted(f"the {source[0] if source else 'source'} this was made from "
                            "was deleted; nothing made from it is kept")  # fmt: skip
    if len(contributors) > MAX_CONTRIBUTORS:
        raise InvalidValue(f"an artifact can name at most {MAX_CONTRIBUTORS} contributors")
    content = canonical_json({"input": input, "output": output})
    if len(content) > MAX_CONTENT_BYTES:
        raise InvalidValue("artifact content is larger than 50 MB")
    artifact_id = str(uuid.uuid4())
    conn.execute(
        insert(ArtifactRecord).values(
            id=artifact_id,
            tenant_id=tenant_id,
            kind=ArtifactKind(kind).value,
            data_class=DataClass(data_class).value,
            input=input,
            output=output,
            contributors=list(dict.fromkeys(contributors)),
            model_id=model_id,
            prompt_version=prompt_version,
            captured_at=min(content_time, received_at) if content_time else received_at,
            received_at=received_at,
            time_vouched_by=sorted(set(vouched_by) & set(contributors)),
            attributions={
                subject: [list(pair) for pair in claims]
                for subject, claims in (attributions or {}).items()
                if subject in contributors
            },
            content_sha256=sha256_hex(content),
            # Named only when there is one (an unsaved source's row is as it was before
            # sources were recorded).
            **({"source_kind": source[0], "source_id": source[1]} if source else {}),
        )
    )
    return get_artifact(conn, artifact_id, tenant_id=tenant_id)


# Only the structured fields: the content can be megabytes and the gate never reads it.
# Built once: every decision reads one, and building the statement cost more than running it.
_STRUCTURE = select(
    *(getattr(ArtifactRecord, c) for c in (
        "id", "tenant_id", "kind", "data_class", "contributors", "captured_at", "content_sha256",
        "model_id", "prompt_version", "received_at", "time_vouched_by", "attributions",
    ))
).where(ArtifactRecord.id == bindparam("artifact_id"))  # fmt: skip


def get_artifact(conn: Connection, artifact_id: str, *, tenant_id: str) -> Artifact:
    """One artifact of `tenant_id`; another tenant's is refused (rule 15)."""
    row = conn.execute(_STRUCTURE, {"artifact_id": artifact_id}).first()
    if row is None:
        raise UnknownArtifact(f"no artifact {artifact_id}")
    if row.tenant_id != tenant_id:
        raise TenantMismatch(f"artifact {artifact_id} belongs to another tenant")
    return _artifact(row)


def is_deleted(conn: Connection, source: tuple[str, str] | None) -> bool:
    """Whether the saved meeting or draft `source` was deleted (`consent.deletion`); None,
    an unsaved source, never was."""
    if source is None:
        return False
    d = DeletedSourceRecord
    found = conn.execute(
        select(d.source_id).where(d.source_kind == source[0], d.source_id == source[1])
    ).first()
    return found is not None


def made_from_deleted(conn: Connection, artifact_id: str) -> bool:
    """Whether the artifact was made from a saved meeting or draft since deleted."""
    art = ArtifactRecord
    row = conn.execute(select(art.source_kind, art.source_id).where(art.id == artifact_id)).first()
    if row is None or row.source_kind is None or row.source_id is None:
        return False
    return is_deleted(conn, (row.source_kind, row.source_id))
