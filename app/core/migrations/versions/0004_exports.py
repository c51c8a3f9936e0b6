"""Training exports: export versions, their records and tombstones; whose words each
candidate holds.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

Mutable rows: an export moves building -> active -> revoked, and tombstones are added to
published exports when a contributor withdraws. `candidate_contributors` is filled from the
candidates already kept.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "candidate_contributors",
        sa.Column("candidate_id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        _fk("candidate_contributors", "candidate_id", "training_candidates"),
        sa.PrimaryKeyConstraint(
            "candidate_id", "subject_id", name=op.f("pk_candidate_contributors")
        ),
    )
    op.create_index("ix_candidate_contributors_subject", "candidate_contributors", ["subject_id"])
    op.create_table(
        "dataset_exports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supersedes_id", sa.String(length=36), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("ledger_seq", sa.BigInteger(), nullable=True),
        sa.Column("rechecked_seq", sa.BigInteger(), nullable=True),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=True),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("pseudonym_key", sa.String(length=64), nullable=False),
        sa.Column("counts", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _fk("dataset_exports", "tenant_id", "tenants"),
        _fk("dataset_exports", "supersedes_id", "dataset_exports"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_exports")),
    )
    op.create_index(
        "uq_dataset_exports_tenant_version",
        "dataset_exports",
        ["tenant_id", "version"],
        unique=True,
    )
    op.create_table(
        "export_records",
        sa.Column("export_id", sa.String(length=36), nullable=False),
        sa.Column("record_id", sa.String(length=16), nullable=False),
        sa.Column("candidate_id", sa.String(length=36), nullable=False),
        _fk("export_records", "export_id", "dataset_exports"),
        _fk("export_records", "candidate_id", "training_candidates"),
        sa.PrimaryKeyConstraint("export_id", "record_id", name=op.f("pk_export_records")),
    )
    op.create_index("ix_export_records_candidate", "export_records", ["candidate_id"])
    op.create_table(
        "tombstones",
        sa.Column("export_id", sa.String(length=36), nullable=False),
        sa.Column("record_id", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        _fk("tombstones", "export_id", "dataset_exports"),
        sa.PrimaryKeyConstraint("export_id", "record_id", name=op.f("pk_tombstones")),
    )
    op.create_index(
        "ix_training_candidates_tenant_captured",
        "training_candidates",
        ["tenant_id", "captured_at", "id"],
    )
    op.create_index(
        "ix_training_candidates_tenant_expires", "training_candidates", ["tenant_id", "expires_at"]
    )
    _fill_candidate_contributors()


def _fill_candidate_contributors() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, contributors FROM training_candidates")).all()
    links = [
        {"candidate_id": row.id, "subject_id": subject}
        for row in rows
        for subject in (json.loads(row.contributors) if isinstance(row.contributors, str)
                        else row.contributors)
    ]  # fmt: skip
    if links:
        conn.execute(
            sa.text(
                "INSERT INTO candidate_contributors (candidate_id, subject_id) "
                "VALUES (:candidate_id, :subject_id)"
            ),
            links,
        )


def downgrade() -> None:
    op.drop_index("ix_training_candidates_tenant_expires", "training_candidates")
    op.drop_index("ix_training_candidates_tenant_captured", "training_candidates")
    for table in ("tombstones", "export_records", "dataset_exports", "candidate_contributors"):
        op.drop_table(table)
