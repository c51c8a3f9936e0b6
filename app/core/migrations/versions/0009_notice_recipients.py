"""Notices name who receives what is kept (a new recipient is a material change).

Versions published before this name none: the tenant alone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: notice versions are insert-only (their triggers stay in place).
    op.add_column("notice_versions", sa.Column("recipients", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notice_versions") as batch:
        batch.drop_column("recipients")
