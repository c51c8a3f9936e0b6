"""Building an export version (`create.create_export` runs it): in one read snapshot, pin
the ledger position, re-decide every candidate of the tenant there (`BulkDecider`, the
gate's own rules), and stream the included ones into the files of ARCHITECTURE.md §5, a
row group per batch; the export's records go to the database batch by batch. Contributors
appear only as pseudonyms: an HMAC of the subject id under the export's own key.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, String, Text, cast, func, select, type_coerce

from minutekeeper.consent.artifacts import attributions_of
from minutekeeper.consent.chain import ChainWriter
from minutekeeper.consent.domain import ArtifactKind
from minutekeeper.consent.exports.dataset import Batch, DatasetWriter, FileEntry, valid_messages
from minutekeeper.consent.ledger import tail_seq
from minutekeeper.consent.purposes import TRAIN_AI_SYSTEM
from minutekeeper.consent.redaction import PROFILE
from minutekeeper.consent.redecide import BulkDecider, Outcome
from minutekeeper.consent.store import (
    ArtifactRecord,
    DatasetExportRecord,
    DeletedSourceRecord,
    ExportedExampleRecord,
    TenantSwitchChangeRecord,
    TrainingCandidateRecord,
)
from minutekeeper.core.db import read_transaction, row_transaction

BATCH_SIZE = 5000


@dataclass
class ExportHooks:
    """Points where a caller (a test, a progress bar) sees the build: after each written
    batch, and after the files are written, before the re-check."""

    on_batch: Callable[[int], None] = lambda written: None
    before_recheck: Callable[[], None] = lambda: None


@dataclass
class Build:
    """What a build wrote and decided, for the re-check and the manifest."""

    pin: int
    decided_at: datetime
    switch_changes: int  # how many the snapshot held
    files: list[FileEntry]
    deletions: int = 0  # the tenant's deleted meetings and drafts the snapshot held
    counts: Counter[str] = field(default_factory=Counter)
    tasks: Counter[str] = field(default_factory=Counter)
    profiles: set[str] = field(default_factory=set)
    notice_versions: set[str] = field(default_factory=set)
    included: int = 0
    candidates: int = 0
    subjects: set[str] = field(default_factory=set)  # everyone in an included record
    # When the first consent an included record rests on runs out: published after that,
    # the export would hold words whose consent had ended (the re-check builds again).
    valid_until: datetime | None = None


_tc, _art = TrainingCandidateRecord, ArtifactRecord
# JSON and timestamps come back raw: the export decodes them itself (orjson; a timestamp
# only when the record is kept), which is most of the difference between 8,000 and
# 20,000 candidates a second.
_CANDIDATES = (
    select(
        _tc.id,
        _tc.artifact_id,
        _art.kind.label("artifact_kind"),
        type_coerce(_art.captured_at, String).label("captured_at"),
        type_coerce(_art.received_at, String).label("received_at"),
        cast(_art.time_vouched_by, Text).label("time_vouched_by"),
        cast(_art.attributions, Text).label("attributions"),
        _tc.decision_id,
        _tc.example_kind,
        _tc.task,
        cast(_tc.messages, Text).label("messages"),
        cast(_tc.contributors, Text).label("contributors"),
        _tc.redaction_profile,
        type_coerce(_tc.expires_at, String).label("expires_at"),
        _tc.status,
    )
    .join(_art, _art.id == _tc.artifact_id)
    .order_by(_tc.captured_at, _tc.id)
)


_gc_lock = threading.Lock()
_gc_builds: list[tuple[int, int, int]] = []  # the thresholds before the first running build


@contextmanager
def _few_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while a build allocates millions of
    short-lived, acyclic objects (decoded rows); reference counting frees them anyway.
    Builds running side by side in one process restore the setting when the last ends."""
    with _gc_lock:
        _gc_builds.append(gc.get_threshold())
        gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        with _gc_lock:
            first = _gc_builds[0]
            _gc_builds.pop()
            if not _gc_builds:
                gc.set_threshold(*first)


def _utc(value: datetime | str) -> datetime:
    """A raw timestamp as UTC: PostgreSQL's driver gives datetimes, SQLite naive UTC text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(value + "+00:00")


def build(
    engine: Engine,
    writer: ChainWriter,
    tenant_id: str,
    export_id: str,
    staging: Path,
    hooks: ExportHooks,
    batch_size: int,
) -> Build:
    names = _Pseudonyms(_pseudonym_key(engine, export_id))
    files = DatasetWriter(staging)
    try:
        with _few_collections(), read_transaction(engine) as conn:
            pin = tail_seq(conn)
            decided_at = writer.clock()
            decider = BulkDecider(
                conn,
                tenant_id=tenant_id,
                purpose=TRAIN_AI_SYSTEM,
                ledger_seq=pin,
                decided_at=decided_at,
            )
            built = Build(pin=pin, decided_at=decided_at, files=[],
                          switch_changes=switch_changes(conn, tenant_id),
                          deletions=deletions(conn, tenant_id))  # fmt: skip
            stream = conn.execution_options(stream_results=True, yield_per=batch_size).execute(
                _CANDIDATES.where(_tc.tenant_id == tenant_id)
            )
            # Writing a batch in a second thread while the next is decided was tried: the
            # GIL made it slower (21,600/s against 25,600/s for 100,000 candidates).
            for rows in stream.partitions():
                batch = _batch(rows, decider, built, names)
                files.add(batch)
                _insert_records(engine, export_id, batch)
                hooks.on_batch(built.included)
        built.files = files.close()
        built.subjects = set(names)
        return built
    except BaseException:
        files.abort()
        raise


def _batch(rows: Any, decider: BulkDecider, built: Build, names: _Pseudonyms) -> Batch:
    batch = Batch()
    for candidate in rows:
        _consider(candidate, decider, built, names, batch)
    return batch


def _pseudonym_key(engine: Engine, export_id: str) -> bytes:
    with read_transaction(engine) as conn:
        return bytes.fromhex(
            conn.execute(
                select(DatasetExportRecord.pseudonym_key).where(DatasetExportRecord.id == export_id)
            ).scalar_one()
        )


def pseudonym(key: bytes, value: str) -> str:
    """HMAC-SHA256 of `value` under an export's key: what its files show instead of an id.
    Another export has another key, so the same candidate or person is not linkable
    across exports; the server, which keeps the keys, can map one back."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:24]


class _Pseudonyms(dict[str, str]):
    """subject id -> its pseudonym (memoised: few subjects, many rows); `of` gives those of
    the other ids a record names (candidates, artifacts, decisions, consent events), each
    kind under its own prefix so two kinds never share a pseudonym."""

    def __init__(self, key: bytes) -> None:
        super().__init__()
        self.key = key

    def __missing__(self, subject_id: str) -> str:
        value = pseudonym(self.key, subject_id)
        self[subject_id] = value
        return value

    def of(self, kind: str, value: object) -> str:
        return pseudonym(self.key, f"{kind}:{value}")


def _consider(
    row: Any, decider: BulkDecider, built: Build, names: _Pseudonyms, batch: Batch
) -> None:
    """Add the record this candidate becomes to `batch`, or count why it is left out."""
    built.candidates += 1
    found = _decided(row, decider)
    if isinstance(found, str):
        built.counts[found] += 1
        return
    outcome, messages, contributors, captured_at, expires_at = found
    built.included += 1
    built.tasks[row.task] += 1
    built.profiles.add(row.redaction_profile)
    built.notice_versions.update(outcome.notice_version_ids)
    if outcome.valid_until is not None:
        end = _utc(outcome.valid_until)
        built.valid_until = end if built.valid_until is None else min(built.valid_until, end)
    batch.record_id.append(f"r{built.included:09d}")
    batch.kept_from.append(row.id)
    batch.candidate_id.append(names.of("candidate", row.id))
    batch.artifact_id.append(names.of("artifact", row.artifact_id))
    batch.artifact_kind.append(row.artifact_kind)
    batch.capture_decision_id.append(names.of("decision", row.decision_id))
    batch.task.append(row.task)
    batch.example_kind.append(row.example_kind)
    batch.messages.append(messages)
    batch.contributors.append([names[c] for c in contributors])
    batch.consent_events.append([names.of("event", seq) for seq in outcome.consent_event_seqs])
    batch.notice_version_ids.append(outcome.notice_version_ids)
    batch.redaction_profile.append(row.redaction_profile)
    batch.captured_at.append(captured_at)
    batch.expires_at.append(expires_at)


_Kept = tuple[Outcome, list[dict[str, str]], tuple[str, ...], datetime, datetime]


def _decided(row: Any, decider: BulkDecider) -> str | _Kept:
    """Why the candidate is left out, or what the kept record needs."""
    if row.status != "eligible":
        return f"CANDIDATE_{row.status.upper()}"
    if row.redaction_profile != PROFILE:  # kept before the current redaction: re-redact first
        return "REDACTION_OUTDATED"
    expires_at = _utc(row.expires_at)
    if expires_at <= decider.decided_at:
        return "CANDIDATE_EXPIRED"
    try:
        messages = orjson.loads(row.messages)
        contributors = tuple(orjson.loads(row.contributors))
    except orjson.JSONDecodeError:  # e.g. a lone surrogate: not text UTF-8 can carry
        return "INVALID_EXAMPLE"
    if not valid_messages(messages):
        return "INVALID_EXAMPLE"
    captured_at = _utc(row.captured_at)
    received_at = _utc(row.received_at) if row.received_at else captured_at
    vouched = tuple(orjson.loads(row.time_vouched_by or "null") or ())
    stored = orjson.loads(row.attributions) if row.attributions else None
    outcome = decider.outcome(ArtifactKind(row.artifact_kind), contributors, captured_at,
                              received_at=received_at, vouched_by=vouched,
                              attributions=attributions_of(stored),
                              claims_recorded=stored is not None)  # fmt: skip
    if outcome.reason is not None:
        return outcome.reason
    return outcome, messages, contributors, captured_at, expires_at


def _insert_records(engine: Engine, export_id: str, batch: Batch) -> None:
    if not len(batch):
        return
    into = f"INSERT INTO {ExportedExampleRecord.__tablename__} (export_id, record_id, candidate_id)"
    with row_transaction(engine) as conn:
        if engine.dialect.name == "postgresql":  # one statement, not one per row
            conn.exec_driver_sql(
                f"{into} SELECT %s, * FROM unnest(%s::text[], %s::text[])",
                (export_id, batch.record_id, batch.kept_from),
            )
            return
        rows = [(export_id, r, c) for r, c in zip(batch.record_id, batch.kept_from, strict=True)]
        rows.sort(key=lambda row: row[2])  # in index order: each B-tree page is touched once
        conn.exec_driver_sql(f"{into} VALUES (?, ?, ?)", rows)


def switch_changes(conn: Connection, tenant_id: str) -> int:
    table = TenantSwitchChangeRecord
    return int(conn.execute(select(func.count()).where(table.tenant_id == tenant_id)).scalar_one())


def deletions(conn: Connection, tenant_id: str) -> int:
    table = DeletedSourceRecord
    return int(conn.execute(select(func.count()).where(table.tenant_id == tenant_id)).scalar_one())
