"""Documents, versions, document classes, idempotent requests and the audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 20:00:17.245890

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("version_id", sa.Uuid(), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(
        "ix_audit_events_document_id_id", "audit_events", ["document_id", "id"], unique=False
    )
    op.create_table(
        "document_classes",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("name_pl", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_document_classes")),
    )
    op.create_table(
        "idempotent_requests",
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("actor", "key", name=op.f("pk_idempotent_requests")),
    )
    op.create_index(
        op.f("ix_idempotent_requests_created_at"),
        "idempotent_requests",
        ["created_at"],
        unique=False,
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("document_class", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("external_reference", sa.String(length=200), nullable=True),
        sa.Column(
            "custom_fields",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_version_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'processed', 'failed')",
            name=op.f("ck_documents_status_known"),
        ),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_documents_revision_positive")),
        sa.ForeignKeyConstraint(
            ["document_class"],
            ["document_classes.code"],
            name=op.f("fk_documents_document_class_document_classes"),
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    op.create_index(
        "ix_documents_class_created_at", "documents", ["document_class", "created_at"], unique=False
    )
    op.create_index("ix_documents_created_at_id", "documents", ["created_at", "id"], unique=False)
    op.create_index(
        "ix_documents_status_created_at", "documents", ["status", "created_at"], unique=False
    )
    op.create_table(
        "document_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("original_filename", sa.String(length=255), nullable=False),
        sa.Column("blob_key", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_document_versions_sha256_hex")
        ),
        sa.CheckConstraint("size > 0", name=op.f("ck_document_versions_size_positive")),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_versions_document_id_documents"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_versions")),
        sa.UniqueConstraint("document_id", "number", name="uq_document_versions_document_number"),
        sa.UniqueConstraint("sha256", name=op.f("uq_document_versions_sha256")),
    )
    op.create_index(
        op.f("ix_document_versions_document_id"), "document_versions", ["document_id"], unique=False
    )
    op.create_foreign_key(
        "fk_documents_current_version",
        "documents",
        "document_versions",
        ["current_version_id"],
        ["id"],
    )
    op.bulk_insert(
        sa.table("document_classes", sa.column("code"), sa.column("name_en"), sa.column("name_pl")),
        [
            {"code": "invoice", "name_en": "Invoice", "name_pl": "Faktura"},
            {
                "code": "correction",
                "name_en": "Correcting invoice",
                "name_pl": "Faktura korygująca",
            },
            {"code": "contract", "name_en": "Contract", "name_pl": "Umowa"},
            {"code": "annex", "name_en": "Contract annex", "name_pl": "Aneks do umowy"},
            {"code": "hr_record", "name_en": "HR record", "name_pl": "Dokumentacja pracownicza"},
            {"code": "other", "name_en": "Other", "name_pl": "Inne"},
        ],
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_constraint("fk_documents_current_version", "documents", type_="foreignkey")
    op.drop_index(op.f("ix_document_versions_document_id"), table_name="document_versions")
    op.drop_table("document_versions")
    op.drop_index("ix_documents_status_created_at", table_name="documents")
    op.drop_index("ix_documents_created_at_id", table_name="documents")
    op.drop_index("ix_documents_class_created_at", table_name="documents")
    op.drop_table("documents")
    op.drop_index(op.f("ix_idempotent_requests_created_at"), table_name="idempotent_requests")
    op.drop_table("idempotent_requests")
    op.drop_table("document_classes")
    op.drop_index("ix_audit_events_document_id_id", table_name="audit_events")
    op.drop_table("audit_events")
