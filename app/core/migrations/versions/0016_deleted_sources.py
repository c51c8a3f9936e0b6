"""Deleting a meeting: artifacts record what they were made from (`source_kind`,
`source_id`: a saved meeting or draft), so deleting it finds them, and `deleted_sources`
names what was deleted, so capture refuses content from it afterwards.

The drafts' artifacts already there name their draft in their input (`draft_id`) and get
it as their source here. A meeting's artifacts from before this revision name nothing;
deleting the meeting finds them by the bindings of the claims about its words
(`consent.deletion`).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_DRAFT_KINDS = ("chat_draft", "chat_final")


def upgrade() -> None:
    op.add_column("artifacts", sa.Column("source_kind", sa.String(length=16), nullable=True))
    op.add_column("artifacts", sa.Column("source_id", sa.String(length=64), nullable=True))
    op.create_index("ix_artifacts_source", "artifacts", ["source_kind", "source_id"])
    op.create_table(
        "deleted_sources",
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_deleted_sources_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("source_kind", "source_id", name=op.f("pk_deleted_sources")),
    )
    _draft_sources()


def _draft_sources() -> None:
    """Each draft artifact's source: the draft its input names."""
    artifacts = sa.table(
        "artifacts",
        sa.column("id", sa.String),
        sa.column("kind", sa.String),
        sa.column("input", sa.JSON),
        sa.column("source_kind", sa.String),
        sa.column("source_id", sa.String),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(artifacts.c.id, artifacts.c.input).where(artifacts.c.kind.in_(_DRAFT_KINDS))
    ).all()
    for row in rows:
        draft_id = row.input.get("draft_id") if isinstance(row.input, dict) else None
        if isinstance(draft_id, str) and draft_id:
            conn.execute(
                artifacts.update()
                .where(artifacts.c.id == row.id)
                .values(source_kind="draft", source_id=draft_id[:64])
            )


def downgrade() -> None:
    op.drop_table("deleted_sources")
    op.drop_index("ix_artifacts_source", table_name="artifacts")
    op.drop_column("artifacts", "source_id")
    op.drop_column("artifacts", "source_kind")
