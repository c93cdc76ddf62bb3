"""Document processing through the real queue: upload, run a worker, check what it stored."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.storage.s3 import S3BlobStore
from tests import samples, scans
from tests.conftest import LiveServer, MotoS3, RunWorker, upload
from workers import processing, results, runtime
from workers.app import PROCESSING_QUEUE, connected
from workers.tasks import retry_stalled, sweep_pending


def fields(document: dict[str, object]) -> dict[str, object]:
    listed = document["fields"]
    assert isinstance(listed, list)
    return {f["name"]: f["value"] for f in listed}


def test_upload_queues_a_job_in_the_same_transaction(client: httpx.Client, engine: Engine) -> None:
    document_id = upload(client, samples.ksef_fa3(), "fa3.xml")
    with engine.connect() as conn:
        args = conn.execute(
            text("SELECT args FROM procrastinate_jobs WHERE task_name = 'documents.process'")
        ).scalar_one()
    assert args == {"document_id": document_id, "request_id": args["request_id"]}


def test_ksef_invoice_is_processed_into_fields(client: httpx.Client, run_worker: RunWorker) -> None:
    document_id = upload(client, samples.ksef_fa3("FV/7/2026"), "fa3.xml")

    run_worker()

    document = client.get(f"/documents/{document_id}").json()
    assert document["status"] == "processed", document["status_reason"]
    assert document["document_class"] == "invoice"
    # The hand-written sample lacks elements FA(3) requires: archived and read all the same.
    assert document["current_version"]["schema_valid"] is False
    assert any("Adnotacje" in e for e in document["current_version"]["schema_errors"])
    found = fields(document)
    assert found["invoice_number"] == "FV/7/2026"
    assert found["seller_nip"] == "5260250274"
    assert found["gross_total"] == "1230.00"
    pages = client.get(f"/documents/{document_id}/pages").json()
    assert [p["source"] for p in pages] == ["xml"]
    assert "FV/7/2026" in pages[0]["text"]


def test_schema_valid_fa3_invoice(client: httpx.Client, run_worker: RunWorker) -> None:
    content = (Path(__file__).parent / "data/ksef/fa3/fa3_split_payment.xml").read_bytes()
    document_id = upload(client, content, "fa3.xml")
    run_worker()
    document = client.get(f"/documents/{document_id}").json()
    assert document["current_version"]["schema_valid"] is True
    assert document["current_version"]["schema_errors"] == []
    assert fields(document)["split_payment"] is True
    assert document["needs_review"] == []


def test_official_fa2_correction_is_classified_as_correction(
    client: httpx.Client, run_worker: RunWorker
) -> None:
    document_id = upload(client, samples.ksef_fa2("korygujaca__FA_2_Przyklad_2.xml"), "k.xml")
    run_worker()
    document = client.get(f"/documents/{document_id}").json()
    assert document["status"] == "processed"
    assert document["document_class"] == "correction"
    assert document["current_version"]["schema_valid"] is True


def test_stated_class_wins_over_the_guess(client: httpx.Client, run_worker: RunWorker) -> None:
    document_id = upload(client, samples.ksef_fa3(), "fa3.xml", **{"class": "other"})
    run_worker()
    document = client.get(f"/documents/{document_id}").json()
    assert document["document_class"] == "other"
    assert document["detected_class"] == "invoice"


def test_born_digital_pdf_uses_the_text_layer(client: httpx.Client, run_worker: RunWorker) -> None:
    content = samples.text_pdf(["Faktura VAT nr FV/2026/03/117", "Zapłacono przelewem"])
    document_id = upload(client, content, "faktura.pdf")

    run_worker()

    document = client.get(f"/documents/{document_id}").json()
    assert document["status"] == "processed", document["status_reason"]
    pages = client.get(f"/documents/{document_id}/pages").json()
    assert pages[0]["source"] == "text-layer"
    assert "Zapłacono przelewem" in pages[0]["text"]
    thumb = client.get(f"/documents/{document_id}/thumbnail")
    assert thumb.status_code == 200
    assert thumb.headers["content-type"].startswith("image/")
    assert client.get(f"/documents/{document_id}/pages/1/preview").status_code == 200


def test_scan_is_ocred(client: httpx.Client, run_worker: RunWorker) -> None:
    content = samples.scan_png(["Umowa najmu lokalu użytkowego", "zawarta w dniu 12 marca 2025"])
    document_id = upload(client, content, "skan.png")

    run_worker()

    document = client.get(f"/documents/{document_id}").json()
    assert document["status"] == "processed", document["status_reason"]
    page = client.get(f"/documents/{document_id}/pages").json()[0]
    assert page["source"] == "ocr"
    assert "najmu" in page["text"]
    assert page["ocr_confidence"] > 0.5


def test_poison_files_fail_with_a_reason_and_the_queue_goes_on(
    client: httpx.Client, run_worker: RunWorker
) -> None:
    corrupt = upload(client, b"%PDF-1.7\n" + os.urandom(4000), "broken.pdf")
    locked = upload(client, samples.encrypted_pdf(), "locked.pdf")
    good = upload(client, samples.ksef_fa3("FV/8/2026"), "fa3.xml")

    run_worker()

    states = {d: client.get(f"/documents/{d}").json() for d in (corrupt, locked, good)}
    assert states[corrupt]["status"] == "failed"
    assert states[corrupt]["status_reason"]
    assert states[locked]["status"] == "failed"
    assert "password" in states[locked]["status_reason"]
    assert states[good]["status"] == "processed"
    for document_id in (corrupt, locked):
        assert client.get(f"/documents/{document_id}/content").status_code == 200


def test_reprocess_keeps_manual_corrections(client: httpx.Client, run_worker: RunWorker) -> None:
    document_id = upload(client, samples.ksef_fa3("FV/9/2026"), "fa3.xml")
    run_worker()
    corrected = client.patch(
        f"/documents/{document_id}/fields",
        json={"fields": {"gross_total": "1300", "buyer_nip": "PL 725-18-01-126"}},
        headers={"If-Match": client.get(f"/documents/{document_id}").headers["etag"]},
    )
    assert corrected.status_code == 200, corrected.text
    assert fields(corrected.json())["gross_total"] == "1300.00"

    reprocess = client.post(f"/documents/{document_id}/reprocess")
    assert reprocess.status_code == 202
    assert reprocess.json()["status"] == "pending"
    run_worker()

    document = client.get(f"/documents/{document_id}").json()
    assert document["status"] == "processed"
    by_name = {f["name"]: f for f in document["fields"]}
    assert by_name["gross_total"]["value"] == "1300.00"
    assert by_name["gross_total"]["source"] == "manual"
    assert by_name["buyer_nip"]["value"] == "7251801126"
    assert by_name["invoice_number"]["source"] == "xml"


def test_manual_correction_is_validated(client: httpx.Client, run_worker: RunWorker) -> None:
    document_id = upload(client, samples.ksef_fa3("FV/10/2026"), "fa3.xml")
    run_worker()
    url = f"/documents/{document_id}/fields"
    bad_nip = client.patch(url, json={"fields": {"seller_nip": "1234567890"}, "revision": 1})
    assert bad_nip.status_code == 422
    assert "NIP" in bad_nip.json()["detail"]
    unknown = client.patch(url, json={"fields": {"colour": "red"}, "revision": 1})
    assert unknown.status_code == 422
    assert (
        client.patch(url, json={"fields": {"due_date": "31.02.2026"}, "revision": 1}).status_code
        == 422
    )


def test_transient_store_failure_is_retried(
    client: httpx.Client, server: LiveServer, engine: Engine, moto_s3: MotoS3
) -> None:
    document_id = upload(client, samples.ksef_fa3("FV/11/2026"), "fa3.xml")
    unreachable = S3BlobStore(
        endpoint="127.0.0.1:1", bucket="nowhere", access_key="x", secret_key="y",
        secure=False, region="us-east-1", timeout_seconds=0.5,
    )  # fmt: skip
    runtime.configure(server.settings, engine=engine, store=unreachable)
    assert server.settings.database_url is not None
    with connected(server.settings.database_url) as app:
        app.run_worker(wait=False, queues=[PROCESSING_QUEUE], install_signal_handlers=False)
    waiting = client.get(f"/documents/{document_id}").json()
    assert waiting["status"] == "pending"
    assert waiting["status_reason"].startswith("will retry")
    # A reprocess request while the retry waits joins it instead of colliding with it.
    assert client.post(f"/documents/{document_id}/reprocess").status_code == 202

    runtime.configure(server.settings, engine=engine, store=server.store)
    deadline = time.monotonic() + 30
    while client.get(f"/documents/{document_id}").json()["status"] != "processed":
        assert time.monotonic() < deadline, "the retry never ran"
        time.sleep(0.5)
        with connected(server.settings.database_url) as app:
            app.run_worker(wait=False, queues=[PROCESSING_QUEUE], install_signal_handlers=False)
    assert client.get(f"/documents/{document_id}").json()["processing_attempts"] == 2
    with engine.connect() as conn:
        left = conn.execute(
            text(
                "SELECT status::text, count(*) FROM procrastinate_jobs "
                "WHERE task_name = 'documents.process' GROUP BY 1"
            )
        ).all()
    assert left == []  # succeeded jobs are deleted; nothing stuck in todo or doing


async def _retry_stalled(database_url: str) -> int:
    with connected(database_url) as app:
        async with app.open_async():
            return await retry_stalled(app.job_manager, seconds_since_heartbeat=0)


def _worker_process(server: LiveServer, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DOCARCHIVE_DATABASE_URL": str(server.settings.database_url),
        "DOCARCHIVE_DATA_DIR": str(server.settings.data_dir),
    }
    with (tmp_path / "worker.log").open("ab") as log:  # read by a failing test's report
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@pytest.mark.parametrize("blob_store", ["local"], indirect=True)
def test_sigkilled_worker_job_completes_once_after_restart(
    client: httpx.Client, server: LiveServer, engine: Engine, tmp_path: Path
) -> None:
    pages = [[f"Strona {n}: aneks do umowy najmu nr {n}/2026"] for n in range(1, 9)]
    document_id = upload(client, samples.scan_tiff(pages), "aneks.tiff")

    first = _worker_process(server, tmp_path)
    deadline = time.monotonic() + 60
    while client.get(f"/documents/{document_id}").json()["status"] != "processing":
        assert time.monotonic() < deadline, "the worker never started the document"
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait()

    assert server.settings.database_url is not None
    assert asyncio.run(_retry_stalled(server.settings.database_url)) == 1
    second = _worker_process(server, tmp_path)
    try:
        deadline = time.monotonic() + 120
        while client.get(f"/documents/{document_id}").json()["status"] != "processed":
            log = (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, f"the job was not picked up again:\n{log}"
            time.sleep(0.5)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)

    with engine.connect() as conn:
        processed = conn.execute(
            text(
                "SELECT count(*) FROM audit_events WHERE action = 'document.processed' "
                "AND document_id = :id"
            ),
            {"id": uuid.UUID(document_id)},
        ).scalar_one()
        page_rows = conn.execute(text("SELECT count(*) FROM document_pages")).scalar_one()
    assert processed == 1
    assert page_rows == 8


@pytest.mark.parametrize("blob_store", ["local"], indirect=True)
def test_every_limit_fails_its_document_with_a_reason(
    client: httpx.Client, server: LiveServer, engine: Engine
) -> None:
    strict = server.settings.model_copy(update={"max_pages": 2, "page_timeout_seconds": 0.001})
    runtime.configure(strict, engine=engine, store=server.store)
    bomb = upload(client, scans.png_claiming(40_000, 40_000), "bomb.png")
    long = upload(client, samples.scan_tiff([["a"], ["b"], ["c"]]), "long.tiff")
    slow = upload(client, samples.scan_png(["Faktura VAT nr FV/1/2026"]), "slow.png")
    cut = upload(client, scans.truncated(samples.jpeg("cut")), "cut.jpg")
    good = upload(client, samples.ksef_fa3("FV/12/2026"), "fa3.xml")

    assert server.settings.database_url is not None
    with connected(server.settings.database_url) as app:
        app.run_worker(wait=False, queues=[PROCESSING_QUEUE], install_signal_handlers=False)

    reasons = {
        name: client.get(f"/documents/{document_id}").json()
        for name, document_id in {"bomb": bomb, "long": long, "slow": slow, "cut": cut}.items()
    }
    assert {name: d["status"] for name, d in reasons.items()} == dict.fromkeys(reasons, "failed")
    assert "megapixels" in reasons["bomb"]["status_reason"]
    assert "over the limit of 2" in reasons["long"]["status_reason"]
    assert "longer than" in reasons["slow"]["status_reason"]
    assert "damaged or truncated" in reasons["cut"]["status_reason"]
    assert client.get(f"/documents/{good}").json()["status"] == "processed"


def test_clearing_a_field_survives_reprocessing(
    client: httpx.Client, run_worker: RunWorker
) -> None:
    document_id = upload(client, samples.ksef_fa3("FV/13/2026"), "fa3.xml")
    run_worker()
    cleared = client.patch(
        f"/documents/{document_id}/fields", json={"fields": {"buyer_nip": None}, "revision": 1}
    )
    assert cleared.status_code == 200
    client.post(f"/documents/{document_id}/reprocess")
    run_worker()
    by_name = {f["name"]: f for f in client.get(f"/documents/{document_id}").json()["fields"]}
    assert by_name["buyer_nip"]["value"] is None
    assert by_name["buyer_nip"]["source"] == "manual"


def test_confirming_an_extracted_value_is_a_recorded_change(
    client: httpx.Client, run_worker: RunWorker, engine: Engine
) -> None:
    document_id = upload(client, samples.ksef_fa3("FV/14/2026"), "fa3.xml")
    run_worker()
    confirmed = client.patch(
        f"/documents/{document_id}/fields",
        json={"fields": {"invoice_number": "FV/14/2026"}, "revision": 1},
    ).json()
    assert confirmed["revision"] == 2
    assert {f["name"]: f["source"] for f in confirmed["fields"]}["invoice_number"] == "manual"
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM audit_events WHERE action = 'document.fields_corrected'")
            ).scalar_one()
            == 1
        )


def test_reprocess_requested_during_a_run_is_not_lost(
    client: httpx.Client, server: LiveServer, run_worker: RunWorker
) -> None:
    document_id = upload(client, samples.ksef_fa3("FV/15/2026"), "fa3.xml")
    worker_runtime = runtime.current()
    claim = processing._claim(worker_runtime, uuid.UUID(document_id))
    assert claim is not None
    outcome = processing._read(worker_runtime, claim)
    assert client.post(f"/documents/{document_id}/reprocess").status_code == 202

    results.save(worker_runtime, claim.document_id, claim.version_id, outcome)

    assert client.get(f"/documents/{document_id}").json()["status"] == "pending"
    run_worker()
    document = client.get(f"/documents/{document_id}").json()
    assert document["status"] == "processed"
    assert document["processing_attempts"] == 2


def test_sweeper_requeues_a_document_left_without_a_job(
    client: httpx.Client, run_worker: RunWorker, engine: Engine
) -> None:
    document_id = upload(client, samples.ksef_fa3("FV/16/2026"), "fa3.xml")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM procrastinate_jobs"))
        conn.execute(
            text(
                "UPDATE documents SET status = 'processing', "
                "status_changed_at = now() - interval '1 hour' WHERE id = :id"
            ),
            {"id": uuid.UUID(document_id)},
        )

    assert sweep_pending(0) == 1
    assert sweep_pending(0) == 0  # its job now waits: nothing more to do
    run_worker()

    assert client.get(f"/documents/{document_id}").json()["status"] == "processed"
