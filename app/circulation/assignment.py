"""Who gets the tasks of a step: users, role holders, mapping-table owners, and substitutes for
those who are away (zastępstwa)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.circulation import repository
from app.errors import Unprocessable
from app.security.models import User
from schemas.circulation import Assignee, StepDefinition, StepKind, WorkflowDefinition

_EXPANDING_KINDS = (StepKind.all_of, StepKind.quorum)


@dataclass(frozen=True, slots=True)
class TaskSpec:
    user_id: uuid.UUID | None = None
    role: str | None = None
    on_behalf_of: uuid.UUID | None = None


def active_user(session: Session, username: str) -> User | None:
    return session.scalars(
        select(User).where(func.lower(User.username) == username.lower(), User.active.is_(True))
    ).one_or_none()


def task_specs(
    session: Session,
    *,
    definition: WorkflowDefinition,
    step: StepDefinition,
    facts: Mapping[str, Any],
    today: date,
) -> list[TaskSpec]:
    """One spec per decision the step needs, after substitution; refuses an impossible step."""
    specs: list[TaskSpec] = []
    for assignee in step.assignees:
        for spec in _resolve(session, definition, step, assignee, facts):
            if spec not in specs:
                specs.append(spec)
    _check_enough(step, specs)
    return [_substituted(session, spec, today) for spec in specs]


def _resolve(
    session: Session,
    definition: WorkflowDefinition,
    step: StepDefinition,
    assignee: Assignee,
    facts: Mapping[str, Any],
) -> list[TaskSpec]:
    if assignee.user is not None:
        return [TaskSpec(user_id=_required_user(session, step, assignee.user).id)]
    if assignee.role is not None:
        return _for_role(session, step, assignee.role)
    return _resolve(session, definition, step, _mapped(definition, step, assignee, facts), facts)


def _required_user(session: Session, step: StepDefinition, username: str) -> User:
    user = active_user(session, username)
    if user is None:
        raise Unprocessable(
            f"step {step.key!r} is assigned to {username!r}, who is not an active user",
            step=step.key,
        )
    return user


def _for_role(session: Session, step: StepDefinition, role: str) -> list[TaskSpec]:
    """A role task anyone holding it may claim; all-of and quorum steps need one per person."""
    if step.kind not in _EXPANDING_KINDS:
        return [TaskSpec(role=role)]
    holders = session.scalars(repository.active_users_with_role(role)).all()
    if not holders:
        raise Unprocessable(
            f"step {step.key!r} needs every holder of the role {role!r}, and nobody holds it",
            step=step.key,
        )
    return [TaskSpec(user_id=user.id) for user in holders]


def _mapped(
    definition: WorkflowDefinition,
    step: StepDefinition,
    assignee: Assignee,
    facts: Mapping[str, Any],
) -> Assignee:
    assert assignee.fact is not None
    assert assignee.mapping is not None
    table = definition.mappings[assignee.mapping]
    value = facts.get(assignee.fact)
    owner = table.entries.get(str(value)) if value is not None else None
    if owner is not None:
        return Assignee(user=owner)
    if table.fallback is not None and table.fallback.fact is None:
        return table.fallback
    raise Unprocessable(
        f"step {step.key!r} goes to the owner of {assignee.fact}={value!r} in "
        f"{assignee.mapping!r}, which names nobody; set {assignee.fact} or add it to the mapping",
        step=step.key,
    )


def _check_enough(step: StepDefinition, specs: list[TaskSpec]) -> None:
    if step.kind == StepKind.quorum and step.quorum is not None and step.quorum > len(specs):
        raise Unprocessable(
            f"step {step.key!r} needs {step.quorum} approvals but only {len(specs)} people "
            "can give them",
            step=step.key,
        )


def _substituted(session: Session, spec: TaskSpec, today: date) -> TaskSpec:
    if spec.user_id is None:
        return spec
    substitute = session.scalars(repository.substitute_on(spec.user_id, today)).first()
    if substitute is None:
        return spec
    return TaskSpec(user_id=substitute, on_behalf_of=spec.user_id)
