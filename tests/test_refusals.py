"""Every refused upload answers with problem details and leaves no row, blob or temp file."""

from __future__ import annotations

import io
import socket
import zipfile
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests import samples
from tests.conftest import LiveServer, row_count

BOUNDARY = "----docarchive-test-boundary"


def multipart(content: bytes, filename: str = "f.bin", extra: bytes = b"") -> bytes:
    return (
        (
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + extra
    )


def closed(body: bytes) -> bytes:
    return body + f"\r\n--{BOUNDARY}--\r\n".encode()


def post_raw(server: LiveServer, body: bytes | Iterator[bytes], **headers: str) -> httpx.Response:
    with server.client() as client:
        return client.post(
            "/documents",
            content=body,
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **headers},
        )


def assert_nothing_stored(server: LiveServer, engine: Engine) -> None:
    """No document, version, blob or temporary file; the only audit events are the test
    user's creation and token."""
    for table in ("documents", "document_versions", "idempotent_requests"):
        assert row_count(engine, table) == 0, table
    with engine.connect() as conn:
        actions = set(conn.execute(text("SELECT action FROM audit_events")).scalars())
    assert actions <= {"user.created", "token.created"}
    assert list(server.store.iter_blobs()) == []
    tmp = server.settings.tmp_dir
    assert not tmp.exists() or list(tmp.iterdir()) == []


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("invoice.pdf", samples.pdf())
    return out.getvalue()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/">&lol2;</Faktura>"""

REFUSED_TYPES = {
    "plain text": (b"Faktura nr 1/2026\nkwota 100 PLN\n", "text/plain"),
    "zip archive": (_zip(), "application/zip"),
    "other xml": (b'<?xml version="1.0"?><invoice><total>1</total></invoice>', "application/xml"),
    "xml with dtd": (BILLION_LAUGHS, "application/xml"),
    "html": (b"<!DOCTYPE html><html><body>x</body></html>", "text/html"),
    "gif": (b"GIF89a" + b"\x00" * 64, "image/gif"),
    "executable": (b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "application/x-executable"),
}


@pytest.mark.parametrize("kind", sorted(REFUSED_TYPES))
def test_unsupported_type_is_415_naming_what_was_detected(
    server: LiveServer, engine: Engine, kind: str
) -> None:
    content, detected = REFUSED_TYPES[kind]
    response = post_raw(server, closed(multipart(content, "invoice.pdf")))
    assert response.status_code == 415, response.text
    problem = response.json()
    assert problem["detected_media_type"] == detected
    assert detected in problem["detail"]
    assert response.headers["content-type"] == "application/problem+json"
    assert_nothing_stored(server, engine)


def test_request_that_is_not_multipart_is_415(server: LiveServer, engine: Engine) -> None:
    with server.client() as client:
        response = client.post("/documents", json={"file": "x"})
    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["detail"]
    assert_nothing_stored(server, engine)


def test_empty_file_is_422(server: LiveServer, engine: Engine) -> None:
    response = post_raw(server, closed(multipart(b"")))
    assert response.status_code == 422
    assert response.json()["detail"] == "the file is empty"
    assert_nothing_stored(server, engine)


def test_missing_file_field_is_422(server: LiveServer, engine: Engine) -> None:
    with server.client() as client:
        response = client.post("/documents", data={"title": "no file"}, files={})
    assert response.status_code in {415, 422}
    assert_nothing_stored(server, engine)


def test_truncated_multipart_is_400(server: LiveServer, engine: Engine) -> None:
    body = multipart(samples.pdf("truncated"))  # no closing boundary
    response = post_raw(server, body)
    assert response.status_code == 400
    assert "truncated" in response.json()["detail"]
    assert_nothing_stored(server, engine)


def test_malformed_multipart_is_400(server: LiveServer, engine: Engine) -> None:
    response = post_raw(server, b"this is not a multipart body at all\r\n")
    assert response.status_code == 400
    assert_nothing_stored(server, engine)


def test_invalid_metadata_json_is_422(server: LiveServer, engine: Engine) -> None:
    with server.client() as client:
        response = client.post(
            "/documents",
            files={"file": ("a.pdf", samples.pdf())},
            data={"metadata": "{not json"},
        )
    assert response.status_code == 422
    assert "metadata is not valid JSON" in response.json()["detail"]
    assert_nothing_stored(server, engine)


def test_unknown_class_is_422_listing_known_ones(server: LiveServer, engine: Engine) -> None:
    with server.client() as client:
        response = client.post(
            "/documents", files={"file": ("a.pdf", samples.pdf())}, data={"class": "recipe"}
        )
    assert response.status_code == 422
    assert "invoice" in response.json()["detail"]
    assert_nothing_stored(server, engine)


def _chunks(total: int, chunk: int = 256 * 1024) -> Iterator[bytes]:
    yield multipart(b"%PDF-1.7\n")
    sent = 0
    while sent < total:
        yield b"0" * chunk
        sent += chunk
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def test_oversized_streamed_upload_is_413_while_streaming(
    server: LiveServer, engine: Engine
) -> None:
    limit = server.settings.max_upload_bytes
    # Chunked transfer: no Content-Length, so the limit must be enforced on the stream.
    response = post_raw(server, _chunks(limit + 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["max_bytes"] == limit
    assert_nothing_stored(server, engine)


def test_declared_oversize_is_refused_before_the_body_is_read(
    server: LiveServer, engine: Engine
) -> None:
    limit = server.settings.max_upload_bytes
    head = (
        "POST /api/v1/documents HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {server.superuser_token()}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {limit * 4}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + multipart(b"%PDF-1.7\n"))
        reply = sock.recv(65536).decode()
    assert reply.startswith("HTTP/1.1 413")
    assert_nothing_stored(server, engine)


def test_file_in_the_wrong_field_is_400(server: LiveServer, engine: Engine) -> None:
    with server.client() as client:
        response = client.post("/documents", files={"document": ("a.pdf", samples.pdf())})
    assert response.status_code == 400
    assert "'file'" in response.json()["detail"]
    assert_nothing_stored(server, engine)


def test_two_files_in_one_request_are_400(server: LiveServer, engine: Engine) -> None:
    with server.client() as client:
        response = client.post(
            "/documents",
            files=[("file", ("a.pdf", samples.pdf())), ("file", ("b.pdf", samples.pdf()))],
        )
    assert response.status_code == 400
    assert_nothing_stored(server, engine)


def test_refusals_leave_earlier_documents_intact(server: LiveServer, engine: Engine) -> None:
    content = samples.pdf("kept")
    with server.client() as client:
        kept = client.post("/documents", files={"file": ("a.pdf", content)}).json()
        post_raw(server, closed(multipart(b"plain text")))
        post_raw(server, multipart(samples.pdf("cut")))
        assert client.get(f"/documents/{kept['id']}/content").content == content
        assert len(client.get("/documents").json()["items"]) == 1
