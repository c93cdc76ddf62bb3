"""Domain errors carry their HTTP status; one handler renders them as RFC 9457 problem details."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.problems import Problem

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://docarchive.dev/problems/"


class DomainError(Exception):
    """Base of every error a client may cause; `slug` names the problem type."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    slug: ClassVar[str] = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions


class BadRequest(DomainError):
    pass


class Unauthorized(DomainError):
    status, title, slug = 401, "Authentication required", "unauthorized"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="docarchive"'})
        self.extensions = extensions


class Forbidden(DomainError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(DomainError):
    status, title, slug = 404, "Not found", "not-found"


class MethodNotAllowed(DomainError):
    status, title, slug = 405, "Method not allowed", "method-not-allowed"


class Conflict(DomainError):
    status, title, slug = 409, "Conflict", "conflict"


class DuplicateContent(Conflict):
    title, slug = "Content already stored", "duplicate-content"


class PreconditionFailed(DomainError):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


class PayloadTooLarge(DomainError):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class UnsupportedMediaType(DomainError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class RangeNotSatisfiable(DomainError):
    status, title, slug = 416, "Range not satisfiable", "range-not-satisfiable"


class Unprocessable(DomainError):
    status, title, slug = 422, "Unprocessable content", "unprocessable"


class TooManyRequests(DomainError):
    status, title, slug = 429, "Too many requests", "too-many-requests"


class PreconditionRequired(DomainError):
    status, title, slug = 428, "Precondition required", "precondition-required"


class StorageUnavailable(DomainError):
    status, title, slug = 503, "Storage unavailable", "storage-unavailable"


class DatabaseUnavailable(DomainError):
    status, title, slug = 503, "Database unavailable", "database-unavailable"


class BlobIntegrityError(DomainError):
    """Stored bytes are missing or no longer match their hash: never serve them."""

    status, title, slug = 500, "Stored content failed verification", "blob-integrity"


def problem_response(
    *,
    status: int,
    title: str,
    detail: str,
    slug: str,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body = Problem(
        type=PROBLEM_BASE + slug, title=title, status=status, detail=detail, instance=instance
    ).model_dump(exclude_none=True)
    body.update(extensions)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return domain_problem(request, exc)


def domain_problem(request: Request, exc: DomainError) -> JSONResponse:
    """The answer to a domain error, for the rare endpoint that must answer one without raising
    (its transaction has to commit, e.g. a recorded failed login)."""
    return problem_response(
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        slug=exc.slug,
        instance=request.url.path,
        headers=exc.headers,
        **exc.extensions,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in exc.errors()
    ]
    return problem_response(
        status=422,
        title="Invalid request",
        detail="; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors),
        slug="validation",
        instance=request.url.path,
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem_response(
        status=exc.status_code,
        title=str(exc.detail),
        detail=str(exc.detail),
        slug=f"http-{exc.status_code}",
        instance=request.url.path,
        headers=dict(exc.headers or {}),
    )


async def _unstorable_value(request: Request, exc: Exception) -> JSONResponse:
    """A value passed validation that PostgreSQL cannot hold or compare (a NUL character, a
    number beyond the column's range, a string longer than the column): the request's fault."""
    assert isinstance(exc, DataError)
    reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid value"
    log.warning("refused a value on %s %s: %s", request.method, request.url.path, reason)
    return problem_response(
        status=422,
        title="Invalid request",
        detail=f"a value in the request cannot be stored or searched: {reason}",
        slug="unstorable-value",
        instance=request.url.path,
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        status=500,
        title="Internal server error",
        detail="the request failed on the server and nothing was changed; the error is logged",
        slug="internal",
        instance=request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(DataError, _unstorable_value)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declaration of the problem-details answers an endpoint can give."""
    return {
        status: {
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": Problem.model_json_schema()}},
            "description": _DESCRIPTIONS.get(status, "Error"),
        }
        for status in statuses
    }


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Not authenticated: log in or send an API token",
    403: "Your roles or your token's scopes do not allow this",
    404: "No such document (or not visible to you)",
    405: "Method not allowed",
    409: "Conflict with the stored state",
    412: "The resource changed since you read it",
    413: "The file exceeds the upload limit",
    415: "The content is of a type the archive does not accept",
    416: "The requested range is outside the content",
    422: "The request is well formed but invalid",
    428: "An If-Match header or revision is required",
    429: "Too many failed attempts; retry after the time given",
    500: "Stored content failed verification",
    503: "Storage or database unavailable",
}
