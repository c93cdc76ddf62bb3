"""Running circulations: start, act on a task, settle steps, send back, invalidate approvals.

Every change of one circulation happens under a row lock on it (`SELECT ... FOR UPDATE`), so
people acting on the same step at the same moment are served one after the other: the second
finds the task decided and gets 409 with the current state, unless they repeat exactly what
was done (a double click), which answers as the first did and records nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.circulation import assignment, engine, repository
from app.circulation.calendar import due_at, local_date
from app.circulation.definitions import next_key, step_by_key
from app.circulation.facts import all_hold, document_facts
from app.circulation.models import (
    OPEN_TASK_STATES,
    Circulation,
    CirculationEvent,
    CirculationState,
    CirculationStep,
    CirculationTask,
    StepState,
    TaskState,
    Workflow,
)
from app.circulation.views import circulation_out
from app.db import utcnow
from app.documents.models import Document
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.locks import advisory_xact_lock
from app.retention import service as retention
from app.security.models import Role, User
from app.security.principal import Actor
from schemas.circulation import (
    END,
    ActionName,
    CirculationOut,
    Duty,
    StepDefinition,
    TaskAction,
    WorkflowDefinition,
)

INVALIDATING_FIELDS = frozenset(
    {
        "gross_total", "net_total", "vat_total", "currency", "contract_value",
        "seller_nip", "seller_name", "parties", "bank_account",
    }
)  # fmt: skip
"""Amount, counterparty and bank account: approvals are bound to their values."""


@dataclass
class Run:
    """One circulation being changed, with what every step of the change needs."""

    session: Session
    circulation: Circulation
    workflow: Workflow
    definition: WorkflowDefinition
    document: Document
    actor: Actor
    now: datetime
    _facts: dict[str, Any] | None = field(default=None, repr=False)
    events: list[CirculationEvent] = field(default_factory=list, repr=False)

    def facts(self) -> dict[str, Any]:
        if self._facts is None:
            self._facts = document_facts(self.session, self.document, self.definition)
        return self._facts

    def step(self, key: str) -> StepDefinition:
        step = step_by_key(self.definition, key)
        assert step is not None, f"step {key!r} vanished from a validated definition"
        return step


# --- start --------------------------------------------------------------------------------


def start_circulation(
    session: Session,
    *,
    document: Document,
    actor: Actor,
    workflow_version: int | None = None,
    now: datetime | None = None,
) -> Circulation:
    """Start the circulation of the document's class (its current version unless named)."""
    advisory_xact_lock(session, "circulation-start", str(document.id))
    if session.scalars(repository.running_circulation(document.id)).first() is not None:
        raise Conflict(f"document {document.id} is already in circulation")
    workflow = _workflow_for(session, document, workflow_version)
    circulation = Circulation(
        id=uuid.uuid4(), document_id=document.id, workflow_id=workflow.id, started_by=actor.name
    )
    session.add(circulation)
    session.flush()
    run = _run(session, circulation, workflow, document, actor, now)
    add_event(run, "started", details={"workflow_version": workflow.version})
    _activate_from(run, run.definition.steps[0].key)
    audit(run)
    session.flush()
    return circulation


def start_if_defined(
    session: Session, *, document_id: uuid.UUID, actor: Actor, now: datetime | None = None
) -> Circulation | None:
    """For the end of processing: start the class's workflow once, if it has an active one.

    A document that was ever in circulation is left alone (reprocessing starts nothing)."""
    document = session.get(Document, document_id)
    if document is None or document.document_class is None:
        return None
    if session.scalars(repository.circulations_of(document_id).limit(1)).first() is not None:
        return None
    if session.scalars(repository.current_workflow(document.document_class)).first() is None:
        return None
    return start_circulation(session, document=document, actor=actor, now=now)


def _workflow_for(session: Session, document: Document, version: int | None) -> Workflow:
    if document.document_class is None:
        raise Unprocessable(f"document {document.id} has no class, so no circulation applies")
    query = (
        repository.current_workflow(document.document_class)
        if version is None
        else repository.workflow_version(document.document_class, version)
    )
    workflow = session.scalars(query).first()
    if workflow is None:
        raise Unprocessable(
            f"no active workflow for the class {document.document_class!r}"
            + ("" if version is None else f" in version {version}")
        )
    return workflow


def _run(
    session: Session,
    circulation: Circulation,
    workflow: Workflow,
    document: Document,
    actor: Actor,
    now: datetime | None,
) -> Run:
    return Run(
        session=session,
        circulation=circulation,
        workflow=workflow,
        definition=WorkflowDefinition.model_validate(workflow.definition),
        document=document,
        actor=actor,
        now=now or utcnow(),
    )


def locked_run(
    session: Session, circulation_id: uuid.UUID, actor: Actor, now: datetime | None = None
) -> Run:
    circulation = session.get(
        Circulation, circulation_id, with_for_update=True, populate_existing=True
    )
    if circulation is None:
        raise NotFound(f"no circulation {circulation_id}")
    workflow = session.get(Workflow, circulation.workflow_id)
    document = session.get(Document, circulation.document_id, populate_existing=True)
    assert workflow is not None
    assert document is not None
    return _run(session, circulation, workflow, document, actor, now)


# --- step activation ----------------------------------------------------------------------


def _activate_from(run: Run, key: str) -> None:
    """Activate `key`, or skip it and the ones after while their conditions do not hold."""
    while key != END:
        step = run.step(key)
        if all_hold(step.when, run.facts()):
            _activate(run, step)
            return
        _new_step(run, step, state=StepState.skipped, required=0)
        add_event(run, "step_skipped", step_key=key, details={"conditions": _conditions(step)})
        key = next_key(run.definition, step)
    _finish(run, engine.CirculationChange.finish)


def _conditions(step: StepDefinition) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json") for c in step.when]


def _activate(run: Run, step: StepDefinition) -> None:
    specs = assignment.task_specs(
        run.session,
        definition=run.definition,
        step=step,
        facts=run.facts(),
        today=local_date(run.now),
    )
    required = engine.required_approvals(step.kind, step.quorum, len(specs))
    activation = _new_step(run, step, state=StepState.active, required=required)
    deadline = None if step.due_business_days is None else due_at(run.now, step.due_business_days)
    for spec in specs:
        run.session.add(
            CirculationTask(
                circulation_id=run.circulation.id,
                step_id=activation.id,
                step_key=step.key,
                assignee_user_id=spec.user_id,
                assignee_role=spec.role,
                on_behalf_of_user_id=spec.on_behalf_of,
                due_at=deadline,
                created_at=run.now,
            )
        )
    run.circulation.current_step = step.key
    add_event(run, "step_activated", step_key=step.key, details={"tasks": len(specs)})


def _new_step(
    run: Run, step: StepDefinition, *, state: StepState, required: int
) -> CirculationStep:
    run.circulation.step_seq += 1
    previous = run.session.scalars(
        select(CirculationStep.round)
        .where(
            CirculationStep.circulation_id == run.circulation.id,
            CirculationStep.step_key == step.key,
        )
        .order_by(CirculationStep.seq.desc())
        .limit(1)
    ).first()
    activation = CirculationStep(
        id=uuid.uuid4(),
        circulation_id=run.circulation.id,
        seq=run.circulation.step_seq,
        step_key=step.key,
        round=(previous or 0) + 1,
        kind=step.kind,
        required=required,
        state=state,
        activated_at=run.now,
        finished_at=None if state == StepState.active else run.now,
    )
    run.session.add(activation)
    run.session.flush()
    return activation


def _finish(run: Run, change: engine.CirculationChange) -> None:
    state = engine.CIRCULATION_TRANSITIONS[(CirculationState(run.circulation.state), change)]
    run.circulation.state = state
    run.circulation.finished_at = run.now
    run.circulation.current_step = None
    add_event(run, "finished", details={"state": state.value})
    run.session.flush()
    # no_autoflush: retention.recompute adds a row before filling it and queries in between
    # (reported to the lead); everything of ours is flushed just above.
    with run.session.no_autoflush:
        retention.on_circulation_finished(
            run.session, document_id=run.document.id, finished_at=run.now, actor=run.actor.name
        )


# --- events ------------------------------------------------------------------------------


def add_event(
    run: Run,
    action: str,
    *,
    task: CirculationTask | None = None,
    step_key: str | None = None,
    comment: str | None = None,
    on_behalf_of: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append to the circulation's history; `audit` records the change once it is complete."""
    event = CirculationEvent(
        circulation_id=run.circulation.id,
        task_id=None if task is None else task.id,
        step_key=step_key or (task.step_key if task is not None else None),
        action=action,
        actor=run.actor.name,
        actor_user_id=run.actor.user_id,
        on_behalf_of=None if on_behalf_of is None else _username(run.session, on_behalf_of),
        comment=comment,
        document_revision=run.document.revision,
        details=details or {},
        occurred_at=run.now,
    )
    run.session.add(event)
    run.events.append(event)


def audit(run: Run) -> None:
    """One audit event per change: the action that caused it, and what followed from it."""
    if not run.events:
        return
    cause, *consequences = run.events
    record(
        run.session,
        actor=run.actor.name,
        action=f"circulation.{cause.action}",
        document_id=run.document.id,
        details={
            "circulation_id": str(run.circulation.id),
            "task_id": None if cause.task_id is None else str(cause.task_id),
            "step": cause.step_key,
            "on_behalf_of": cause.on_behalf_of,
            "comment": cause.comment,
            "revision": run.document.revision,
            **cause.details,
            "then": [f"{e.action}:{e.step_key}" if e.step_key else e.action for e in consequences],
        },
    )
    run.events.clear()


def _username(session: Session, user_id: uuid.UUID) -> str:
    user = session.get(User, user_id)
    return str(user_id) if user is None else user.username


# --- actions -----------------------------------------------------------------------------


def act(
    session: Session,
    *,
    task_id: uuid.UUID,
    request: TaskAction,
    actor: Actor,
    now: datetime | None = None,
) -> CirculationOut:
    """Apply one action to a task, under the circulation's lock; answer the new timeline.

    The timeline is read before the audit event is written: the audit chain's lock is then
    held only for the insert and the commit."""
    circulation_id = session.scalars(
        select(CirculationTask.circulation_id).where(CirculationTask.id == task_id)
    ).first()
    if circulation_id is None:
        raise NotFound(f"no task {task_id}")
    run = locked_run(session, circulation_id, actor, now)
    task = session.get(CirculationTask, task_id, populate_existing=True)
    assert task is not None
    if _is_repeat(session, task, request, actor):
        return circulation_out(session, run.circulation)
    transition = engine.transition_for(TaskState(task.state), request.action)
    if transition is None:
        raise _not_now(session, run, task, request.action)
    ctx = _context(run, task, request)
    refusal = engine.first_refusal(transition, ctx)
    if refusal is not None:
        raise _refused(refusal, task)
    _APPLY[request.action](run, task, request, ctx)
    session.flush()
    timeline = circulation_out(session, run.circulation)
    audit(run)
    return timeline


def _is_repeat(session: Session, task: CirculationTask, request: TaskAction, actor: Actor) -> bool:
    """The same person asking again for what they already got (a double click)."""
    if actor.user_id is None:
        return False
    if request.action == ActionName.claim:
        return task.state == TaskState.claimed and task.claimed_by_user_id == actor.user_id
    if request.action in (ActionName.delegate, ActionName.reassign):
        return (
            task.state == TaskState.delegated
            and task.acted_by_user_id == actor.user_id
            and (_delegated_to(session, task) == (request.to_user or "").lower())
        )
    done = _RESULT.get(request.action)
    return done is not None and task.state == done and task.acted_by_user_id == actor.user_id


_RESULT = {
    ActionName.approve: TaskState.approved,
    ActionName.reject: TaskState.rejected,
    ActionName.return_: TaskState.returned,
    ActionName.delegate: TaskState.delegated,
    ActionName.reassign: TaskState.delegated,
}


def _delegated_to(session: Session, task: CirculationTask) -> str | None:
    successor = session.scalars(
        select(User.username)
        .join(CirculationTask, CirculationTask.assignee_user_id == User.id)
        .where(CirculationTask.delegated_from_id == task.id)
    ).first()
    return None if successor is None else successor.lower()


def _not_now(session: Session, run: Run, task: CirculationTask, action: ActionName) -> Conflict:
    acted_by = None if task.acted_by_user_id is None else _username(session, task.acted_by_user_id)
    claimed = (
        None if task.claimed_by_user_id is None else _username(session, task.claimed_by_user_id)
    )
    by = f" by {acted_by}" if acted_by else (f" by {claimed}" if claimed else "")
    return Conflict(
        f"cannot {action} this task: it is {task.state}{by}; the circulation is "
        f"{run.circulation.state}",
        task_state=task.state,
        acted_by=acted_by,
        claimed_by=claimed,
        circulation_state=run.circulation.state,
        current_step=run.circulation.current_step,
    )


def _refused(refusal: engine.Refusal, task: CirculationTask) -> Exception:
    error = {
        engine.RefusalKind.forbidden: Forbidden,
        engine.RefusalKind.invalid: Unprocessable,
        engine.RefusalKind.stale: Conflict,
    }[refusal.kind]
    return error(refusal.reason, task_state=task.state)


def _context(run: Run, task: CirculationTask, request: TaskAction) -> engine.ActionContext:
    actor = run.actor
    authority = _authority(run, task)
    step = run.step(task.step_key)
    people = _deciders(actor, authority)
    return engine.ActionContext(
        action=request.action,
        task=task,
        actor_user_id=actor.user_id,
        actor_roles=actor.roles,
        authority=authority,
        comment=request.comment,
        current_revision=run.document.revision,
        expected_revision=request.document_revision,
        sod_violation=_sod_violation(run, step, people) if _checks_sod(request) else None,
        target_problem=_target_problem(run, task, step, request),
        return_problem=_return_problem(run, task, request),
        may_reassign=_may_reassign(actor, authority),
        may_comment=request.action == ActionName.comment and _may_comment(run, authority),
    )


def _checks_sod(request: TaskAction) -> bool:
    return request.action in (ActionName.approve, ActionName.claim)


def _authority(run: Run, task: CirculationTask) -> engine.Authority | None:
    user_id = run.actor.user_id
    substitutes_for: frozenset[uuid.UUID] = frozenset()
    if user_id is not None:
        substitutes_for = frozenset(
            run.session.scalars(
                repository.absent_users_substituted_by(user_id, local_date(run.now))
            )
        )
    return engine.authority_of(
        task, user_id=user_id, roles=run.actor.roles, substitutes_for=substitutes_for
    )


def _deciders(actor: Actor, authority: engine.Authority | None) -> list[uuid.UUID]:
    people = [] if actor.user_id is None else [actor.user_id]
    if authority is not None and authority.on_behalf_of is not None:
        people.append(authority.on_behalf_of)
    return people


def _is_admin(actor: Actor) -> bool:
    return actor.user_id is not None and Role.admin in actor.roles


def _may_reassign(actor: Actor, authority: engine.Authority | None) -> bool:
    return _is_admin(actor) or (authority is not None and authority.escalation)


def _may_comment(run: Run, authority: engine.Authority | None) -> bool:
    return authority is not None or _is_admin(run.actor) or _took_part(run, run.actor)


def _took_part(run: Run, actor: Actor) -> bool:
    if actor.user_id is None:
        return False
    return (
        run.session.scalars(
            select(CirculationTask.id).where(
                CirculationTask.circulation_id == run.circulation.id,
                CirculationTask.acted_by_user_id == actor.user_id,
            )
        ).first()
        is not None
    )


# --- segregation of duties ---------------------------------------------------------------


def _sod_violation(run: Run, step: StepDefinition, people: list[uuid.UUID]) -> str | None:
    if not run.definition.segregation_of_duties:
        return None
    return engine.sod_violation(
        duty=step.duty,
        step_key=step.key,
        people=people,
        registered_by=_registrant(run),
        decisions=_past_decisions(run),
        names=_names(run.session, people),
    )


def _registrant(run: Run) -> uuid.UUID | None:
    user = assignment.active_user(run.session, run.document.created_by)
    return None if user is None else user.id


def _past_decisions(run: Run) -> list[engine.PastDecision]:
    """Registration and description always count; approvals while they are valid."""
    tasks = run.session.scalars(
        select(CirculationTask).where(
            CirculationTask.circulation_id == run.circulation.id,
            CirculationTask.state == TaskState.approved,
        )
    )
    decisions = []
    for task in tasks:
        duty = run.step(task.step_key).duty
        if duty == Duty.approve and task.invalidated_at is not None:
            continue
        for person in (task.acted_by_user_id, task.acted_on_behalf_of_user_id):
            if person is not None:
                decisions.append(engine.PastDecision(person, task.step_key, duty))
    return decisions


def _names(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    return {user_id: _username(session, user_id) for user_id in ids}


# --- delegation and return targets -------------------------------------------------------


def _target_problem(
    run: Run, task: CirculationTask, step: StepDefinition, request: TaskAction
) -> str | None:
    if request.action not in (ActionName.delegate, ActionName.reassign):
        return None
    if not request.to_user:
        return f"{request.action} needs to_user: who takes the task over"
    target = assignment.active_user(run.session, request.to_user)
    if target is None:
        return f"{request.to_user!r} is not an active user"
    return (
        _target_role_problem(task, step, target)
        or _target_duplicate(run, task, target)
        or (_sod_violation(run, step, [target.id]))
    )


def _target_role_problem(task: CirculationTask, step: StepDefinition, target: User) -> str | None:
    allowed = set(step.delegate_to_roles) or {a.role for a in step.assignees if a.role}
    if task.assignee_role is not None:
        allowed.add(task.assignee_role)
    if not allowed:
        return f"step {step.key!r} names no role its tasks may be delegated to"
    if not allowed & set(target.roles):
        return f"{target.username} may not act on step {step.key!r}: it needs one of the roles " + (
            ", ".join(sorted(allowed))
        )
    return None


def _target_duplicate(run: Run, task: CirculationTask, target: User) -> str | None:
    holders = run.session.scalars(
        select(CirculationTask).where(
            CirculationTask.step_id == task.step_id,
            CirculationTask.state.in_(OPEN_TASK_STATES),
        )
    )
    for other in holders:
        if target.id in (other.assignee_user_id, other.claimed_by_user_id):
            return f"{target.username} already holds a task of this step"
    return None


def _return_problem(run: Run, task: CirculationTask, request: TaskAction) -> str | None:
    if request.action != ActionName.return_:
        return None
    earlier = _earlier_steps(run, task)
    if not earlier:
        return "there is no earlier step to return to"
    target = request.to_step or earlier[-1]
    if target not in earlier:
        return f"{target!r} is not an earlier completed step; choose one of: " + ", ".join(earlier)
    return None


def _earlier_steps(run: Run, task: CirculationTask) -> list[str]:
    """Keys of steps completed before the task's step in this circulation, oldest first."""
    current = run.session.get(CirculationStep, task.step_id)
    assert current is not None
    keys = run.session.scalars(
        select(CirculationStep.step_key)
        .where(
            CirculationStep.circulation_id == run.circulation.id,
            CirculationStep.seq < current.seq,
            CirculationStep.state == StepState.completed,
            CirculationStep.step_key != task.step_key,
        )
        .order_by(CirculationStep.seq)
    )
    return list(dict.fromkeys(keys))


# --- applying an allowed action ----------------------------------------------------------


def _decide(
    run: Run,
    task: CirculationTask,
    request: TaskAction,
    ctx: engine.ActionContext,
    *,
    event: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Close the task with the actor's decision and record it."""
    task.state = _RESULT[request.action]
    task.acted_by_user_id = run.actor.user_id
    task.acted_on_behalf_of_user_id = None if ctx.authority is None else ctx.authority.on_behalf_of
    task.acted_at = run.now
    task.document_revision = run.document.revision
    add_event(
        run,
        event,
        task=task,
        comment=request.comment,
        on_behalf_of=task.acted_on_behalf_of_user_id,
        details=details,
    )


def _apply_claim(
    run: Run, task: CirculationTask, request: TaskAction, ctx: engine.ActionContext
) -> None:
    task.state = TaskState.claimed
    task.claimed_by_user_id = run.actor.user_id
    add_event(run, "claimed", task=task, comment=request.comment)


def _apply_verdict(
    run: Run, task: CirculationTask, request: TaskAction, ctx: engine.ActionContext
) -> None:
    """approve or reject: the step may now be complete, or failed."""
    _decide(run, task, request, ctx, event=_RESULT[request.action].value)
    _settle_step(run, task.step_id)


def _apply_return(
    run: Run, task: CirculationTask, request: TaskAction, ctx: engine.ActionContext
) -> None:
    target = request.to_step or _earlier_steps(run, task)[-1]
    _decide(run, task, request, ctx, event="returned", details={"to_step": target})
    _send_back(run, target, leaving=StepState.returned)


def _apply_delegate(
    run: Run, task: CirculationTask, request: TaskAction, ctx: engine.ActionContext
) -> None:
    assert request.to_user is not None
    target = assignment.active_user(run.session, request.to_user)
    assert target is not None
    event = "delegated" if request.action == ActionName.delegate else "reassigned"
    _decide(run, task, request, ctx, event=event, details={"to_user": target.username})
    task.document_revision = None
    run.session.add(
        CirculationTask(
            circulation_id=task.circulation_id,
            step_id=task.step_id,
            step_key=task.step_key,
            assignee_user_id=target.id,
            delegated_from_id=task.id,
            due_at=task.due_at,
            created_at=run.now,
        )
    )


def _apply_comment(
    run: Run, task: CirculationTask, request: TaskAction, ctx: engine.ActionContext
) -> None:
    add_event(run, "commented", task=task, comment=request.comment)


_APPLY = {
    ActionName.claim: _apply_claim,
    ActionName.approve: _apply_verdict,
    ActionName.reject: _apply_verdict,
    ActionName.return_: _apply_return,
    ActionName.delegate: _apply_delegate,
    ActionName.reassign: _apply_delegate,
    ActionName.comment: _apply_comment,
}


# --- settling steps ----------------------------------------------------------------------


def _settle_step(run: Run, step_id: uuid.UUID) -> None:
    activation = run.session.get(CirculationStep, step_id)
    assert activation is not None
    tasks = list(
        run.session.scalars(select(CirculationTask).where(CirculationTask.step_id == step_id))
    )
    outcome = engine.step_outcome(
        required=activation.required,
        approvals=sum(t.state == TaskState.approved for t in tasks),
        undecided=sum(t.state in OPEN_TASK_STATES for t in tasks),
    )
    if outcome == engine.StepOutcome.completed:
        _close_step(run, activation, StepState.completed)
        _activate_from(run, next_key(run.definition, run.step(activation.step_key)))
    elif outcome == engine.StepOutcome.rejected:
        _close_step(run, activation, StepState.rejected)
        _after_rejection(run, run.step(activation.step_key))


def _close_step(run: Run, activation: CirculationStep, state: StepState) -> None:
    activation.state = state
    activation.finished_at = run.now
    _cancel_open_tasks(run, step_id=activation.id)
    add_event(run, f"step_{state.value}", step_key=activation.step_key)


def _cancel_open_tasks(run: Run, *, step_id: uuid.UUID | None = None) -> None:
    query = select(CirculationTask).where(
        CirculationTask.circulation_id == run.circulation.id,
        CirculationTask.state.in_(OPEN_TASK_STATES),
    )
    if step_id is not None:
        query = query.where(CirculationTask.step_id == step_id)
    for task in run.session.scalars(query):
        task.state = TaskState.cancelled
        task.acted_at = run.now


def _after_rejection(run: Run, step: StepDefinition) -> None:
    if step.on_reject == END:
        _cancel_open_tasks(run)
        _finish(run, engine.CirculationChange.reject)
    else:
        _send_back(run, step.on_reject, leaving=StepState.returned)


def _send_back(run: Run, target: str, *, leaving: StepState) -> None:
    """Redo the path from `target`: approvals given since it last ran no longer count."""
    _invalidate_since(run, target)
    for activation in run.session.scalars(
        select(CirculationStep).where(
            CirculationStep.circulation_id == run.circulation.id,
            CirculationStep.state == StepState.active,
        )
    ):
        activation.state = leaving
        activation.finished_at = run.now
    _cancel_open_tasks(run)
    _activate_from(run, target)


def _invalidate_since(run: Run, target: str) -> int:
    since = run.session.scalars(
        select(CirculationStep.seq)
        .where(
            CirculationStep.circulation_id == run.circulation.id,
            CirculationStep.step_key == target,
        )
        .order_by(CirculationStep.seq.desc())
        .limit(1)
    ).first()
    if since is None:
        return 0
    approvals = run.session.scalars(
        select(CirculationTask)
        .join(CirculationStep, CirculationStep.id == CirculationTask.step_id)
        .where(
            CirculationTask.circulation_id == run.circulation.id,
            CirculationTask.state == TaskState.approved,
            CirculationTask.invalidated_at.is_(None),
            CirculationStep.seq >= since,
        )
    ).all()
    for task in approvals:
        task.invalidated_at = run.now
    return len(approvals)


# --- approvals bound to revisions --------------------------------------------------------


def on_fields_changed(
    session: Session,
    *,
    document_id: uuid.UUID,
    changed: set[str],
    actor: Actor,
    now: datetime | None = None,
) -> bool:
    """Call after a metadata edit: a change of amount, counterparty or bank account after an
    approval invalidates the circulation's approvals and sends it back to the first approval
    step. Returns whether it did."""
    relevant = sorted(changed & INVALIDATING_FIELDS)
    circulation = session.scalars(repository.running_circulation(document_id)).first()
    if not relevant or circulation is None:
        return False
    run = locked_run(session, circulation.id, actor, now)
    first = _first_approved_step(run)
    if run.circulation.state != CirculationState.running or first is None:
        return False
    add_event(
        run,
        "approvals_invalidated",
        step_key=first,
        details={
            "changed": relevant,
            "reason": f"{', '.join(relevant)} changed after an approval",
        },
    )
    _send_back(run, first, leaving=StepState.cancelled)
    audit(run)
    session.flush()
    return True


def _first_approved_step(run: Run) -> str | None:
    """The earliest approval step that holds a valid approval, if any does."""
    approval_steps = [s.key for s in run.definition.steps if s.duty == Duty.approve]
    approved = set(
        run.session.scalars(
            select(CirculationTask.step_key).where(
                CirculationTask.circulation_id == run.circulation.id,
                CirculationTask.state == TaskState.approved,
                CirculationTask.invalidated_at.is_(None),
                CirculationTask.step_key.in_(approval_steps),
            )
        )
    )
    if not approved:
        return None
    activated = set(
        run.session.scalars(
            select(CirculationStep.step_key).where(
                CirculationStep.circulation_id == run.circulation.id,
                CirculationStep.state != StepState.skipped,
            )
        )
    )
    return next(key for key in approval_steps if key in activated)
