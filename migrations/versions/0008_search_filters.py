"""search filters: typed filter and sort columns on document_search, the vocabulary of indexed
words for the fuzzy fallback, the counterparty names for the fuzzy name filter, saved searches.

Rows indexed before this revision have empty filter columns until `docarchive reindex` (the
terms version changed with it).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GIN = {"postgresql_using": "gin"}
_PLAIN_INDEXES = {
    "ix_document_search_issue_date": [
        sa.text("issue_date DESC NULLS LAST"),
        sa.text("document_id DESC"),
    ],
    "ix_document_search_gross_amount": [
        sa.text("gross_amount DESC NULLS LAST"),
        sa.text("document_id DESC"),
    ],
    "ix_document_search_due_date": ["due_date"],
    "ix_document_search_uploaded_at": ["uploaded_at", "document_id"],
    "ix_document_search_seller_nip": ["seller_nip"],
    "ix_document_search_buyer_nip": ["buyer_nip"],
    "ix_document_search_invoice_number": ["invoice_number"],
    "ix_document_search_ksef_number": ["ksef_number"],
}


def upgrade() -> None:
    op.create_table(
        "search_terms",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("term", name=op.f("pk_search_terms")),
    )
    op.create_index(
        "ix_search_terms_trgm",
        "search_terms",
        ["term"],
        postgresql_using="gin",
        postgresql_ops={"term": "gin_trgm_ops"},
    )
    op.create_table(
        "counterparty_names",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("folded", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counterparty_names")),
    )
    op.create_index(
        "ix_counterparty_names_folded",
        "counterparty_names",
        ["folded"],
        postgresql_using="gin",
        postgresql_ops={"folded": "gin_trgm_ops"},
    )
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("filters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_saved_searches_owner_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_searches")),
        sa.UniqueConstraint("owner", "name", name="uq_saved_searches_owner_name"),
    )
    op.create_index(op.f("ix_saved_searches_owner_user_id"), "saved_searches", ["owner_user_id"])
    columns = [
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("gross_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("seller_nip", sa.String(length=10), nullable=True),
        sa.Column("buyer_nip", sa.String(length=10), nullable=True),
        sa.Column("invoice_number", sa.String(length=200), nullable=True),
        sa.Column("ksef_number", sa.String(length=64), nullable=True),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "counterparties",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
    ]
    for column in columns:
        op.add_column("document_search", column)
    op.add_column(
        "document_search", sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        "UPDATE document_search SET uploaded_at = documents.created_at "
        "FROM documents WHERE documents.id = document_search.document_id"
    )
    op.alter_column("document_search", "uploaded_at", nullable=False)
    for name, indexed in _PLAIN_INDEXES.items():
        op.create_index(name, "document_search", indexed)
    op.create_index("ix_document_search_tags", "document_search", ["tags"], **_GIN)
    op.create_index(
        "ix_document_search_counterparties", "document_search", ["counterparties"], **_GIN
    )


def downgrade() -> None:
    op.drop_index("ix_document_search_counterparties", table_name="document_search")
    op.drop_index("ix_document_search_tags", table_name="document_search")
    for name in _PLAIN_INDEXES:
        op.drop_index(name, table_name="document_search")
    for column in (
        "counterparties", "tags", "ksef_number", "invoice_number",
        "buyer_nip", "seller_nip", "currency", "gross_amount", "due_date", "issue_date",
        "uploaded_at",
    ):  # fmt: skip
        op.drop_column("document_search", column)
    op.drop_index(op.f("ix_saved_searches_owner_user_id"), table_name="saved_searches")
    op.drop_table("saved_searches")
    op.drop_index("ix_counterparty_names_folded", table_name="counterparty_names")
    op.drop_table("counterparty_names")
    op.drop_index("ix_search_terms_trgm", table_name="search_terms")
    op.drop_table("search_terms")
