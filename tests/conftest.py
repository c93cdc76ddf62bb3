"""Real components for the tests: PostgreSQL (DATABASE_URL or embedded), moto's S3 server,
and the API served by uvicorn on a loopback port."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn
from moto.server import ThreadedMotoServer
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from app.config import Settings
from app.db import build_engine, build_sessionmaker, normalise_url, session_scope
from app.main import create_app
from app.migrate import upgrade
from app.security import service as security
from app.security.models import Role, Scope
from app.security.principal import system_actor
from app.storage import BlobStore
from app.storage.local import LocalBlobStore
from app.storage.s3 import S3BlobStore
from workers import runtime
from workers.app import PROCESSING_QUEUE, connected

DATA_TABLES = (
    "audit_events",
    "idempotent_requests",
    "document_versions",
    "documents",
    "users",
    "login_attempts",
    "intake_messages",
    "intake_items",
    "saved_searches",
    "search_terms",
    "counterparty_names",
    "legal_holds",
    "disposal_batches",
    "erasure_requests",
    "erasure_answers",
    "fixity_runs",
    "object_locks",
)
QUEUE_TABLES = ("procrastinate_jobs",)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def fresh_database(base_url: str) -> Iterator[str]:
    """A new database on the server DATABASE_URL points at, dropped afterwards."""
    name = f"docarchive_test_{uuid.uuid4().hex[:10]}"
    admin = make_url(normalise_url(base_url)).set(drivername="postgresql")
    admin_dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(normalise_url(base_url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = os.environ.get("DATABASE_URL")
    if base:
        databases = fresh_database(base)
        url = next(databases)
        upgrade(url)
        yield url
        databases.close()
        return
    from app.embedded import embedded_postgres

    with embedded_postgres(tmp_path_factory.mktemp("pg") / "postgres") as url:
        upgrade(url)
        yield url


@pytest.fixture
def scratch_database(database_url: str) -> Iterator[str]:
    """An empty database on the same server, for tests that run migrations themselves."""
    yield from fresh_database(database_url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = build_engine(database_url, pool_size=5)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "engine" not in request.fixturenames:
        return
    engine: Engine = request.getfixturevalue("engine")
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(DATA_TABLES + QUEUE_TABLES)} CASCADE"))


def row_count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


class MotoS3:
    def __init__(self) -> None:
        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def store(self, bucket: str | None = None, *, endpoint: str | None = None) -> S3BlobStore:
        return S3BlobStore(
            endpoint=endpoint or self.endpoint,
            bucket=bucket or f"test-{uuid.uuid4().hex[:12]}",
            access_key="testing",
            secret_key="testing",
            secure=False,
            region="us-east-1",
            part_size=5 * 1024 * 1024,
            timeout_seconds=2.0,
        )


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    server = MotoS3()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["local", "s3"])
def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "var" / "blobs")
    moto: MotoS3 = request.getfixturevalue("moto_s3")
    return moto.store()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "var",
        max_upload_bytes=8 * 1024 * 1024,
        verify_before_send_bytes=1024 * 1024,
        # Tests start circulations themselves; tests/test_web.py checks the automatic start.
        auto_circulation=False,
    )


TEST_PASSWORD = "correct horse battery staple"
EVERY_ROLE = tuple(role.value for role in Role)


def create_user(engine: Engine, username: str, *roles: str, scopes: tuple[str, ...] = ()) -> str:
    """A user with `roles` and the password TEST_PASSWORD; returns an API token of theirs."""
    with session_scope(build_sessionmaker(engine)) as session:
        user = security.create_user(
            session,
            username=username,
            password=TEST_PASSWORD,
            roles=list(roles),
            actor=system_actor("tests"),
        )
        _, secret = security.create_token(
            session,
            actor=security.actor_of(user),
            name="tests",
            scopes=list(scopes or tuple(Scope)),
            days=1,
            settings=Settings(),
        )
    return secret


class LiveServer:
    """The real app under uvicorn on a loopback port, in a thread of the test process."""

    def __init__(self, settings: Settings, engine: Engine, store: BlobStore) -> None:
        self.settings = settings
        self.store = store
        self.engine = engine
        self._superuser_token: str | None = None
        self.app = create_app(settings, engine=engine, blob_store=store)
        self.port = free_port()
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", ws="none"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def client(self, token: str | None = None, *, anonymous: bool = False) -> httpx.Client:
        """A client with `token`, by default that of a user holding every role."""
        headers = {}
        if not anonymous:
            token = token or self.superuser_token()
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url + "/api/v1", timeout=30, headers=headers)

    def superuser_token(self) -> str:
        if self._superuser_token is None:
            self._superuser_token = create_user(self.engine, "tester", *EVERY_ROLE)
        return self._superuser_token


@pytest.fixture
def server(settings: Settings, engine: Engine, blob_store: BlobStore) -> Iterator[LiveServer]:
    with LiveServer(settings, engine, blob_store) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


RunWorker = Callable[..., None]


@pytest.fixture
def run_worker(server: LiveServer, engine: Engine) -> Iterator[RunWorker]:
    """Process what is queued, in this process, with the server's settings and store."""
    worker_runtime = runtime.configure(server.settings, engine=engine, store=server.store)

    def run(**options: object) -> None:
        assert server.settings.database_url is not None
        with connected(server.settings.database_url) as app:
            app.run_worker(
                wait=False, queues=[PROCESSING_QUEUE], install_signal_handlers=False, **options
            )

    yield run
    worker_runtime.reset_executor()


LoginAs = Callable[..., httpx.Client]


@pytest.fixture
def login_as(server: LiveServer) -> Iterator[LoginAs]:
    """`login_as("anna", "accountant")`: an API client of a new user holding those roles."""
    clients: list[httpx.Client] = []

    def make(username: str, *roles: str, scopes: tuple[str, ...] = ()) -> httpx.Client:
        client = server.client(create_user(server.engine, username, *roles, scopes=scopes))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def upload(client: httpx.Client, content: bytes, filename: str, **data: str) -> str:
    response = client.post("/documents", files={"file": (filename, content)}, data=data)
    assert response.status_code == 202, response.text
    document_id: str = response.json()["id"]
    return document_id
