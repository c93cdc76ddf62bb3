"""Request and response models of accounts, tokens, permissions and grants."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

USERNAME_PATTERN = r"^[A-Za-z0-9._@-]{1,64}$"


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class Me(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str | None
    roles: list[str]
    scopes: list[str]
    sees_pesel: bool


class LoginOut(BaseModel):
    user: Me
    csrf_token: str = Field(description="Send it as X-CSRF-Token with every change you make.")
    expires_at: datetime


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME_PATTERN)
    password: str | None = Field(None, max_length=1024, description="None: no password login.")
    roles: list[str] = Field(default_factory=list, max_length=10)
    display_name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[str] | None = Field(None, max_length=10)
    active: bool | None = None
    display_name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str | None
    email: str | None
    roles: list[str]
    active: bool
    created_at: datetime


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_password: str = Field(max_length=1024)
    current_password: str | None = Field(
        None, max_length=1024, description="Required when changing your own password."
    )


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(default_factory=lambda: ["read"], max_length=4)
    days: int = Field(90, ge=1, le=3650, description="Lifetime in days.")


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret, shown this once; only its hash is stored.")


class ClassPermissionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    document_class: str
    role: str
    can_view: bool
    can_upload: bool
    can_edit: bool


class ClassPermissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    can_view: bool
    can_upload: bool
    can_edit: bool


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(None, pattern=USERNAME_PATTERN, description="A username, or:")
    role: str | None = Field(None, max_length=32, description="A role.")
    permission: str = Field("view", pattern="^(view|edit)$")
    expires_at: datetime | None = None


class GrantOut(BaseModel):
    id: uuid.UUID
    document_id: uuid.UUID
    user: str | None
    role: str | None
    permission: str
    expires_at: datetime | None
    granted_by: str
    created_at: datetime
