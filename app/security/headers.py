"""Security headers on every answer, added by a pure ASGI middleware (streamed downloads pass
through unbuffered): a Content-Security-Policy chosen by what the answer is, nosniff, no
framing, no referrer, no caching of data, and HSTS in production.

A header the endpoint set itself is never replaced: downloads of non-PDF originals carry
`Content-Security-Policy: sandbox`, images their own `Cache-Control`.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
"""JSON, problem details, images: nothing in them may load or run anything."""

HTML_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
"""The application's own pages: scripts and styles from our origin only, no inline script."""

PDF_POLICY = "frame-ancestors 'none'"
"""Browsers show a PDF in a plugin that `object-src 'none'` (from `default-src`) would block;
with `nosniff` and its exact media type a PDF never becomes a page of ours."""

DOCS_CDN = "https://cdn.jsdelivr.net"
_DOCS_POLICY = (
    "default-src 'none'; script-src {scripts}; style-src {cdn} 'unsafe-inline'; "
    "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; worker-src blob:; "
    "frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
)
"""Swagger UI and ReDoc load from a CDN and start with one inline script, allowed by its hash."""

HSTS = "max-age=31536000; includeSubDomains"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)

_ALWAYS = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
)


def docs_policy(html: bytes) -> str:
    """The policy of an API documentation page: its CDN and the hashes of its inline scripts."""
    hashes = [
        f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(html)
    ]
    return _DOCS_POLICY.format(scripts=" ".join([DOCS_CDN, *hashes]), cdn=DOCS_CDN)


def _media_type(headers: MutableHeaders) -> str:
    return headers.get("content-type", "").partition(";")[0].strip().lower()


def _policy(media_type: str) -> str:
    if media_type == "text/html":
        return HTML_POLICY
    if media_type == "application/pdf":
        return PDF_POLICY
    return API_POLICY


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def add_security_headers(headers: MutableHeaders, *, hsts: bool) -> None:
    """Fill in what the endpoint left unset."""
    media_type = _media_type(headers)
    headers.setdefault("content-security-policy", _policy(media_type))
    for name, value in _ALWAYS:
        headers.setdefault(name, value)
    if _is_json(media_type):
        headers.setdefault("cache-control", "no-store")
    if hsts:
        headers.setdefault("strict-transport-security", HSTS)


class SecurityHeaders:
    """The middleware; `docs_paths` are the HTML pages of the API documentation."""

    def __init__(self, app: ASGIApp, *, hsts: bool, docs_paths: frozenset[str]) -> None:
        self.app = app
        self.hsts = hsts
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.docs_paths:
            await self.app(scope, receive, _DocsPage(send, hsts=self.hsts))
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_security_headers(MutableHeaders(scope=message), hsts=self.hsts)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _DocsPage:
    """Holds back a (small) documentation page until its inline scripts can be hashed."""

    def __init__(self, send: Send, *, hsts: bool) -> None:
        self.send = send
        self.hsts = hsts
        self.start: Message | None = None
        self.body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        if message["type"] != "http.response.body" or self.start is None:
            await self.send(message)
            return
        self.body += message.get("body", b"")
        if message.get("more_body", False):
            return
        headers = MutableHeaders(scope=self.start)
        if _media_type(headers) == "text/html":
            headers.setdefault("content-security-policy", docs_policy(bytes(self.body)))
        add_security_headers(headers, hsts=self.hsts)
        await self.send(self.start)
        await self.send({"type": "http.response.body", "body": bytes(self.body)})


def install_security_headers(app: FastAPI, *, hsts: bool) -> None:
    paths = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.add_middleware(
        SecurityHeaders, hsts=hsts, docs_paths=frozenset(p for p in paths if p is not None)
    )
