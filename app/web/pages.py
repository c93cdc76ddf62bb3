"""What every page needs: the logged-in user from the session cookie, templates with the
user's language, and HTML answers to domain errors."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from pydantic import BaseModel, ValidationError

from app.db import session_scope
from app.errors import DomainError, Unprocessable
from app.security import service as accounts
from app.security.authentication import SESSION_COOKIE, require_csrf
from app.security.models import Role
from app.security.principal import Actor
from app.web.i18n import language, translator
from schemas.search import Snippet

STATIC_DIR = Path(__file__).parent / "static"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _highlighted(snippet: Snippet) -> Markup:
    """The snippet's text with its highlights in <mark>, everything else escaped."""
    parts: list[str] = []
    at = 0
    for h in sorted(snippet.highlights, key=lambda h: h.start):
        parts += [escape(snippet.text[at : h.start]), "<mark>"]
        parts += [escape(snippet.text[h.start : h.end]), "</mark>"]
        at = h.end
    parts.append(escape(snippet.text[at:]))
    return Markup("".join(parts))  # noqa: S704 (every piece of text is escaped above)


templates.env.filters["highlighted"] = _highlighted


@dataclass(frozen=True, slots=True)
class PageUser:
    actor: Actor
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return Role.admin in self.actor.roles

    @property
    def is_archivist(self) -> bool:
        return bool(
            {Role.archivist, Role.admin, Role.auditor, Role.head_of_unit} & self.actor.roles
        )

    @property
    def is_auditor(self) -> bool:
        return bool({Role.auditor, Role.admin} & self.actor.roles)


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], **data: Any) -> M:
    """Form input checked by the API's own model; its complaints are shown on the page."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise Unprocessable(reasons) from exc


class LoginRequired(Exception):
    """Raised by `page_user` without a valid session: answered with a redirect to the login."""


def page_user(request: Request) -> PageUser:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        raise LoginRequired
    with session_scope(request.app.state.sessionmaker) as session:
        found = accounts.session_user(session, cookie)
        if found is None:
            raise LoginRequired
        browser, user = found
        require_csrf(request, browser.csrf_token)
        return PageUser(actor=accounts.actor_of(user), csrf_token=browser.csrf_token)


def render(
    request: Request,
    template: str,
    user: PageUser | None = None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = language(request)
    return templates.TemplateResponse(
        request,
        template,
        {"user": user, "lang": lang, "_": translator(lang), **context},
        status_code=status_code,
    )


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target)}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


_MESSAGES = {
    403: "You may not do this.",
    404: "The page or document does not exist, or you may not see it.",
    409: "The document changed meanwhile; reload and try again.",
    412: "The document changed meanwhile; reload and try again.",
}


def _problem_page(request: Request, exc: DomainError) -> Response:
    if request.headers.get("hx-request"):
        # htmx swaps only 2xx answers by default: say it in the target's error slot.
        message = translator(language(request))(_MESSAGES.get(exc.status, exc.detail))
        return HTMLResponse(
            f'<p class="error" role="alert">{escape(message)}</p>',
            status_code=200,
            headers={"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"},
        )
    return render(
        request,
        "error.html",
        status_code=exc.status,
        title=exc.title,
        message=_MESSAGES.get(exc.status, exc.detail),
        detail=exc.detail,
    )


class PageRoute(APIRoute):
    """Routes of pages: no session → the login page; a domain error → an HTML answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handle(request)
            except LoginRequired:
                return _login_redirect(request)
            except DomainError as exc:
                return _problem_page(request, exc)

        return page
