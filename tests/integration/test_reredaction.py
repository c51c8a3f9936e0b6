"""Candidates kept under the old redaction profile are brought to the current one in one
step: re-redacted (their published records tombstoned when the text changes), or
excluded where redaction fails; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from minutekeeper.consent.capture import capture_offer
from minutekeeper.consent.domain import Principal
from minutekeeper.consent.exports import build
from minutekeeper.consent.exports.catalog import ExportInfo
from minutekeeper.consent.exports.create import create_export
from minutekeeper.consent.redaction import PROFILE, Redactor
from minutekeeper.consent.reredaction import reredact_candidates
from minutekeeper.consent.store import (
    AuditEntryRecord,
    DatasetExportRecord,
    TombstoneRecord,
    TrainingCandidateRecord,
    UnchainedRecord,
)
from tests.conftest import Clock, World
from tests.integration.test_export import summary_offer

OLD = "presidio-offline-v1"
# What the old profile kept: Eve is a member who never spoke (not on its deny-list), the
# email's domain failed its public-suffix check.
LEAKY = "Eve from HR wants the numbers; write to dana@initech.example."


@pytest.fixture
def team(world: World, clock: Clock) -> tuple[Principal, Principal]:
    alice, bob = world.member("Alice"), world.member("Bob")
    world.member("Eve")  # never consents, never speaks
    for person in (alice, bob):
        world.give(person)
    clock.advance(minutes=1)
    return alice, bob


def kept_under_the_old_profile(
    world: World, redactor: Redactor, people: tuple[str, ...], said: str | None
) -> str:
    """A candidate as the old release left it: its example as that redaction kept it."""
    done = capture_offer(world.service, redactor, world.tenant_id,
                         summary_offer(*people, said="placeholder"))  # fmt: skip
    assert done.candidate_id is not None, done.excluded
    tc = TrainingCandidateRecord
    with world.service.engine.begin() as conn:
        conn.execute(
            update(tc)
            .where(tc.id == done.candidate_id)
            .values(messages=[{"role": "user", "content": said},
                              {"role": "assistant", "content": "They agreed."}],
                    redaction_profile=OLD)
        )  # fmt: skip
        # Kept by a release before the chain held candidates' facts: listed at the upgrade
        # (migration 0013) and chained as it stands by the next start.
        conn.execute(insert(UnchainedRecord).values(kind="candidate", id=done.candidate_id))
    assert world.service.adopt_unchained() == 1
    return done.candidate_id


def old_release_export(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ExportInfo:
    """An export published before the upgrade: the old profile was the current one then."""
    with monkeypatch.context() as patch:
        patch.setattr(build, "PROFILE", OLD)
        return create_export(world.service.engine, world.service.writer, world.tenant_id,
                             requested_by="ml", exports_dir=tmp_path / "exports")  # fmt: skip


def candidate(world: World, candidate_id: str) -> TrainingCandidateRecord:
    with world.service.engine.connect() as conn:
        row = conn.execute(
            select(TrainingCandidateRecord).where(TrainingCandidateRecord.id == candidate_id)
        ).one()
    return row  # type: ignore[return-value]


def test_old_candidates_are_re_redacted_or_excluded_and_leaky_records_tombstoned(
    world: World,
    team: tuple[Principal, Principal],
    redactor: Redactor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    people = tuple(p.subject_id for p in team)
    leaky = kept_under_the_old_profile(world, redactor, people, LEAKY)
    clean = kept_under_the_old_profile(world, redactor, people, "Ship it on 2026-12-18.")
    broken = kept_under_the_old_profile(world, redactor, people, None)
    export = old_release_export(world, tmp_path, monkeypatch)
    assert export.counts["included"] == 2  # the broken one was never a valid example

    done = reredact_candidates(world.service, redactor, actor_id="upgrade")

    assert (done.rewritten, done.unchanged, done.excluded) == (1, 1, 1)
    assert done.exports == (export.id,)
    rewritten = candidate(world, leaky)
    assert rewritten.status == "eligible" and rewritten.redaction_profile == PROFILE
    assert (
        rewritten.messages[0]["content"] == "<PERSON> from HR wants the numbers; write to <EMAIL>."
    )
    assert candidate(world, clean).messages[0]["content"] == "Ship it on 2026-12-18."
    assert candidate(world, clean).redaction_profile == PROFILE
    excluded = candidate(world, broken)
    assert excluded.status == "excluded" and excluded.messages == []
    with world.service.engine.connect() as conn:
        stones = conn.execute(select(TombstoneRecord.reason)).scalars().all()
        status = conn.execute(select(DatasetExportRecord.status)).scalar_one()
        audited = conn.execute(
            select(AuditEntryRecord.action).where(AuditEntryRecord.actor == "upgrade")
        ).scalars().all()  # fmt: skip
    assert stones == ["redaction"] and status == "revoked"
    assert sorted(audited) == ["candidates.reredacted", "export.tombstoned"]
    on_disk = (Path(export.path) / "tombstones.jsonl").read_text(encoding="utf-8")
    assert [json.loads(line)["reason"] for line in on_disk.splitlines()] == ["redaction"]
    assert world.service.verify().ok

    again = reredact_candidates(world.service, redactor)
    assert (again.rewritten, again.unchanged, again.excluded, again.exports) == (0, 0, 0, ())


def test_an_export_leaves_out_candidates_of_an_older_profile_until_re_redacted(
    world: World, team: tuple[Principal, Principal], redactor: Redactor, tmp_path: Path
) -> None:
    people = tuple(p.subject_id for p in team)
    kept_under_the_old_profile(world, redactor, people, LEAKY)
    before = create_export(world.service.engine, world.service.writer, world.tenant_id,
                           requested_by="ml", exports_dir=tmp_path / "exports")  # fmt: skip
    assert before.counts["included"] == 0
    assert before.counts["excluded"] == {"REDACTION_OUTDATED": 1}
    reredact_candidates(world.service, redactor)
    after = create_export(world.service.engine, world.service.writer, world.tenant_id,
                          requested_by="ml", exports_dir=tmp_path / "exports")  # fmt: skip
    assert after.counts["included"] == 1
    text = (Path(after.path) / "openai.jsonl").read_text(encoding="utf-8")
    assert "Eve" not in text and "dana@initech.example" not in text
