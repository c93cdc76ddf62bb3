"""HTTP endpoints of accounts: login, tokens, users, class permissions, document grants."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.deps import ActorDep, SessionDep, SettingsDep
from app.errors import NotFound, domain_problem, problem_responses
from app.security import access, service
from app.security.authentication import CSRF_COOKIE, SESSION_COOKIE
from app.security.models import Role
from app.security.permissions import require_role, sees_pesel
from app.security.principal import Actor
from schemas.security import (
    ClassPermissionIn,
    ClassPermissionOut,
    GrantIn,
    GrantOut,
    LoginIn,
    LoginOut,
    Me,
    PasswordChange,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)

router = APIRouter(tags=["security"])


def _me(actor: Actor) -> Me:
    assert actor.user_id is not None
    return Me(
        id=actor.user_id,
        username=actor.name,
        display_name=None,
        roles=sorted(actor.roles),
        scopes=sorted(actor.scopes),
        sees_pesel=sees_pesel(actor),
    )


@router.post("/auth/login", response_model=LoginOut, responses=problem_responses(401, 422, 429))
def login(
    credentials: LoginIn, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """Open a browser session: an HttpOnly cookie, and a CSRF token to send with changes."""
    address = request.client.host if request.client else "unknown"
    result = service.login(
        session,
        username=credentials.username,
        password=credentials.password,
        address=address,
        settings=settings,
    )
    if result.refusal is not None:
        return domain_problem(request, result.refusal)
    assert result.user is not None
    assert result.secret is not None
    assert result.csrf_token is not None
    assert result.expires_at is not None
    body = LoginOut(
        user=_me(service.actor_of(result.user)),
        csrf_token=result.csrf_token,
        expires_at=result.expires_at,
    )
    response = JSONResponse(body.model_dump(mode="json"))
    max_age = int(settings.session_hours * 3600)
    secure = settings.secure_cookies
    response.set_cookie(
        SESSION_COOKIE,
        result.secret,
        max_age=max_age,
        httponly=True,
        secure=secure,
        samesite="lax",
    )
    # Readable by the pages' script, which echoes it in X-CSRF-Token.
    response.set_cookie(
        CSRF_COOKIE, result.csrf_token, max_age=max_age, secure=secure, samesite="strict"
    )
    return response


@router.post("/auth/logout", status_code=204, responses=problem_responses(401, 403))
def logout(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret is not None:
        service.logout(session, secret=secret, actor=actor)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.get("/me", response_model=Me, responses=problem_responses(401))
def me(actor: ActorDep) -> Me:
    """Who you are, your roles and, for a token, its scopes."""
    if actor.user_id is None:
        raise NotFound("system actors have no account")
    return _me(actor)


@router.post("/me/password", status_code=204, responses=problem_responses(401, 403, 422))
def change_my_password(change: PasswordChange, session: SessionDep, actor: ActorDep) -> Response:
    """Change your password; your browser sessions end (log in again)."""
    assert actor.user_id is not None
    service.set_password(
        session,
        user_id=actor.user_id,
        password=change.new_password,
        actor=actor,
        current=change.current_password,
    )
    return Response(status_code=204)


@router.get("/me/tokens", response_model=list[TokenOut], responses=problem_responses(401))
def my_tokens(session: SessionDep, actor: ActorDep) -> list[TokenOut]:
    assert actor.user_id is not None
    return [TokenOut.model_validate(t) for t in service.tokens_of(session, actor.user_id)]


@router.post(
    "/me/tokens",
    status_code=201,
    response_model=TokenCreated,
    responses=problem_responses(401, 403, 422),
)
def create_token(
    new: TokenIn, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> TokenCreated:
    """A personal API token with the scopes asked for (read, write, audit, admin); the secret
    is in this answer only."""
    token, secret = service.create_token(
        session, actor=actor, name=new.name, scopes=new.scopes, days=new.days, settings=settings
    )
    return TokenCreated(**TokenOut.model_validate(token).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", status_code=204, responses=problem_responses(401, 403, 404))
def revoke_token(token_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    """Revoke one of your tokens (an admin: anyone's); it stops working at once."""
    service.revoke_token(session, token_id=token_id, actor=actor)
    return Response(status_code=204)


@router.get("/users", response_model=list[UserOut], responses=problem_responses(401, 403))
def list_users(session: SessionDep, actor: ActorDep) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in service.list_users(session, actor=actor)]


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    responses=problem_responses(401, 403, 409, 422),
)
def create_user(new: UserIn, session: SessionDep, actor: ActorDep) -> UserOut:
    user = service.create_user(
        session,
        username=new.username,
        password=new.password,
        roles=new.roles,
        display_name=new.display_name,
        email=new.email,
        actor=actor,
    )
    return UserOut.model_validate(user)


@router.get("/users/{user_id}", response_model=UserOut, responses=problem_responses(401, 403, 404))
def get_user(user_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> UserOut:
    require_role(actor, Role.admin)
    return UserOut.model_validate(service.get_user(session, user_id))


@router.patch(
    "/users/{user_id}", response_model=UserOut, responses=problem_responses(401, 403, 404, 422)
)
def update_user(
    user_id: uuid.UUID, patch: UserPatch, session: SessionDep, actor: ActorDep
) -> UserOut:
    """Roles, active flag (deactivating ends sessions and stops tokens), name, e-mail."""
    user = service.update_user(
        session,
        user_id=user_id,
        actor=actor,
        roles=patch.roles,
        active=patch.active,
        display_name=patch.display_name,
        email=patch.email,
    )
    return UserOut.model_validate(user)


@router.post(
    "/users/{user_id}/password",
    status_code=204,
    responses=problem_responses(401, 403, 404, 422),
)
def reset_password(
    user_id: uuid.UUID, change: PasswordChange, session: SessionDep, actor: ActorDep
) -> Response:
    service.set_password(
        session, user_id=user_id, password=change.new_password, actor=actor, current=None
    )
    return Response(status_code=204)


@router.get(
    "/class-permissions",
    response_model=list[ClassPermissionOut],
    responses=problem_responses(401, 403),
)
def list_class_permissions(session: SessionDep, actor: ActorDep) -> list[ClassPermissionOut]:
    """Which role may view, upload and edit the documents of each class."""
    rows = access.class_permissions(session, actor)
    return [ClassPermissionOut.model_validate(r) for r in rows]


@router.put(
    "/class-permissions/{document_class}/{role}",
    response_model=ClassPermissionOut,
    responses=problem_responses(401, 403, 404, 422),
)
def set_class_permission(
    document_class: str,
    role: str,
    rights: ClassPermissionIn,
    session: SessionDep,
    actor: ActorDep,
) -> ClassPermissionOut:
    row = access.set_class_permission(
        session, code=document_class, role=role, rights=rights, actor=actor
    )
    return ClassPermissionOut.model_validate(row)


@router.get(
    "/documents/{document_id}/grants",
    response_model=list[GrantOut],
    responses=problem_responses(401, 404),
)
def list_grants(document_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[GrantOut]:
    return access.grants_of(session, document_id=document_id, actor=actor)


@router.post(
    "/documents/{document_id}/grants",
    status_code=201,
    response_model=GrantOut,
    responses=problem_responses(401, 403, 404, 422),
)
def create_grant(
    document_id: uuid.UUID, new: GrantIn, session: SessionDep, actor: ActorDep
) -> GrantOut:
    """Open the document to a user or a role (view or edit), optionally until a date."""
    return access.grant(session, document_id=document_id, new=new, actor=actor)


@router.delete(
    "/documents/{document_id}/grants/{grant_id}",
    status_code=204,
    responses=problem_responses(401, 403, 404),
)
def revoke_grant(
    document_id: uuid.UUID, grant_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> Response:
    access.revoke_grant(session, document_id=document_id, grant_id=grant_id, actor=actor)
    return Response(status_code=204)
