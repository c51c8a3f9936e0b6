"""Tampering with a real SQLite database file is caught by `minutekeeper audit verify`.

The attacker here has the database file and drops the insert-only triggers first; they do
not have the signing key, which lives outside the database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from minutekeeper.consent.chain import GENESIS_HASH, compute_entry_hash
from minutekeeper.consent.domain import (
    ArtifactKind,
    ConsentState,
    DataClass,
    Principal,
    Role,
)
from minutekeeper.consent.service import ConsentService
from minutekeeper.consent.store import ArtifactRecord, ConsentEventRecord
from minutekeeper.core.db import create_db_engine
from minutekeeper.core.settings import Settings
from tests.integration.tampering import EVENTS, WITNESS, tamper


def run_cli(data_dir: Path, *args: str, witness: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MINUTEKEEPER_AUDIT_WITNESS"}
    if witness:
        env["MINUTEKEEPER_AUDIT_WITNESS"] = str(data_dir / WITNESS)
    return subprocess.run(
        [sys.executable, "-m", "minutekeeper.cli", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


@pytest.fixture
def data_dir(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    copy.mkdir()
    for item in pristine.rglob("*"):
        if item.is_file():
            target = copy / item.relative_to(pristine)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(item.read_bytes())
    return copy


COLUMNS = (
    "id, tenant_id, subject_id, actor_id, actor_role, purpose, scope, state, method, "
    "notice_version_id, served_notice_id, recorded_at, valid_until, gpc, idempotency_key, "
    "prev_hash, entry_hash"
)


def flip_a_byte(d: Path) -> None:
    tamper(d, "UPDATE consent_events SET state = 'withdrawN' WHERE seq = 4")


def delete_middle(d: Path) -> None:
    tamper(d, "DELETE FROM consent_events WHERE seq = 4")


def swap_two(d: Path) -> None:
    tamper(
        d,
        "UPDATE consent_events SET seq = -4 WHERE seq = 4",
        "UPDATE consent_events SET seq = 4 WHERE seq = 5",
        "UPDATE consent_events SET seq = 5 WHERE seq = -4",
    )


def duplicate_entry(d: Path) -> None:
    tamper(
        d,
        f"INSERT INTO consent_events (seq, {COLUMNS.replace('id, ', '', 1)}, id) "
        f"SELECT {EVENTS + 1}, {COLUMNS.replace('id, ', '', 1)}, 'dup' FROM consent_events "
        "WHERE seq = 4",
    )


def drop_tail(d: Path) -> None:
    tamper(d, "DELETE FROM consent_events WHERE seq > 9")


def change_a_decision(d: Path) -> None:
    tamper(d, "UPDATE gate_decisions SET result = 'allow', reasons = '[]'")


def forge_checkpoint(d: Path) -> None:
    tamper(d, "UPDATE audit_checkpoints SET entry_hash = '" + "ab" * 32 + "' WHERE seq = 5")


def rewrite_consistently(d: Path) -> None:
    """Change entry 3 and recompute every hash from there, as an attacker who read the code
    but has no signing key: only the signed checkpoints can catch this."""
    tamper(d, "UPDATE consent_events SET state = 'given' WHERE seq = 3")
    db = sqlite3.connect(d / "minutekeeper.db", isolation_level=None)
    db.row_factory = sqlite3.Row
    rows = db.execute("SELECT * FROM consent_events ORDER BY seq").fetchall()
    settings = Settings(data_dir=d)
    engine = create_db_engine(settings)

    with engine.connect() as conn:
        typed = [
            dict(r._mapping)
            for r in conn.execute(select(ConsentEventRecord).order_by(ConsentEventRecord.seq))
        ]
    engine.dispose()
    prev = GENESIS_HASH
    for raw, entry in zip(rows, typed, strict=True):
        entry["prev_hash"] = prev
        new_hash = compute_entry_hash(entry, prev)
        db.execute(
            "UPDATE consent_events SET prev_hash = ?, entry_hash = ? WHERE seq = ?",
            (prev, new_hash, raw["seq"]),
        )
        prev = new_hash
    db.close()


@pytest.mark.parametrize(
    ("attack", "chain", "first_bad"),
    [
        (flip_a_byte, "ledger", 4),
        (delete_middle, "ledger", 4),
        (swap_two, "ledger", 4),
        (duplicate_entry, "ledger", EVENTS + 1),
        (drop_tail, "ledger", 10),
        (forge_checkpoint, "ledger", 5),
        (rewrite_consistently, "ledger", 1),
    ],
)
def test_audit_verify_names_the_first_bad_entry(
    data_dir: Path, attack: Callable[[Path], None], chain: str, first_bad: int
) -> None:
    assert run_cli(data_dir, "audit", "verify").returncode == 0
    attack(data_dir)
    result = run_cli(data_dir, "audit", "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{chain}: BROKEN at entry {first_bad}:" in result.stdout, result.stdout


def test_a_changed_decision_breaks_the_audit_chain(data_dir: Path) -> None:
    change_a_decision(data_dir)
    result = run_cli(data_dir, "audit", "verify")
    assert result.returncode == 1
    assert "audit: BROKEN at entry" in result.stdout and "gate_decision" in result.stdout


def test_intact_chain_verifies(data_dir: Path) -> None:
    result = run_cli(data_dir, "audit", "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"ledger: ok ({EVENTS} entries" in result.stdout


def roll_back_a_withdrawal(d: Path) -> None:
    """person0 gave (entry 5) and withdrew (entry 9): their projection row is set back to
    the older, genuine give, as an attacker with the database file would."""
    tamper(
        d,
        "UPDATE current_consent SET (last_seq, state, notice_version_id, recorded_at, "
        "valid_until) = (SELECT seq, state, notice_version_id, recorded_at, valid_until "
        "FROM consent_events WHERE seq = 5) "
        "WHERE subject_id = (SELECT subject_id FROM consent_events WHERE seq = 9) "
        "AND purpose = 'train_ai_system'",
    )


def test_a_projection_rolled_back_to_an_older_genuine_row_is_found_and_never_believed(
    data_dir: Path,
) -> None:
    roll_back_a_withdrawal(data_dir)
    result = run_cli(data_dir, "audit", "verify")
    assert result.returncode == 1, result.stdout
    assert f"ledger: ok ({EVENTS} entries" in result.stdout  # the chain itself is intact
    assert "consent projection: DIFFERS from the ledger: current_consent " in result.stdout
    # The gate and the person's status read the ledger: the withdrawal still stands.
    settings = Settings(data_dir=data_dir)
    engine = create_db_engine(settings)
    service = ConsentService.from_settings(engine, settings)
    with engine.connect() as conn:
        tenant_id, artifact_id = conn.execute(
            select(ArtifactRecord.tenant_id, ArtifactRecord.id)
        ).one()
        withdrawn = conn.execute(
            select(ConsentEventRecord.subject_id).where(ConsentEventRecord.seq == 9)
        ).scalar_one()
    # Their own words, their time vouched for (what the projection once answered alone).
    own = service.record_artifact(tenant_id, kind=ArtifactKind.MEETING_SUMMARY,
                                  data_class=DataClass.DERIVED_CONTENT, input="x", output="y",
                                  contributors=[withdrawn], vouched_by=[withdrawn])  # fmt: skip
    for artifact in (artifact_id, own.id):
        decision = service.decide(tenant_id, artifact, store=False)
        verdict = next(v for v in decision.contributors if v.contributor == withdrawn)
        assert not verdict.allowed, decision
    status = service.current(Principal(tenant_id, withdrawn, Role.MEMBER))
    assert [c.state for c in status] == [ConsentState.WITHDRAWN]
    engine.dispose()


def cut_tail_and_its_checkpoints(d: Path) -> None:
    """The attack signed checkpoints in the database cannot catch: entries 10.. removed
    together with every checkpoint that mentions them."""
    tamper(
        d,
        "DELETE FROM consent_events WHERE seq > 9",
        "DELETE FROM audit_checkpoints WHERE chain = 'ledger' AND seq > 9",
    )


def test_a_tail_cut_with_its_checkpoints_is_found_by_the_witness(data_dir: Path) -> None:
    assert run_cli(data_dir, "audit", "verify", witness=True).returncode == 0
    cut_tail_and_its_checkpoints(data_dir)
    # Without the witness the chain agrees with the checkpoints left in the database (only
    # the projection, which this attacker did not bother to roll back, gives it away);
    # verify says what it lacks.
    alone = run_cli(data_dir, "audit", "verify")
    assert "ledger: ok (9 entries" in alone.stdout, alone.stdout
    assert "warning: no witness is set (MINUTEKEEPER_AUDIT_WITNESS)" in alone.stdout
    held = run_cli(data_dir, "audit", "verify", witness=True)
    assert held.returncode == 1, held.stdout
    assert (
        f"ledger: BROKEN at entry 10: the chain ends at entry 9 but the witness holds a "
        f"checkpoint at entry {EVENTS}" in held.stdout
    ), held.stdout


def test_every_withdrawal_is_signed_at_once_and_witnessed(data_dir: Path) -> None:
    """Withdrawals were entries 3, 6, 9 and 12: each has a checkpoint signed in its own
    transaction, in the database and in the witness, whatever `checkpoint_every` says."""
    db = sqlite3.connect(data_dir / "minutekeeper.db")
    withdrawals = [seq for (seq,) in db.execute(
        "SELECT seq FROM consent_events WHERE state = 'withdrawn' ORDER BY seq")]  # fmt: skip
    signed = {seq for (seq,) in db.execute(
        "SELECT seq FROM audit_checkpoints WHERE chain = 'ledger'")}  # fmt: skip
    db.close()
    assert withdrawals == [3, 6, 9, 12]
    assert set(withdrawals) <= signed
    lines = [json.loads(line) for line in (data_dir / WITNESS).read_text().splitlines()]
    assert {cp["seq"] for cp in lines if cp["chain"] == "ledger"} == signed
