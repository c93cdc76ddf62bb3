"""Index waiting jobs by lock: enqueueing checks for a waiting job of the same document.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_procrastinate_jobs_todo_lock ON procrastinate_jobs (lock) "
        "WHERE status = 'todo'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_procrastinate_jobs_todo_lock")
