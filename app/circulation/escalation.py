"""Deadlines: reminders before a task is due, escalation once it is overdue. Both leave
notifications (GET /api/v1/me/notifications); escalation also lets its target act on the task.

Run by the periodic job `circulation.escalate` with the real clock, by tests with theirs.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.circulation import repository
from app.circulation.assignment import active_user
from app.circulation.definitions import step_by_key
from app.circulation.models import Circulation, CirculationTask, Notification
from app.circulation.service import Run, add_event, audit, locked_run
from app.security.models import User
from app.security.principal import system_actor

REMIND_BEFORE = timedelta(hours=24)
REMIND_EVERY = timedelta(hours=24)
ESCALATION_ACTOR = "circulation.escalate"


def escalate_overdue(session: Session, *, now: datetime) -> int:
    """Flag overdue tasks, hand them to their step's escalation target, notify both sides."""
    candidates = session.execute(
        select(CirculationTask.id, CirculationTask.circulation_id).where(repository.overdue(now))
    ).all()
    escalated = 0
    for task_id, circulation_id in candidates:
        # The circulation's lock first, as every action takes it: no deadlock with them.
        run = locked_run(session, circulation_id, system_actor(ESCALATION_ACTOR), now)
        task = session.get(CirculationTask, task_id, populate_existing=True)
        if task is not None and session.scalar(
            select(repository.overdue(now)).where(CirculationTask.id == task_id)
        ):
            _escalate(session, run, task)
            escalated += 1
    session.flush()
    return escalated


def _escalate(session: Session, run: Run, task: CirculationTask) -> None:
    step = step_by_key(run.definition, task.step_key)
    target = None if step is None else step.escalate_to
    task.escalated_at = run.now
    if target is not None and target.user is not None:
        user = active_user(session, target.user)
        task.escalated_to_user_id = None if user is None else user.id
    elif target is not None:
        task.escalated_to_role = target.role
    label = _label(run, task)
    to = _target_label(session, task)
    add_event(
        run, "escalated", task=task, details={"escalated_to": to, "due_at": _iso(task.due_at)}
    )
    audit(run)
    for user_id in _holders(session, task):
        _notify(session, user_id, "overdue", f"{label} is overdue; escalated to {to}", task, run)
    for user_id in _escalation_targets(session, task):
        _notify(
            session, user_id, "escalation", f"{label} is overdue and escalated to you", task, run
        )


def send_reminders(session: Session, *, now: datetime) -> int:
    """Remind holders of tasks due within a day (and overdue ones), at most once a day."""
    due = session.scalars(
        repository.tasks_to_remind(now + REMIND_BEFORE, now - REMIND_EVERY).with_for_update(
            skip_locked=True
        )
    ).all()
    for task in due:
        circulation = session.get(Circulation, task.circulation_id)
        assert circulation is not None
        message = f"a task ({task.step_key}) on document {circulation.document_id} is due " + (
            _iso(task.due_at) or "soon"
        )
        for user_id in _holders(session, task):
            session.add(
                Notification(
                    user_id=user_id,
                    kind="reminder",
                    message=message,
                    task_id=task.id,
                    document_id=circulation.document_id,
                    created_at=now,
                )
            )
        task.reminded_at = now
    session.flush()
    return len(due)


def _label(run: Run, task: CirculationTask) -> str:
    step = step_by_key(run.definition, task.step_key)
    name = task.step_key if step is None else step.name
    title = run.document.title or str(run.document.id)
    return f"the task {name!r} on {title!r}"


def _target_label(session: Session, task: CirculationTask) -> str:
    if task.escalated_to_user_id is not None:
        user = session.get(User, task.escalated_to_user_id)
        return str(task.escalated_to_user_id) if user is None else user.username
    if task.escalated_to_role is not None:
        return f"role:{task.escalated_to_role}"
    return "nobody (the step names no escalation target)"


def _holders(session: Session, task: CirculationTask) -> list[uuid.UUID]:
    holder = task.claimed_by_user_id or task.assignee_user_id
    if holder is not None:
        return [holder]
    assert task.assignee_role is not None
    return [u.id for u in session.scalars(repository.active_users_with_role(task.assignee_role))]


def _escalation_targets(session: Session, task: CirculationTask) -> list[uuid.UUID]:
    if task.escalated_to_user_id is not None:
        return [task.escalated_to_user_id]
    if task.escalated_to_role is None:
        return []
    return [
        u.id for u in session.scalars(repository.active_users_with_role(task.escalated_to_role))
    ]


def _notify(
    session: Session, user_id: uuid.UUID, kind: str, message: str, task: CirculationTask, run: Run
) -> None:
    session.add(
        Notification(
            user_id=user_id,
            kind=kind,
            message=message,
            task_id=task.id,
            document_id=run.document.id,
            created_at=run.now,
        )
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def notifications_for(
    session: Session, user_id: uuid.UUID, *, unread_only: bool
) -> list[Notification]:
    query = repository.notifications_of(user_id).limit(200)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.scalars(query))


def mark_read(
    session: Session, *, user_id: uuid.UUID, notification_id: uuid.UUID, now: datetime
) -> bool:
    row = session.scalars(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user_id
        )
    ).first()
    if row is None:
        return False
    row.read_at = row.read_at or now
    session.flush()
    return True
