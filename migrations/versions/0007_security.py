"""Security: users, API tokens, browser sessions, login attempts, class permissions (seeded
with the default matrix), per-document grants.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(
        "ix_login_attempts_address_at", "login_attempts", ["address", "at"], unique=False
    )
    op.create_index(
        "ix_login_attempts_username_at", "login_attempts", ["username", "at"], unique=False
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column(
            "roles",
            postgresql.ARRAY(sa.String(length=32)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "username ~ '^[A-Za-z0-9._@-]{1,64}$'", name=op.f("ck_users_username_chars")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index(
        "uq_users_username_lower", "users", [sa.literal_column("lower(username)")], unique=True
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "browser_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_browser_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browser_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_browser_sessions_secret_hash")),
    )
    op.create_index(
        op.f("ix_browser_sessions_user_id"), "browser_sessions", ["user_id"], unique=False
    )
    op.create_table(
        "class_permissions",
        sa.Column("document_class", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("can_view", sa.Boolean(), nullable=False),
        sa.Column("can_upload", sa.Boolean(), nullable=False),
        sa.Column("can_edit", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_class"],
            ["document_classes.code"],
            name=op.f("fk_class_permissions_document_class_document_classes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_class", "role", name=op.f("pk_class_permissions")),
    )
    op.create_table(
        "document_grants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("permission", sa.String(length=8), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "permission IN ('view', 'edit')", name=op.f("ck_document_grants_permission_known")
        ),
        sa.CheckConstraint(
            "(user_id IS NULL) <> (role IS NULL)", name=op.f("ck_document_grants_user_or_role")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_grants_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_document_grants_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_grants")),
    )
    op.create_index(
        op.f("ix_document_grants_document_id"), "document_grants", ["document_id"], unique=False
    )
    op.create_index(
        op.f("ix_document_grants_user_id"), "document_grants", ["user_id"], unique=False
    )
    _seed_class_permissions()
    # The audit trail is now read by auditors, filtered by who acted and what was done.
    op.create_index("ix_audit_events_actor_id", "audit_events", ["actor", "id"])
    op.create_index("ix_audit_events_action_id", "audit_events", ["action", "id"])


# Everyone but hr is kept away from personnel files; clerks upload (and see what they uploaded,
# a rule of the permission service), approvers and auditors read, nobody but admin manages.
_NOT_HR = ("invoice", "correction", "proforma", "receipt", "contract", "annex", "other")
_ACCOUNTING = ("invoice", "correction", "proforma", "receipt", "other")
_DEFAULTS: dict[str, dict[str, tuple[str, ...]]] = {
    "admin": {"view": _NOT_HR, "upload": _NOT_HR, "edit": _NOT_HR},
    "archivist": {"view": _NOT_HR, "upload": _NOT_HR, "edit": _NOT_HR},
    "accountant": {"view": _NOT_HR, "upload": _ACCOUNTING, "edit": _ACCOUNTING},
    "approver": {"view": _NOT_HR, "upload": (), "edit": ()},
    "hr": {
        "view": ("hr_record", "other"),
        "upload": ("hr_record", "other"),
        "edit": ("hr_record",),
    },
    "clerk": {"view": (), "upload": _NOT_HR, "edit": ()},
    "auditor": {"view": _NOT_HR, "upload": (), "edit": ()},
}


def _seed_class_permissions() -> None:
    table = sa.table(
        "class_permissions",
        sa.column("document_class", sa.String),
        sa.column("role", sa.String),
        sa.column("can_view", sa.Boolean),
        sa.column("can_upload", sa.Boolean),
        sa.column("can_edit", sa.Boolean),
    )
    rows = []
    for role, rights in _DEFAULTS.items():
        classes = sorted({c for granted in rights.values() for c in granted})
        rows += [
            {
                "document_class": code,
                "role": role,
                "can_view": code in rights["view"],
                "can_upload": code in rights["upload"],
                "can_edit": code in rights["edit"],
            }
            for code in classes
        ]
    op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_index("ix_audit_events_action_id", table_name="audit_events")
    op.drop_index("ix_audit_events_actor_id", table_name="audit_events")
    op.drop_index(op.f("ix_document_grants_user_id"), table_name="document_grants")
    op.drop_index(op.f("ix_document_grants_document_id"), table_name="document_grants")
    op.drop_table("document_grants")
    op.drop_table("class_permissions")
    op.drop_index(op.f("ix_browser_sessions_user_id"), table_name="browser_sessions")
    op.drop_table("browser_sessions")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("uq_users_username_lower", table_name="users")
    op.drop_table("users")
    op.drop_index("ix_login_attempts_username_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_address_at", table_name="login_attempts")
    op.drop_table("login_attempts")
