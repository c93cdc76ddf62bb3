"""From a stored file to an Outcome: page texts, class, fields, previews. No database here."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

from app.config import Settings
from app.documents.sniff import KSEF_XML
from workers.extract.document import extract_document
from workers.extract.fields import ExtractedField
from workers.extract.ksef import KsefRejected, ksef_fields, ksef_text, parse_ksef
from workers.pages import DocumentRejected, PageLimits, read_pages
from workers.previews import render_previews


class ReadRejected(Exception):
    """The file cannot be processed; `reason` is shown to the user as the failure reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PageRecord:
    number: int
    text: str
    source: str  # xml | text-layer | ocr
    confidence: float | None = None
    rotation: int = 0
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    pages: list[PageRecord]
    fields: list[ExtractedField]
    document_class: str
    class_confidence: float
    detected_class: str
    schema_valid: bool | None = None
    schema_errors: list[str] | None = None
    thumbnail: bytes | None = None
    previews: list[bytes] = field(default_factory=list)


def page_limits(settings: Settings) -> PageLimits:
    return PageLimits(
        max_pages=settings.max_pages,
        max_pixels=settings.max_page_pixels,
        page_timeout_s=settings.page_timeout_seconds,
        dpi=settings.ocr_dpi,
    )


def read_document(
    path: Path,
    media_type: str,
    *,
    declared_class: str | None,
    settings: Settings,
    executor: Executor,
) -> Outcome:
    try:
        if media_type == KSEF_XML:
            return _read_ksef(path, declared_class)
        return _read_pages(path, media_type, declared_class, settings, executor)
    except (DocumentRejected, KsefRejected) as exc:
        raise ReadRejected(exc.reason) from exc


def _read_ksef(path: Path, declared_class: str | None) -> Outcome:
    invoice = parse_ksef(path.read_bytes())
    detected = "correction" if (invoice.kind or "").startswith("KOR") else "invoice"
    return Outcome(
        pages=[PageRecord(number=1, text=ksef_text(invoice), source="xml")],
        fields=ksef_fields(invoice),
        document_class=declared_class or detected,
        class_confidence=1.0,
        detected_class=detected,
        schema_valid=invoice.schema_valid,
        schema_errors=list(invoice.validation_errors),
    )


def _read_pages(
    path: Path,
    media_type: str,
    declared_class: str | None,
    settings: Settings,
    executor: Executor,
) -> Outcome:
    limits = page_limits(settings)
    pages = read_pages(path, media_type, limits=limits, executor=executor)
    extraction = extract_document(pages, declared_class=declared_class)
    thumbnail, previews = render_previews(path, media_type, limits=limits)
    return Outcome(
        pages=[
            PageRecord(
                number=p.number,
                text=p.text,
                source=p.source,
                confidence=p.confidence,
                rotation=p.rotation,
                width=p.width,
                height=p.height,
            )
            for p in pages
        ],
        fields=extraction.fields,
        document_class=extraction.document_class,
        class_confidence=extraction.class_confidence,
        detected_class=extraction.detected_class,
        thumbnail=thumbnail,
        previews=previews,
    )
