"""Dependency aliases shared by the endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import session_scope, transaction
from app.errors import DatabaseUnavailable
from app.security.authentication import SESSION_COOKIE, authenticate
from app.security.principal import Actor
from app.storage import BlobStore


def _session(request: Request) -> Iterator[Session]:
    try:
        yield from transaction(request.app.state.sessionmaker)
    except OperationalError as exc:
        raise DatabaseUnavailable(f"the database is unavailable: {exc.orig}") from exc


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _store(request: Request) -> BlobStore:
    store: BlobStore = request.app.state.blob_store
    return store


# Declared for the OpenAPI document (and Swagger UI's Authorize button); `authenticate` reads
# the credentials itself, with the CSRF rule for cookies.
_bearer = HTTPBearer(auto_error=False, description="An API token: `docarchive user token`.")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="A browser session from POST /api/v1/auth/login (changes need X-CSRF-Token).",
)


def _actor(
    request: Request,
    _token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    _session_cookie: Annotated[str | None, Security(_cookie)] = None,
) -> Actor:
    # A short transaction of its own: the request's session stays unopened while an upload's
    # body arrives, instead of holding a connection idle in a transaction.
    try:
        with session_scope(request.app.state.sessionmaker) as session:
            return authenticate(request, session)
    except OperationalError as exc:
        raise DatabaseUnavailable(f"the database is unavailable: {exc.orig}") from exc


# scope="function": the transaction commits before the response is sent, so a failed commit
# turns into an error answer instead of a 2xx for something that was never stored.
SessionDep = Annotated[Session, Depends(_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(_settings)]
StoreDep = Annotated[BlobStore, Depends(_store)]
ActorDep = Annotated[Actor, Depends(_actor)]
