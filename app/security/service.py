"""Accounts: users, logins with throttling, browser sessions and API tokens."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import SQLColumnExpression, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.service import record
from app.config import Settings
from app.db import utcnow
from app.errors import Conflict, NotFound, TooManyRequests, Unauthorized, Unprocessable
from app.security import secrets
from app.security.models import ApiToken, BrowserSession, LoginAttempt, Role, Scope, User
from app.security.permissions import require_role, require_write_scope
from app.security.principal import Actor

_TOUCH_EVERY = timedelta(minutes=5)


def actor_of(user: User, scopes: frozenset[str] | None = None) -> Actor:
    return Actor(
        name=user.username,
        user_id=user.id,
        roles=frozenset(user.roles),
        scopes=scopes if scopes is not None else frozenset(Scope),
    )


def _check_roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - set(Role))
    if unknown:
        known = ", ".join(r.value for r in Role)
        raise Unprocessable(f"unknown roles {unknown}; known roles: {known}")
    return sorted(set(roles))


def _check_password(password: str, username: str) -> None:
    problem = secrets.password_problem(password, username)
    if problem is not None:
        raise Unprocessable(problem)


def user_by_name(session: Session, username: str) -> User | None:
    query = select(User).where(func.lower(User.username) == username.lower())
    return session.scalars(query).one_or_none()


def list_users(session: Session, *, actor: Actor) -> list[User]:
    require_role(actor, Role.admin)
    return list(session.scalars(select(User).order_by(User.username)))


def get_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def create_user(
    session: Session,
    *,
    username: str,
    password: str | None,
    roles: list[str],
    actor: Actor,
    display_name: str | None = None,
    email: str | None = None,
) -> User:
    require_role(actor, Role.admin, scope=Scope.admin)
    if password is not None:
        _check_password(password, username)
    if user_by_name(session, username) is not None:
        raise Conflict(f"a user named {username!r} exists already")
    user = User(
        id=uuid.uuid4(),
        username=username,
        display_name=display_name,
        email=email,
        roles=_check_roles(roles),
        password_hash=None if password is None else secrets.hash_password(password),
        password_changed_at=None if password is None else utcnow(),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"a user named {username!r} exists already") from exc
    record(
        session,
        actor=actor.name,
        action="user.created",
        details={"user": username, "roles": user.roles},
    )
    return user


def update_user(
    session: Session,
    *,
    user_id: uuid.UUID,
    actor: Actor,
    roles: list[str] | None = None,
    active: bool | None = None,
    display_name: str | None = None,
    email: str | None = None,
) -> User:
    require_role(actor, Role.admin, scope=Scope.admin)
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound(f"no user {user_id}")
    changes: dict[str, object] = {}
    if roles is not None and sorted(set(roles)) != sorted(user.roles):
        changes["roles"] = {"from": user.roles, "to": _check_roles(roles)}
        user.roles = _check_roles(roles)
    if active is not None and active != user.active:
        changes["active"] = {"from": user.active, "to": active}
        user.active = active
        if not active:
            _end_all_sessions(session, user.id)
    if display_name is not None:
        user.display_name = display_name
    if email is not None:
        user.email = email
    if changes:
        record(
            session,
            actor=actor.name,
            action="user.permissions_changed",
            details={"user": user.username, "changes": changes},
        )
    session.flush()
    return user


def set_password(
    session: Session, *, user_id: uuid.UUID, password: str, actor: Actor, current: str | None
) -> None:
    """Own password (the current one is required) or, for an admin, anyone's."""
    require_write_scope(actor)
    user = get_user(session, user_id)
    if actor.user_id == user_id:
        if current is None or not secrets.password_matches(user.password_hash, current):
            raise Unprocessable("the current password is wrong")
    else:
        require_role(actor, Role.admin, scope=Scope.admin)
    _check_password(password, user.username)
    user.password_hash = secrets.hash_password(password)
    user.password_changed_at = utcnow()
    _end_all_sessions(session, user.id)
    record(
        session, actor=actor.name, action="user.password_changed", details={"user": user.username}
    )
    session.flush()


def _end_all_sessions(session: Session, user_id: uuid.UUID) -> None:
    session.execute(
        update(BrowserSession)
        .where(BrowserSession.user_id == user_id, BrowserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# --- logins ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: User | None
    secret: str | None = None
    csrf_token: str | None = None
    expires_at: datetime | None = None
    refusal: Unauthorized | TooManyRequests | None = None


def _failures(
    session: Session, column: SQLColumnExpression[str], value: str, since: datetime
) -> list[datetime]:
    rows = session.scalars(
        select(LoginAttempt.at)
        .where(column == value, LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False))
        .order_by(LoginAttempt.at.desc())
        .limit(64)
    )
    return list(rows)


def _wait_seconds(failures: list[datetime], allowed: int, now: datetime) -> int:
    """Backoff doubling from four seconds for every failure past the allowance."""
    excess = len(failures) - allowed
    if excess < 0:
        return 0
    backoff = timedelta(seconds=min(2 ** (excess + 2), 3600))
    return max(0, math.ceil((failures[0] + backoff - now).total_seconds()))


def _throttle(session: Session, settings: Settings, username: str, address: str) -> int:
    now = utcnow()
    since = now - timedelta(seconds=settings.login_window_seconds)
    by_account = _failures(session, func.lower(LoginAttempt.username), username.lower(), since)
    by_address = _failures(session, LoginAttempt.address, address, since)
    return max(
        _wait_seconds(by_account, settings.login_failures_per_account, now),
        _wait_seconds(by_address, settings.login_failures_per_address, now),
    )


def login(
    session: Session, *, username: str, password: str, address: str, settings: Settings
) -> LoginResult:
    """Check a password and open a browser session. Failures are recorded, not raised, so that
    the caller's transaction commits them: throttling counts what was committed."""
    wait = _throttle(session, settings, username, address)
    if wait:
        record(
            session,
            actor=username[:200],
            action="auth.login_throttled",
            details={"address": address, "retry_after": wait},
        )
        refusal = TooManyRequests(
            f"too many failed logins; try again in {wait} s",
            headers={"Retry-After": str(wait)},
            retry_after=wait,
        )
        return LoginResult(user=None, refusal=refusal)
    user = user_by_name(session, username)
    ok = secrets.password_matches(user.password_hash if user else None, password)
    ok = ok and user is not None and user.active
    session.add(LoginAttempt(username=username[:64], address=address[:64], succeeded=ok))
    if not ok or user is None:
        record(
            session,
            actor=username[:200],
            action="auth.login_failed",
            details={"address": address, "known_user": user is not None},
        )
        return LoginResult(user=None, refusal=Unauthorized("wrong username or password"))
    return _open_session(session, user, address, settings)


def _open_session(session: Session, user: User, address: str, settings: Settings) -> LoginResult:
    secret = secrets.new_secret()
    browser = BrowserSession(
        user_id=user.id,
        secret_hash=secrets.secret_hash(secret),
        csrf_token=secrets.new_secret(),
        expires_at=utcnow() + timedelta(hours=settings.session_hours),
    )
    session.add(browser)
    record(session, actor=user.username, action="auth.login", details={"address": address})
    session.flush()
    return LoginResult(
        user=user, secret=secret, csrf_token=browser.csrf_token, expires_at=browser.expires_at
    )


def logout(session: Session, *, secret: str, actor: Actor) -> None:
    session.execute(
        update(BrowserSession)
        .where(BrowserSession.secret_hash == secrets.secret_hash(secret))
        .values(revoked_at=utcnow())
    )
    record(session, actor=actor.name, action="auth.logout")


def session_user(session: Session, secret: str) -> tuple[BrowserSession, User] | None:
    row = session.execute(
        select(BrowserSession, User)
        .join(User, User.id == BrowserSession.user_id)
        .where(
            BrowserSession.secret_hash == secrets.secret_hash(secret),
            BrowserSession.revoked_at.is_(None),
            BrowserSession.expires_at > func.now(),
            User.active.is_(True),
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


# --- API tokens -----------------------------------------------------------------------------


def create_token(
    session: Session,
    *,
    actor: Actor,
    name: str,
    scopes: list[str],
    days: int,
    settings: Settings,
) -> tuple[ApiToken, str]:
    """A personal token of the acting user; the secret is returned once and never stored."""
    require_write_scope(actor)
    if actor.user_id is None:
        raise Unprocessable("only users own tokens")
    if days > settings.token_max_days:
        raise Unprocessable(f"a token may live at most {settings.token_max_days} days")
    unknown = sorted(set(scopes) - set(Scope))
    if unknown or not scopes:
        raise Unprocessable(f"scopes must be some of {[s.value for s in Scope]}, got {scopes}")
    granted = sorted(set(scopes))
    if not set(granted) <= actor.scopes:
        raise Unprocessable("a token cannot have scopes the credential creating it lacks")
    secret = secrets.new_secret(secrets.TOKEN_PREFIX)
    token = ApiToken(
        user_id=actor.user_id,
        name=name,
        token_hash=secrets.secret_hash(secret),
        prefix=secret[: len(secrets.TOKEN_PREFIX) + 6],
        scopes=granted,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor=actor.name,
        action="token.created",
        details={"token": str(token.id), "name": name, "scopes": granted, "days": days},
    )
    return token, secret


def token_user(session: Session, secret: str) -> tuple[ApiToken, User] | None:
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(
            ApiToken.token_hash == secrets.secret_hash(secret),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > func.now(),
            User.active.is_(True),
        )
    ).one_or_none()
    if row is None:
        return None
    token, user = row
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
        token.last_used_at = now
    return token, user


def tokens_of(session: Session, user_id: uuid.UUID) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at)
    return list(session.scalars(query))


def revoke_token(session: Session, *, token_id: uuid.UUID, actor: Actor) -> ApiToken:
    require_write_scope(actor)
    token = session.get(ApiToken, token_id, with_for_update=True)
    if token is None or (token.user_id != actor.user_id and not _is_admin(actor)):
        raise NotFound(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(session, actor=actor.name, action="token.revoked", details={"token": str(token.id)})
    session.flush()
    return token


def _is_admin(actor: Actor) -> bool:
    return Role.admin in actor.roles and actor.may(Scope.admin)


def ensure_first_admin(session: Session) -> str | None:
    """On the first start: an `admin` account with a random password, returned to print once."""
    if session.scalars(select(User.id).limit(1)).first() is not None:
        return None
    password = secrets.new_password()
    create_user(
        session,
        username="admin",
        password=password,
        roles=[Role.admin.value],
        actor=Actor(name="serve"),
    )
    return password
