"""Model lineage: which training export each fine-tuned model was trained on (insert-only).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "model_lineage"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("model_id", sa.String(length=80), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("export_id", sa.String(length=36), nullable=False),
        sa.Column("export_version", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger(), nullable=False),
        sa.Column("base_model", sa.String(length=1000), nullable=False),
        sa.Column("base_model_id", sa.String(length=80), nullable=True),
        sa.Column("trained_by", sa.String(length=200), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("heldout", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_model_lineage_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["export_id"],
            ["dataset_exports.id"],
            name=op.f("fk_model_lineage_export_id_dataset_exports"),
        ),
        sa.PrimaryKeyConstraint("model_id", name=op.f("pk_model_lineage")),
    )
    op.create_index("ix_model_lineage_export", TABLE, ["export_id"])
    # Insert-only, like the ledger (the trigger function is 0001's).
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE} is insert-only'); END"
            )
    else:
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_change BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION minutekeeper_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION minutekeeper_refuse_change()"
        )


def downgrade() -> None:
    op.drop_index("ix_model_lineage_export", table_name=TABLE)
    op.drop_table(TABLE)
