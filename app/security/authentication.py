"""Turning a request's credentials into an `Actor`: a bearer token or a session cookie.

Cookie-authenticated requests that change something must echo the session's CSRF token in the
`X-CSRF-Token` header (or a `csrf_token` form field, read by the pages that post forms): another
site can make a browser send the cookie, but cannot read the token.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from app.errors import Forbidden, Unauthorized
from app.security import service
from app.security.principal import Actor
from app.security.secrets import same

SESSION_COOKIE = "docarchive_session"
CSRF_COOKIE = "docarchive_csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_secret(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return secret.strip()


def authenticate(request: Request, session: Session) -> Actor:
    secret = bearer_secret(request)
    if secret is not None:
        return _token_actor(session, secret)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is not None:
        return _session_actor(request, session, cookie)
    raise Unauthorized("log in, or send an API token as 'Authorization: Bearer <token>'")


def _token_actor(session: Session, secret: str) -> Actor:
    found = service.token_user(session, secret)
    if found is None:
        raise Unauthorized("the token is unknown, expired or revoked")
    token, user = found
    return service.actor_of(user, frozenset(token.scopes))


def _session_actor(request: Request, session: Session, cookie: str) -> Actor:
    found = service.session_user(session, cookie)
    if found is None:
        raise Unauthorized("the session has ended; log in again")
    browser, user = found
    require_csrf(request, browser.csrf_token)
    return service.actor_of(user)


def require_csrf(request: Request, expected: str) -> None:
    """A change made with the session cookie must echo the session's CSRF token."""
    if request.method in _SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None or not same(sent, expected):
        raise Forbidden(
            f"a request authenticated by the session cookie must carry the {CSRF_HEADER} "
            "header given at login"
        )
