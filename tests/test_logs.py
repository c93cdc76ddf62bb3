"""Structured logs: JSON lines, a request id from the upload into the document's job, and
nothing secret or personal (PESEL) in them."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.observability.logs import JsonFormatter, TextFormatter, log_context, redact
from app.storage import BlobStore
from app.storage.local import LocalBlobStore
from tests import samples
from tests.conftest import LiveServer, RunWorker

VALID_PESEL = "44051401359"


@pytest.fixture
def blob_store(tmp_path: Path) -> BlobStore:
    return LocalBlobStore(tmp_path / "var" / "blobs")


class Captured:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def json_logs() -> Iterator[Captured]:
    """What the service's JSON handler writes, captured from every thread of this process."""
    captured = Captured()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield captured
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        (f"employee PESEL {VALID_PESEL} hired", VALID_PESEL),
        ("login with password=hunter2 failed", "hunter2"),
        ('{"password": "hunter2", "user": "anna"}', "hunter2"),
        (
            "Authorization: Bearer dat_Q2x9fK3mZ8pL1vR7tY4wE6uI0oA5sD",
            "Q2x9fK3mZ8pL1vR7tY4wE6uI0oA5sD",
        ),
        ("token dat_Q2x9fK3mZ8pL1vR7tY4wE6uI0oA5sD leaked", "Q2x9fK3mZ8pL1vR7tY4wE6uI0oA5sD"),
        ("connecting to postgresql://docarchive:s3cr3t@db:5432/x", "s3cr3t"),
        ("s3 secret_key=minio-secret-value", "minio-secret-value"),
    ],
)
def test_secrets_and_pesel_are_masked(message: str, secret: str) -> None:
    assert secret not in redact(message)


def test_what_only_looks_like_a_secret_is_kept() -> None:
    not_a_pesel = "44051401358"  # wrong check digit: an account or order number
    sha256 = "ab" * 32
    kept = f"order {not_a_pesel} blob {sha256} index ix_intake_messages_mailbox_received_at"
    assert redact(kept) == kept


def test_a_json_line_carries_the_context_and_is_redacted() -> None:
    record = logging.LogRecord(
        "app.x", logging.WARNING, __file__, 1, "PESEL %s in %s", (VALID_PESEL, "doc"), None
    )
    with log_context(request_id="req-1", document_id="d-1"):
        line = JsonFormatter().format(record)
        plain = TextFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "PESEL [PESEL] in doc"
    assert (entry["request_id"], entry["document_id"], entry["level"]) == (
        "req-1",
        "d-1",
        "WARNING",
    )
    assert "\n" not in line
    assert VALID_PESEL not in plain
    assert "request_id=req-1" in plain


def test_an_exception_is_logged_redacted_on_one_line() -> None:
    try:
        raise RuntimeError(f"cannot connect as postgresql://app:pa55word@db/x for {VALID_PESEL}")
    except RuntimeError:
        logger = logging.getLogger("test.exc")
        record = logger.makeRecord("test.exc", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "RuntimeError" in entry["exception"]
    assert "pa55word" not in line
    assert VALID_PESEL not in line


def test_the_request_id_follows_an_upload_into_its_job(
    server: LiveServer,
    client: httpx.Client,
    run_worker: RunWorker,
    engine: Engine,
    json_logs: Captured,
) -> None:
    response = client.post(
        "/documents",
        files={"file": ("f.pdf", samples.text_pdf(["Faktura FV/9/2026"]))},
        headers={"X-Request-ID": "upload-42"},
    )
    assert response.status_code == 202
    assert response.headers["X-Request-ID"] == "upload-42"
    document_id = response.json()["id"]
    with engine.connect() as conn:
        args = conn.execute(text("SELECT args FROM procrastinate_jobs")).scalar_one()
    assert args == {"document_id": document_id, "request_id": "upload-42"}

    run_worker()

    lines = json_logs.lines()
    [request_line] = [line for line in lines if line["logger"] == "docarchive.request"]
    assert request_line["request_id"] == "upload-42"
    assert request_line["route"] == "/api/v1/documents"
    assert request_line["status"] == 202
    worker_lines = [line for line in lines if line.get("document_id") == document_id]
    assert worker_lines, lines
    assert {line["request_id"] for line in worker_lines} == {"upload-42"}
    assert any(line["message"].startswith("processing document") for line in worker_lines)


def test_a_request_gets_an_id_when_it_brings_none_or_a_bad_one(
    server: LiveServer, json_logs: Captured
) -> None:
    with httpx.Client(base_url=server.url) as anonymous:
        generated = anonymous.get("/healthz").headers["X-Request-ID"]
        replaced = anonymous.get("/healthz", headers={"X-Request-ID": "bad id; drop"})
        missing = anonymous.get("/no/such/page")
    assert len(generated) == 32
    assert replaced.headers["X-Request-ID"] not in {"bad id; drop", generated}
    assert missing.status_code == 404
    routes = [line["route"] for line in json_logs.lines() if line["logger"] == "docarchive.request"]
    assert routes == ["/healthz", "/healthz", "unmatched"]
