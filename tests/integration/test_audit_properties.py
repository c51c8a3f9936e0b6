"""Property-based: any single change to any stored chain entry is caught by verify."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minutekeeper.consent.service import ConsentService
from minutekeeper.core.db import create_db_engine
from minutekeeper.core.settings import Settings
from tests.integration.tampering import EVENTS, tamper

LEDGER_COLUMNS = [
    "id", "tenant_id", "subject_id", "actor_id", "actor_role", "purpose", "scope", "state",
    "method", "notice_version_id", "recorded_at", "valid_until", "idempotency_key",
    "prev_hash", "entry_hash",
]  # fmt: skip
AUDIT_COLUMNS = ["at", "actor", "action", "object_type", "object_id", "payload_sha256",
                 "prev_hash", "entry_hash"]  # fmt: skip


def verify(data_dir: Path) -> tuple[bool, dict[str, int | None]]:
    settings = Settings(data_dir=data_dir)
    engine = create_db_engine(settings)
    report = ConsentService.from_settings(engine, settings).verify()
    engine.dispose()
    return report.ok, {c.chain: c.first_bad_seq for c in report.chains}


def audit_size(data_dir: Path) -> int:
    db = sqlite3.connect(data_dir / "minutekeeper.db")
    (count,) = db.execute("SELECT count(*) FROM audit_entries").fetchone()
    db.close()
    return int(count)


@pytest.mark.slow
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_single_mutation_of_a_chain_entry_is_detected(
    pristine: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    work = tmp_path_factory.mktemp("mutated")
    shutil.copytree(pristine, work, dirs_exist_ok=True)
    table, columns, size = data.draw(
        st.sampled_from(
            [
                ("consent_events", LEDGER_COLUMNS, EVENTS),
                ("audit_entries", AUDIT_COLUMNS, audit_size(pristine)),
            ]
        )
    )
    seq = data.draw(st.integers(min_value=1, max_value=size), label="seq")
    column = data.draw(st.sampled_from(columns), label="column")
    # Append one character: a change of a single value, of any column but the sequence.
    tamper(work, f"UPDATE {table} SET {column} = COALESCE({column}, '') || 'x' WHERE seq = {seq}")
    ok, first_bad = verify(work)
    assert not ok
    chain = "ledger" if table == "consent_events" else "audit"
    assert first_bad[chain] is not None and first_bad[chain] <= seq
