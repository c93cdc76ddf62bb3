"""GDPR erasure requests and their recorded answers.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("document_retention", sa.Column("erasure_requested_on", sa.Date(), nullable=True))
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_kind", sa.String(length=8), nullable=False),
        sa.Column("subject_value", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("not_indexed", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "subject_kind IN ('pesel', 'nip', 'name')",
            name=op.f("ck_erasure_requests_subject_kind_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_requests")),
    )
    op.create_index(
        "ix_erasure_requests_created_at", "erasure_requests", ["created_at", "id"], unique=False
    )
    op.create_table(
        "erasure_answers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("document_class", sa.String(length=64), nullable=True),
        sa.Column("retention_class", sa.String(length=64), nullable=True),
        sa.Column("symbol", sa.String(length=8), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("retained_until", sa.Date(), nullable=True),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column("batch_number", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('retained', 'scheduled', 'held', 'permanent', 'undetermined')",
            name=op.f("ck_erasure_answers_outcome_known"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["erasure_requests.id"],
            name=op.f("fk_erasure_answers_request_id_erasure_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_answers")),
        sa.UniqueConstraint(
            "request_id", "document_id", name="uq_erasure_answers_request_document"
        ),
    )
    op.create_index(
        "ix_erasure_answers_document_id", "erasure_answers", ["document_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_erasure_answers_document_id", table_name="erasure_answers")
    op.drop_table("erasure_answers")
    op.drop_index("ix_erasure_requests_created_at", table_name="erasure_requests")
    op.drop_table("erasure_requests")
    op.drop_column("document_retention", "erasure_requested_on")
