"""`audit verify`: walk both hash chains, their signed checkpoints and audited payloads.

The report names the first bad sequence number of each chain and why: an entry whose
content no longer matches its hash, a link that does not follow the entry before it, a
missing or reordered entry, a chain shorter than a signed checkpoint, or an audited record
(decision, notice version, switch change) changed after it was written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, exc, insert, select

from minutekeeper.consent import facts
from minutekeeper.consent.chain import (
    AUDIT,
    CHAINS,
    GENESIS_HASH,
    LATER_COLUMNS,
    Chain,
    ChainWriter,
    Witness,
    canonical_json,
    checkpoint_message,
    compute_entry_hash,
    sha256_hex,
    signature_is_valid,
)
from minutekeeper.consent.store import (
    AuditCheckpointRecord,
    GateDecisionRecord,
    NoticeServedRecord,
    NoticeTranslationRecord,
    NoticeVersionRecord,
    SubjectPromotionRecord,
    TenantSwitchChangeRecord,
)
from minutekeeper.core.db import table_of

# Audit object types whose rows must still hash to what the chain recorded.
PAYLOAD_TABLES: dict[str, Table] = {
    "tenant_switch_change": table_of(TenantSwitchChangeRecord),
    "notice_version": table_of(NoticeVersionRecord),
    "notice_served": table_of(NoticeServedRecord),
    "notice_translation": table_of(NoticeTranslationRecord),
    "gate_decision": table_of(GateDecisionRecord),
    "subject_promotion": table_of(SubjectPromotionRecord),
}
_BATCH = 500


def row_payload(row: Any) -> dict[str, Any]:
    """The canonical payload of an audited row: all of its columns (a column added after
    rows were audited counts only where it is set, so those rows still verify)."""
    return {k: v for k, v in row._mapping.items() if not (k in LATER_COLUMNS and v is None)}


def insert_audited(
    conn: Connection,
    writer: ChainWriter,
    record: Any,
    values: dict[str, Any],
    *,
    actor: str,
    action: str,
    object_type: str,
    facts: dict[str, Any] | None = None,
) -> Any:
    """Insert one row of a table in `PAYLOAD_TABLES` and chain it: the audit entry's payload
    is the row as stored (read back, so `verify` recomputes the same). Returns the row."""
    conn.execute(insert(record).values(**values))
    row = conn.execute(select(record).where(record.id == values["id"])).one()
    writer.audit(conn, actor=actor, action=action, object_type=object_type,
                 object_id=values["id"], payload=row_payload(row), facts=facts)  # fmt: skip
    return row


@dataclass
class ChainReport:
    chain: str
    entries: int = 0
    checkpoints: int = 0
    first_bad_seq: int | None = None
    problem: str | None = None

    def fail(self, seq: int, problem: str) -> None:
        if self.first_bad_seq is None or seq < self.first_bad_seq:
            self.first_bad_seq, self.problem = seq, problem

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None


@dataclass
class CheckReport:
    """Derived data checked against what it derives from (not a chain of its own)."""

    name: str
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    source: str = "the ledger"  # what the rows are held against

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class VerifyReport:
    chains: list[ChainReport] = field(default_factory=list)
    checks: list[CheckReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # weaker evidence, not a failure

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.chains) and all(c.ok for c in self.checks)


def verify(
    conn: Connection, *, trusted_public_key: str, witness: Witness | None = None
) -> VerifyReport:
    """Check every chain against its signed checkpoints (in the database and, when one is
    set, the witness), then the records the audit chain's facts describe (candidates,
    exports, tombstones, artifacts). `trusted_public_key` comes from the key file, not the
    database. The caller adds the checks of other derived data (`VerifyReport.checks`)."""
    replay, warnings = facts.Replay(), []
    unreadable = None
    try:
        witnessed = witness.read() if witness is not None else None
    except OSError as error:  # a witness set but unreadable proves nothing: a failure
        witnessed, unreadable = [], f"the witness cannot be read: {error}"
    if witness is None:
        warnings.append(
            "no witness is set (MINUTEKEEPER_AUDIT_WITNESS): a chain cut short together with "
            "its checkpoints in the database would not be found"
        )
    report = VerifyReport(
        [_verify_chain(conn, c, trusted_public_key, replay, witnessed, warnings) for c in CHAINS],
        warnings=warnings,
    )
    if unreadable is not None:
        report.checks.append(CheckReport("witness", problems=[unreadable], source="the witness"))
    check = CheckReport("chained records", source="the audit chain")
    if all(r.ok for r in report.chains if r.chain == AUDIT.name):
        check.rows, check.problems = facts.check(conn, replay)
    else:
        check.problems.append("not checked: the audit chain they rest on is broken")
    report.checks.append(check)
    return report


def _verify_chain(
    conn: Connection,
    chain: Chain,
    trusted_key: str,
    replay: facts.Replay,
    witnessed: list[dict[str, Any]] | None,
    warnings: list[str],
) -> ChainReport:
    report = ChainReport(chain.name)
    checkpoints = _checkpoints(conn, chain, trusted_key, report)
    held = _witnessed(chain, witnessed or [], trusted_key, report)
    wanted = {cp["seq"] for cp in checkpoints} | {cp["seq"] for cp in held}
    hashes_at: dict[int, str] = {}
    payloads = _Payloads(conn, report)
    for entry in _linked_entries(conn, chain, report):
        report.entries += 1
        if entry["seq"] in wanted:
            hashes_at[entry["seq"]] = entry["entry_hash"]
        if chain is AUDIT:
            payloads.add(entry)
            if entry.get("facts") is not None:
                replay.add(entry["seq"], entry["facts"])
    payloads.flush()
    _match_checkpoints(checkpoints, hashes_at, report)
    _match_witness(held, hashes_at, report)
    if witnessed is not None:
        missing = sorted({cp["seq"] for cp in checkpoints} - {cp["seq"] for cp in held})
        if missing:
            warnings.append(
                f"{chain.name}: {len(missing)} checkpoints are not in the witness (signed "
                f"before it was set, or lost in a crash after their commit), the last at "
                f"entry {missing[-1]}"
            )
    return report


def _linked_entries(
    conn: Connection, chain: Chain, report: ChainReport
) -> Iterator[dict[str, Any]]:
    """The chain's entries in order, stopping at (and reporting) the first broken link."""
    expected, prev = 1, GENESIS_HASH
    rows = _stream(conn, chain.table)
    while True:
        try:
            row = next(rows, None)
        except (ValueError, TypeError, exc.StatementError) as error:
            # A value the column type cannot even read was written behind the store's back.
            report.fail(expected, f"entry {expected} was changed: unreadable value ({error})")
            return
        if row is None:
            return
        entry = dict(row._mapping)
        seq = entry["seq"]
        if seq != expected:
            report.fail(expected, f"entry {expected} is missing (next entry is {seq})")
            return
        if entry["prev_hash"] != prev:
            report.fail(seq, f"entry {seq} does not link to entry {seq - 1}")
            return
        if compute_entry_hash(entry, prev) != entry["entry_hash"]:
            report.fail(seq, f"entry {seq} was changed: its content does not match its hash")
            return
        yield entry
        prev, expected = entry["entry_hash"], expected + 1


class _Payloads:
    """Checks audited rows against the payload hashes the chain recorded, in batches."""

    def __init__(self, conn: Connection, report: ChainReport) -> None:
        self.conn, self.report = conn, report
        self.pending: dict[str, list[tuple[int, str, str]]] = {}

    def add(self, entry: dict[str, Any]) -> None:
        object_type = entry["object_type"]
        if object_type not in PAYLOAD_TABLES:
            return
        batch = self.pending.setdefault(object_type, [])
        batch.append((entry["seq"], entry["object_id"], entry["payload_sha256"]))
        if len(batch) >= _BATCH:
            self._check(object_type, self.pending.pop(object_type))

    def flush(self) -> None:
        for object_type, batch in self.pending.items():
            self._check(object_type, batch)
        self.pending.clear()

    def _check(self, object_type: str, batch: list[tuple[int, str, str]]) -> None:
        table = PAYLOAD_TABLES[object_type]
        ids = [object_id for _, object_id, _ in batch]
        rows = {r.id: r for r in self.conn.execute(select(table).where(table.c.id.in_(ids)))}
        for seq, object_id, payload_sha256 in batch:
            row = rows.get(object_id)
            if row is None:
                self.report.fail(
                    seq, f"entry {seq}: the {object_type} {object_id} it records is gone"
                )
            elif sha256_hex(canonical_json(row_payload(row))) != payload_sha256:
                self.report.fail(seq, f"entry {seq}: the {object_type} {object_id} was changed")


def _stream(conn: Connection, table: Table) -> Iterator[Any]:
    result = conn.execution_options(yield_per=5000).execute(select(table).order_by(table.c.seq))
    yield from result


def _checkpoints(
    conn: Connection, chain: Chain, trusted_key: str, report: ChainReport
) -> list[dict[str, Any]]:
    table = table_of(AuditCheckpointRecord)
    rows = conn.execute(
        select(table).where(table.c.chain == chain.name).order_by(table.c.seq)
    ).all()
    checkpoints = []
    for row in rows:
        cp = dict(row._mapping)
        message = checkpoint_message(chain.name, cp["seq"], cp["entry_hash"], cp["signed_at"])
        if cp["public_key"] != trusted_key or not signature_is_valid(
            trusted_key, cp["signature"], message
        ):
            report.fail(cp["seq"], f"the checkpoint at entry {cp['seq']} has a bad signature")
            continue
        checkpoints.append(cp)
    report.checkpoints = len(checkpoints)
    return checkpoints


def _witnessed(
    chain: Chain, witnessed: list[dict[str, Any]], trusted_key: str, report: ChainReport
) -> list[dict[str, Any]]:
    """The witness's checkpoints of `chain` whose signature holds; a line that is unreadable
    or badly signed fails the chain (the witness is append-only: nothing should be wrong)."""
    held = []
    for cp in witnessed:
        if cp.get("unreadable"):
            report.fail(1, f"witness line {cp['line']} is not a checkpoint")
            continue
        if cp.get("chain") != chain.name:
            continue
        message = checkpoint_message(chain.name, cp["seq"], cp["entry_hash"], cp["signed_at"])
        if cp.get("public_key") != trusted_key or not signature_is_valid(
            trusted_key, cp["signature"], message
        ):
            report.fail(cp["seq"], f"witness line {cp['line']} has a bad signature")
            continue
        held.append(cp)
    return held


def _match_witness(
    held: list[dict[str, Any]], hashes_at: dict[int, str], report: ChainReport
) -> None:
    last = max((cp["seq"] for cp in held), default=0)
    if last > report.entries:
        report.fail(
            report.entries + 1,
            f"the chain ends at entry {report.entries} but the witness holds a checkpoint at "
            f"entry {last}: entries {report.entries + 1}..{last} were removed",
        )
    for cp in sorted(held, key=lambda c: c["seq"]):
        seq = cp["seq"]
        if seq <= report.entries and hashes_at.get(seq) != cp["entry_hash"]:
            report.fail(seq, f"entry {seq} no longer matches the witness's checkpoint: the "
                             "chain was rewritten")  # fmt: skip
            return


def _match_checkpoints(
    checkpoints: list[dict[str, Any]], hashes_at: dict[int, str], report: ChainReport
) -> None:
    last_good = 0
    for cp in checkpoints:
        seq = cp["seq"]
        if seq > report.entries and report.ok:
            report.fail(
                report.entries + 1,
                f"the chain ends at entry {report.entries} but a checkpoint was signed at "
                f"entry {seq}: entries {report.entries + 1}..{seq} were removed",
            )
            return
        if seq in hashes_at and hashes_at[seq] != cp["entry_hash"]:
            report.fail(
                last_good + 1,
                f"entries {last_good + 1}..{seq} were rewritten: entry {seq} no longer "
                "matches its signed checkpoint",
            )
            return
        last_good = seq
