"""The hand-written migrations build exactly the tables the packages declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

# Imported for their side effect: each registers its tables on Base.metadata.
import minutekeeper.api.idempotency
import minutekeeper.api.tokens
import minutekeeper.consent.store
import minutekeeper.features.compose.store  # drafts, feedback
import minutekeeper.features.meetings.store
import minutekeeper.jobs.store  # noqa: F401  (jobs)
from minutekeeper.core.db import Base, migrate


def test_migrated_schema_matches_the_declared_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if d[0] != "remove_table" or d[1].name != "alembic_version"] == []


def test_migrating_again_changes_nothing(engine: Engine) -> None:
    before = sorted(inspect(engine).get_table_names())
    migrate(engine)
    assert sorted(inspect(engine).get_table_names()) == before
