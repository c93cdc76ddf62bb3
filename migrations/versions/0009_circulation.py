"""circulation: workflow definitions (seeded for invoices, contracts and HR records),
circulations, step activations, tasks, an append-only event log, absences, notifications.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import uuid4

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import Text

from app.circulation.seeds import DEFAULT_WORKFLOWS

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = """
CREATE FUNCTION circulation_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Removal only together with the circulation (a cascade fires this one level deeper).
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'circulation_events is append-only: % of event % refused', TG_OP, OLD.id
        USING ERRCODE = 'restrict_violation';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "circulation_absences",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("substitute_user_id", sa.Uuid(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "ends_on >= starts_on", name=op.f("ck_circulation_absences_dates_ordered")
        ),
        sa.CheckConstraint(
            "user_id <> substitute_user_id", name=op.f("ck_circulation_absences_not_self")
        ),
        sa.ForeignKeyConstraint(
            ["substitute_user_id"],
            ["users.id"],
            name=op.f("fk_circulation_absences_substitute_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_circulation_absences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circulation_absences")),
    )
    op.create_index(
        "ix_circulation_absences_substitute",
        "circulation_absences",
        ["substitute_user_id", "starts_on"],
        unique=False,
    )
    op.create_index(
        "ix_circulation_absences_user_dates",
        "circulation_absences",
        ["user_id", "starts_on", "ends_on"],
        unique=False,
    )
    op.create_table(
        "circulation_workflows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("document_class", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_circulation_workflows_version_positive")),
        sa.ForeignKeyConstraint(
            ["document_class"],
            ["document_classes.code"],
            name=op.f("fk_circulation_workflows_document_class_document_classes"),
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circulation_workflows")),
        sa.UniqueConstraint(
            "document_class", "version", name="uq_circulation_workflows_class_version"
        ),
    )
    op.create_table(
        "circulations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("current_step", sa.String(length=48), nullable=True),
        sa.Column("step_seq", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('running', 'approved', 'rejected')", name=op.f("ck_circulations_state_known")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_circulations_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["circulation_workflows.id"],
            name=op.f("fk_circulations_workflow_id_circulation_workflows"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circulations")),
    )
    op.create_index(
        op.f("ix_circulations_document_id"), "circulations", ["document_id"], unique=False
    )
    op.create_index(
        "ix_circulations_state_finished_at", "circulations", ["state", "finished_at"], unique=False
    )
    op.create_index(
        "uq_circulations_running_document",
        "circulations",
        ["document_id"],
        unique=True,
        postgresql_where=sa.text("state = 'running'"),
    )
    op.create_table(
        "circulation_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("circulation_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("step_key", sa.String(length=48), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("on_behalf_of", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("document_revision", sa.Integer(), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["circulation_id"],
            ["circulations.id"],
            name=op.f("fk_circulation_events_circulation_id_circulations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circulation_events")),
    )
    op.create_index(
        "ix_circulation_events_circulation_id_id",
        "circulation_events",
        ["circulation_id", "id"],
        unique=False,
    )
    op.create_table(
        "circulation_steps",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("circulation_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("step_key", sa.String(length=48), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('active', 'completed', 'rejected', 'skipped', 'returned', 'cancelled')",
            name=op.f("ck_circulation_steps_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["circulation_id"],
            ["circulations.id"],
            name=op.f("fk_circulation_steps_circulation_id_circulations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circulation_steps")),
        sa.UniqueConstraint("circulation_id", "seq", name="uq_circulation_steps_circulation_seq"),
    )
    op.create_table(
        "circulation_tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("circulation_id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sa.Uuid(), nullable=False),
        sa.Column("step_key", sa.String(length=48), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("assignee_user_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_role", sa.String(length=32), nullable=True),
        sa.Column("on_behalf_of_user_id", sa.Uuid(), nullable=True),
        sa.Column("claimed_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("delegated_from_id", sa.Uuid(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_to_user_id", sa.Uuid(), nullable=True),
        sa.Column("escalated_to_role", sa.String(length=32), nullable=True),
        sa.Column("acted_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("acted_on_behalf_of_user_id", sa.Uuid(), nullable=True),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("document_revision", sa.Integer(), nullable=True),
        sa.Column("invalidated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('open', 'claimed', 'approved', 'rejected', 'returned', 'delegated', 'cancelled')",
            name=op.f("ck_circulation_tasks_state_known"),
        ),
        sa.CheckConstraint(
            "(assignee_user_id IS NULL) <> (assignee_role IS NULL)",
            name=op.f("ck_circulation_tasks_user_or_role"),
        ),
        sa.ForeignKeyConstraint(
            ["acted_by_user_id"],
            ["users.id"],
            name=op.f("fk_circulation_tasks_acted_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["acted_on_behalf_of_user_id"],
            ["users.id"],
            name=op.f("fk_circulation_tasks_acted_on_behalf_of_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"],
            ["users.id"],
            name=op.f("fk_circulation_tasks_assignee_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["circulation_id"],
            ["circulations.id"],
            name=op.f("fk_circulation_tasks_circulation_id_circulations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by_user_id"],
            ["users.id"],
            name=op.f("fk_circulation_tasks_claimed_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["delegated_from_id"],
            ["circulation_tasks.id"],
            name=op.f("fk_circulation_tasks_delegated_from_id_circulation_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["escalated_to_user_id"],
            ["users.id"],
            name=op.f("fk_circulation_tasks_escalated_to_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["on_behalf_of_user_id"],
            ["users.id"],
            name=op.f("fk_circulation_tasks_on_behalf_of_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["circulation_steps.id"],
            name=op.f("fk_circulation_tasks_step_id_circulation_steps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circulation_tasks")),
    )
    op.create_index(
        op.f("ix_circulation_tasks_circulation_id"),
        "circulation_tasks",
        ["circulation_id"],
        unique=False,
    )
    op.create_index(
        "ix_circulation_tasks_open_claimed",
        "circulation_tasks",
        ["claimed_by_user_id"],
        unique=False,
        postgresql_where=sa.text("state IN ('open', 'claimed')"),
    )
    op.create_index(
        "ix_circulation_tasks_open_due",
        "circulation_tasks",
        ["due_at", "id"],
        unique=False,
        postgresql_where=sa.text("state IN ('open', 'claimed')"),
    )
    op.create_index(
        "ix_circulation_tasks_open_role",
        "circulation_tasks",
        ["assignee_role", "due_at"],
        unique=False,
        postgresql_where=sa.text("state IN ('open', 'claimed')"),
    )
    op.create_index(
        "ix_circulation_tasks_open_user",
        "circulation_tasks",
        ["assignee_user_id", "due_at"],
        unique=False,
        postgresql_where=sa.text("state IN ('open', 'claimed')"),
    )
    op.create_index(
        op.f("ix_circulation_tasks_step_id"), "circulation_tasks", ["step_id"], unique=False
    )
    op.create_table(
        "circulation_notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('reminder', 'overdue', 'escalation')",
            name=op.f("ck_circulation_notifications_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["circulation_tasks.id"],
            name=op.f("fk_circulation_notifications_task_id_circulation_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_circulation_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circulation_notifications")),
    )
    op.create_index(
        "ix_circulation_notifications_user_created",
        "circulation_notifications",
        ["user_id", "created_at"],
        unique=False,
    )
    op.execute(APPEND_ONLY)
    op.execute(
        "CREATE TRIGGER circulation_events_append_only BEFORE UPDATE OR DELETE "
        "ON circulation_events FOR EACH ROW EXECUTE FUNCTION circulation_events_append_only()"
    )
    _seed_workflows()


def _seed_workflows() -> None:
    classes = {
        row[0] for row in op.get_bind().execute(sa.text("SELECT code FROM document_classes"))
    }
    workflows = sa.table(
        "circulation_workflows",
        sa.column("id", sa.Uuid()),
        sa.column("document_class", sa.String()),
        sa.column("version", sa.Integer()),
        sa.column("active", sa.Boolean()),
        sa.column("definition", postgresql.JSONB()),
        sa.column("created_by", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        workflows,
        [
            {
                "id": uuid4(),
                "document_class": code,
                "version": 1,
                "active": True,
                "definition": definition,
                "created_by": "migration",
                "created_at": datetime.now(UTC),
            }
            for code, definition in DEFAULT_WORKFLOWS.items()
            if code in classes
        ],
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS circulation_events_append_only ON circulation_events")
    op.execute("DROP FUNCTION IF EXISTS circulation_events_append_only()")
    op.drop_index(
        "ix_circulation_notifications_user_created", table_name="circulation_notifications"
    )
    op.drop_table("circulation_notifications")
    op.drop_index(op.f("ix_circulation_tasks_step_id"), table_name="circulation_tasks")
    op.drop_index(
        "ix_circulation_tasks_open_user",
        table_name="circulation_tasks",
        postgresql_where=sa.text("state IN ('open', 'claimed')"),
    )
    op.drop_index(
        "ix_circulation_tasks_open_role",
        table_name="circulation_tasks",
        postgresql_where=sa.text("state IN ('open', 'claimed')"),
    )
    op.drop_index(
        "ix_circulation_tasks_open_due",
        table_name="circulation_tasks",
        postgresql_where=sa.text("state IN ('open', 'claimed')"),
    )
    op.drop_index(
        "ix_circulation_tasks_open_claimed",
        table_name="circulation_tasks",
        postgresql_where=sa.text("state IN ('open', 'claimed')"),
    )
    op.drop_index(op.f("ix_circulation_tasks_circulation_id"), table_name="circulation_tasks")
    op.drop_table("circulation_tasks")
    op.drop_table("circulation_steps")
    op.drop_index("ix_circulation_events_circulation_id_id", table_name="circulation_events")
    op.drop_table("circulation_events")
    op.drop_index(
        "uq_circulations_running_document",
        table_name="circulations",
        postgresql_where=sa.text("state = 'running'"),
    )
    op.drop_index("ix_circulations_state_finished_at", table_name="circulations")
    op.drop_index(op.f("ix_circulations_document_id"), table_name="circulations")
    op.drop_table("circulations")
    op.drop_table("circulation_workflows")
    op.drop_index("ix_circulation_absences_user_dates", table_name="circulation_absences")
    op.drop_index("ix_circulation_absences_substitute", table_name="circulation_absences")
    op.drop_table("circulation_absences")
