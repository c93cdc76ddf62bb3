"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.storage import BlobStoreUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _check_database(request: Request) -> str | None:
    try:
        with request.app.state.sessionmaker() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return f"database unreachable: {type(exc).__name__}"
    return None


def _check_store(request: Request) -> str | None:
    try:
        request.app.state.blob_store.ping()
    except BlobStoreUnavailable as exc:
        return str(exc)
    return None


@router.get(
    "/readyz",
    summary="Database and blob store are reachable",
    responses={503: {"description": "A dependency is unreachable"}},
)
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, Any] = {
        "database": await run_in_threadpool(_check_database, request),
        "blob_store": await run_in_threadpool(_check_store, request),
    }
    failing = {name: reason for name, reason in checks.items() if reason}
    body = {
        "status": "unavailable" if failing else "ready",
        "checks": {name: reason or "ok" for name, reason in checks.items()},
    }
    return JSONResponse(body, status_code=503 if failing else 200)
