"""Audit entries carry facts: the ids, hashes and states that kept candidates, exports,
tombstones and artifacts must still agree with when `audit verify` runs. The candidates and
exports already there are listed in `unchained_records`, for the next start to chain them
as they stand (`consent.facts.adopt`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # audit_entries is insert-only: a plain ADD COLUMN keeps its triggers (a batch would
    # copy the table on SQLite and drop them).
    op.add_column("audit_entries", sa.Column("facts", sa.JSON(none_as_null=True), nullable=True))
    op.create_table(
        "unchained_records",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("kind", "id", name=op.f("pk_unchained_records")),
    )
    op.execute(
        "INSERT INTO unchained_records (kind, id) SELECT 'candidate', id FROM training_candidates"
    )
    op.execute("INSERT INTO unchained_records (kind, id) SELECT 'export', id FROM dataset_exports")


def downgrade() -> None:
    op.drop_table("unchained_records")
    op.execute("ALTER TABLE audit_entries DROP COLUMN facts")
