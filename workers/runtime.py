"""What a worker process holds for its whole life: settings, database, blob store, OCR pool."""

from __future__ import annotations

from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.audit.service import configure_audit_from_settings
from app.config import Settings
from app.db import build_engine, build_sessionmaker
from app.search.pesel import configure_pesel_key
from app.storage import BlobStore
from app.storage.factory import build_blob_store
from workers.ocr import ocr_pool


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessionmaker: sessionmaker[Session]
    store: BlobStore
    _executor: ProcessPoolExecutor | None = field(default=None, repr=False)

    @property
    def executor(self) -> Executor:
        """Pages are OCR'd in parallel over one pool of processes, one per core."""
        if self._executor is None:
            self._executor = ocr_pool()
        return self._executor

    def reset_executor(self) -> None:
        """Replace a pool broken by a crashed OCR process."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def close(self) -> None:
        self.reset_executor()
        self.engine.dispose()


_current: Runtime | None = None


def configure(
    settings: Settings,
    *,
    engine: Engine | None = None,
    store: BlobStore | None = None,
) -> Runtime:
    global _current
    if _current is not None:
        _current.close()
    assert settings.database_url is not None
    configure_audit_from_settings(settings)
    configure_pesel_key(settings)
    engine = engine or build_engine(settings.database_url, pool_size=settings.db_pool_size)
    _current = Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=build_sessionmaker(engine),
        store=store or build_blob_store(settings),
    )
    return _current


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("the worker runtime is not configured (workers.runtime.configure)")
    return _current
