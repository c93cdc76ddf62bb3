"""Metadata edits are guarded by revision so concurrent edits never silently overwrite."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests import samples
from tests.conftest import LiveServer


@pytest.fixture
def document(client: httpx.Client) -> dict[str, str]:
    response = client.post(
        "/documents",
        files={"file": ("a.pdf", samples.pdf("meta"))},
        data={"title": "Umowa najmu", "metadata": '{"cost_centre": "IT"}'},
    )
    assert response.status_code == 202
    body: dict[str, str] = response.json()
    return body


def test_patch_with_if_match_bumps_the_revision(
    client: httpx.Client, document: dict[str, str]
) -> None:
    url = f"/documents/{document['id']}"
    tag = client.get(url).headers["etag"]
    assert tag == '"r1"'

    response = client.patch(
        url,
        json={
            "title": "Umowa najmu lokalu",
            "tags": ["najem", "Najem", " biuro "],
            "document_class": "contract",
            "metadata": {"cost_centre": "ADM"},
        },
        headers={"If-Match": tag},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["revision"] == 2
    assert response.headers["etag"] == '"r2"'
    assert body["tags"] == ["najem", "biuro"]
    assert body["document_class"] == "contract"
    assert body["metadata"] == {"cost_centre": "ADM"}


def test_stale_if_match_is_412_and_changes_nothing(
    client: httpx.Client, document: dict[str, str]
) -> None:
    url = f"/documents/{document['id']}"
    client.patch(url, json={"title": "first"}, headers={"If-Match": '"r1"'})
    stale = client.patch(url, json={"title": "second"}, headers={"If-Match": '"r1"'})
    assert stale.status_code == 412
    assert stale.json()["current_revision"] == 2
    assert client.get(url).json()["title"] == "first"


def test_stale_revision_in_body_is_409(client: httpx.Client, document: dict[str, str]) -> None:
    url = f"/documents/{document['id']}"
    assert client.patch(url, json={"title": "a", "revision": 1}).status_code == 200
    assert client.patch(url, json={"title": "b", "revision": 1}).status_code == 409


def test_edit_without_precondition_is_428(client: httpx.Client, document: dict[str, str]) -> None:
    response = client.patch(f"/documents/{document['id']}", json={"title": "blind"})
    assert response.status_code == 428


def test_concurrent_edits_of_one_revision_let_exactly_one_win(
    server: LiveServer, document: dict[str, str]
) -> None:
    def edit(n: int) -> int:
        with server.client() as client:
            return client.patch(
                f"/documents/{document['id']}",
                json={"title": f"edit {n}"},
                headers={"If-Match": '"r1"'},
            ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(edit, range(8)))
    assert statuses == [200] + [412] * 7


def test_edit_is_audited_with_before_and_after(
    client: httpx.Client, document: dict[str, str], engine: Engine
) -> None:
    client.patch(f"/documents/{document['id']}", json={"title": "nowy", "revision": 1})
    with engine.connect() as conn:
        details = conn.execute(
            text("SELECT details FROM audit_events WHERE action = 'document.metadata_changed'")
        ).scalar_one()
    assert details["changes"]["title"] == {"from": "Umowa najmu", "to": "nowy"}


def test_invalid_edits_are_422(client: httpx.Client, document: dict[str, str]) -> None:
    url = f"/documents/{document['id']}"
    headers = {"If-Match": '"r1"'}
    assert client.patch(url, json={"document_class": "nope"}, headers=headers).status_code == 422
    assert client.patch(url, json={"colour": "red"}, headers=headers).status_code == 422
    assert client.patch(url, json={"tags": ["x" * 101]}, headers=headers).status_code == 422
    assert client.get(url).json()["revision"] == 1


def test_unchanged_edit_keeps_the_revision(client: httpx.Client, document: dict[str, str]) -> None:
    response = client.patch(
        f"/documents/{document['id']}", json={"title": "Umowa najmu"}, headers={"If-Match": "*"}
    )
    assert response.json()["revision"] == 1


def test_admin_adds_a_class_and_documents_use_it(client: httpx.Client) -> None:
    code = f"purchase_order_{uuid.uuid4().hex[:8]}"  # classes are not emptied between tests
    created = client.post(
        "/document-classes",
        json={"code": code, "name_en": "Purchase order", "name_pl": "Zamówienie"},
    )
    assert created.status_code == 201
    assert code in {c["code"] for c in client.get("/document-classes").json()}
    again = client.post("/document-classes", json={"code": code, "name_en": "x", "name_pl": "y"})
    assert again.status_code == 409
    assert (
        client.post(
            "/document-classes", json={"code": "Bad Code", "name_en": "x", "name_pl": "y"}
        ).status_code
        == 422
    )
    uploaded = client.post(
        "/documents",
        files={"file": ("zam.pdf", samples.pdf("po"))},
        data={"class": code},
    )
    assert uploaded.status_code == 202
