"""Type recognition by content."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.documents import sniff
from tests import samples


@pytest.mark.parametrize(
    "path", sorted(samples.KSEF_FA2_DIR.glob("*FA_2*.xml")), ids=lambda p: p.name
)
def test_every_official_fa2_example_is_a_ksef_invoice(path: Path) -> None:
    found = sniff.sniff(path.read_bytes()[: sniff.SNIFF_BYTES])
    assert found.media_type == sniff.KSEF_XML
    assert found.ksef_schema == "FA (2)"


def test_fa3_invoice_with_bom_and_comment_before_the_root() -> None:
    content = b"\xef\xbb\xbf" + samples.ksef_fa3().replace(b"?>", b"?>\n<!-- export -->", 1)
    found = sniff.sniff(content)
    assert found.accepted
    assert found.ksef_schema == "FA (3)"


def test_fa_rr_is_named_but_not_accepted_as_fa() -> None:
    content = (samples.KSEF_FA2_DIR / "FA_RR_1_Przyklad_1.xml").read_bytes()
    found = sniff.sniff(content)
    assert not found.accepted
    assert "Faktura" in found.description or "root" in found.description


@pytest.mark.parametrize(
    ("head", "media_type", "accepted"),
    [
        (b"%PDF-1.7\n", "application/pdf", True),
        (b"\x00" * 100 + b"%PDF-1.4\n", "application/pdf", True),
        (b"II*\x00\x08\x00\x00\x00", "image/tiff", True),
        (b"MM\x00*\x00\x00\x00\x08", "image/tiff", True),
        (b"\x89PNG\r\n\x1a\n\x00", "image/png", True),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg", True),
        (b"PK\x03\x04" + b"%PDF-1.4" * 4, "application/zip", False),
        (b"\x1f\x8b\x08\x00", "application/gzip", False),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic", False),
        (b"\x00\x00\x00\x18ftypisom\x00\x00", "video/mp4", False),
        (
            b"PK\x03\x04" + b"\x00" * 26 + b"[Content_Types].xml...word/document.xml",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            False,
        ),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "application/xml", False),
        ("zażółć gęślą jaźń".encode() * 10, "text/plain", False),
        (bytes(range(256)) * 4, "application/octet-stream", False),
    ],
)
def test_signatures(head: bytes, media_type: str, accepted: bool) -> None:
    found = sniff.sniff(head)
    assert (found.media_type, found.accepted) == (media_type, accepted)


def test_text_cut_inside_a_multibyte_character_is_still_text() -> None:
    head = ("ą" * (sniff.SNIFF_BYTES // 2)).encode()[: sniff.SNIFF_BYTES - 1]
    assert sniff.sniff(head).media_type == "text/plain"


def test_xml_with_entities_is_refused_without_expanding_them() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa">]><a>&a;</a>'
    found = sniff.sniff(bomb)
    assert not found.accepted
    assert "DTD" in found.description
