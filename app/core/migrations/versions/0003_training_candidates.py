"""Training candidates: redacted examples the gate allowed at capture.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Mutable rows: a withdrawal tombstones them and erasure or retention purges them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = "training_candidates"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("artifact_id", sa.String(length=36), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("example_kind", sa.String(length=16), nullable=False),
        sa.Column("task", sa.String(length=32), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("contributors", sa.JSON(), nullable=False),
        sa.Column("redaction_profile", sa.String(length=64), nullable=False),
        sa.Column("consent_event_seqs", sa.JSON(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        *(
            sa.ForeignKeyConstraint(
                [column], [f"{target}.id"], name=op.f(f"fk_{TABLE}_{column}_{target}")
            )
            for column, target in (
                ("tenant_id", "tenants"),
                ("artifact_id", "artifacts"),
                ("decision_id", "gate_decisions"),
            )
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
    )
    op.create_index(f"ix_{TABLE}_tenant_status", TABLE, ["tenant_id", "status"])
    op.create_index(f"ix_{TABLE}_artifact", TABLE, ["artifact_id"])


def downgrade() -> None:
    op.drop_table(TABLE)
