"""Facts the audit chain vouches for, and the check of the records they describe.

Decisions, kept candidates, exports and erasures live in ordinary tables that the code
updates (a candidate is tombstoned, an export revoked, an erased person's words are
emptied). The chain cannot protect those rows by hashing them: they change on purpose.
Instead every change writes its facts into the audit entry that records it: the ids, the
new state, hashes of content, never the content or a name (rule 13). `audit verify`
replays the facts in chain order and holds the tables against the state they add up to:

- an artifact's kind, data class, contributors, times, attributions and content hash: what
  the gate read when it decided (the first decision on it records them);
- a kept candidate: its artifact, decision, contributors (and `candidate_contributors`),
  consent events, profile, expiry, the hash of its redacted messages, then its status;
- an export: its status, the hash of its `export_records` once published, its tombstones;
- an erasure, or a deleted meeting: the artifacts whose content it emptied.

A row the chain never heard of (a candidate or export written behind the code's back) is
as much a finding as a row that changed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select

from minutekeeper.consent.chain import canonical_json, sha256_hex
from minutekeeper.consent.store import (
    ArtifactRecord,
    CandidateContributorRecord,
    DatasetExportRecord,
    ExportedExampleRecord,
    TombstoneRecord,
    TrainingCandidateRecord,
    UnchainedRecord,
)

MAX_PROBLEMS = 50
_ADOPT_BATCH = 500
EMPTY_MESSAGES = sha256_hex(canonical_json([]))
ERASED = {"erased": True}  # what an erasure leaves of an artifact's input and output
_KEPT_COLUMNS = (
    "artifact_id", "decision_id", "example_kind", "task", "contributors",
    "redaction_profile", "consent_event_seqs", "captured_at", "expires_at",
)  # fmt: skip
_ARTIFACT_COLUMNS = (
    "kind", "data_class", "contributors", "captured_at", "received_at", "time_vouched_by",
    "attributions", "content_sha256",
)  # fmt: skip


def _plain(value: Any) -> Any:
    """A column value as it reads back from facts stored as JSON (a time as canonical JSON
    writes it: UTC, to the microsecond)."""
    return json.loads(canonical_json(value))


def content_sha256(input: Any, output: Any) -> str:
    """The hash an artifact's content is stored with."""
    return sha256_hex(canonical_json({"input": input, "output": output}))


def messages_sha256(messages: Sequence[Mapping[str, str]]) -> str:
    return sha256_hex(canonical_json(list(messages)))


# --- what each change records ----------------------------------------------------------


def artifact(row: Any) -> dict[str, Any]:
    """The facts of an artifact the gate decides on (a row of `artifacts`)."""
    return {"artifact": {"id": row.id, **{c: _plain(getattr(row, c)) for c in _ARTIFACT_COLUMNS}}}


def kept(candidate_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The facts of a newly kept candidate (the values it is inserted with)."""
    facts = {c: _plain(values[c]) for c in _KEPT_COLUMNS}
    facts["contributors"] = sorted(set(facts["contributors"]))
    facts["messages_sha256"] = messages_sha256(values["messages"])
    return {"kept": {"id": candidate_id, **facts}}


def candidates(ids: Iterable[str], status: str) -> dict[str, Any]:
    """Candidates set to `status` (their messages emptied, as every retirement does)."""
    return {"candidates": {"ids": sorted(set(ids)), "status": status}}


def reredacted(
    profile: str, redone: Mapping[str, Sequence[Mapping[str, str]]], excluded: Iterable[str]
) -> dict[str, Any]:
    """Candidates brought to redaction `profile`: the hash of each one's messages now (the
    same text, or rewritten), and those excluded because redaction failed."""
    redacted = {
        cid: {"messages_sha256": messages_sha256(messages), "redaction_profile": profile}
        for cid, messages in sorted(redone.items())
    }
    return {"redacted": redacted, **candidates(excluded, "excluded")}


def expiries(new: Mapping[str, datetime]) -> dict[str, Any]:
    """Candidates whose expiry moved (a notice shortened retention)."""
    return {"expiries": {cid: _plain(at) for cid, at in sorted(new.items())}}


def export(export_id: str, status: str, records_sha256: str | None = None) -> dict[str, Any]:
    facts: dict[str, Any] = {"id": export_id, "status": status}
    if records_sha256 is not None:
        facts["records_sha256"] = records_sha256
    return {"export": facts}


def tombstones(export_id: str, record_ids: Iterable[str], status: str) -> dict[str, Any]:
    """Records of an export tombstoned, and the export's status after it."""
    return {
        "tombstones": {"export_id": export_id, "records": sorted(record_ids)},
        **export(export_id, status),
    }


def erased(
    subject_id: str, candidate_ids: Iterable[str], artifact_ids: Iterable[str]
) -> dict[str, Any]:
    return {
        "erased": {"subject_id": subject_id, "artifacts": sorted(set(artifact_ids))},
        **candidates(candidate_ids, "purged"),
    }


def deleted(source: tuple[str, str], artifact_ids: Iterable[str]) -> dict[str, Any]:
    """A deleted source: the artifacts whose content it emptied, as an erasure does (its
    kept candidates are retired by their own entry)."""
    return {"erased": {"source": list(source), "artifacts": sorted(set(artifact_ids))}}


def records_sha256(conn: Connection, export_id: str) -> str:
    """The hash of an export's `export_records` (record id -> candidate id), in order."""
    er = ExportedExampleRecord
    pairs = conn.execute(
        select(er.record_id, er.candidate_id)
        .where(er.export_id == export_id)
        .order_by(er.record_id)
    ).all()
    return sha256_hex(canonical_json([[r, c] for r, c in pairs]))


# --- replaying them ----------------------------------------------------------------------


@dataclass
class Replay:
    """The state the chain's facts add up to, fed entry by entry in chain order."""

    artifacts: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    kept: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    expires: dict[str, str] = field(default_factory=dict)
    exports: dict[str, dict[str, Any]] = field(default_factory=dict)
    tombstoned: set[tuple[str, str]] = field(default_factory=set)
    emptied: set[str] = field(default_factory=set)
    waiting: set[str] = field(default_factory=set)  # listed for `adopt`, not chained yet
    problems: list[str] = field(default_factory=list)

    def add(self, seq: int, facts: Mapping[str, Any]) -> None:
        if "artifact" in facts:
            fact = facts["artifact"]
            first = self.artifacts.setdefault(fact["id"], (seq, fact))
            if first[1] != fact:
                self.problems.append(
                    f"entry {seq}: artifact {fact['id']} differs from what entry {first[0]} "
                    "recorded when it was first decided"
                )
        if "kept" in facts:
            fact = facts["kept"]
            self.kept[fact["id"]] = (seq, fact)
            self.status[fact["id"]] = "eligible"
            self.expires[fact["id"]] = fact["expires_at"]
        if "candidates" in facts:
            for cid in facts["candidates"]["ids"]:
                self.status[cid] = facts["candidates"]["status"]
        for cid, fact in facts.get("redacted", {}).items():
            if cid in self.kept:
                seq_kept, kept_fact = self.kept[cid]
                self.kept[cid] = (seq_kept, {**kept_fact, **fact})
        self.expires.update(facts.get("expiries", {}))
        if "export" in facts:
            fact = facts["export"]
            self.exports.setdefault(fact["id"], {}).update(fact)
        if "tombstones" in facts:
            fact = facts["tombstones"]
            self.tombstoned.update((fact["export_id"], r) for r in fact["records"])
        if "erased" in facts:
            self.emptied.update(facts["erased"]["artifacts"])


def check(conn: Connection, replay: Replay) -> tuple[int, list[str]]:
    """Hold candidates, their contributors, artifacts, exports and tombstones against the
    replayed facts; returns how many rows were read and one line per difference."""
    problems = list(replay.problems)
    replay.waiting = set(conn.execute(select(UnchainedRecord.id)).scalars())
    waiting = len(replay.waiting)
    if waiting:
        problems.append(f"{waiting} candidates and exports from before this version are not "
                        "chained yet: start minutekeeper once to adopt them")  # fmt: skip
    rows = _check_candidates(conn, replay, problems)
    rows += _check_artifacts(conn, replay, problems)
    rows += _check_exports(conn, replay, problems)
    if len(problems) > MAX_PROBLEMS:
        problems = [*problems[:MAX_PROBLEMS], f"... and {len(problems) - MAX_PROBLEMS} more"]
    return rows, problems


def _check_candidates(conn: Connection, replay: Replay, problems: list[str]) -> int:
    tc, cc = TrainingCandidateRecord, CandidateContributorRecord
    contributors: dict[str, set[str]] = defaultdict(set)
    for cid, subject in conn.execute(select(cc.candidate_id, cc.subject_id)):
        contributors[cid].add(subject)
    seen, rows = set(), 0
    for row in conn.execution_options(yield_per=2000).execute(select(tc)):
        rows += 1
        seen.add(row.id)
        recorded = replay.kept.get(row.id)
        if recorded is None:
            if row.id not in replay.waiting:
                problems.append(f"training candidate {row.id} is not in the audit chain")
            continue
        seq, fact = recorded
        where = f"training candidate {row.id} (kept at entry {seq})"
        for column in _KEPT_COLUMNS:
            want = replay.expires[row.id] if column == "expires_at" else fact[column]
            have = _plain(getattr(row, column))
            if column == "contributors":
                have = sorted(set(have))
            if have != want:
                problems.append(f"{where}: {column} was changed")
        if contributors.get(row.id, set()) != set(fact["contributors"]):
            problems.append(f"{where}: its candidate_contributors rows were changed")
        status = replay.status[row.id]
        if row.status != status:
            problems.append(f"{where}: status is {row.status}, the chain says {status}")
        want_messages = fact["messages_sha256"] if status == "eligible" else EMPTY_MESSAGES
        if messages_sha256(row.messages) != want_messages:
            problems.append(f"{where}: its messages were changed")
    for cid in sorted(set(replay.kept) - seen):
        problems.append(f"training candidate {cid} (kept at entry {replay.kept[cid][0]}) is gone")
    for cid in sorted(set(contributors) - seen):
        problems.append(f"candidate_contributors name candidate {cid}, which does not exist")
    return rows


def _check_artifacts(conn: Connection, replay: Replay, problems: list[str]) -> int:
    art, rows = ArtifactRecord, 0
    ids = sorted(replay.artifacts)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found = {r.id: r for r in conn.execute(select(art).where(art.id.in_(chunk)))}
        for artifact_id in chunk:
            rows += 1
            seq, fact = replay.artifacts[artifact_id]
            row = found.get(artifact_id)
            if row is None:
                problems.append(f"artifact {artifact_id} (decided at entry {seq}) is gone")
                continue
            changed = [c for c in _ARTIFACT_COLUMNS if _plain(getattr(row, c)) != fact[c]]
            erased = row.input == ERASED and row.output == ERASED
            if artifact_id in replay.emptied and not erased:
                changed.append("content (erased, yet it holds words)")
            # Emptied content is what an erasure leaves (one from before the facts were
            # chained included): it hides nothing, so only other content must still hash.
            elif not erased and content_sha256(row.input, row.output) != row.content_sha256:
                changed.append("content")
            if changed:
                problems.append(
                    f"artifact {artifact_id} (decided at entry {seq}): {', '.join(changed)} changed"
                )
    return rows


def _check_exports(conn: Connection, replay: Replay, problems: list[str]) -> int:
    de, tomb = DatasetExportRecord, TombstoneRecord
    rows = 0
    for row in conn.execute(select(de.id, de.status)).all():
        rows += 1
        fact = replay.exports.get(row.id)
        if fact is None:
            if row.id not in replay.waiting:
                problems.append(f"export {row.id} is not in the audit chain")
            continue
        if row.status != fact["status"]:
            problems.append(f"export {row.id}: status is {row.status}, the chain says "
                            f"{fact['status']}")  # fmt: skip
        if "records_sha256" in fact and records_sha256(conn, row.id) != fact["records_sha256"]:
            problems.append(f"export {row.id}: its export_records were changed")
    stored = {
        (export_id, record_id)
        for export_id, record_id in conn.execute(select(tomb.export_id, tomb.record_id))
        if export_id not in replay.waiting
    }
    for export_id, record_id in sorted(replay.tombstoned - stored):
        problems.append(f"export {export_id}: the tombstone of record {record_id} is gone")
    for export_id, record_id in sorted(stored - replay.tombstoned):
        problems.append(f"export {export_id}: record {record_id} has a tombstone the chain "
                        "never recorded")  # fmt: skip
    return rows


# --- records from before the chain held their facts ------------------------------------


def adopt(conn: Connection, writer: Any) -> int:
    """Chain the facts of the candidates and exports migration 0013 found, as they stand
    now (action `records.adopted`), and forget the list; returns how many were adopted.
    The chain vouches for them from this entry on, not for their earlier history."""
    un, tc, de = UnchainedRecord, TrainingCandidateRecord, DatasetExportRecord
    listed = conn.execute(select(un.kind, un.id)).all()
    if not listed:
        return 0
    candidate_ids = sorted(i for kind, i in listed if kind == "candidate")
    export_ids = sorted(i for kind, i in listed if kind == "export")
    for start in range(0, len(candidate_ids), _ADOPT_BATCH):
        chunk = candidate_ids[start : start + _ADOPT_BATCH]
        rows = conn.execute(select(tc).where(tc.id.in_(chunk))).all()
        for row in rows:
            values = {c: getattr(row, c) for c in (*_KEPT_COLUMNS, "messages")}
            entry = {**kept(row.id, values), **candidates([row.id], row.status)}
            writer.audit(conn, actor="system", action="records.adopted",
                         object_type="training_candidate", object_id=row.id,
                         payload=entry, facts=entry)  # fmt: skip
    tomb = TombstoneRecord
    for export_id, status in conn.execute(select(de.id, de.status).where(de.id.in_(export_ids))):
        published = status in ("active", "revoked")
        entry = export(export_id, status, records_sha256(conn, export_id) if published else None)
        stones = conn.execute(select(tomb.record_id).where(tomb.export_id == export_id)).scalars()
        entry["tombstones"] = {"export_id": export_id, "records": sorted(stones)}
        writer.audit(conn, actor="system", action="records.adopted",
                     object_type="dataset_export", object_id=export_id,
                     payload=entry, facts=entry)  # fmt: skip
    conn.execute(delete(un))
    return len(listed)


def unadopted(conn: Connection) -> int:
    """How many records migration 0013 listed are still waiting for `adopt`."""
    return int(conn.execute(select(func.count()).select_from(UnchainedRecord)).scalar_one())
