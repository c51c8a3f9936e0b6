"""Subject promotions: a guest (a name heard in a meeting) made a member by an admin, and
when. Each row is chained in the audit log (`subject.promoted`); the gate reads its time so
that words heard while they were a guest stay a guest's, and a decision made before the
promotion replays to itself.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_promotions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("actor_id", sa.String(length=200), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_subject_promotions_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_subject_promotions_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_promotions")),
    )
    op.create_index(
        "uq_subject_promotions_subject", "subject_promotions", ["subject_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_subject_promotions_subject", table_name="subject_promotions")
    op.drop_table("subject_promotions")
