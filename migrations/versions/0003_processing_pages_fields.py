"""Processing results: page text, extracted fields, status details, two more classes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 20:18:12.809162

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "document_fields",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('xml', 'text-layer', 'ocr', 'manual')",
            name=op.f("ck_document_fields_source_known"),
        ),
        sa.CheckConstraint(
            "status IN ('confirmed', 'candidate')", name=op.f("ck_document_fields_status_known")
        ),
        sa.CheckConstraint(
            "confidence >= 0 AND confidence <= 1", name=op.f("ck_document_fields_confidence_range")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_fields_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["document_versions.id"],
            name=op.f("fk_document_fields_version_id_document_versions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_fields")),
        sa.UniqueConstraint("document_id", "name", name="uq_document_fields_document_name"),
    )
    op.create_index(
        op.f("ix_document_fields_document_id"), "document_fields", ["document_id"], unique=False
    )
    op.create_table(
        "document_pages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ocr_confidence", sa.Double(), nullable=True),
        sa.Column("rotation", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("preview_key", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "source IN ('xml', 'text-layer', 'ocr')", name=op.f("ck_document_pages_source_known")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["document_versions.id"],
            name=op.f("fk_document_pages_version_id_document_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_pages")),
        sa.UniqueConstraint("version_id", "number", name="uq_document_pages_version_number"),
    )
    op.create_index(
        op.f("ix_document_pages_version_id"), "document_pages", ["version_id"], unique=False
    )
    op.add_column("document_versions", sa.Column("page_count", sa.Integer(), nullable=True))
    op.add_column(
        "document_versions", sa.Column("thumbnail_key", sa.String(length=200), nullable=True)
    )
    op.add_column("document_versions", sa.Column("schema_valid", sa.Boolean(), nullable=True))
    op.add_column(
        "document_versions",
        sa.Column("schema_errors", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("documents", sa.Column("status_reason", sa.Text(), nullable=True))
    op.add_column(
        "documents", sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False)
    )
    op.add_column(
        "documents",
        sa.Column("processing_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("documents", sa.Column("detected_class", sa.String(length=64), nullable=True))
    op.add_column("documents", sa.Column("class_confidence", sa.Double(), nullable=True))
    op.bulk_insert(
        sa.table("document_classes", sa.column("code"), sa.column("name_en"), sa.column("name_pl")),
        [
            {"code": "proforma", "name_en": "Pro-forma invoice", "name_pl": "Faktura pro forma"},
            {"code": "receipt", "name_en": "Receipt", "name_pl": "Paragon"},
        ],
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.execute(
        "UPDATE documents SET document_class = NULL WHERE document_class IN ('proforma', 'receipt')"
    )
    op.execute("DELETE FROM document_classes WHERE code IN ('proforma', 'receipt')")
    op.drop_column("documents", "class_confidence")
    op.drop_column("documents", "detected_class")
    op.drop_column("documents", "processing_attempts")
    op.drop_column("documents", "status_changed_at")
    op.drop_column("documents", "status_reason")
    op.drop_column("document_versions", "schema_errors")
    op.drop_column("document_versions", "schema_valid")
    op.drop_column("document_versions", "thumbnail_key")
    op.drop_column("document_versions", "page_count")
    op.drop_index(op.f("ix_document_pages_version_id"), table_name="document_pages")
    op.drop_table("document_pages")
    op.drop_index(op.f("ix_document_fields_document_id"), table_name="document_fields")
    op.drop_table("document_fields")
