"""Training exports: every candidate re-decided at a pinned ledger position, re-checked
before publication, published whole or not at all; withdrawal and erasure reach published
exports (rules 10-13, 15), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import MetaData, select, update
from sqlalchemy.engine import Engine

from minutekeeper.consent.capture import Offer, Utterance, capture_offer, purge_expired
from minutekeeper.consent.domain import ArtifactKind, ConsentState, DataClass, Principal
from minutekeeper.consent.errors import UnknownExport
from minutekeeper.consent.exports.catalog import ExportInfo, get_export, sweep
from minutekeeper.consent.exports.create import ExportHooks, create_export
from minutekeeper.consent.redaction import Person, Redactor
from minutekeeper.consent.store import ArtifactRecord, DatasetExportRecord, ExportedExampleRecord
from minutekeeper.features.erasure import erase_person
from minutekeeper.features.meetings.store import find_meeting, save_meeting
from minutekeeper.features.transcription.transcript import Segment, Speaker, Transcript
from tests.conftest import Clock, World, make_world


@pytest.fixture
def team(world: World, clock: Clock) -> tuple[Principal, Principal, Principal]:
    alice, bob, carol = world.member("Alice"), world.member("Bob"), world.member("Carol")
    for person in (alice, bob, carol):
        world.give(person)
    clock.advance(minutes=1)
    return alice, bob, carol


def summary_offer(*people: str, said: str, summary: str = "They agreed.") -> Offer:
    return Offer(
        kind=ArtifactKind.MEETING_SUMMARY,
        data_class=DataClass.DERIVED_CONTENT,
        task="meeting_summary",
        input={"transcript": said},
        output={"summary": summary},
        contributors=tuple(people),
        messages=(
            {"role": "system", "content": "Summarize the meeting."},
            {"role": "user", "content": said},
            {"role": "assistant", "content": summary},
        ),
    )


def keep(world: World, redactor: Redactor, offer: Offer) -> str:
    done = capture_offer(world.service, redactor, world.tenant_id, offer)
    assert done.candidate_id is not None, done.excluded
    return done.candidate_id


def export(world: World, tmp_path: Path, **kwargs: Any) -> ExportInfo:
    service = world.service
    return create_export(
        service.engine,
        service.writer,
        world.tenant_id,
        requested_by=world.admin.subject_id,
        exports_dir=tmp_path / "exports",
        **kwargs,
    )


def openai_lines(info: ExportInfo) -> list[dict[str, Any]]:
    text = (Path(info.path) / "openai.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def manifest(info: ExportInfo) -> dict[str, Any]:
    return json.loads((Path(info.path) / "manifest.json").read_text(encoding="utf-8"))


def records(info: ExportInfo) -> list[dict[str, Any]]:
    return pq.read_table(Path(info.path) / "records.parquet").to_pylist()


def candidates_of(world: World, info: ExportInfo) -> list[str]:
    """The candidates behind an export's records, as the server maps them (its files name
    them by pseudonyms only)."""
    er = ExportedExampleRecord
    with world.service.engine.connect() as conn:
        return list(
            conn.execute(
                select(er.candidate_id).where(er.export_id == info.id).order_by(er.record_id)
            ).scalars()
        )


def test_an_export_publishes_every_file_with_its_hash_and_counts(
    world: World, team: tuple[Principal, ...], redactor: Redactor, tmp_path: Path
) -> None:
    alice, bob, carol = (p.subject_id for p in team)
    keep(world, redactor, summary_offer(alice, bob, said="Alice: ship Friday."))
    keep(world, redactor, summary_offer(bob, carol, said="Bob: the audit is done."))
    info = export(world, tmp_path)
    assert info.status == "active" and info.version == 1
    folder = Path(info.path)
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md", "data", "manifest.json", "openai.jsonl", "records.parquet",
        "sharegpt.json", "tombstones.jsonl",
    ]  # fmt: skip
    found = manifest(info)
    assert found["counts"] == {
        "candidates": 2, "included": 2, "excluded": {}, "by_task": {"meeting_summary": 2},
    }  # fmt: skip
    for entry in found["files"]:
        data = (folder / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
    manifest_bytes = (folder / "manifest.json").read_bytes()
    assert hashlib.sha256(manifest_bytes).hexdigest() == info.manifest_sha256
    assert found["ledger_seq"] == info.ledger_seq and found["notice_versions"]
    train = pq.read_table(folder / "data/train-00000.parquet").to_pylist()
    assert [r["messages"] for r in train] == [line["messages"] for line in openai_lines(info)]
    pseudonyms = {p for r in records(info) for p in r["contributors"]}
    assert len(pseudonyms) == 3 and not {alice, bob, carol} & pseudonyms
    # Nothing in the files links this export's records to another's: every id a record
    # names is a pseudonym under this export's key, and the next export's differ.
    again = export(world, tmp_path)
    first, second = records(info), records(again)
    assert candidates_of(world, info) == candidates_of(world, again)
    for column in ("candidate_id", "artifact_id", "capture_decision_id", "consent_events",
                   "contributors"):  # fmt: skip
        ours = {str(r[column]) for r in first}
        assert not ours & {str(r[column]) for r in second}, column
    with world.service.engine.connect() as conn:
        ids = {str(v) for row in conn.execute(select(ArtifactRecord.id)) for v in row}
        ids |= {str(v) for (v,) in conn.execute(select(ExportedExampleRecord.candidate_id))}
    written = (folder / "records.parquet").read_bytes() + (folder / "openai.jsonl").read_bytes()
    assert not any(i.encode() in written for i in ids)
    conversations = json.loads((folder / "sharegpt.json").read_text(encoding="utf-8"))
    assert [t["from"] for t in conversations[0]["conversations"]] == ["system", "human", "gpt"]
    assert world.service.verify().ok


def test_the_tenant_switch_off_at_export_time_keeps_everything_out(
    world: World, team: tuple[Principal, ...], redactor: Redactor, tmp_path: Path
) -> None:
    alice, bob, _ = (p.subject_id for p in team)
    keep(world, redactor, summary_offer(alice, bob, said="Alice: ship Friday."))
    world.service.set_switches(world.admin, training_sharing_enabled=False, confirm=True)
    info = export(world, tmp_path)
    # Turning the switch off retired what was kept (the export's own re-check of the
    # switches, TENANT_SHARING_OFF, stays behind it).
    assert info.counts == {
        "candidates": 1, "included": 0, "excluded": {"CANDIDATE_TOMBSTONED": 1}, "by_task": {},
    }  # fmt: skip
    assert openai_lines(info) == []


def test_the_tenant_switch_turned_off_while_the_export_is_written_keeps_everything_out(
    world: World, team: tuple[Principal, ...], redactor: Redactor, tmp_path: Path
) -> None:
    alice, bob, _ = (p.subject_id for p in team)
    keep(world, redactor, summary_offer(alice, bob, said="Alice: ship Friday."))

    def switch_off() -> None:
        world.service.set_switches(world.admin, training_sharing_enabled=False, confirm=True)

    info = export(world, tmp_path, hooks=ExportHooks(before_recheck=switch_off))
    assert info.counts is not None and info.counts["included"] == 0
    assert info.counts["excluded"] == {"CANDIDATE_TOMBSTONED": 1}


def test_a_withdrawal_while_the_export_is_written_is_not_in_the_manifest(
    world: World, team: tuple[Principal, ...], redactor: Redactor, tmp_path: Path
) -> None:
    alice, bob, carol = team
    keep(world, redactor, summary_offer(alice.subject_id, bob.subject_id, said="Ship Friday."))
    kept = keep(world, redactor, summary_offer(bob.subject_id, carol.subject_id, said="Audit."))
    paused: list[int] = []

    def withdraw_once() -> None:  # the exporter is paused between writing and re-checking
        if not paused:
            paused.append(world.service.record(alice, ConsentState.WITHDRAWN, via="test").seq)

    info = export(world, tmp_path, hooks=ExportHooks(before_recheck=withdraw_once))
    assert info.ledger_seq is not None and info.ledger_seq >= paused[0]
    assert info.counts is not None and info.counts["included"] == 1
    assert candidates_of(world, info) == [kept]
    assert "Ship Friday" not in (Path(info.path) / "openai.jsonl").read_text()


def test_a_candidate_purged_at_its_expiry_while_the_export_is_written_is_left_out(
    world: World, team: tuple[Principal, ...], redactor: Redactor, tmp_path: Path, clock: Clock
) -> None:
    alice, bob, _ = (p.subject_id for p in team)
    world.publish(retention_days=30)  # not a material change: consent stands
    keep(world, redactor, summary_offer(alice, bob, said="Ship Friday."))
    clock.advance(days=20)
    kept = keep(world, redactor, summary_offer(bob, alice, said="Audit done."))
    purged: list[int] = []

    def expire_the_first() -> None:
        if not purged:
            clock.advance(days=15)  # the first is now past its 30 days, the second not
            purged.append(purge_expired(world.service))

    info = export(world, tmp_path, hooks=ExportHooks(before_recheck=expire_the_first))
    assert purged == [1]
    assert candidates_of(world, info) == [kept]
    assert info.counts is not None and info.counts["excluded"] == {"CANDIDATE_PURGED": 1}


def test_a_consent_that_runs_out_while_the_export_is_written_is_not_in_it(
    world: World, team: tuple[Principal, ...], redactor: Redactor, tmp_path: Path, clock: Clock
) -> None:
    alice, bob, carol = team
    world.give(alice, valid_until=clock.now + timedelta(hours=1))  # a give for an hour only
    clock.advance(minutes=1)
    keep(world, redactor, summary_offer(alice.subject_id, bob.subject_id, said="Ship Friday."))
    kept = keep(world, redactor, summary_offer(bob.subject_id, carol.subject_id, said="Audit."))
    waited: list[bool] = []

    def run_out() -> None:  # between writing and re-checking; no `expired` event is written
        if not waited:
            clock.advance(hours=2)
            waited.append(True)

    info = export(world, tmp_path, hooks=ExportHooks(before_recheck=run_out))
    assert candidates_of(world, info) == [kept]
    assert "Ship Friday" not in (Path(info.path) / "openai.jsonl").read_text()
    assert info.counts is not None and sum(info.counts["excluded"].values()) == 1


def test_a_withdrawal_after_publication_tombstones_and_revokes_the_export(
    world: World, team: tuple[Principal, ...], redactor: Redactor, tmp_path: Path
) -> None:
    alice, bob, carol = team
    keep(world, redactor, summary_offer(alice.subject_id, bob.subject_id, said="Ship Friday."))
    keep(world, redactor, summary_offer(bob.subject_id, carol.subject_id, said="Audit."))
    first = export(world, tmp_path)
    world.service.record(alice, ConsentState.WITHDRAWN, via="test")
    revoked = get_export(world.service.engine, world.tenant_id, first.id)
    assert revoked.status == "revoked" and revoked.revoked_at is not None
    lines = (Path(first.path) / "tombstones.jsonl").read_text().splitlines()
    assert [json.loads(line)["record_id"] for line in lines] == ["r000000001"]
    assert json.loads(lines[0])["reason"] == "withdrawn"
    second = export(world, tmp_path, supersedes=first.id)
    assert second.supersedes_id == first.id and second.version == 2
    assert second.counts is not None and second.counts["included"] == 1
    assert second.counts["excluded"] == {"CANDIDATE_TOMBSTONED": 1}
    assert "Ship Friday" not in (Path(second.path) / "openai.jsonl").read_text()
    assert world.service.verify().ok


def every_value(engine: Engine) -> str:
    """Every row of every table, as text."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        return "\n".join(
            repr(tuple(row)) for table in metadata.sorted_tables
            for row in conn.execute(select(table))
        )  # fmt: skip


def test_an_erased_subject_is_nowhere_in_the_database_or_new_exports(
    world: World, team: tuple[Principal, ...], redactor: Redactor, tmp_path: Path
) -> None:
    alice, bob, _ = team
    canary = "Zanzibar-quartz-7731"
    keep(world, redactor, summary_offer(alice.subject_id, bob.subject_id,
                                        said=f"Alice: the code is {canary}."))  # fmt: skip
    turns = (Utterance(alice.subject_id, f"My code is {canary}."),
             Utterance(bob.subject_id, "Noted."))  # fmt: skip
    transcript_offer = replace(
        summary_offer(alice.subject_id, bob.subject_id, said=""),
        kind=ArtifactKind.TRANSCRIPT, task="transcript", messages=(), utterances=turns,
    )  # fmt: skip
    keep(world, redactor, transcript_offer)
    transcript = Transcript(
        segments=(
            Segment("s0001", "S1", 0.0, 2.0, f"My code is {canary}."),
            Segment("s0002", "S2", 2.0, 4.0, "Noted."),
        ),
        speakers=(Speaker("S1", "Alice", "track"), Speaker("S2", "Bob", "track")),
        duration=4.0,
        source="standup.vtt",
    )
    engine = world.service.engine
    meeting = save_meeting(engine, tenant_id=world.tenant_id, owner_id=bob.subject_id,
                           title="Standup", transcript=transcript)  # fmt: skip
    before = export(world, tmp_path)
    assert canary in every_value(world.service.engine)

    report = erase_person(world.service, world.tenant_id, "Alice", actor_id="admin")
    assert report.meetings == 1 and report.candidates == 2 and report.exports == (before.id,)
    stored = every_value(world.service.engine)
    assert canary not in stored and "'Alice'" not in stored
    kept = find_meeting(world.service.engine, world.tenant_id, meeting.id)
    assert [s.text for s in kept.transcript.segments] == ["Noted."]
    after = export(world, tmp_path)
    assert canary not in "".join(p.read_text(errors="replace") for p in Path(after.path).rglob("*")
                                 if p.is_file())  # fmt: skip
    assert get_export(world.service.engine, world.tenant_id, before.id).status == "revoked"
    assert world.service.verify().ok


NASTY = [
    'He said "ship it" \\ then left',
    "line one\nline two\r\nline three",
    "Unicode: café, 東京, emoji 🚀, sep \u2028 and \u2029, nul-free \t tab",
    '{"messages": ["not really"]}',
]


@pytest.mark.parametrize("content", NASTY)
def test_openai_jsonl_stays_one_valid_chat_per_line(
    world: World, team: tuple[Principal, ...], redactor: Redactor, tmp_path: Path, content: str
) -> None:
    alice, bob, _ = (p.subject_id for p in team)
    keep(world, redactor, summary_offer(alice, bob, said=content, summary=content))
    info = export(world, tmp_path)
    raw = (Path(info.path) / "openai.jsonl").read_text(encoding="utf-8")
    lines = raw.split("\n")
    assert lines[-1] == "" and len(lines) == 2
    line = json.loads(lines[0])
    assert list(line) == ["messages"]
    roles = [m["role"] for m in line["messages"]]
    assert set(roles) <= {"system", "user", "assistant"} and roles[-1] == "assistant"
    # The example as redaction left it: words no dictionary lists ("emoji") may be hidden,
    # every character that JSON lines must escape is still there.
    assert line["messages"][-1]["content"] == redactor.redact(content)
    assert all(
        c in line["messages"][-1]["content"] for c in '"\\\n\r\u2028\u2029\t東京' if c in content
    )


def test_tenant_a_export_never_contains_tenant_b_rows(
    world: World, redactor: Redactor, tmp_path: Path, clock: Clock
) -> None:
    beta = make_world(world.service, "beta")
    kept: dict[str, str] = {}
    for place, tag in ((world, "ACME-ONLY"), (beta, "BETA-ONLY")):
        alice, bob = place.member("Alice"), place.member("Bob")
        place.give(alice)
        place.give(bob)
        clock.advance(minutes=1)
        roster = {alice.subject_id: Person("Alice", "alice@example.com"),
                  bob.subject_id: Person("Bob", "bob@example.com")}  # fmt: skip
        offer = summary_offer(alice.subject_id, bob.subject_id, said=f"{tag} alice@example.com")
        kept[tag] = keep(place, redactor, replace(offer, roster=roster, author=alice.subject_id))
    info = export(world, tmp_path)
    assert candidates_of(world, info) == [kept["ACME-ONLY"]]
    text = "".join(p.read_text(errors="replace") for p in Path(info.path).rglob("*") if p.is_file())
    assert "BETA-ONLY" not in text and "ACME-ONLY" in text
    with pytest.raises(UnknownExport):
        get_export(world.service.engine, beta.tenant_id, info.id)


def test_a_failed_build_leaves_a_failed_row_and_no_folder(
    world: World, team: tuple[Principal, ...], redactor: Redactor, tmp_path: Path
) -> None:
    alice, bob, _ = (p.subject_id for p in team)
    keep(world, redactor, summary_offer(alice, bob, said="Ship Friday."))

    def crash(_: int) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        export(world, tmp_path, hooks=ExportHooks(on_batch=crash))
    with world.service.engine.connect() as conn:
        [row] = conn.execute(select(DatasetExportRecord)).all()
    assert row.status == "failed" and "disk full" in (row.status_reason or "")
    leftovers = [p for p in (tmp_path / "exports").rglob("*")]
    assert leftovers == [tmp_path / "exports" / ".staging"]
    assert sweep(world.service.engine, world.service.writer, tmp_path / "exports") == []


KILLED_BUILDER = """
import sys, time
from pathlib import Path
from minutekeeper.core.db import create_db_engine
from minutekeeper.core.settings import Settings
from minutekeeper.consent.exports.create import ExportHooks, create_export
from minutekeeper.consent.service import ConsentService

data_dir, url, tenant_id, marker = sys.argv[1:5]
settings = Settings(data_dir=Path(data_dir), database_url=url)
engine = create_db_engine(settings)
service = ConsentService.from_settings(engine, settings)

def stop_here(written):
    Path(marker).write_text(str(written))
    time.sleep(600)

create_export(engine, service.writer, tenant_id, requested_by="ml",
              exports_dir=Path(data_dir) / "exports", hooks=ExportHooks(on_batch=stop_here))
"""


def test_a_killed_exporter_leaves_no_published_export_and_no_partial_folder(
    world: World,
    team: tuple[Principal, ...],
    redactor: Redactor,
    settings: Any,
    tmp_path: Path,
) -> None:
    alice, bob, _ = (p.subject_id for p in team)
    keep(world, redactor, summary_offer(alice, bob, said="Ship Friday."))
    marker = tmp_path / "writing"
    exports = settings.data_dir / "exports"
    builder = subprocess.Popen(
        [sys.executable, "-c", KILLED_BUILDER, str(settings.data_dir),
         settings.resolved_database_url(), world.tenant_id, str(marker)],
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not marker.exists() and builder.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "the builder never started writing"
        os.kill(builder.pid, signal.SIGKILL)
    finally:
        builder.kill()
        builder.wait(30)
    assert [p.name for p in exports.iterdir()] == [".staging"]  # nothing published
    engine = world.service.engine
    with engine.connect() as conn:
        [row] = conn.execute(select(DatasetExportRecord)).all()
    assert row.status == "building" and not Path(row.path).exists()

    assert sweep(engine, world.service.writer, exports) == [row.id]  # the next command's sweep
    assert list((exports / ".staging").iterdir()) == []
    assert get_export(engine, world.tenant_id, row.id).status == "failed"
    assert export(world, tmp_path / "unused").status == "active"
    assert world.service.verify().ok


def test_what_older_rules_kept_is_re_decided_once_and_its_published_records_tombstoned(
    world: World, team: tuple[Principal, Principal, Principal], redactor: Redactor,
    tmp_path: Path, clock: Clock,
) -> None:  # fmt: skip
    alice, bob, carol = team
    world.service.record(carol, ConsentState.WITHDRAWN, via="test")
    clock.advance(minutes=1)
    world.give(carol)
    clock.advance(minutes=1)
    # Kept while both vouched for its time (Carol's consent since her return covers it)...
    offer = replace(summary_offer(alice.subject_id, carol.subject_id, said="Ship Friday."),
                    vouched_by=(alice.subject_id, carol.subject_id))  # fmt: skip
    keep(world, redactor, offer)
    keep(world, redactor, summary_offer(alice.subject_id, bob.subject_id, said="Audit."))
    first = export(world, tmp_path)
    assert first.counts is not None and first.counts["included"] == 2
    # ... then stored as an artifact from before content times were kept (migration 0010:
    # vouched for by nobody), so Carol's withdrawal before the upload now counts.
    with world.service.engine.begin() as conn:
        conn.execute(update(ArtifactRecord).values(time_vouched_by=[]))
    assert world.service.apply_rules() == 1
    assert world.service.apply_rules() == 0  # once per rules version
    revoked = get_export(world.service.engine, world.tenant_id, first.id)
    assert revoked.status == "revoked"
    stones = (Path(first.path) / "tombstones.jsonl").read_text().splitlines()
    assert [json.loads(line)["reason"] for line in stones] == ["rules_changed"]
    again = export(world, tmp_path)
    assert again.counts is not None and again.counts["included"] == 1
    report = world.service.verify()
    assert all(chain.ok for chain in report.chains)
    # The stand-in for an old row was written behind the code's back after its decision
    # chained what the gate read: verify names exactly those artifacts, nothing else.
    (chained,) = [c for c in report.checks if c.name == "chained records"]
    assert chained.problems and all("time_vouched_by changed" in p for p in chained.problems)


def test_examples_kept_before_claims_were_recorded_are_retired_by_the_new_rules(
    world: World, team: tuple[Principal, Principal, Principal], redactor: Redactor,
    tmp_path: Path,
) -> None:  # fmt: skip
    alice, bob, _ = team
    keep(world, redactor, summary_offer(alice.subject_id, bob.subject_id, said="Ship Friday."))
    first = export(world, tmp_path)
    assert first.counts is not None and first.counts["included"] == 1
    # As stored before migration 0011: every name in it was typed by someone unknown.
    with world.service.engine.begin() as conn:
        conn.execute(update(ArtifactRecord).values(attributions=None))
    assert world.service.apply_rules() == 1
    assert get_export(world.service.engine, world.tenant_id, first.id).status == "revoked"
    assert export(world, tmp_path).counts == {
        "candidates": 1, "included": 0, "excluded": {"CANDIDATE_TOMBSTONED": 1}, "by_task": {},
    }  # fmt: skip
