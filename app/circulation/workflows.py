"""Workflow definitions: each change is a new version; a circulation keeps the one it began with."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.circulation import repository
from app.circulation.assignment import active_user
from app.circulation.definitions import DefinitionProblem, find_problems
from app.circulation.models import Workflow
from app.documents.models import DocumentClass
from app.errors import Conflict, NotFound, Unprocessable
from app.locks import advisory_xact_lock
from app.security.models import Role, Scope
from app.security.permissions import require_role
from app.security.principal import Actor
from schemas.circulation import WorkflowDefinition


def current(session: Session, document_class: str) -> Workflow:
    workflow = session.scalars(repository.current_workflow(document_class)).first()
    if workflow is None:
        raise NotFound(f"no active workflow for the class {document_class!r}")
    return workflow


def version(session: Session, document_class: str, number: int) -> Workflow:
    workflow = session.scalars(repository.workflow_version(document_class, number)).first()
    if workflow is None:
        raise NotFound(f"the class {document_class!r} has no workflow version {number}")
    return workflow


def latest(session: Session) -> list[Workflow]:
    return list(session.scalars(repository.latest_workflows()))


def create(
    session: Session, *, document_class: str, definition: WorkflowDefinition, actor: Actor
) -> Workflow:
    """The first workflow of a class; 409 when it has one (change it with `replace`)."""
    _prepare(session, document_class, definition, actor)
    if _highest_version(session, document_class) > 0:
        raise Conflict(
            f"the class {document_class!r} has a workflow already; PUT a new version",
            document_class=document_class,
        )
    return _store(session, document_class, definition, actor, number=1)


def replace(
    session: Session, *, document_class: str, definition: WorkflowDefinition, actor: Actor
) -> Workflow:
    """A new version; running circulations go on with theirs."""
    _prepare(session, document_class, definition, actor)
    return _store(
        session,
        document_class,
        definition,
        actor,
        number=_highest_version(session, document_class) + 1,
    )


def retire(session: Session, *, document_class: str, actor: Actor) -> None:
    """No new circulation starts for the class; running ones finish on their version."""
    require_role(actor, Role.admin, scope=Scope.admin)
    workflows = session.scalars(
        select(Workflow).where(Workflow.document_class == document_class, Workflow.active.is_(True))
    ).all()
    if not workflows:
        raise NotFound(f"no active workflow for the class {document_class!r}")
    for workflow in workflows:
        workflow.active = False
    record(
        session,
        actor=actor.name,
        action="circulation.workflow_retired",
        details={"document_class": document_class},
    )
    session.flush()


def _prepare(
    session: Session, document_class: str, definition: WorkflowDefinition, actor: Actor
) -> None:
    require_role(actor, Role.admin, scope=Scope.admin)
    if session.get(DocumentClass, document_class) is None:
        raise Unprocessable(f"unknown document class {document_class!r}")
    problems = find_problems(definition) + _unknown_users(session, definition)
    if problems:
        raise Unprocessable(
            "the workflow definition is invalid: " + "; ".join(p.message for p in problems),
            errors=[p.as_dict() for p in problems],
        )
    advisory_xact_lock(session, "circulation-workflow", document_class)


def _unknown_users(session: Session, definition: WorkflowDefinition) -> list[DefinitionProblem]:
    named: list[tuple[str | None, str]] = []
    for step in definition.steps:
        named += [(step.key, a.user) for a in step.assignees if a.user is not None]
        if step.escalate_to is not None and step.escalate_to.user is not None:
            named.append((step.key, step.escalate_to.user))
    for mapping in definition.mappings.values():
        named += [(None, username) for username in mapping.entries.values()]
    return [
        DefinitionProblem("unknown-user", step, f"{username!r} is not an active user")
        for step, username in dict.fromkeys(named)
        if active_user(session, username) is None
    ]


def _highest_version(session: Session, document_class: str) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.max(Workflow.version), 0)).where(
                Workflow.document_class == document_class
            )
        )
        or 0
    )


def _store(
    session: Session,
    document_class: str,
    definition: WorkflowDefinition,
    actor: Actor,
    *,
    number: int,
) -> Workflow:
    workflow = Workflow(
        document_class=document_class,
        version=number,
        active=True,
        definition=definition.model_dump(mode="json"),
        created_by=actor.name,
    )
    session.add(workflow)
    session.flush()
    record(
        session,
        actor=actor.name,
        action="circulation.workflow_saved",
        details={"document_class": document_class, "version": number},
    )
    return workflow
