"""The hand-written migrations build exactly the tables the packages declare."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, insert, inspect, select, update
from sqlalchemy.engine import Engine

# Imported for their side effect: each registers its tables on Base.metadata.
import minutekeeper.api.idempotency
import minutekeeper.api.tokens
import minutekeeper.consent.store
import minutekeeper.features.compose.store  # drafts, feedback
import minutekeeper.features.meetings.store
import minutekeeper.jobs.store  # noqa: F401  (jobs)
from minutekeeper.consent.domain import ArtifactKind, DataClass
from minutekeeper.consent.service import ConsentService
from minutekeeper.consent.store import (
    ArtifactRecord,
    AuditEntryRecord,
    CandidateContributorRecord,
    DatasetExportRecord,
    ExportedExampleRecord,
    GateDecisionRecord,
    TombstoneRecord,
    TrainingCandidateRecord,
)
from minutekeeper.core import db
from minutekeeper.core.db import Base, create_db_engine, migrate, write_transaction
from minutekeeper.core.settings import Settings
from minutekeeper.features.meetings import search_index
from minutekeeper.features.meetings.search import SearchQuery, find_hits
from minutekeeper.features.meetings.store import MeetingRecord, save_meeting
from minutekeeper.features.transcription.formats import to_dict as transcript_to_dict
from minutekeeper.features.transcription.service import read_transcript
from tests.conftest import make_world

EXAMPLES = Path(__file__).parents[2] / "examples"


def _declarable(diff: Any) -> bool:
    """Whether a difference is about something a table here could declare: not Alembic's
    own table, nor the full-text index's objects (FTS5's tables, the tsvector column and
    its GIN index), which migration 0017 makes by hand for one backend each."""
    kind, subject = diff[0], diff[-1]
    if kind == "remove_table":
        return subject.name not in ("alembic_version", *search_index.UNDECLARED_TABLES)
    if kind == "remove_column":
        return (diff[2], subject.name) != ("meeting_search", search_index.TSVECTOR_COLUMN)
    if kind == "remove_index":
        return subject.name not in search_index.UNDECLARED_INDEXES
    return True


def test_migrated_schema_matches_the_declared_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if _declarable(d)] == []


def test_migrating_again_changes_nothing(engine: Engine) -> None:
    before = sorted(inspect(engine).get_table_names())
    migrate(engine)
    assert sorted(inspect(engine).get_table_names()) == before


def test_what_was_kept_before_facts_were_chained_is_adopted_once_then_verified(
    settings: Settings,
) -> None:
    """An install at 0012 with a kept candidate and a published, partly tombstoned export:
    after the upgrade verify says they wait for adoption, the first start chains them as
    they stand, and from then on a change to them is found."""
    engine = create_db_engine(settings)
    _upgrade(engine, "0012")
    service = ConsentService.from_settings(engine, settings)
    world = make_world(service)
    alice = world.member("Alice")
    world.give(alice)
    artifact = service.record_artifact(
        world.tenant_id, kind=ArtifactKind.MEETING_SUMMARY, data_class=DataClass.DERIVED_CONTENT,
        input="x", output="y", contributors=[alice.subject_id],
    )  # fmt: skip
    now, ids = service.clock(), [str(uuid.uuid4()) for _ in range(3)]
    decision_id, candidate_id, export_id = ids
    with write_transaction(engine) as conn:
        conn.execute(insert(GateDecisionRecord).values(
            id=decision_id, tenant_id=world.tenant_id, artifact_id=artifact.id,
            purpose="train_ai_system", result="allow", reasons=[], contributors=[],
            ledger_seq=1, rules_version="old", decided_at=now,
        ))  # fmt: skip
        conn.execute(insert(TrainingCandidateRecord).values(
            id=candidate_id, tenant_id=world.tenant_id, artifact_id=artifact.id,
            decision_id=decision_id, example_kind="whole", task="summary",
            messages=[{"role": "user", "content": "x"}], contributors=[alice.subject_id],
            redaction_profile="old", consent_event_seqs=[1], captured_at=now,
            expires_at=now + timedelta(days=30), status="eligible",
        ))  # fmt: skip
        conn.execute(insert(CandidateContributorRecord).values(
            candidate_id=candidate_id, subject_id=alice.subject_id))  # fmt: skip
        conn.execute(insert(DatasetExportRecord).values(
            id=export_id, tenant_id=world.tenant_id, version=1, requested_by="ml",
            status="revoked", path="/nowhere", pseudonym_key="k" * 64, created_at=now,
        ))  # fmt: skip
        for record in ("r1", "r2"):
            conn.execute(insert(ExportedExampleRecord).values(
                export_id=export_id, record_id=record, candidate_id=candidate_id))  # fmt: skip
        conn.execute(insert(TombstoneRecord).values(
            export_id=export_id, record_id="r1", reason="withdrawn", at=now))  # fmt: skip
        # An erasure of that release emptied the artifact's content.
        conn.execute(update(ArtifactRecord).values(input={"erased": True},
                                                   output={"erased": True}))  # fmt: skip
    migrate(engine)
    service = ConsentService.from_settings(engine, settings)

    def problems() -> list[str]:
        report = service.verify()
        assert all(chain.ok for chain in report.chains)
        return next(c.problems for c in report.checks if c.name == "chained records")

    assert problems() == [
        "2 candidates and exports from before this version are not chained yet: start "
        "minutekeeper once to adopt them"
    ]
    assert service.adopt_unchained() == 2
    assert service.adopt_unchained() == 0
    assert problems() == []
    # Its first decision after the upgrade chains the artifact as it stands: the content an
    # erasure emptied is no finding.
    service.decide(world.tenant_id, artifact.id)
    assert problems() == []
    with write_transaction(engine) as conn:
        conn.execute(delete(TombstoneRecord))
        conn.execute(update(TrainingCandidateRecord).values(status="superseded"))
    assert sorted(problems()) == [
        f"export {export_id}: the tombstone of record r1 is gone",
        f"training candidate {candidate_id} (kept at entry {_adopted_at(engine, candidate_id)})"
        ": status is superseded, the chain says eligible",
    ]
    engine.dispose()


def test_draft_artifacts_from_before_sources_were_recorded_get_their_draft_as_source(
    settings: Settings,
) -> None:
    """Upgraded to 0016, an artifact of a draft names the draft its input names, so deleting
    the meeting the draft was written from finds it; a meeting's names none (its deletion
    finds those by the claims about its words)."""
    engine = create_db_engine(settings)
    _upgrade(engine, "0015")
    service = ConsentService.from_settings(engine, settings)
    world = make_world(service)
    alice = world.member("Alice")
    draft_id = str(uuid.uuid4())
    inputs = {ArtifactKind.CHAT_FINAL: {"draft_id": draft_id, "thread": ""},
              ArtifactKind.MEETING_SUMMARY: {"transcript": "Alice: Ship it."}}  # fmt: skip
    made = {
        kind: service.record_artifact(world.tenant_id, kind=kind, input=given, output="y",
                                      data_class=DataClass.DERIVED_CONTENT,
                                      contributors=[alice.subject_id]).id
        for kind, given in inputs.items()
    }  # fmt: skip
    migrate(engine)
    with engine.connect() as conn:
        art = ArtifactRecord
        found = {r.id: (r.source_kind, r.source_id) for r in conn.execute(
            select(art.id, art.source_kind, art.source_id))}  # fmt: skip
    assert found == {made[ArtifactKind.CHAT_FINAL]: ("draft", draft_id),
                     made[ArtifactKind.MEETING_SUMMARY]: (None, None)}  # fmt: skip
    engine.dispose()


def test_meetings_saved_before_search_are_indexed_by_the_upgrade(settings: Settings) -> None:
    """Upgraded to 0017, a meeting saved before is found by its words (each segment with
    its speaker and start), and one saved afterwards too; no other tenant finds them."""
    engine = create_db_engine(settings)
    _upgrade(engine, "0016")
    service = ConsentService.from_settings(engine, settings)
    world, other = make_world(service), make_world(service, "globex")
    owner = world.member("Alice")
    transcript = read_transcript(EXAMPLES / "meeting.vtt")
    with write_transaction(engine) as conn:
        conn.execute(insert(MeetingRecord).values(
            id=str(uuid.uuid4()), tenant_id=world.tenant_id, owner_id=owner.subject_id,
            title="before", source="meeting.vtt", language="en", duration=transcript.duration,
            meeting_date=None, transcript=transcript_to_dict(transcript), summary=None,
            created_at=service.clock(),
        ))  # fmt: skip
    migrate(engine)
    after = save_meeting(engine, tenant_id=world.tenant_id, owner_id=owner.subject_id,
                         title="after", transcript=transcript)  # fmt: skip
    query = SearchQuery.parse("calendar sync")
    found = find_hits(engine, world.tenant_id, query, owner_id=owner.subject_id)
    assert [h.title for h in found if h.segment_id == "s0004"] == ["after", "before"]
    (hit,) = [h for h in found if h.title == "before" and h.segment_id == "s0004"]
    assert (hit.kind, hit.speaker, hit.start) == ("transcript", "Alice", 18.305)
    assert after.id in {h.meeting_id for h in found}
    assert find_hits(engine, other.tenant_id, query, owner_id=owner.subject_id) == []
    engine.dispose()


def _upgrade(engine: Engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    with write_transaction(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _adopted_at(engine: Engine, object_id: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(
            select(AuditEntryRecord.seq).where(AuditEntryRecord.object_id == object_id,
                                               AuditEntryRecord.action == "records.adopted")
        ).scalar_one())  # fmt: skip
