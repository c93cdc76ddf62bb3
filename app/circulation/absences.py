"""Absences (nieobecności) with a substitute (zastępca): tasks arriving while a user is away go
to the substitute, who then acts on the user's behalf."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from app.audit.service import record
from app.circulation import repository, views
from app.circulation.assignment import active_user
from app.circulation.models import Absence
from app.errors import Forbidden, NotFound, Unprocessable
from app.security.models import Role, User
from app.security.principal import Actor
from schemas.circulation import AbsenceIn, AbsenceOut


def record_absence(session: Session, *, absence: AbsenceIn, actor: Actor) -> Absence:
    user = _absent_user(session, absence, actor)
    substitute = active_user(session, absence.substitute)
    if substitute is None:
        raise Unprocessable(f"the substitute {absence.substitute!r} is not an active user")
    if substitute.id == user.id:
        raise Unprocessable("a user cannot be their own substitute")
    row = Absence(
        user_id=user.id,
        substitute_user_id=substitute.id,
        starts_on=absence.starts_on,
        ends_on=absence.ends_on,
        reason=absence.reason,
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor.name,
        action="circulation.absence_recorded",
        details={
            "user": user.username,
            "substitute": substitute.username,
            "starts_on": absence.starts_on.isoformat(),
            "ends_on": absence.ends_on.isoformat(),
        },
    )
    return row


def _absent_user(session: Session, absence: AbsenceIn, actor: Actor) -> User:
    if absence.user is None or absence.user.lower() == actor.name.lower():
        if actor.user_id is None:
            raise Unprocessable("name the absent user")
        user = session.get(User, actor.user_id)
    else:
        _require_admin(actor, "recording another user's absence")
        user = active_user(session, absence.user)
    if user is None:
        raise Unprocessable(f"{absence.user!r} is not an active user")
    return user


def _require_admin(actor: Actor, what: str) -> None:
    if not actor.has_role(Role.admin):
        raise Forbidden(f"{what} needs the admin role")


def absences_of(session: Session, actor: Actor) -> list[Absence]:
    if actor.user_id is None:
        return []
    return list(session.scalars(repository.absences_involving(actor.user_id)))


def cancel_absence(session: Session, *, absence_id: uuid.UUID, actor: Actor) -> None:
    row = session.get(Absence, absence_id)
    if row is None or not _concerns(row, actor):
        raise NotFound(f"no absence {absence_id}")
    if row.user_id != actor.user_id:
        _require_admin(actor, "cancelling another user's absence")
    session.delete(row)
    record(
        session,
        actor=actor.name,
        action="circulation.absence_cancelled",
        details={"absence_id": str(absence_id)},
    )
    session.flush()


def _concerns(row: Absence, actor: Actor) -> bool:
    return actor.has_role(Role.admin) or actor.user_id in (row.user_id, row.substitute_user_id)


def absence_out(row: Absence, names: dict[uuid.UUID, str]) -> AbsenceOut:
    return AbsenceOut(
        id=row.id,
        user=names[row.user_id],
        substitute=names[row.substitute_user_id],
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        reason=row.reason,
        created_at=row.created_at,
    )


def absences_out(session: Session, rows: list[Absence]) -> list[AbsenceOut]:
    names = views.usernames(session, [i for r in rows for i in (r.user_id, r.substitute_user_id)])
    return [absence_out(row, names) for row in rows]
