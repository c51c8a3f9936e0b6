"""Issue 21's findings, each as an attack by someone holding the database: what the gate and
exports rest on is the chained evidence, and `audit verify` finds a copy that lies."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from minutekeeper.consent.store import ConsentEventRecord, CurrentConsentRecord
from minutekeeper.core.db import write_transaction
from minutekeeper.core.settings import Settings
from tests.integration.api_support import Api, scripted_settings
from tests.integration.test_api_consent import decide, states
from tests.integration.test_consent_attacks import alone, consents, uploaded


@pytest.fixture
def settings(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return scripted_settings(tmp_path, database_url, monkeypatch)


def test_a_withdrawal_set_back_to_given_in_the_projection_is_not_believed(api: Api) -> None:
    consents(api, "Carol")
    assert decide(api, "withdrawn", "Carol").status_code == 201
    carol = api.people["acme", "Carol"].subject_id
    # With the database: Carol's current-consent row set back to her genuine, older give.
    with write_transaction(api.runtime.engine) as conn:
        give = conn.execute(
            select(ConsentEventRecord).where(
                ConsentEventRecord.subject_id == carol, ConsentEventRecord.state == "given"
            )
        ).one()
        conn.execute(
            update(CurrentConsentRecord)
            .where(CurrentConsentRecord.subject_id == carol)
            .values(state="given", last_seq=give.seq, notice_version_id=give.notice_version_id,
                    recorded_at=give.recorded_at, valid_until=give.valid_until)
        )  # fmt: skip
    # Her own words, uploaded by her: nothing is kept, and she is shown as withdrawn.
    training = uploaded(api, "Carol", alone("Carol"))
    assert "WITHDRAWN" in training["meeting_summary"], training
    assert states(api, "Carol") == {"train_ai_system": "withdrawn"}
    verified = api.client.get("/v1/audit/verify", headers=api.auth("acme", "admin")).json()
    assert verified["ok"] is False
    (check,) = verified["checks"]
    assert check["name"] == "consent projection" and check["problems"] == [
        f"current_consent {carol}/train_ai_system/all: differs"
    ]
    assert all(chain["ok"] for chain in verified["chains"])  # the chains themselves are intact
