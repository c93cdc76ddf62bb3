"""Audit hash chain: prev_hash, hash and key_id on each event, ids assigned in chain order,
existing events linked (unkeyed), UPDATE and DELETE refused by a trigger.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.audit.chain import GENESIS, content_of, link_hash

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000

# The table as this revision knows it, independent of the current model.
events = sa.table(
    "audit_events",
    sa.column("id", sa.BigInteger()),
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("document_id", sa.Uuid()),
    sa.column("version_id", sa.Uuid()),
    sa.column("details", postgresql.JSONB()),
    sa.column("key_id", sa.String()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)

APPEND_ONLY = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % of event % refused', TG_OP, OLD.id
        USING ERRCODE = 'restrict_violation',
              HINT = 'audit events are never changed or removed; record a new event instead';
END
$$
"""


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("key_id", sa.String(length=16), nullable=True))
    op.add_column("audit_events", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_events", sa.Column("hash", sa.String(length=64), nullable=True))
    # Ids are now assigned under the chain lock, in commit order (app.audit.service.record).
    op.execute("ALTER TABLE audit_events ALTER COLUMN id DROP IDENTITY")
    _link_existing_events(op.get_bind())
    op.alter_column("audit_events", "prev_hash", nullable=False)
    op.alter_column("audit_events", "hash", nullable=False)
    op.create_check_constraint(
        op.f("ck_audit_events_hash_hex"), "audit_events", "hash ~ '^[0-9a-f]{64}$'"
    )
    op.create_check_constraint(
        op.f("ck_audit_events_prev_hash_hex"), "audit_events", "prev_hash ~ '^[0-9a-f]{64}$'"
    )
    op.execute(APPEND_ONLY)
    op.execute(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    )


def _link_existing_events(bind: sa.Connection) -> None:
    """Chain the events written before this revision in id order, with plain SHA-256."""
    prev_hash = GENESIS
    for batch in _batches(bind):
        links = []
        for row in batch:
            content = replace(content_of(row), key_id=None, prev_hash=prev_hash)
            prev_hash = link_hash(content, None)
            links.append({"event_id": row.id, "prev": content.prev_hash, "link": prev_hash})
        bind.execute(
            events.update()
            .where(events.c.id == sa.bindparam("event_id"))
            .values(prev_hash=sa.bindparam("prev"), hash=sa.bindparam("link")),
            links,
        )


def _batches(bind: sa.Connection) -> Iterator[list[Any]]:
    after = None
    while True:
        query = sa.select(events).order_by(events.c.id).limit(BATCH)
        if after is not None:
            query = query.where(events.c.id > after)
        rows = list(bind.execute(query))
        if rows:
            yield rows
        if len(rows) < BATCH:
            return
        after = rows[-1].id


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
    op.execute("DROP FUNCTION audit_events_append_only()")
    op.drop_constraint(op.f("ck_audit_events_prev_hash_hex"), "audit_events", type_="check")
    op.drop_constraint(op.f("ck_audit_events_hash_hex"), "audit_events", type_="check")
    op.drop_column("audit_events", "hash")
    op.drop_column("audit_events", "prev_hash")
    op.drop_column("audit_events", "key_id")
    op.execute("ALTER TABLE audit_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY")
    op.execute(
        "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), "
        "coalesce(max(id), 0) + 1, false) FROM audit_events"
    )
