"""A saved source is deleted (a meeting, with the drafts written from it): what the consent
module made of it goes in the same transaction.

- Its artifacts are found by the source they record, and those captured before sources
  were recorded (migration 0016) by the bindings of the claims about its words, which an
  artifact holding a member's words carries (artifacts from before claims were recorded,
  migration 0011, name neither and are not found). Their content is emptied, as an
  erasure leaves it; the decisions stay (ids and reasons only).
- Their kept candidates are retired (`purged`, their examples deleted: never exportable
  again), and every record of them in a published export gets a tombstone with reason
  `deleted` and its export is revoked: the tombstone machinery a withdrawal uses
  (`exports.tombstones`), under the same writer lock that guards publishing.
- The requests asking people about its words lose those words and are closed.
- The source is remembered as deleted (ids only), so content made from it that reaches
  capture afterwards is refused (`artifacts.is_deleted`): an answer offered in the background while
  its meeting was being deleted is never kept.

The audit chain gets one entry naming the source, what was deleted with it and the ids of
what was emptied, retired and tombstoned: never a title or a word.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Text, and_, cast, insert, or_, select, update

from minutekeeper.consent import facts
from minutekeeper.consent.artifacts import is_deleted
from minutekeeper.consent.chain import ChainWriter
from minutekeeper.consent.exports import tombstones
from minutekeeper.consent.store import (
    ArtifactRecord,
    AttributionRequestRecord,
    DeletedSourceRecord,
    TrainingCandidateRecord,
)

DELETED = "deleted"  # the tombstones' and retired candidates' reason
_CHUNK = 500

Source = tuple[str, str]  # ("meeting", id) | ("draft", id)


@dataclass(frozen=True)
class Removal:
    """What a feature deleted of its own in the deleting transaction: the source, the
    sources deleted with it (drafts written from a meeting), and the bindings of the claims
    made about its words (`ConsentService.binding`), which find its artifacts captured
    before they recorded a source."""

    source: Source
    also: tuple[Source, ...] = ()
    bindings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Deleted:
    source: Source
    artifacts: tuple[str, ...]  # whose content was emptied
    candidates: tuple[str, ...]  # kept ones retired
    exports: tuple[str, ...]  # published exports whose records got tombstones


def delete_source(
    conn: Connection,
    writer: ChainWriter,
    *,
    tenant_id: str,
    removal: Removal,
    at: datetime,
    actor_id: str,
) -> Deleted:
    """Empty, retire, tombstone and forget what was made of `removal`'s sources (module
    docstring), in the caller's write transaction; audited as `<kind>.deleted`."""
    sources = list(dict.fromkeys([removal.source, *removal.also]))
    artifact_ids = _artifacts_of(conn, tenant_id, sources, removal.bindings)
    tc = TrainingCandidateRecord
    made: list[tuple[str, str]] = []
    for chunk in _chunks(artifact_ids):
        made += [
            (row.id, row.status)
            for row in conn.execute(
                select(tc.id, tc.status).where(tc.tenant_id == tenant_id, tc.artifact_id.in_(chunk))
            )
        ]
    exports = tombstones.tombstone_candidates(
        conn, writer, tenant_id=tenant_id, candidate_ids=[cid for cid, _ in made],
        reason=DELETED, at=at, actor_id=actor_id,
    )  # fmt: skip
    kept = sorted(cid for cid, status in made if status == "eligible")
    tombstones.retire(conn, writer, kept, status="purged", reason=DELETED, actor_id=actor_id)
    art = ArtifactRecord
    for chunk in _chunks(artifact_ids):
        conn.execute(
            update(art).where(art.id.in_(chunk)).values(input=facts.ERASED, output=facts.ERASED)
        )
    _close_requests(conn, tenant_id, sources)
    _remember(conn, tenant_id, sources, at)
    kind, source_id = removal.source
    writer.audit(
        conn,
        actor=actor_id,
        action=f"{kind}.deleted",
        object_type=kind,
        object_id=source_id,
        payload={"id": source_id, "with": [list(s) for s in sources[1:]],
                 "artifacts": artifact_ids, "candidates": kept, "exports": exports},
        facts=facts.deleted(removal.source, artifact_ids),
    )  # fmt: skip
    writer.checkpoint_at_commit(conn)
    return Deleted(removal.source, tuple(artifact_ids), tuple(kept), tuple(exports))


def _artifacts_of(
    conn: Connection, tenant_id: str, sources: Sequence[Source], bindings: Sequence[str]
) -> list[str]:
    """The tenant's artifacts made from `sources`: those recording one of them, and those
    recording no source whose claims are bound by one of `bindings` or of the requests
    about them (the bindings are hex digests: a text match finds exactly those)."""
    art, r = ArtifactRecord, AttributionRequestRecord
    of_sources = or_(*(and_(art.source_kind == k, art.source_id == i) for k, i in sources))
    found = set(
        conn.execute(select(art.id).where(art.tenant_id == tenant_id, of_sources)).scalars()
    )
    asked = or_(*(and_(r.source_kind == k, r.source_id == i) for k, i in sources))
    requests = conn.execute(select(r.binding).where(r.tenant_id == tenant_id, asked)).scalars()
    keys = sorted({*bindings, *requests})
    for chunk in _chunks(keys):
        claimed = or_(*(cast(art.attributions, Text).contains(key) for key in chunk))
        found.update(
            conn.execute(
                select(art.id).where(art.tenant_id == tenant_id, art.source_kind.is_(None), claimed)
            ).scalars()
        )
    return sorted(found)


def _close_requests(conn: Connection, tenant_id: str, sources: Sequence[Source]) -> None:
    """The requests about the sources' words lose the words and are closed (`voided`:
    nobody answers for words that are gone); an answer given keeps its time and items'
    answers, and its ledger event, as evidence."""
    r = AttributionRequestRecord
    about = and_(
        r.tenant_id == tenant_id,
        or_(*(and_(r.source_kind == k, r.source_id == i) for k, i in sources)),
    )
    conn.execute(update(r).where(about).values(items=[], status="voided"))


def _remember(conn: Connection, tenant_id: str, sources: Sequence[Source], at: datetime) -> None:
    fresh = [s for s in sources if not is_deleted(conn, s)]
    if fresh:
        conn.execute(
            insert(DeletedSourceRecord),
            [{"source_kind": k, "source_id": i, "tenant_id": tenant_id, "deleted_at": at}
             for k, i in fresh],
        )  # fmt: skip


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])
