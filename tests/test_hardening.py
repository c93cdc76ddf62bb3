"""Hardening: security headers on every kind of answer, originals that can never render as a
page of ours (PDF/HTML polyglots, HTML renamed .pdf), and hostile upload filenames stored and
served sanitised."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from app.config import Environment, Settings
from app.security.headers import (
    API_POLICY,
    HSTS,
    HTML_POLICY,
    PDF_POLICY,
    install_security_headers,
)
from app.storage import BlobStore
from app.storage.local import LocalBlobStore
from tests import samples
from tests.conftest import LiveServer, row_count, upload

COMMON = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
BOUNDARY = "----docarchive-hardening"


@pytest.fixture
def blob_store(tmp_path: Path) -> BlobStore:
    return LocalBlobStore(tmp_path / "var" / "blobs")


def assert_hardened(response: httpx.Response, policy: str) -> None:
    for name, value in COMMON.items():
        assert response.headers[name] == value, name
    assert response.headers["content-security-policy"] == policy
    assert "strict-transport-security" not in response.headers


# --- headers --------------------------------------------------------------------------------


def test_json_and_problem_answers_are_hardened_and_not_cached(
    server: LiveServer, client: httpx.Client
) -> None:
    listing = client.get("/documents")
    missing = client.get("/documents/00000000-0000-0000-0000-000000000000")
    with server.client(anonymous=True) as anonymous:
        unauthenticated = anonymous.get("/documents")
    invalid = client.get("/documents", params={"limit": 0})
    for response, status in [
        (listing, 200),
        (missing, 404),
        (unauthenticated, 401),
        (invalid, 422),
    ]:
        assert response.status_code == status
        assert_hardened(response, API_POLICY)
        assert response.headers["cache-control"] == "no-store"
    assert missing.headers["content-type"] == "application/problem+json"


def test_health_answers_are_hardened(server: LiveServer) -> None:
    for path in ("/healthz", "/readyz"):
        response = httpx.get(server.url + path)
        assert response.status_code == 200
        assert_hardened(response, API_POLICY)
        assert response.headers["cache-control"] == "no-store"


def test_downloads_keep_their_own_policy_and_cache_control(client: httpx.Client) -> None:
    pdf = upload(client, samples.pdf("headers"), "a.pdf")
    png = upload(client, samples.png("headers"), "a.png")
    pdf_download = client.get(f"/documents/{pdf}/content")
    png_download = client.get(f"/documents/{png}/content", params={"disposition": "inline"})
    assert_hardened(pdf_download, PDF_POLICY)
    assert_hardened(png_download, "sandbox")
    for response in (pdf_download, png_download):
        assert response.headers["cache-control"] == "private, no-cache"
    ranged = client.get(f"/documents/{pdf}/content", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206
    assert_hardened(ranged, PDF_POLICY)


def test_hsts_only_in_production(settings: Settings, engine: Engine, blob_store: BlobStore) -> None:
    production = settings.model_copy(
        update={"environment": Environment.production, "secret_key": SecretStr("s" * 40)}
    )
    with LiveServer(production, engine, blob_store) as live:
        response = httpx.get(live.url + "/healthz")
    assert response.headers["strict-transport-security"] == HSTS


def _inline_script_hashes(html: str) -> set[str]:
    return {
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    }


def _origins(html: str, pattern: str) -> set[str]:
    urls = re.findall(pattern, html)
    assert urls, pattern
    return {"/".join(url.split("/")[:3]) for url in urls}


def test_swagger_ui_gets_a_policy_that_lets_it_load(server: LiveServer) -> None:
    page = httpx.get(server.url + "/docs")
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in page.headers["content-security-policy"].split(";")
    )
    scripts = set(policy["script-src"].split())
    inline = _inline_script_hashes(page.text)
    assert inline, "Swagger UI starts with an inline script"
    assert inline <= scripts
    assert _origins(page.text, r'<script src="([^"]+)"') <= scripts
    assert _origins(page.text, r'<link[^>]+href="([^"]+\.css)"') <= set(policy["style-src"].split())
    assert "'unsafe-inline'" not in scripts
    assert policy["connect-src"] == "'self'"  # it fetches /openapi.json
    assert policy["frame-ancestors"] == "'none'"
    assert page.headers["x-frame-options"] == "DENY"
    schema = httpx.get(server.url + "/openapi.json")
    assert_hardened(schema, API_POLICY)


def test_html_pages_get_the_page_policy_and_keep_their_own() -> None:
    pages = FastAPI()

    @pages.get("/page", response_class=HTMLResponse)
    def page() -> str:
        return "<p>a page</p>"

    @pages.get("/framed", response_class=HTMLResponse)
    def framed() -> HTMLResponse:
        return HTMLResponse("<p>x</p>", headers={"Content-Security-Policy": "default-src 'none'"})

    install_security_headers(pages, hsts=False)
    page_answer, framed_answer = asyncio.run(_get(pages, "/page", "/framed"))
    assert_hardened(page_answer, HTML_POLICY)
    assert_hardened(framed_answer, "default-src 'none'")
    assert "cache-control" not in page_answer.headers


async def _get(app: FastAPI, *paths: str) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pages") as client:
        return [await client.get(path) for path in paths]


# --- originals that must never become pages --------------------------------------------------

POLYGLOT = (
    b"%PDF-1.4\n%<html><body><script>alert(document.domain)</script></body></html>\n"
    b"1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)
HTML_WITH_PDF_HEADER = b"<html><script>alert(document.cookie)</script>\n%PDF-1.4\n%%EOF\n"


@pytest.mark.parametrize(
    "content", [POLYGLOT, HTML_WITH_PDF_HEADER], ids=["pdf-first", "html-first"]
)
def test_a_pdf_html_polyglot_is_served_as_a_pdf_attachment(
    client: httpx.Client, content: bytes
) -> None:
    document = upload(client, content, "invoice.html")
    for disposition in ("attachment", "inline"):
        response = client.get(f"/documents/{document}/content", params={"disposition": disposition})
        assert response.status_code == 200
        assert response.content == content
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-disposition"].startswith(f"{disposition};")
    attachment = client.get(f"/documents/{document}/content")
    assert attachment.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    "content",
    [
        b"<!DOCTYPE html><html><script>alert(1)</script></html>",
        b"\xef\xbb\xbf  \r\n<HTML><body onload=alert(1)></body></HTML>",
        b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
    ],
    ids=["html", "html-bom", "svg"],
)
def test_html_renamed_pdf_is_refused_and_not_stored(
    client: httpx.Client, engine: Engine, content: bytes
) -> None:
    response = client.post(
        "/documents", files={"file": ("invoice.pdf", content, "application/pdf")}
    )
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert row_count(engine, "document_versions") == 0


# --- filenames -------------------------------------------------------------------------------


def _raw_upload(client: httpx.Client, filename: bytes, content: bytes) -> httpx.Response:
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
        + filename
        + b'"\r\nContent-Type: application/pdf\r\n\r\n'
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return client.post(
        "/documents",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )


def _stored_and_served(client: httpx.Client, document_id: str) -> tuple[str, str, str]:
    stored = client.get(f"/documents/{document_id}").json()["current_version"]["original_filename"]
    disposition = client.get(f"/documents/{document_id}/content").headers["content-disposition"]
    match = re.fullmatch(r"attachment; filename=\"([^\"]*)\"; filename\*=UTF-8''(\S+)", disposition)
    assert match is not None, disposition
    assert all(32 <= ord(ch) < 127 for ch in disposition)
    return stored, match.group(1), unquote(match.group(2))


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\anna\\Desktop\\faktura.pdf", "faktura.pdf"),
        ('faktura "pilna".pdf', 'faktura "pilna".pdf'),
        ("umowa\r\nSet-Cookie: admin=1.pdf", "umowaSet-Cookie: admin=1.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("zero\u200bwidth\u2066iso\u2069late.pdf", "zerowidthisolate.pdf"),
        ("zażółć gęślą jaźń.pdf", "zażółć gęślą jaźń.pdf"),
    ],
    ids=["dot-dot", "windows-path", "quotes", "crlf", "rtl-override", "invisible", "polish"],
)
def test_hostile_filenames_are_stored_and_served_sanitised(
    client: httpx.Client, sent: str, expected: str
) -> None:
    document = upload(client, samples.pdf(sent), sent)
    stored, fallback, exact = _stored_and_served(client, document)
    assert stored == expected
    assert exact == expected
    assert '"' not in fallback
    assert "\\" not in fallback


def test_raw_control_characters_are_dropped(client: httpx.Client) -> None:
    response = _raw_upload(client, b"a\x00b\x07c\x1b[31md\x7fe\tf.pdf", samples.pdf("raw"))
    assert response.status_code == 202, response.text
    stored, fallback, exact = _stored_and_served(client, response.json()["id"])
    assert stored == exact == fallback == "abc[31mdef.pdf"


def test_a_very_long_filename_is_shortened_keeping_its_extension(client: httpx.Client) -> None:
    document = upload(client, samples.pdf("long"), "ą" * 400 + ".pdf")
    stored, fallback, exact = _stored_and_served(client, document)
    assert len(stored) == 255
    assert stored == exact == "ą" * 251 + ".pdf"
    assert fallback == "a" * 251 + ".pdf"


def test_a_name_without_ascii_letters_gets_a_readable_fallback(client: httpx.Client) -> None:
    document = upload(client, samples.pdf("cjk"), "請求書.pdf")
    stored, fallback, exact = _stored_and_served(client, document)
    assert stored == exact == "請求書.pdf"
    assert fallback == "document.pdf"


# --- values the database cannot hold ---------------------------------------------------------


def test_values_postgresql_cannot_hold_answer_422_not_500(client: httpx.Client) -> None:
    document = upload(client, samples.pdf("nul"), "nul.pdf")
    titled = client.patch(f"/documents/{document}", json={"title": "a\x00b", "revision": 1})
    searched = client.post("/search", json={"tags_all": ["x\x00"]})
    far_page = client.get(f"/documents/{document}/pages/{2**40}/preview")
    for response in (titled, searched, far_page):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert "NUL" in titled.json()["detail"]
    assert client.get(f"/documents/{document}").json()["revision"] == 1


@pytest.mark.parametrize(
    "key", ["../outside", "/etc/passwd", "sha256/../../outside", "derived//x", "a/./b", "a\\b", ""]
)
def test_a_blob_key_cannot_lead_out_of_the_local_store(tmp_path: Path, key: str) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    (tmp_path / "outside").write_bytes(b"kept")
    with pytest.raises(ValueError, match="escapes the store"):
        store.delete(key)
    with pytest.raises(ValueError, match="escapes the store"):
        store.stat(key)
    assert (tmp_path / "outside").read_bytes() == b"kept"
