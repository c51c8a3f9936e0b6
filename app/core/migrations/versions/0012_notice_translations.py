"""Translations of a notice version: the same terms in another language. A serving records
which translation the person read (none: the version's own language).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_translations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("notice_version_id", sa.String(length=36), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_version_id"],
            ["notice_versions.id"],
            name=op.f("fk_notice_translations_notice_version_id_notice_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_translations")),
    )
    op.create_index(
        "uq_notice_translations_version_language",
        "notice_translations",
        ["notice_version_id", "language"],
        unique=True,
    )
    # notices_served is insert-only: its triggers must stay, so no batch (SQLite would copy
    # the table and drop them), a plain ADD COLUMN with its reference.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE notices_served ADD COLUMN translation_id VARCHAR(36) "
            "CONSTRAINT fk_notices_served_translation_id_notice_translations "
            "REFERENCES notice_translations (id)"
        )
    else:
        op.add_column(
            "notices_served", sa.Column("translation_id", sa.String(length=36), nullable=True)
        )
        op.create_foreign_key(
            op.f("fk_notices_served_translation_id_notice_translations"),
            "notices_served",
            "notice_translations",
            ["translation_id"],
            ["id"],
        )


def downgrade() -> None:
    # DROP COLUMN on an insert-only table: its triggers refuse UPDATE and DELETE only.
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(
            op.f("fk_notices_served_translation_id_notice_translations"),
            "notices_served",
            type_="foreignkey",
        )
    op.execute("ALTER TABLE notices_served DROP COLUMN translation_id")
    op.drop_table("notice_translations")
