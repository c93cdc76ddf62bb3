"""Search index: pg_trgm, the document_search table of Polish-normalised terms with a GIN index.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # pg_trgm is for the fuzzy fallback over vocabularies and names; unaccent is not needed,
    # as app.search.polish folds diacritics before terms reach PostgreSQL.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "document_search",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("terms", postgresql.TSVECTOR(), nullable=False),
        sa.Column("terms_version", sa.String(length=64), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_search_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_document_search")),
    )
    op.create_index(
        "ix_document_search_terms", "document_search", ["terms"], postgresql_using="gin"
    )


def downgrade() -> None:
    # pg_trgm stays: other objects of the database may use it.
    op.drop_index("ix_document_search_terms", table_name="document_search")
    op.drop_table("document_search")
