"""Search: indexes for bounded windows at a million documents.

A search's window (its newest 1,001 matches) is read from one index where it can be: every
filter's index carries the upload time (a NIP's documents come newest first; a range of issue
dates, due dates or amounts is one index-only scan, then a sort of its ids), and the upload-time
index carries tags, counterparty names and currency, so those filters are checked without
reading the table. The NIP and due-date indexes leave out the rows without a value.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@dataclass(frozen=True)
class _Index:
    columns: list[sa.TextClause | str]
    include: list[str] = field(default_factory=list)
    where: str | None = None


_ISSUE_DATE = [sa.text("issue_date DESC NULLS LAST"), sa.text("document_id DESC")]
_GROSS_AMOUNT = [sa.text("gross_amount DESC NULLS LAST"), sa.text("document_id DESC")]
# name: the definition after this revision, then the one before it
_INDEXES = {
    "ix_document_search_issue_date": (
        _Index(_ISSUE_DATE, ["uploaded_at", "gross_amount"]),
        _Index(_ISSUE_DATE),
    ),
    "ix_document_search_gross_amount": (
        _Index(_GROSS_AMOUNT, ["uploaded_at", "issue_date"]),
        _Index(_GROSS_AMOUNT),
    ),
    "ix_document_search_due_date": (
        _Index(["due_date"], ["uploaded_at"], "due_date IS NOT NULL"),
        _Index(["due_date"]),
    ),
    "ix_document_search_uploaded_at": (
        _Index(["uploaded_at", "document_id"], ["tags", "counterparties", "currency"]),
        _Index(["uploaded_at", "document_id"]),
    ),
    "ix_document_search_seller_nip": (
        _Index(["seller_nip", "uploaded_at", "document_id"], where="seller_nip IS NOT NULL"),
        _Index(["seller_nip"]),
    ),
    "ix_document_search_buyer_nip": (
        _Index(["buyer_nip", "uploaded_at", "document_id"], where="buyer_nip IS NOT NULL"),
        _Index(["buyer_nip"]),
    ),
}


def _rebuild(version: int) -> None:
    for name, definitions in _INDEXES.items():
        index = definitions[version]
        op.drop_index(name, table_name="document_search")
        op.create_index(
            name,
            "document_search",
            index.columns,
            postgresql_include=index.include,
            postgresql_where=sa.text(index.where) if index.where else None,
        )


def upgrade() -> None:
    _rebuild(0)


def downgrade() -> None:
    _rebuild(1)
