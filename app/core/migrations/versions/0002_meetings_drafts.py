"""Stored meetings, drafts and the feedback on drafts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Ordinary, mutable rows (erasure deletes them), unlike the insert-only consent tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=True),
        sa.Column("transcript", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("meetings", "tenant_id", "tenants"),
        _fk("meetings", "owner_id", "subjects"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    op.create_index("ix_meetings_tenant_created", "meetings", ["tenant_id", "created_at"])
    op.create_table(
        "drafts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("author_id", sa.String(length=36), nullable=False),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("tone", sa.String(length=16), nullable=False),
        sa.Column("length", sa.String(length=16), nullable=False),
        sa.Column("instruction", sa.Text(), nullable=False),
        sa.Column("thread", sa.JSON(), nullable=False),
        sa.Column("meeting_id", sa.String(length=36), nullable=True),
        sa.Column("used_items", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("alternatives", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("failed_checks", sa.JSON(), nullable=False),
        sa.Column("model_id", sa.String(length=500), nullable=False),
        sa.Column("prompt_version", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("drafts", "tenant_id", "tenants"),
        _fk("drafts", "author_id", "subjects"),
        _fk("drafts", "meeting_id", "meetings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    op.create_index("ix_drafts_tenant_author", "drafts", ["tenant_id", "author_id"])
    op.create_table(
        "draft_feedback",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("draft_id", sa.String(length=36), nullable=False),
        sa.Column("sent_text", sa.Text(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        _fk("draft_feedback", "draft_id", "drafts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_feedback")),
        sa.UniqueConstraint("draft_id", name=op.f("uq_draft_feedback_draft_id")),
    )


def downgrade() -> None:
    op.drop_table("draft_feedback")
    op.drop_table("drafts")
    op.drop_index("ix_meetings_tenant_created", table_name="meetings")
    op.drop_table("meetings")
