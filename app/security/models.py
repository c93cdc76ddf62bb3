"""Users, their browser sessions and API tokens, class permissions and per-document grants."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, new_id, utcnow


class Role(StrEnum):
    admin = "admin"
    archivist = "archivist"
    accountant = "accountant"
    approver = "approver"
    hr = "hr"
    clerk = "clerk"
    """Uploads and sees what they uploaded."""
    auditor = "auditor"
    """Reads, including the audit trail; changes nothing."""
    # Roles the seeded workflows route to; they see a document while they hold a task on it.
    cfo = "cfo"
    """Dyrektor finansowy: approves cost invoices above the second threshold."""
    legal = "legal"
    """Dział prawny: reviews contracts."""
    signatory = "signatory"
    """Osoba uprawniona do reprezentacji: signs contracts."""
    head_of_unit = "head_of_unit"
    """Kierownik jednostki: approves payments, receives escalations, second disposal approver."""


class Scope(StrEnum):
    """What an API token may do, on top of what its owner's roles allow."""

    read = "read"
    write = "write"
    audit = "audit"
    admin = "admin"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("uq_users_username_lower", func.lower(text("username")), unique=True),
        CheckConstraint("username ~ '^[A-Za-z0-9._@-]{1,64}$'", name="username_chars"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    """argon2id; NULL: the account cannot log in with a password."""
    roles: Mapped[list[str]] = mapped_column(
        ARRAY(String(32)), default=list, server_default=text("'{}'")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime | None]


class ApiToken(Base):
    """A personal token: only its SHA-256 is stored; the secret is shown once, at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class BrowserSession(Base):
    """A login from a browser: the cookie holds the secret, the table its SHA-256."""

    __tablename__ = "browser_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Failed and successful logins, the input of throttling (per account and per address)."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ClassPermission(Base):
    """What a role may do with the documents of one class."""

    __tablename__ = "class_permissions"

    document_class: Mapped[str] = mapped_column(
        ForeignKey("document_classes.code", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    can_view: Mapped[bool] = mapped_column(default=False)
    can_upload: Mapped[bool] = mapped_column(default=False)
    can_edit: Mapped[bool] = mapped_column(default=False)


class GrantPermission(StrEnum):
    view = "view"
    edit = "edit"


class DocumentGrant(Base):
    """One document opened to a user or a role, possibly until a date."""

    __tablename__ = "document_grants"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (role IS NULL)", name="user_or_role"),
        CheckConstraint("permission IN ('view', 'edit')", name="permission_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str | None] = mapped_column(String(32))
    permission: Mapped[str] = mapped_column(String(8), default=GrantPermission.view)
    expires_at: Mapped[datetime | None]
    granted_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
