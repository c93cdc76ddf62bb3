"""The entry point of text extraction: classify a document's pages, then read the fields of its
class. A class the uploader stated wins over the guess; the guess is still kept in the cues."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from workers.extract.classify import classify
from workers.extract.contract import extract_contract
from workers.extract.fields import ExtractedField
from workers.extract.hr import extract_hr
from workers.extract.invoice import extract_invoice
from workers.extract.text import PageLike, PageView, views

Extractor = Callable[[Sequence[PageView]], list[ExtractedField]]
EXTRACTORS: dict[str, Extractor] = {
    "invoice": lambda pages: extract_invoice(pages, "invoice"),
    "correction": lambda pages: extract_invoice(pages, "correction"),
    "proforma": lambda pages: extract_invoice(pages, "proforma"),
    "receipt": lambda pages: extract_invoice(pages, "receipt"),
    "contract": extract_contract,
    "annex": extract_contract,
    "hr_record": extract_hr,
}
DECLARED_CONFIDENCE = 1.0


@dataclass(frozen=True, slots=True)
class ExtractionResult:
    document_class: str
    class_confidence: float
    class_source: Literal["declared", "detected"]
    detected_class: str  # the classifier's guess, also when the uploader stated a class
    fields: list[ExtractedField] = field(default_factory=list)
    cues: list[str] = field(default_factory=list)


def extract_document(pages: Sequence[PageLike], *, declared_class: str | None) -> ExtractionResult:
    """Class and fields of a document from its pages (text layer or OCR, in page order).

    A declared class without an extractor (one an admin added) gets no class-specific fields.
    """
    guess = classify(pages)
    cues = list(guess.cues)
    if declared_class is None:
        document_class, confidence = guess.code, guess.confidence
    else:
        document_class, confidence = declared_class, DECLARED_CONFIDENCE
        if declared_class != guess.code:
            cues.append(f"detected as {guess.code} ({guess.confidence:.2f})")
    extractor = EXTRACTORS.get(document_class)
    fields = extractor(views(pages)) if extractor else []
    source: Literal["declared", "detected"] = "detected" if declared_class is None else "declared"
    return ExtractionResult(document_class, confidence, source, guess.code, fields, cues)
