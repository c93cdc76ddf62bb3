"""Fixity: the latest check of each version's blob and the runs of the fixity job.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fixity_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("planned", sa.Integer(), nullable=False),
        sa.Column("checked", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("unreadable", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("bytes_read", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fixity_runs")),
    )
    op.create_index("ix_fixity_runs_started_at", "fixity_runs", ["started_at"], unique=False)
    op.create_table(
        "fixity_checks",
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('ok', 'missing', 'corrupt')", name=op.f("ck_fixity_checks_outcome_known")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_fixity_checks_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["document_versions.id"],
            name=op.f("fk_fixity_checks_version_id_document_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_fixity_checks")),
    )
    op.create_index("ix_fixity_checks_checked_at", "fixity_checks", ["checked_at"], unique=False)
    op.create_index(
        "ix_fixity_checks_failed",
        "fixity_checks",
        ["document_id"],
        unique=False,
        postgresql_where=sa.text("outcome <> 'ok'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_fixity_checks_failed",
        table_name="fixity_checks",
        postgresql_where=sa.text("outcome <> 'ok'"),
    )
    op.drop_index("ix_fixity_checks_checked_at", table_name="fixity_checks")
    op.drop_table("fixity_checks")
    op.drop_index("ix_fixity_runs_started_at", table_name="fixity_runs")
    op.drop_table("fixity_runs")
