"""Saved searches (owner-only) and `docarchive reindex`, against the real database and API."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.cli import main
from app.db import build_sessionmaker
from app.search.polish import terms_version
from app.search.reindex import reindex
from tests import samples
from tests.conftest import LoginAs, RunWorker
from tests.test_search import found, processed

pytestmark = pytest.mark.parametrize("blob_store", ["local"], indirect=True)


def test_saved_search_round_trip(client: httpx.Client, run_worker: RunWorker) -> None:
    ids = processed(
        client,
        run_worker,
        **{
            "fv.xml": samples.ksef_fa3("FV/5/2026"),
            "umowa.pdf": samples.text_pdf(["Umowa najmu lokalu"]),
        },
    )
    body = {
        "name": "Faktury PLN",
        "search": {"q": "faktura", "currency": "PLN", "class": "invoice"},
    }

    created = client.post("/saved-searches", json=body)

    assert created.status_code == 201, created.text
    saved_id = created.json()["id"]
    assert created.json()["search"] == {"q": "faktura", "currency": "PLN", "class": "invoice"}
    assert client.post("/saved-searches", json=body).status_code == 409
    listed = client.get("/saved-searches").json()
    assert [item["name"] for item in listed] == ["Faktury PLN"]
    results = client.get(f"/saved-searches/{saved_id}/results", params={"limit": 5})
    assert results.status_code == 200, results.text
    assert [hit["document"]["id"] for hit in results.json()["items"]] == [ids["fv.xml"]]

    assert client.delete(f"/saved-searches/{saved_id}").status_code == 204
    assert client.get(f"/saved-searches/{saved_id}/results").status_code == 404
    assert client.get("/saved-searches").json() == []


def test_a_saved_search_with_a_bad_filter_is_refused(client: httpx.Client) -> None:
    response = client.post(
        "/saved-searches", json={"name": "zła", "search": {"seller_nipp": "5260250274"}}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_saved_searches_are_visible_to_their_owner_only(
    client: httpx.Client, login_as: LoginAs
) -> None:
    created = client.post("/saved-searches", json={"name": "moje", "search": {"q": "umowa"}})
    assert created.status_code == 201, created.text
    saved_id = created.json()["id"]
    stranger = login_as("ewa", "admin")

    assert stranger.get("/saved-searches").json() == []
    assert stranger.get(f"/saved-searches/{saved_id}/results").status_code == 404
    assert stranger.delete(f"/saved-searches/{saved_id}").status_code == 404
    same_name = stranger.post("/saved-searches", json={"name": "moje", "search": {"q": "x"}})
    assert same_name.status_code == 201, same_name.text
    assert [item["name"] for item in client.get("/saved-searches").json()] == ["moje"]
    assert client.get(f"/saved-searches/{saved_id}/results").status_code == 200


def test_reindex_rebuilds_rows_of_another_version_and_missing_rows(
    client: httpx.Client, run_worker: RunWorker, engine: Engine
) -> None:
    ids = processed(
        client,
        run_worker,
        **{
            "fv.xml": samples.ksef_fa3("FV/6/2026"),
            "umowa.pdf": samples.text_pdf(["Umowa najmu lokalu"]),
        },
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE document_search SET terms_version = 'old', issue_date = NULL, "
                "terms = to_tsvector('simple', 'nic') WHERE document_id = :id"
            ),
            {"id": ids["fv.xml"]},
        )
        conn.execute(
            text("DELETE FROM document_search WHERE document_id = :id"), {"id": ids["umowa.pdf"]}
        )
    assert found(client, "faktura") == set()
    assert found(client, "umowa") == set()
    factory = build_sessionmaker(engine)
    advanced: list[int] = []

    report = reindex(factory, batch=1, advance=advanced.append)

    assert (report.candidates, report.reindexed, advanced) == (2, 2, [1, 1])
    assert found(client, "faktura") == {ids["fv.xml"]}
    assert found(client, "umowa") == {ids["umowa.pdf"]}
    assert found(client, "", issued_from="2026-02-01") == {ids["fv.xml"]}
    assert reindex(factory).reindexed == 0
    assert reindex(factory, everything=True).reindexed == 2
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT DISTINCT terms_version FROM document_search"))
        assert versions.scalars().all() == [terms_version()]


def test_reindex_command(
    client: httpx.Client,
    run_worker: RunWorker,
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = processed(client, run_worker, **{"fv.xml": samples.ksef_fa3("FV/7/2026")})
    with engine.begin() as conn:
        conn.execute(text("UPDATE document_search SET terms_version = 'old'"))
    monkeypatch.setenv("DOCARCHIVE_DATABASE_URL", database_url)
    monkeypatch.setenv("DOCARCHIVE_DATA_DIR", str(tmp_path / "var"))

    assert main(["reindex"]) == 0
    assert "search rows rebuilt: 1" in capsys.readouterr().out
    assert main(["reindex", "--all"]) == 0
    assert "search rows rebuilt: 1" in capsys.readouterr().out
    assert found(client, "FV/7/2026") == {ids["fv.xml"]}
