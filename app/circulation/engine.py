"""The approval engine as data: (task state, action) -> (next state, guards), and how a step
ends once its tasks are decided. Guards are small pure functions over an `ActionContext` the
service prepares; each returns None (allowed) or a `Refusal` carrying its reason."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from app.circulation.models import CirculationState, CirculationTask, TaskState
from schemas.circulation import ActionName, Duty, StepKind


class RefusalKind(StrEnum):
    forbidden = "forbidden"
    invalid = "invalid"
    stale = "stale"


@dataclass(frozen=True, slots=True)
class Refusal:
    kind: RefusalKind
    reason: str


@dataclass(frozen=True, slots=True)
class Authority:
    """Why the actor may decide a task; `on_behalf_of` when they stand in for someone."""

    on_behalf_of: uuid.UUID | None = None
    escalation: bool = False


@dataclass(frozen=True, slots=True)
class ActionContext:
    action: ActionName
    task: CirculationTask
    actor_user_id: uuid.UUID | None
    actor_roles: frozenset[str]
    authority: Authority | None
    comment: str | None = None
    current_revision: int = 1
    expected_revision: int | None = None
    sod_violation: str | None = None
    target_problem: str | None = None
    return_problem: str | None = None
    may_reassign: bool = False
    may_comment: bool = False
    extra: Mapping[str, object] = field(default_factory=dict)


Guard = Callable[[ActionContext], Refusal | None]


def is_person(ctx: ActionContext) -> Refusal | None:
    if ctx.actor_user_id is None:
        return Refusal(RefusalKind.forbidden, "circulation decisions need a signed-in user")
    return None


def may_act(ctx: ActionContext) -> Refusal | None:
    if ctx.authority is None:
        return Refusal(RefusalKind.forbidden, "this task is not assigned to you")
    return None


def holds_task_role(ctx: ActionContext) -> Refusal | None:
    role = ctx.task.assignee_role
    if role is None:
        return Refusal(RefusalKind.invalid, "only a task assigned to a role can be claimed")
    if role not in ctx.actor_roles:
        return Refusal(RefusalKind.forbidden, f"claiming this task needs the role {role!r}")
    return None


def passes_segregation_of_duties(ctx: ActionContext) -> Refusal | None:
    if ctx.sod_violation is not None:
        return Refusal(RefusalKind.forbidden, f"segregation of duties: {ctx.sod_violation}")
    return None


def comment_given(ctx: ActionContext) -> Refusal | None:
    if not (ctx.comment or "").strip():
        return Refusal(RefusalKind.invalid, f"{ctx.action} needs a comment")
    return None


def revision_current(ctx: ActionContext) -> Refusal | None:
    if ctx.expected_revision is not None and ctx.expected_revision != ctx.current_revision:
        return Refusal(
            RefusalKind.stale,
            f"the document is at revision {ctx.current_revision}, you looked at revision "
            f"{ctx.expected_revision}; reload it before deciding",
        )
    return None


def target_allowed(ctx: ActionContext) -> Refusal | None:
    if ctx.target_problem is not None:
        return Refusal(RefusalKind.invalid, ctx.target_problem)
    return None


def return_target_valid(ctx: ActionContext) -> Refusal | None:
    if ctx.return_problem is not None:
        return Refusal(RefusalKind.invalid, ctx.return_problem)
    return None


def may_reassign(ctx: ActionContext) -> Refusal | None:
    if not ctx.may_reassign:
        return Refusal(
            RefusalKind.forbidden,
            "reassigning needs the admin role or being the step's escalation target",
        )
    return None


def may_comment(ctx: ActionContext) -> Refusal | None:
    if not ctx.may_comment:
        return Refusal(RefusalKind.forbidden, "only people taking part may comment here")
    return None


@dataclass(frozen=True, slots=True)
class Transition:
    to: TaskState | None
    """None: the task stays as it is (a comment)."""
    guards: tuple[Guard, ...]


_APPROVE = Transition(
    TaskState.approved, (is_person, may_act, revision_current, passes_segregation_of_duties)
)
_REJECT = Transition(TaskState.rejected, (is_person, may_act, comment_given, revision_current))
_RETURN = Transition(TaskState.returned, (is_person, may_act, comment_given, return_target_valid))
_DELEGATE = Transition(TaskState.delegated, (is_person, may_act, target_allowed))
_REASSIGN = Transition(TaskState.delegated, (is_person, may_reassign, target_allowed))
_COMMENT = Transition(None, (is_person, may_comment, comment_given))

TASK_TRANSITIONS: Mapping[tuple[TaskState, ActionName], Transition] = {
    (TaskState.open, ActionName.claim): Transition(
        TaskState.claimed, (is_person, holds_task_role, passes_segregation_of_duties)
    ),
    **{
        (state, action): transition
        for state in (TaskState.open, TaskState.claimed)
        for action, transition in (
            (ActionName.approve, _APPROVE),
            (ActionName.reject, _REJECT),
            (ActionName.return_, _RETURN),
            (ActionName.delegate, _DELEGATE),
            (ActionName.reassign, _REASSIGN),
            (ActionName.comment, _COMMENT),
        )
    },
}


def transition_for(state: TaskState, action: ActionName) -> Transition | None:
    return TASK_TRANSITIONS.get((state, action))


def first_refusal(transition: Transition, ctx: ActionContext) -> Refusal | None:
    for guard in transition.guards:
        refusal = guard(ctx)
        if refusal is not None:
            return refusal
    return None


class CirculationChange(StrEnum):
    advance = "advance"
    finish = "finish"
    reject = "reject"
    send_back = "send_back"


CIRCULATION_TRANSITIONS: Mapping[tuple[CirculationState, CirculationChange], CirculationState] = {
    (CirculationState.running, CirculationChange.advance): CirculationState.running,
    (CirculationState.running, CirculationChange.send_back): CirculationState.running,
    (CirculationState.running, CirculationChange.finish): CirculationState.approved,
    (CirculationState.running, CirculationChange.reject): CirculationState.rejected,
}


class StepOutcome(StrEnum):
    pending = "pending"
    completed = "completed"
    rejected = "rejected"


def required_approvals(kind: StepKind, quorum: int | None, slots: int) -> int:
    if kind == StepKind.all_of:
        return slots
    if kind == StepKind.quorum:
        return quorum or 1
    return 1


def step_outcome(*, required: int, approvals: int, undecided: int) -> StepOutcome:
    """A step completes on enough approvals and fails once they can no longer be reached."""
    if approvals >= required:
        return StepOutcome.completed
    if approvals + undecided < required:
        return StepOutcome.rejected
    return StepOutcome.pending


def authority_of(
    task: CirculationTask,
    *,
    user_id: uuid.UUID | None,
    roles: frozenset[str],
    substitutes_for: frozenset[uuid.UUID],
) -> Authority | None:
    """Who may decide: the holder (claimant, user, role), their substitute, the escalation."""
    if user_id is None:
        return None
    holder = task.claimed_by_user_id or task.assignee_user_id
    if holder == user_id:
        return Authority(on_behalf_of=task.on_behalf_of_user_id)
    if holder is not None and holder in substitutes_for:
        return Authority(on_behalf_of=holder)
    if holder is None and task.assignee_role in roles:
        return Authority()
    if task.escalated_to_user_id == user_id or (
        task.escalated_at is not None and task.escalated_to_role in roles
    ):
        return Authority(escalation=True)
    return None


@dataclass(frozen=True, slots=True)
class PastDecision:
    """A valid decision already taken in the circulation, by (or for) `user_id`."""

    user_id: uuid.UUID
    step_key: str
    duty: Duty | None


def sod_violation(
    *,
    duty: Duty | None,
    step_key: str,
    people: Iterable[uuid.UUID],
    registered_by: uuid.UUID | None,
    decisions: Iterable[PastDecision],
    names: Mapping[uuid.UUID, str],
) -> str | None:
    """Who registered or described a document does not approve it; nobody approves two levels."""
    if duty != Duty.approve:
        return None
    past = list(decisions)
    for person in people:
        name = names.get(person, str(person))
        if person == registered_by:
            return f"{name} registered this document and may not approve it"
        for decision in (d for d in past if d.user_id == person):
            reason = _conflicting(decision, step_key, name)
            if reason is not None:
                return reason
    return None


def _conflicting(decision: PastDecision, step_key: str, name: str) -> str | None:
    if decision.duty == Duty.register:
        return f"{name} registered this document and may not approve it"
    if decision.duty == Duty.describe:
        return f"{name} described this document and may not approve it"
    if decision.duty == Duty.approve and decision.step_key != step_key:
        return f"{name} already approved step {decision.step_key!r} of this circulation"
    return None
