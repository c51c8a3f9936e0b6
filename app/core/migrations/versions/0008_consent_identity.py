"""Who may record consent: a single-user install's pinned owner, when a tenant became
multi-user, and what each consent event came through (a token, a session, the owner).

Tenants that already have a second member or any API token are multi-user from now on;
the owner of a single-user install is pinned (and chained) on its next CLI run.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("owner_id", sa.String(length=36), nullable=True))
    op.add_column(
        "tenants", sa.Column("multi_user_since", sa.DateTime(timezone=True), nullable=True)
    )
    # A plain ADD COLUMN: the ledger is insert-only (its triggers stay in place).
    op.add_column("consent_events", sa.Column("via", sa.String(length=80), nullable=True))
    op.execute(
        "UPDATE tenants SET multi_user_since = CURRENT_TIMESTAMP WHERE "
        "(SELECT COUNT(*) FROM subjects WHERE subjects.tenant_id = tenants.id "
        "AND subjects.kind = 'member') > 1 "
        "OR EXISTS (SELECT 1 FROM api_tokens WHERE api_tokens.tenant_id = tenants.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("consent_events") as batch:
        batch.drop_column("via")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("multi_user_since")
        batch.drop_column("owner_id")
