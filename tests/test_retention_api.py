"""The retention API over HTTP, on the local store and on moto's S3 server: classes, a
document's retention and tombstone, holds, batch review (CSV, PDF), exclusion, approval."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine

from app.db import build_sessionmaker, session_scope
from app.retention import disposal
from tests.conftest import LiveServer, LoginAs
from tests.retention_docs import keys_of, make_document


def _invoice(server: LiveServer, tmp_path: Path, year: int) -> uuid.UUID:
    with session_scope(build_sessionmaker(server.engine)) as session:
        return make_document(
            session, server.store, tmp_path, document_class="invoice",
            fields={"issue_date": f"{year}-05-05"}, title=f"Faktura {year}",
        )  # fmt: skip


def test_classes_and_document_retention(
    server: LiveServer, client: httpx.Client, tmp_path: Path, login_as: LoginAs
) -> None:
    api = client
    classes = {c["code"]: c for c in api.get("/retention/classes").json()}
    assert classes["vat_invoice"]["symbol"] == "B5"
    assert classes["hr_file_before_2019"]["document_classes"] == ["hr_record"]
    document_id = _invoice(server, tmp_path, 2020)
    answer = api.get(f"/documents/{document_id}/retention").json()
    assert (answer["retain_until"], answer["retention_class"]) == ("2026-12-31", "vat_invoice")
    clerk = login_as("clara", "clerk")
    assert clerk.get(f"/documents/{document_id}/retention").status_code == 404
    body = {
        key: classes["vat_invoice"][key]
        for key in (
            "code", "name", "category", "period_years", "trigger", "round_to_year_end",
            "condition", "legal_basis", "is_default",
        )
    }  # fmt: skip
    try:
        changed = api.put("/retention/classes/vat_invoice", json={**body, "period_years": 7})
        assert changed.status_code == 200, changed.text
        answer = api.get(f"/documents/{document_id}/retention").json()
        assert answer["retain_until"] == "2028-12-31"
    finally:
        assert api.put("/retention/classes/vat_invoice", json=body).status_code == 200


def test_holds_batches_review_and_destruction(
    server: LiveServer, engine: Engine, tmp_path: Path, login_as: LoginAs
) -> None:
    archivist = login_as("anna", "archivist")
    clerk = login_as("clara", "clerk")
    old, excluded, held = (_invoice(server, tmp_path, 2012) for _ in range(3))
    hold = {"name": "kontrola", "reason": "US", "document_ids": [str(held)]}
    assert clerk.post("/retention/holds", json=hold).status_code == 403
    placed = archivist.post("/retention/holds", json=hold)
    assert placed.status_code == 201, placed.text
    assert placed.json()["documents"] == 1
    assert archivist.get(f"/documents/{held}/retention").json()["held_by"] == [placed.json()["id"]]
    collected = archivist.post("/retention/batches/collect").json()
    assert collected["added"] == {"destruction": 2}
    batch = collected["batches"][0]
    detail = archivist.get(f"/retention/batches/{batch['id']}").json()
    items = {i["document_id"]: i for i in detail["items"]}
    assert set(items) == {str(old), str(excluded)}
    rows = list(csv.DictReader(io.StringIO(archivist.get(
        f"/retention/batches/{batch['id']}/list.csv"
    ).text)))  # fmt: skip
    assert {r["title"] for r in rows} == {"Faktura 2012"}
    assert {r["class_symbol"] for r in rows} == {"vat_invoice"}
    pdf = archivist.get(f"/retention/batches/{batch['id']}/list.pdf")
    assert pdf.content.startswith(b"%PDF")
    excluding = archivist.post(
        f"/retention/batches/{batch['id']}/items/{items[str(excluded)]['id']}/exclude",
        json={"reason": "sprawa w toku"},
    )
    assert excluding.json()["state"] == "excluded"
    assert clerk.post(f"/retention/batches/{batch['id']}/approve").status_code == 403
    approved = archivist.post(f"/retention/batches/{batch['id']}/approve")
    assert approved.json()["status"] == "approved"
    with session_scope(build_sessionmaker(engine)) as session:
        keys = keys_of(session, old)
    report = disposal.destroy_batch(
        build_sessionmaker(engine), server.store, server.settings, uuid.UUID(batch["id"])
    )
    assert report.destroyed == 1
    assert all(server.store.stat(key) is None for key in keys)
    tombstone = archivist.get(f"/documents/{old}/retention").json()
    assert (tombstone["status"], tombstone["batch_id"]) == ("destroyed", batch["id"])
    assert clerk.get(f"/documents/{old}/retention").status_code == 404
    released = archivist.post(
        f"/retention/holds/{placed.json()['id']}/release", json={"reason": "zakończona"}
    )
    assert released.json()["release_reason"] == "zakończona"
    done = archivist.get(f"/retention/batches/{batch['id']}").json()
    assert (done["status"], done["counts"]) == ("completed", {"destroyed": 1, "excluded": 1})
    assert done["protocol_document_id"] is not None
