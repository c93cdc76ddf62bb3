"""Schemathesis against the live API (uvicorn, PostgreSQL, local blob store), authenticated as a
user holding every role: no 5xx, and every answer as the OpenAPI schema declares it (status
code, content type, headers, body).

One test per operation, all against one server whose database holds one uploaded document;
positive and negative examples. `FUZZ_EXAMPLES` bounds the examples per operation and phase
(default 10: about two minutes on two cores), the same ones every run; `bench/fuzz.py` runs
the same tests with ten times more, fresh random ones (`FUZZ_RANDOM=1`), and reads the counts
per operation and status this module writes to `FUZZ_STATS`.

Nothing is excluded: schemathesis generates the multipart upload bodies too (random bytes,
refused as unsupported types).
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from sqlalchemy.engine import create_engine

from app.config import Settings
from app.db import build_engine
from app.main import create_app
from app.migrate import upgrade
from app.storage.local import LocalBlobStore
from tests import samples
from tests.conftest import LiveServer, fresh_database, upload

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"
"""CI replays the same examples every run (derandomised); the bench explores afresh."""
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)


def _openapi() -> dict[str, Any]:
    """The schema the app publishes at /openapi.json, built without a database or blob store
    (it is needed at collection, before any fixture runs); a test checks it is the one served."""
    unused = "postgresql://schema-only@127.0.0.1:1/unused"
    app = create_app(
        Settings(database_url=unused),
        engine=create_engine(unused.replace("postgresql:", "postgresql+psycopg:")),
        blob_store=LocalBlobStore(Path("/nonexistent")),
    )
    return app.openapi()


OPENAPI = _openapi()
schema = schemathesis.openapi.from_dict(
    OPENAPI,
    config=schemathesis.Config.from_dict(
        {
            "generation": {
                "max-examples": EXAMPLES,
                "mode": "all",
                "deterministic": not RANDOM,
                "database": "none",
            },
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "suppress-health-check": ["all"],
        }
    ),
)


@dataclass
class Target:
    server: LiveServer
    document_id: str
    calls: Counter[tuple[str, int]]


@pytest.fixture(scope="module")
def fuzz_database(database_url: str) -> Iterator[str]:
    """A database of its own, dropped afterwards: the fuzzer also changes what the migrations
    seeded (document classes, class permissions, workflows, retention classes), which the other
    tests rely on."""
    databases = fresh_database(database_url)
    url = next(databases)
    upgrade(url)
    yield url
    databases.close()


@pytest.fixture(scope="module")
def target(fuzz_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One server for every operation. It has an engine of its own, not the `engine` fixture,
    so that the tables are not emptied between operations (which would end the token)."""
    root = tmp_path_factory.mktemp("fuzz")
    settings = Settings(database_url=fuzz_database, data_dir=root, max_upload_bytes=1 << 20)
    engine = build_engine(fuzz_database, pool_size=5)
    try:
        with LiveServer(settings, engine, LocalBlobStore(root / "blobs")) as server:
            with server.client() as client:
                document_id = upload(client, samples.pdf("fuzz"), "fuzz.pdf")
            found = Target(server, document_id, Counter())
            yield found
        _write_stats(found.calls)
    finally:
        engine.dispose()


def _write_stats(calls: Counter[tuple[str, int]]) -> None:
    path = os.environ.get("FUZZ_STATS")
    if path:
        rows = [
            {"operation": op, "status": status, "calls": n} for (op, status), n in calls.items()
        ]
        Path(path).write_text(json.dumps(rows, indent=1))


def _aim_at_the_document(case: Any, document_id: str) -> None:
    """Most well-formed document ids become the stored document's, so that the operations run
    on a real document; the rest stay random (404), malformed ones stay malformed (422)."""
    generated = (case.path_parameters or {}).get("document_id")
    try:
        parsed = uuid.UUID(str(generated))
    except ValueError:
        return
    if parsed.int % 4:
        case.path_parameters["document_id"] = document_id


def test_the_fuzzed_schema_is_the_served_one(target: Target) -> None:
    with target.server.client() as client:
        assert client.get(target.server.url + "/openapi.json").json() == OPENAPI


@schema.parametrize()
def test_api_answers_as_declared(case: Any, target: Target) -> None:
    _aim_at_the_document(case, target.document_id)
    response = case.call_and_validate(
        base_url=target.server.url,
        headers={"Authorization": f"Bearer {target.server.superuser_token()}"},
    )
    target.calls[(case.operation.label, response.status_code)] += 1
