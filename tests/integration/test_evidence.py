"""Issue 21's findings, each as an attack by someone holding the database: what the gate and
exports rest on is the chained evidence, and `audit verify` finds a copy that lies."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, select, update

from minutekeeper.consent.chain import checkpoint_message, signature_is_valid
from minutekeeper.consent.store import (
    ArtifactRecord,
    CandidateContributorRecord,
    ConsentEventRecord,
    CurrentConsentRecord,
    DatasetExportRecord,
    ExportedExampleRecord,
    TombstoneRecord,
    TrainingCandidateRecord,
)
from minutekeeper.core.db import read_transaction, write_transaction
from minutekeeper.core.settings import Settings
from tests.integration.api_support import Api, scripted_settings
from tests.integration.test_api_consent import decide, states
from tests.integration.test_api_exports import build_export, consenting_meeting
from tests.integration.test_consent_attacks import alone, consents, uploaded


@pytest.fixture
def settings(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    scripted = scripted_settings(tmp_path, database_url, monkeypatch)
    return scripted.model_copy(update={"audit_witness": tmp_path / "witness" / "audit.jsonl"})


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
    assert verify_problems(api) == {
        "consent projection": [f"current_consent {carol}/train_ai_system/all: differs"],
        "chained records": [],
    }


# --- what decisions and exports rest on is chained: a row changed behind the code's back
# is found by `audit verify` (through the API, on both databases).


def verify_problems(api: Api) -> dict[str, list[str]]:
    """What the operator's `audit verify` finds; a tenant's admin sees which checks fail
    (not where: the chains and their positions are shared by every tenant)."""
    report = api.runtime.service.verify()
    assert all(chain.ok for chain in report.chains), report  # the chains are intact
    verified = api.client.get("/v1/audit/verify", headers=api.auth("acme", "admin")).json()
    assert verified["ok"] is report.ok
    assert verified["checks"] == [{"name": c.name, "ok": c.ok} for c in report.checks]
    assert "entries" not in str(verified) and "seq" not in str(verified)
    return {check.name: check.problems for check in report.checks}


def one_candidate(conn: Connection) -> Any:
    return conn.execute(
        select(TrainingCandidateRecord)
        .where(TrainingCandidateRecord.status == "eligible")
        .order_by(TrainingCandidateRecord.id)
        .limit(1)
    ).one()


def edit_messages(conn: Connection) -> None:
    kept = one_candidate(conn)
    messages = [
        {**m, "content": m["content"] + " Dana's SSN is 078-05-1120."} for m in kept.messages
    ]
    conn.execute(update(TrainingCandidateRecord).where(TrainingCandidateRecord.id == kept.id)
                 .values(messages=messages))  # fmt: skip


def drop_a_contributor(conn: Connection) -> None:
    kept = one_candidate(conn)
    conn.execute(
        delete(CandidateContributorRecord).where(
            CandidateContributorRecord.candidate_id == kept.id,
            CandidateContributorRecord.subject_id == kept.contributors[0],
        )
    )
    conn.execute(update(TrainingCandidateRecord).where(TrainingCandidateRecord.id == kept.id)
                 .values(contributors=kept.contributors[1:]))  # fmt: skip


def edit_artifact_contributors(conn: Connection) -> None:
    kept = one_candidate(conn)
    conn.execute(update(ArtifactRecord).where(ArtifactRecord.id == kept.artifact_id)
                 .values(contributors=[]))  # fmt: skip


def drop_export_records(conn: Connection) -> None:
    conn.execute(delete(ExportedExampleRecord))


def forge_a_candidate(conn: Connection) -> None:
    kept = one_candidate(conn)
    forged = {**kept._mapping, "id": str(uuid.uuid4())}
    conn.execute(insert(TrainingCandidateRecord).values(**forged))


@pytest.mark.parametrize(
    ("attack", "found"),
    [
        (edit_messages, "its messages were changed"),
        (drop_a_contributor, "candidate_contributors rows were changed"),
        (edit_artifact_contributors, "contributors changed"),
        (drop_export_records, "its export_records were changed"),
        (forge_a_candidate, "is not in the audit chain"),
    ],
)
def test_a_kept_example_or_export_changed_behind_the_code_fails_verify(
    api: Api, attack: Callable[[Connection], None], found: str
) -> None:
    consenting_meeting(api)
    build_export(api)
    assert verify_problems(api)["chained records"] == []
    with write_transaction(api.runtime.engine) as conn:
        attack(conn)
    problems = verify_problems(api)["chained records"]
    assert problems and any(found in problem for problem in problems), problems


def test_a_revoked_export_set_back_to_active_without_its_tombstones_fails_verify(
    api: Api,
) -> None:
    consenting_meeting(api)
    export = build_export(api)
    withdrawn = api.client.post("/v1/consent", json={"decision": "withdrawn"},
                                headers=api.auth("acme", "Bob"))  # fmt: skip
    assert withdrawn.status_code == 201
    with write_transaction(api.runtime.engine) as conn:
        conn.execute(update(DatasetExportRecord).values(status="active", revoked_at=None))
        conn.execute(delete(TombstoneRecord))
    problems = verify_problems(api)["chained records"]
    assert f"export {export['id']}: status is active, the chain says revoked" in problems
    assert sum("the tombstone of record" in p for p in problems) == 2, problems
    result = api.client.get("/v1/audit/verify", headers=api.auth("acme", "admin")).json()
    assert result["ok"] is False


# --- checkpoints leave no quiet tail, and what a person or an exporter holds carries one


def witnessed(api: Api) -> list[dict[str, Any]]:
    path = api.runtime.settings.audit_witness
    assert path is not None
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_withdrawal_is_signed_at_once_and_its_receipt_carries_the_checkpoint(
    api: Api,
) -> None:
    consents(api, "Carol")
    receipt = api.client.get("/v1/consent/me/history", headers=api.auth("acme", "Carol")).json()
    assert "seq" not in receipt["events"][0]  # a shared ledger's positions are not shown
    assert decide(api, "withdrawn", "Carol").status_code == 201
    receipt = api.client.get("/v1/consent/me/history", headers=api.auth("acme", "Carol")).json()
    checkpoint = receipt["checkpoint"]
    assert checkpoint is not None and checkpoint["chain"] == "ledger"
    # Signed in the withdrawal's own transaction: it covers exactly the withdrawal.
    with read_transaction(api.runtime.engine) as conn:
        newest = conn.execute(
            select(ConsentEventRecord.seq, ConsentEventRecord.entry_hash)
            .order_by(ConsentEventRecord.seq.desc()).limit(1)
        ).one()  # fmt: skip
    assert (checkpoint["seq"], checkpoint["entry_hash"]) == tuple(newest)
    assert receipt["events"][-1]["entry_hash"] == checkpoint["entry_hash"]
    message = checkpoint_message("ledger", checkpoint["seq"], checkpoint["entry_hash"],
                                 checkpoint["signed_at"])  # fmt: skip
    assert signature_is_valid(checkpoint["public_key"], checkpoint["signature"], message)
    assert api.runtime.service.writer.signer.public_key_hex == checkpoint["public_key"]
    assert {k: v for k, v in checkpoint.items()} in witnessed(api)


def test_a_manifest_carries_a_checkpoint_and_a_rolled_back_one_never_reaches_the_witness(
    api: Api,
) -> None:
    consenting_meeting(api)
    export = build_export(api)
    manifest = json.loads((Path(export_path(api, export["id"])) / "manifest.json").read_text())
    chains = {cp["chain"]: cp for cp in manifest["audit_checkpoints"]}
    assert set(chains) == {"ledger", "audit"}
    assert all(cp in witnessed(api) for cp in chains.values())
    before = witnessed(api)
    writer = api.runtime.service.writer

    def signed_then_rolled_back() -> None:
        with write_transaction(api.runtime.engine) as conn:
            writer.audit(conn, actor="test", action="test.rolled_back", object_type="test",
                         object_id="x", payload={})  # fmt: skip
            assert writer.checkpoint(conn) == 1
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        signed_then_rolled_back()
    assert witnessed(api) == before
    assert verify_problems(api)["chained records"] == []
    assert api.runtime.service.verify().warnings == []


def export_path(api: Api, export_id: str) -> str:
    with read_transaction(api.runtime.engine) as conn:
        return str(
            conn.execute(
                select(DatasetExportRecord.path).where(DatasetExportRecord.id == export_id)
            ).scalar_one()
        )


def test_a_witness_that_cannot_be_written_loses_no_withdrawal_and_verify_says_so(
    api: Api,
) -> None:
    consents(api, "Carol")
    path = api.runtime.settings.audit_witness
    assert path is not None
    shutil.rmtree(path.parent, ignore_errors=True)
    path.parent.write_text("")  # a file where its folder should be: every append fails
    assert decide(api, "withdrawn", "Carol").status_code == 201
    assert states(api, "Carol") == {"train_ai_system": "withdrawn"}
    report = api.runtime.service.verify()
    assert report.ok  # what the database holds is intact; the witness lacks it, and says so
    assert any("checkpoints are not in the witness" in w for w in report.warnings), report
    # A witness that is set but cannot be read proves nothing: verify fails.
    path.parent.unlink()
    path.mkdir(parents=True)
    unreadable = api.runtime.service.verify()
    assert not unreadable.ok
    assert [c.problems[0].startswith("the witness cannot be read") for c in unreadable.checks
            if c.name == "witness"] == [True]  # fmt: skip
