"""Attribution: requests to the people a typed name points at, and the claims each artifact
rests on. The answers themselves are ledger events (purpose `attribution`).

Artifacts stored before record no claims: the rules re-decide them as they stand
(`ConsentService.apply_rules`).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("artifacts", sa.Column("attributions", sa.JSON(), nullable=True))
    op.create_table(
        "attribution_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("binding", sa.String(length=64), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_attribution_requests_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_attribution_requests_subject_id_subjects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attribution_requests")),
    )
    op.create_index(
        "ix_attribution_requests_subject", "attribution_requests", ["subject_id", "status"]
    )
    op.create_index("ix_attribution_requests_binding", "attribution_requests", ["binding"])


def downgrade() -> None:
    op.drop_table("attribution_requests")
    with op.batch_alter_table("artifacts") as batch:
        batch.drop_column("attributions")
