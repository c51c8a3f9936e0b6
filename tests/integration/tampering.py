"""A small real database to tamper with, shared by the tamper tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from minutekeeper.consent.domain import ArtifactKind, ConsentState, DataClass
from minutekeeper.consent.service import ConsentService
from minutekeeper.core.db import create_db_engine, migrate
from minutekeeper.core.settings import Settings
from tests.conftest import make_world

EVENTS = 12
WITNESS = "witness.jsonl"  # in the data folder, so each test's copy has its own


def build_pristine(data_dir: Path) -> None:
    """12 ledger events, a decision and checkpoints every 5 entries, at every withdrawal
    and at the end, each also kept in a witness file."""
    settings = Settings(data_dir=data_dir, checkpoint_every=5, audit_witness=data_dir / WITNESS)
    engine = create_db_engine(settings)
    migrate(engine)
    world = make_world(ConsentService.from_settings(engine, settings))
    people = [world.member(f"person{i}") for i in range(4)]
    for i in range(EVENTS):
        person = people[i % 4]
        if i % 3 == 2:
            world.service.record(person, ConsentState.WITHDRAWN, via="test")
        else:
            world.give(person)
    artifact = world.service.record_artifact(
        world.tenant_id,
        kind=ArtifactKind.MEETING_SUMMARY,
        data_class=DataClass.DERIVED_CONTENT,
        input="x",
        output="y",
        contributors=[p.subject_id for p in people],
    )
    world.service.decide(world.tenant_id, artifact.id)
    world.service.checkpoint()
    engine.dispose()


def tamper(data_dir: Path, *statements: str) -> None:
    db = sqlite3.connect(data_dir / "minutekeeper.db", isolation_level=None)
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    for statement in statements:
        db.execute(statement)
    db.close()
