"""Who is acting: a user (through a browser session or an API token) or a system process."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from app.security.models import Role, Scope

ALL_SCOPES = frozenset(Scope)


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller of a service.

    `name` is what the audit trail and `created_by` record: a username, or the name of a
    system process (`import`, `worker`) that has no `user_id` and acts with full rights.
    """

    name: str
    user_id: uuid.UUID | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = ALL_SCOPES

    @property
    def is_system(self) -> bool:
        return self.user_id is None

    def has_role(self, *roles: Role) -> bool:
        return self.is_system or any(role in self.roles for role in roles)

    def may(self, scope: Scope) -> bool:
        return scope in self.scopes


def system_actor(name: str) -> Actor:
    return Actor(name=name)
