"""Documents by uploader: what a clerk sees (their own uploads), the "uploaded by" filter, and
the search's second try for a caller who may not see most matches.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_documents_created_by_created_at", "documents", ["created_by", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_documents_created_by_created_at", table_name="documents")
