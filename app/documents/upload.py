"""Receiving a file: streamed to a temporary file while it is hashed, measured and sniffed.

Limits are enforced while the bytes arrive, so an oversized or unwanted file is refused
before it is stored, and a refusal leaves no temporary file behind.
"""

from __future__ import annotations

import errno
import hashlib
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from app.documents.sniff import SNIFF_BYTES, Sniffed, sniff
from app.errors import (
    BadRequest,
    PayloadTooLarge,
    StorageUnavailable,
    Unprocessable,
    UnsupportedMediaType,
)

MAX_FIELDS = 64
MAX_FIELD_BYTES = 256 * 1024
MULTIPART_OVERHEAD = 1024 * 1024
TEMP_SUFFIX = ".part"
MAX_FILENAME_CHARS = 255  # document_versions.original_filename
MAX_EXTENSION_CHARS = 16


@dataclass(frozen=True, slots=True)
class SpooledFile:
    """A received file waiting in the temp directory; it is removed when the request ends."""

    path: Path
    sha256: str
    size: int
    sniffed: Sniffed
    filename: str

    @property
    def media_type(self) -> str:
        return self.sniffed.media_type


class FileSpooler:
    """Write chunks to a temp file, hashing and counting them, refusing early what we reject."""

    def __init__(self, tmp_dir: Path, *, max_bytes: int, filename: str) -> None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self.path = tmp_dir / f"upload-{uuid.uuid4().hex}{TEMP_SUFFIX}"
        self.max_bytes = max_bytes
        self.filename = filename
        self._handle: IO[bytes] | None = self.path.open("xb")
        self._digest = hashlib.sha256()
        self._size = 0
        self._head = bytearray()
        self._sniffed: Sniffed | None = None

    def write(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self.max_bytes:
            raise PayloadTooLarge(
                f"the file exceeds the upload limit of {self.max_bytes} bytes",
                max_bytes=self.max_bytes,
            )
        if self._sniffed is None:
            self._head += data[: SNIFF_BYTES - len(self._head)]
            if len(self._head) >= SNIFF_BYTES:
                self._sniff()
        self._digest.update(data)
        assert self._handle is not None
        try:
            self._handle.write(data)
        except OSError as exc:
            raise _spool_failed(exc) from exc

    def _sniff(self) -> Sniffed:
        if self._sniffed is None:
            self._sniffed = sniff(bytes(self._head))
            if not self._sniffed.accepted:
                raise UnsupportedMediaType(
                    f"{self.filename or 'the file'} is {self._sniffed.description} "
                    f"({self._sniffed.media_type}); accepted are PDF, TIFF, PNG, JPEG and "
                    "KSeF invoices (FA(2), FA(3) XML)",
                    detected_media_type=self._sniffed.media_type,
                )
        return self._sniffed

    def finish(self) -> SpooledFile:
        if self._size == 0:
            raise Unprocessable("the file is empty")
        sniffed = self._sniff()
        assert self._handle is not None
        # No fsync: this is a scratch copy; the blob store makes the stored copy durable.
        try:
            self._handle.close()
        except OSError as exc:
            raise _spool_failed(exc) from exc
        self._handle = None
        return SpooledFile(
            path=self.path,
            sha256=self._digest.hexdigest(),
            size=self._size,
            sniffed=sniffed,
            filename=self.filename,
        )

    def discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self.path.unlink(missing_ok=True)


def _spool_failed(exc: OSError) -> StorageUnavailable:
    if exc.errno == errno.ENOSPC:
        return StorageUnavailable("the upload spool's disk is full (DATA_DIR/tmp)")
    return StorageUnavailable(f"the upload spool failed: {exc.strerror or exc}")


def spool_path(
    source: Path, *, tmp_dir: Path, max_bytes: int, chunk_size: int = 1 << 20
) -> SpooledFile:
    """Spool a file from disk the way an upload is spooled (used by `docarchive import`)."""
    spooler = FileSpooler(tmp_dir, max_bytes=max_bytes, filename=source.name)
    try:
        with source.open("rb") as handle:
            for chunk in iter(lambda: handle.read(chunk_size), b""):
                spooler.write(chunk)
        return spooler.finish()
    except BaseException:
        spooler.discard()
        raise


@dataclass
class ReceivedForm:
    """A parsed multipart upload: exactly one file and the plain fields sent beside it."""

    file: SpooledFile
    fields: dict[str, list[str]] = field(default_factory=dict)

    def first(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None


@dataclass
class _Part:
    headers: dict[str, bytes] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    value: bytearray = field(default_factory=bytearray)


class _FormCollector:
    """Callbacks for python-multipart's push parser: file part to the spooler, fields to memory."""

    def __init__(self, *, tmp_dir: Path, max_bytes: int, file_field: str) -> None:
        self.tmp_dir = tmp_dir
        self.max_bytes = max_bytes
        self.file_field = file_field
        self.fields: dict[str, list[str]] = {}
        self.spooler: FileSpooler | None = None
        self.finished = False
        self._part = _Part()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._field_count = 0

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": lambda d, s, e: self._header_field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }

    def _on_part_begin(self) -> None:
        self._part = _Part()
        self._field_count += 1
        if self._field_count > MAX_FIELDS:
            raise BadRequest(f"too many form fields (at most {MAX_FIELDS})")

    def _on_header_end(self) -> None:
        self._part.headers[bytes(self._header_field).decode("latin-1").lower()] = bytes(
            self._header_value
        )
        self._header_field.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        disposition, options = parse_options_header(
            self._part.headers.get("content-disposition", b"")
        )
        if disposition != b"form-data" or b"name" not in options:
            raise BadRequest("a multipart part has no form-data Content-Disposition with a name")
        self._part.name = options[b"name"].decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None and self._part.name != self.file_field:
            return
        if self.spooler is not None:
            raise BadRequest("send one file per request")
        if self._part.name != self.file_field:
            raise BadRequest(
                f"the file must be sent in the form field {self.file_field!r}, "
                f"not {self._part.name!r}"
            )
        self._part.filename = _decode_filename(filename or b"")
        self.spooler = FileSpooler(
            self.tmp_dir, max_bytes=self.max_bytes, filename=self._part.filename
        )

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part.filename is not None:
            assert self.spooler is not None
            self.spooler.write(data[start:end])
            return
        if len(self._part.value) + (end - start) > MAX_FIELD_BYTES:
            raise PayloadTooLarge(
                f"the form field {self._part.name!r} exceeds {MAX_FIELD_BYTES} bytes"
            )
        self._part.value.extend(data[start:end])

    def _on_part_end(self) -> None:
        if self._part.filename is not None:
            return
        try:
            value = self._part.value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest(f"the form field {self._part.name!r} is not UTF-8") from exc
        self.fields.setdefault(self._part.name, []).append(value)

    def _on_end(self) -> None:
        self.finished = True


# The HTML standard's multipart encoding escapes exactly these in a filename; undo it.
_HTML_FILENAME_ESCAPES = {"%22": '"', "%0D": "\r", "%0A": "\n"}


def _decode_filename(raw: bytes) -> str:
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        name = raw.decode("latin-1")
    for escaped, char in _HTML_FILENAME_ESCAPES.items():
        name = name.replace(escaped, char)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    # Browsers on Windows may send a full path; keep the last component only.
    return _shorten(name.replace("\\", "/").rsplit("/", 1)[-1].strip())


def _shorten(name: str, limit: int = MAX_FILENAME_CHARS) -> str:
    """At most `limit` characters, cut from the stem so that the extension survives."""
    if len(name) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > MAX_EXTENSION_CHARS:
        return name[:limit].rstrip()
    return stem[: limit - len(extension) - 1].rstrip() + "." + extension


def _boundary(request: Request) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise UnsupportedMediaType(
            "send the file as multipart/form-data in the field 'file'",
            detected_media_type=content_type.decode("latin-1") or None,
        )
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest("the multipart/form-data content type has no boundary")
    return boundary


def _check_declared_length(request: Request, max_bytes: int) -> None:
    declared = request.headers.get("content-length")
    if declared is None:
        return
    try:
        length = int(declared)
    except ValueError as exc:
        raise BadRequest("Content-Length is not a number") from exc
    if length > max_bytes + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(
            f"the request ({length} bytes) exceeds the upload limit of {max_bytes} bytes",
            max_bytes=max_bytes,
        )


async def receive_form(
    request: Request, *, tmp_dir: Path, max_bytes: int, file_field: str = "file"
) -> ReceivedForm:
    """Parse a multipart upload from the request stream; the caller must `discard` the file."""
    boundary = _boundary(request)
    _check_declared_length(request, max_bytes)
    collector = _FormCollector(tmp_dir=tmp_dir, max_bytes=max_bytes, file_field=file_field)
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    try:
        await _feed(parser, request.stream())
        return _complete(collector)
    except BaseException:
        if collector.spooler is not None:
            collector.spooler.discard()
        raise


async def _feed(parser: MultipartParser, stream: AsyncIterator[bytes]) -> None:
    try:
        async for chunk in stream:
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise BadRequest(f"malformed multipart body: {exc}") from exc
    except ClientDisconnect as exc:
        raise BadRequest("the client disconnected before the upload was complete") from exc


def _complete(collector: _FormCollector) -> ReceivedForm:
    if not collector.finished:
        raise BadRequest("truncated multipart body: the closing boundary never arrived")
    if collector.spooler is None:
        raise Unprocessable("no file was sent: use the form field 'file'")
    return ReceivedForm(file=collector.spooler.finish(), fields=collector.fields)
