"""Intake ledger: e-mail messages taken from mailboxes and files from the hot folder and
attachments, with their outcome (ingested, duplicate, refused).

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=False),
        sa.Column("mailbox", sa.String(length=200), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=True),
        sa.Column("sender", sa.String(length=500), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('processed', 'no_attachments', 'malformed')",
            name=op.f("ck_intake_messages_outcome_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_intake_messages_message_id")),
    )
    op.create_index(
        "ix_intake_messages_mailbox_received_at",
        "intake_messages",
        ["mailbox", "received_at"],
        unique=False,
    )
    op.create_table(
        "intake_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "channel IN ('hotfolder', 'imap')", name=op.f("ck_intake_items_channel_known")
        ),
        sa.CheckConstraint(
            "outcome IN ('ingested', 'duplicate', 'refused')",
            name=op.f("ck_intake_items_outcome_known"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_intake_items_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["intake_messages.id"],
            name=op.f("fk_intake_items_message_id_intake_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_items")),
    )
    op.create_index(
        "ix_intake_items_channel_sha256", "intake_items", ["channel", "sha256"], unique=False
    )
    op.create_index(
        op.f("ix_intake_items_message_id"), "intake_items", ["message_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_intake_items_message_id"), table_name="intake_items")
    op.drop_index("ix_intake_items_channel_sha256", table_name="intake_items")
    op.drop_table("intake_items")
    op.drop_index("ix_intake_messages_mailbox_received_at", table_name="intake_messages")
    op.drop_table("intake_messages")
