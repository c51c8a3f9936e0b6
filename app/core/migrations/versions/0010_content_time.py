"""An artifact's content time, separate from when it reached the server, and who vouches
for it. Artifacts stored before keep their capture time as both, vouched for by nobody:
under the new rules each contributor's consent must then have held, without a break, from
before the upload.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("artifacts", sa.Column("received_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("artifacts", sa.Column("time_vouched_by", sa.JSON(), nullable=True))
    op.execute("UPDATE artifacts SET received_at = captured_at, time_vouched_by = '[]'")


def downgrade() -> None:
    with op.batch_alter_table("artifacts") as batch:
        batch.drop_column("time_vouched_by")
        batch.drop_column("received_at")
