"""Recognise a file's type from its first bytes, never from its name or the client's claim.

Accepted: PDF, TIFF, PNG, JPEG and KSeF invoices (FA(2), FA(3)) as XML. Everything else is
named as precisely as the signature table allows so the refusal tells the user what they sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

SNIFF_BYTES = 64 * 1024

KSEF_NAMESPACES = {
    "http://crd.gov.pl/wzor/2023/06/29/12648/": "FA (2)",
    "http://crd.gov.pl/wzor/2025/06/25/13775/": "FA (3)",
}

PDF = "application/pdf"
TIFF = "image/tiff"
PNG = "image/png"
JPEG = "image/jpeg"
KSEF_XML = "application/vnd.ksef+xml"

# (signature, offset, media type) for what we refuse but want to name.
_OTHER_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"PK\x03\x04", 0, "application/zip"),
    (b"PK\x05\x06", 0, "application/zip"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", 0, "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", 0, "application/vnd.rar"),
    (b"BZh", 0, "application/x-bzip2"),
    (b"\xfd7zXZ\x00", 0, "application/x-xz"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"BM", 0, "image/bmp"),
    (b"WEBP", 8, "image/webp"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "application/x-ole-storage"),
    (b"\x7fELF", 0, "application/x-executable"),
    (b"MZ", 0, "application/x-msdownload"),
    (b"{\\rtf", 0, "application/rtf"),
    (b"ftyp", 4, "video/mp4"),
    (b"ID3", 0, "audio/mpeg"),
    (b"OggS", 0, "audio/ogg"),
    (b"%!PS", 0, "application/postscript"),
)
_HTML_STARTS = (b"<!doctype html", b"<html")
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Sniffed:
    media_type: str
    description: str
    accepted: bool
    ksef_schema: str | None = None


def sniff(head: bytes) -> Sniffed:
    """Classify a file by its first bytes (up to SNIFF_BYTES of them)."""
    for check in (_binary_accepted, _binary_other, _pdf_after_preamble, _xml, _text):
        found = check(head)
        if found is not None:
            return found
    return Sniffed("application/octet-stream", "unrecognised binary data", accepted=False)


def _binary_accepted(head: bytes) -> Sniffed | None:
    if head.startswith(b"%PDF-"):
        return Sniffed(PDF, "PDF document", accepted=True)
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return Sniffed(TIFF, "TIFF image", accepted=True)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(PNG, "PNG image", accepted=True)
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed(JPEG, "JPEG image", accepted=True)
    return None


def _pdf_after_preamble(head: bytes) -> Sniffed | None:
    # PDF readers accept the header anywhere in the first kilobyte; so do we, once no other
    # format claimed the file (a stored zip entry may hold a PDF header too).
    if b"%PDF-" in head[:1024]:
        return Sniffed(PDF, "PDF document", accepted=True)
    return None


_ZIP_FLAVOURS = (
    (
        b"word/",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word document (DOCX)",
    ),
    (
        b"xl/",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Excel workbook (XLSX)",
    ),
    (
        b"mimetypeapplication/vnd.oasis.opendocument",
        "application/vnd.oasis.opendocument",
        "OpenDocument file",
    ),
)
_FTYP_BRANDS = {
    b"heic": ("image/heic", "HEIC image"),
    b"heix": ("image/heic", "HEIC image"),
    b"mif1": ("image/heif", "HEIF image"),
    b"avif": ("image/avif", "AVIF image"),
}


def _binary_other(head: bytes) -> Sniffed | None:
    for signature, offset, media_type in _OTHER_SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return _refine(head, media_type) or Sniffed(media_type, media_type, accepted=False)
    return None


def _refine(head: bytes, media_type: str) -> Sniffed | None:
    """Name containers by what they hold: users send DOCX and HEIC, not 'zip' and 'mp4'."""
    if media_type == "application/zip":
        for marker, flavour, description in _ZIP_FLAVOURS:
            if marker in head[:4096]:
                return Sniffed(flavour, description, accepted=False)
    if media_type == "video/mp4" and head[8:12] in _FTYP_BRANDS:
        flavour, description = _FTYP_BRANDS[head[8:12]]
        return Sniffed(flavour, description, accepted=False)
    return None


def _text(head: bytes) -> Sniffed | None:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sniff window is still text.
        if exc.start < len(head) - 4:
            return None
        text = head[: exc.start].decode("utf-8")
    if "\x00" in text:
        return None
    stripped = text.lstrip("\ufeff \t\r\n").lower()
    if stripped.startswith(("<!doctype html", "<html")):
        return Sniffed("text/html", "HTML page", accepted=False)
    return Sniffed("text/plain", "plain text", accepted=False)


def _xml(head: bytes) -> Sniffed | None:
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<") or stripped[:14].lower().startswith(_HTML_STARTS):
        return None
    if _DTD.search(head):
        # KSeF invoices never carry a DTD; one here is at best useless and at worst an attack.
        return Sniffed("application/xml", "XML with a DTD (not accepted)", accepted=False)
    root = _root_tag(head)
    if root is None:
        return None
    namespace, _, local = root[1:].partition("}") if root.startswith("{") else ("", "", root)
    schema = KSEF_NAMESPACES.get(namespace)
    if schema is not None and local == "Faktura":
        return Sniffed(KSEF_XML, f"KSeF invoice {schema}", accepted=True, ksef_schema=schema)
    label = f"{{{namespace}}}{local}" if namespace else local
    return Sniffed("application/xml", f"XML document with root <{label}>", accepted=False)


def _root_tag(head: bytes) -> str | None:
    parser: XMLPullParser[Element] = XMLPullParser(events=("start",))
    try:
        for offset in range(0, len(head), 4096):
            parser.feed(head[offset : offset + 4096])
            for _event, element in cast(Iterator[tuple[str, object]], parser.read_events()):
                assert isinstance(element, Element)
                return str(element.tag)
    except ParseError:
        return None
    return None
