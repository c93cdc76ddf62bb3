"""`/metrics`: each metric is exposed, and its value follows documents through the pipeline."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from app.db import build_engine, build_sessionmaker, session_scope
from app.intake.commands import hot_folder
from app.intake.models import IntakeMessage
from app.observability.metrics import Metrics, failure_reason
from app.storage import BlobStore
from app.storage.local import LocalBlobStore
from tests import samples
from tests.conftest import LiveServer, RunWorker, upload
from workers.app import connected

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def blob_store(tmp_path: Path) -> BlobStore:
    """Metrics do not depend on the blob backend: the local one is enough here."""
    return LocalBlobStore(tmp_path / "var" / "blobs")


def scrape(server: LiveServer) -> Samples:
    response = httpx.get(server.url + "/metrics", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _defer_broken_job(database_url: str) -> None:
    """A job whose argument is no document id: it fails for good, as a bug would."""
    with connected(database_url) as app, app.open():
        app.configure_task("documents.process").defer(document_id="not-a-uuid")


def test_metrics_follow_documents_through_the_pipeline(
    server: LiveServer,
    client: httpx.Client,
    run_worker: RunWorker,
    engine: Engine,
    tmp_path: Path,
) -> None:
    before = scrape(server)
    assert value(before, "docarchive_metrics_database_up") == 1
    assert value(before, "docarchive_documents", status="pending") == 0
    assert value(before, "docarchive_queue_jobs", queue="documents", status="todo") == 0
    assert value(before, "docarchive_queue_oldest_job_age_seconds", queue="documents") == 0

    scan_id = upload(
        client, samples.scan_png(["Faktura VAT FV/7/2026", "Razem 123,00 PLN"]), "s.png"
    )
    upload(client, samples.encrypted_pdf(), "tajne.pdf")
    time.sleep(0.05)
    waiting = scrape(server)
    assert value(waiting, "docarchive_documents", status="pending") == 2
    assert value(waiting, "docarchive_queue_jobs", queue="documents", status="todo") == 2
    assert value(waiting, "docarchive_queue_oldest_job_age_seconds", queue="documents") > 0

    run_worker()
    assert server.settings.database_url is not None
    _defer_broken_job(server.settings.database_url)
    run_worker()
    client.get(f"/documents/{scan_id}")
    done = scrape(server)

    assert value(done, "docarchive_documents", status="pending") == 0
    assert value(done, "docarchive_documents", status="processed") == 1
    assert value(done, "docarchive_documents", status="failed") == 1
    assert value(done, "docarchive_queue_jobs", queue="documents", status="todo") == 0
    assert value(done, "docarchive_queue_oldest_job_age_seconds", queue="documents") == 0
    assert value(done, "docarchive_ocr_pages_total") == 1
    assert value(done, "docarchive_jobs_failed", queue="documents", task="documents.process") == 1
    failures = {
        labels: count
        for (name, labels), count in done.items()
        if name == "docarchive_processing_failures"
    }
    assert list(failures.values()) == [1]
    [(reason_label,)] = failures
    assert "password" in reason_label[1]

    uploads = value(
        done,
        "docarchive_http_request_duration_seconds_count",
        method="POST",
        route="/api/v1/documents",
        status="202",
    )
    assert uploads == 2
    assert (
        value(
            done,
            "docarchive_http_request_duration_seconds_count",
            method="GET",
            route="/api/v1/documents/{document_id}",
            status="200",
        )
        == 1
    )
    assert scan_id not in httpx.get(server.url + "/metrics").text  # templates, never raw paths

    inbox = tmp_path / "skaner"
    inbox.mkdir()
    (inbox / "a.pdf").write_bytes(samples.pdf("metrics"))
    folder = hot_folder(
        server.settings.model_copy(update={"hotfolder_settle_seconds": 0}), engine, inbox
    )
    folder.scan()
    folder.scan()
    with session_scope(build_sessionmaker(engine)) as session:
        session.add(IntakeMessage(message_id="<m@x>", mailbox="faktury", outcome="no_attachments"))
    intake = scrape(server)
    assert (
        value(intake, "docarchive_intake_files_total", channel="hotfolder", outcome="ingested") == 1
    )
    assert (
        value(
            intake, "docarchive_intake_messages_total", mailbox="faktury", outcome="no_attachments"
        )
        == 1
    )
    assert value(intake, "docarchive_documents", status="pending") == 1


def test_an_unreachable_database_is_a_metric_not_an_error() -> None:
    engine = build_engine("postgresql://nobody@127.0.0.1:1/nothing", pool_size=1)
    try:
        text = Metrics(engine).render().decode()
    finally:
        engine.dispose()
    assert "docarchive_metrics_database_up 0.0" in text
    assert "docarchive_http_request_duration_seconds" in text


def test_failure_reasons_fold_numbers_into_one_series() -> None:
    assert failure_reason("page 3 exceeds 100000000 pixels") == "page N exceeds N pixels"
    assert len(failure_reason("x" * 1000)) == 120


def test_circulation_and_retention_metrics_follow_the_records(
    server: LiveServer, client: httpx.Client, run_worker: RunWorker
) -> None:
    before = scrape(server)
    assert value(before, "docarchive_circulation_open_tasks") == 0
    assert value(before, "docarchive_circulations", state="running") == 0
    invoice = upload(client, samples.ksef_fa3("FV/31/2026"), "fv.xml")
    run_worker()
    assert client.post(f"/documents/{invoice}/circulation").status_code == 201
    during = scrape(server)
    assert value(during, "docarchive_circulations", state="running") == 1
    assert value(during, "docarchive_circulation_open_tasks") == 1  # registration, role clerk
    assert value(during, "docarchive_circulation_overdue_tasks") == 0

    hold = client.post(
        "/retention/holds", json={"name": "Spór", "reason": "pozew", "document_ids": [invoice]}
    )
    assert hold.status_code == 201, hold.text
    assert value(scrape(server), "docarchive_legal_holds_active") == 1
    client.post(f"/retention/holds/{hold.json()['id']}/release", json={"reason": "ugoda"})
    assert value(scrape(server), "docarchive_legal_holds_active") == 0
    collected = client.post("/retention/batches/collect")
    assert collected.status_code == 200, collected.text
    pending = scrape(server)
    drafts = sum(
        count
        for (name, labels), count in pending.items()
        if name == "docarchive_disposal_batches_pending" and ("status", "draft") in labels
    )
    assert drafts == len(collected.json()["batches"])
