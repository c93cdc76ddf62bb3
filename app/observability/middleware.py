"""One ASGI middleware per request: a request id (bound to the logs and echoed back), the
latency observed under the route template, and one log line for the request."""

from __future__ import annotations

import logging
import re
import time
import uuid

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.logs import acceptable_request_id, log_context
from app.observability.metrics import Metrics
from app.observability.metrics import router as metrics_router

log = logging.getLogger("docarchive.request")

REQUEST_ID_HEADER = "X-Request-ID"
UNMATCHED_ROUTE = "unmatched"


def route_template(scope: Scope) -> str:
    """`/api/v1/documents/{document_id}`, never the raw path (one series per route).

    FastAPI leaves the matched route in the scope with its path relative to the router that
    holds it; the router prefixes are the part of the request path before what it matched.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if not isinstance(template, str) or not isinstance(pattern, re.Pattern):
        return UNMATCHED_ROUTE
    path = str(scope.get("path", ""))
    for cut in (i for i, char in enumerate(path) if char == "/"):
        if pattern.match(path[cut:]):
            return path[:cut] + template
    return template


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            return acceptable_request_id(value.decode("latin-1"))
    return None


class RequestObservability:
    def __init__(self, app: ASGIApp, *, metrics: Metrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        started = time.perf_counter()
        with log_context(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        method = str(scope.get("method", ""))
        if self.metrics is not None:
            self.metrics.request_latency.labels(method, route, str(status)).observe(seconds)
        log.info(
            "%s %s %s",
            method,
            route,
            status,
            extra={"route": route, "status": status, "duration_ms": round(seconds * 1000, 1)},
        )


def install_observability(app: FastAPI, *, metrics_enabled: bool) -> None:
    """Request ids, request logs and latency for every route; `/metrics` when enabled."""
    metrics = Metrics(app.state.engine) if metrics_enabled else None
    app.state.metrics = metrics
    if metrics is not None:
        app.include_router(metrics_router)
    app.add_middleware(RequestObservability, metrics=metrics)
