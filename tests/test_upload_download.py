"""Upload, download and versions through the real HTTP API, on both blob stores."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests import samples
from tests.conftest import LiveServer


def upload(
    client: httpx.Client, content: bytes, filename: str = "doc.pdf", **data: str
) -> httpx.Response:
    return client.post("/documents", files={"file": (filename, content)}, data=data)


def blob_keys(server: LiveServer) -> set[str]:
    return {info.key for info in server.store.iter_blobs()}


@pytest.mark.parametrize("kind", sorted(samples.SAMPLES))
def test_round_trip_returns_identical_bytes(client: httpx.Client, kind: str) -> None:
    make, media_type, filename = samples.SAMPLES[kind]
    content = make(kind)

    response = upload(client, content, filename, title=f"sample {kind}", tags="a, b")

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending"
    assert body["version"] == 1
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["media_type"] == media_type
    download = client.get(f"/documents/{body['id']}/content")
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["etag"] == f'"{body["sha256"]}"'
    document = client.get(f"/documents/{body['id']}").json()
    assert document["title"] == f"sample {kind}"
    assert document["tags"] == ["a", "b"]
    assert document["current_version"]["original_filename"] == filename


def test_official_ksef_fa2_example_is_accepted(client: httpx.Client) -> None:
    content = samples.ksef_fa2()
    response = upload(client, content, "FA_2_Przyklad_4.xml")
    assert response.status_code == 202, response.text
    assert response.json()["media_type"] == "application/vnd.ksef+xml"
    download = client.get(f"/documents/{response.json()['id']}/content")
    assert download.content == content
    assert download.headers["content-type"].startswith("application/xml")


def test_type_comes_from_content_not_name_or_header(client: httpx.Client) -> None:
    content = samples.png("disguised")
    response = client.post(
        "/documents", files={"file": ("invoice.pdf", content, "application/pdf")}
    )
    assert response.status_code == 202
    assert response.json()["media_type"] == "image/png"


def test_upload_records_document_version_and_audit_event(
    client: httpx.Client, engine: Engine
) -> None:
    body = upload(client, samples.pdf("audit")).json()
    with engine.connect() as conn:
        action, version_id = conn.execute(
            text("SELECT action, version_id FROM audit_events WHERE document_id = :id"),
            {"id": body["id"]},
        ).one()
    assert action == "document.uploaded"
    assert str(version_id) == body["version_id"]


def test_same_bytes_twice_store_one_blob_and_name_the_holder(
    client: httpx.Client, server: LiveServer
) -> None:
    content = samples.pdf("twice")
    first = upload(client, content).json()
    again = upload(client, content, "copy.pdf")

    assert again.status_code == 409
    problem = again.json()
    assert again.headers["content-type"] == "application/problem+json"
    assert problem["document_id"] == first["id"]
    assert problem["type"].endswith("/duplicate-content")
    assert len(blob_keys(server)) == 1
    assert len(client.get("/documents").json()["items"]) == 1


def test_idempotent_retry_returns_first_answer(client: httpx.Client, server: LiveServer) -> None:
    content = samples.pdf("idem")
    headers = {"Idempotency-Key": "upload-7f3c"}
    first = client.post("/documents", files={"file": ("a.pdf", content)}, headers=headers)
    retry = client.post("/documents", files={"file": ("a.pdf", content)}, headers=headers)

    assert first.status_code == retry.status_code == 202
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert len(client.get("/documents").json()["items"]) == 1
    assert len(blob_keys(server)) == 1


def test_idempotency_key_reused_for_other_content_is_refused(client: httpx.Client) -> None:
    headers = {"Idempotency-Key": "k-1"}
    client.post("/documents", files={"file": ("a.pdf", samples.pdf("x"))}, headers=headers)
    other = client.post("/documents", files={"file": ("b.pdf", samples.pdf("y"))}, headers=headers)
    assert other.status_code == 422
    assert "different request" in other.json()["detail"]
    assert len(client.get("/documents").json()["items"]) == 1


def test_twenty_concurrent_uploads_of_the_same_bytes(
    server: LiveServer, client: httpx.Client
) -> None:
    content = samples.tiff("concurrent")

    def send(n: int) -> httpx.Response:
        with server.client() as own:
            return upload(own, content, f"scan-{n}.tiff")

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(send, range(20)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [202] + [409] * 19
    created = next(r.json()["id"] for r in responses if r.status_code == 202)
    assert {r.json()["document_id"] for r in responses if r.status_code == 409} == {created}
    assert len(blob_keys(server)) == 1
    assert [d["id"] for d in client.get("/documents").json()["items"]] == [created]


def test_new_version_keeps_the_old_one(client: httpx.Client, server: LiveServer) -> None:
    v1, v2 = samples.pdf("v1"), samples.pdf("v2")
    document = upload(client, v1).json()

    response = client.post(f"/documents/{document['id']}/versions", files={"file": ("v2.pdf", v2)})

    assert response.status_code == 202, response.text
    assert response.json()["version"] == 2
    versions = client.get(f"/documents/{document['id']}/versions").json()
    assert [v["number"] for v in versions] == [1, 2]
    assert client.get(f"/documents/{document['id']}/content").content == v2
    assert client.get(f"/documents/{document['id']}/content?version=1").content == v1
    assert len(blob_keys(server)) == 2


def test_version_of_unknown_document_is_404(client: httpx.Client) -> None:
    response = client.post(
        "/documents/00000000-0000-4000-8000-000000000000/versions",
        files={"file": ("v.pdf", samples.pdf())},
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_range_requests(client: httpx.Client) -> None:
    content = samples.pdf("ranges")
    document = upload(client, content).json()
    url = f"/documents/{document['id']}/content"

    first = client.get(url, headers={"Range": "bytes=0-9"})
    assert first.status_code == 206
    assert first.content == content[:10]
    assert first.headers["content-range"] == f"bytes 0-9/{len(content)}"
    assert client.get(url, headers={"Range": "bytes=-7"}).content == content[-7:]
    assert client.get(url, headers={"Range": "bytes=100-"}).content == content[100:]
    beyond = client.get(url, headers={"Range": f"bytes={len(content)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(content)}"
    stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200
    assert stale.content == content


def test_conditional_get_uses_the_content_hash(client: httpx.Client) -> None:
    document = upload(client, samples.png("etag")).json()
    url = f"/documents/{document['id']}/content"
    tag = client.get(url).headers["etag"]
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304


def test_hostile_filename_gives_a_safe_content_disposition(client: httpx.Client) -> None:
    name = 'faktura "zła"\r\nX-Injected: 1;.pdf'
    document = upload(client, samples.pdf("name"), name).json()
    response = client.get(f"/documents/{document['id']}/content")
    disposition = response.headers["content-disposition"]
    assert "x-injected" not in {k.lower() for k in response.headers}
    assert disposition.startswith('attachment; filename="faktura _zla_X-Injected: 1_.pdf"')
    assert "filename*=UTF-8''faktura%20%22z%C5%82a%22X-Injected%3A%201%3B.pdf" in disposition


def test_listing_filters_and_cursor_pagination(client: httpx.Client) -> None:
    ids = [
        upload(client, samples.pdf(str(n)), **({"class": "invoice"} if n % 2 else {})).json()["id"]
        for n in range(5)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/documents", params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    invoices = client.get("/documents", params={"class": "invoice"}).json()["items"]
    assert {d["id"] for d in invoices} == {ids[1], ids[3]}
    assert client.get("/documents", params={"status": "processed"}).json()["items"] == []
    assert client.get("/documents", params={"cursor": "garbage"}).status_code == 400


def test_delete_is_not_allowed(client: httpx.Client) -> None:
    document = upload(client, samples.pdf("keep")).json()
    response = client.delete(f"/documents/{document['id']}")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PATCH"
    assert "retention" in response.json()["detail"]
    assert client.get(f"/documents/{document['id']}/content").status_code == 200


def test_openapi_declares_problem_responses(client: httpx.Client, server: LiveServer) -> None:
    spec = httpx.get(server.url + "/openapi.json").json()
    upload_op = spec["paths"]["/api/v1/documents"]["post"]
    for status in ("400", "409", "413", "415", "422", "503"):
        assert "application/problem+json" in upload_op["responses"][status]["content"]
    assert "multipart/form-data" in upload_op["requestBody"]["content"]


def test_originals_are_never_active_content(client: httpx.Client) -> None:
    xml = client.post("/documents", files={"file": ("fa.xml", samples.ksef_fa3("X/1"))}).json()
    png = client.post("/documents", files={"file": ("a.png", samples.png("csp"))}).json()

    inline_xml = client.get(f"/documents/{xml['id']}/content", params={"disposition": "inline"})
    inline_png = client.get(f"/documents/{png['id']}/content", params={"disposition": "inline"})

    assert inline_xml.headers["content-disposition"].startswith("attachment;")
    assert inline_xml.headers["content-security-policy"] == "sandbox"
    assert inline_png.headers["content-disposition"].startswith("inline;")
    assert inline_png.headers["content-security-policy"] == "sandbox"
