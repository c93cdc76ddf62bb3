"""create_app(): settings, database, blob store, routers and the problem-details handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from app import health
from app.audit import endpoints as audit
from app.audit.service import configure_audit_from_settings
from app.circulation import endpoints as circulation
from app.config import Environment, Settings
from app.db import build_engine, build_sessionmaker
from app.documents import classes
from app.documents import endpoints as documents
from app.errors import install_error_handlers, problem_responses
from app.observability.middleware import install_observability
from app.retention import endpoints as retention
from app.retention import erasure_endpoints as erasure
from app.search import endpoints as search
from app.search.pesel import configure_pesel_key
from app.security import endpoints as security
from app.security.headers import install_security_headers
from app.storage import BlobStore
from app.storage.factory import build_blob_store
from app.web import admin as web_admin
from app.web import circulation as web_circulation
from app.web import retention as web_retention
from app.web import routes as web
from app.web.pages import STATIC_DIR


def _threads(count: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Size the thread pool sync endpoints run in. A request that wrote an audit event holds the
    chain lock until its transaction commits, and it needs a pool thread again to get there;
    with fewer threads than concurrent requests, the ones queued on that lock can take every
    thread and stall the process (bench/load.py, docs/benchmarks.md "Load")."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = count
        yield

    return lifespan


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    blob_store: BlobStore | None = None,
) -> FastAPI:
    if engine is None:
        if settings.database_url is None:
            raise ValueError("create_app needs a database URL (the CLI starts the embedded one)")
        engine = build_engine(settings.database_url, pool_size=settings.db_pool_size)
    app = FastAPI(
        title="docarchive",
        version="0.1.0",
        summary="Document management and archiving for back offices.",
        docs_url="/docs",
        openapi_url="/openapi.json",
        lifespan=_threads(settings.api_threads),
    )
    app.state.settings = settings
    configure_audit_from_settings(settings)
    configure_pesel_key(settings)
    app.state.engine = engine
    app.state.sessionmaker = build_sessionmaker(engine)
    app.state.blob_store = blob_store or build_blob_store(settings)
    api = APIRouter(prefix="/api/v1", responses=problem_responses(400, 401, 422))
    api.include_router(documents.router)
    api.include_router(classes.router)
    api.include_router(search.router)
    api.include_router(security.router)
    api.include_router(audit.router)
    api.include_router(circulation.router)
    api.include_router(retention.router)
    api.include_router(erasure.router)
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(web.router)
    app.include_router(web_circulation.router)
    app.include_router(web_admin.router)
    app.include_router(web_retention.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_handlers(app)
    install_observability(app, metrics_enabled=settings.metrics_enabled)
    install_security_headers(app, hsts=settings.environment is Environment.production)
    return app
