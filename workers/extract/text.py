"""Page text as the extractors see it: a folded copy for matching labels (lower case, no
diacritics, same offsets as the original) and the evidence every extracted field carries."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from workers.extract.fields import ExtractedField, FieldSource, FieldStatus

# One character for one character, so offsets found in the folded text hold in the original.
_FOLD = str.maketrans(
    {
        **dict(zip("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "acelnoszzACELNOSZZ", strict=True)),
        **dict.fromkeys("\u00a0\u202f\u2009\t", " "),
        **dict.fromkeys("„”“«»", '"'),
        **dict.fromkeys("’‘", "'"),
        **dict.fromkeys("–—", "-"),
    }
)
UNKNOWN_OCR_CONFIDENCE = 0.6  # an OCR page that did not report its confidence
CANDIDATE_FACTOR = 0.4  # an identifier failing its checksum is shown, with little confidence


class TextPage(Protocol):
    """What the classifier needs of a page."""

    @property
    def number(self) -> int: ...

    @property
    def text(self) -> str: ...


class PageLike(TextPage, Protocol):
    """A page as workers.pages reads it: its text and where the text came from."""

    @property
    def source(self) -> str: ...  # "text-layer", "ocr" or "xml"

    @property
    def confidence(self) -> float | None: ...  # mean OCR confidence 0..1


def fold(text: str) -> str:
    """Lower case without Polish diacritics; same length as `text` so offsets carry over."""
    folded = text.translate(_FOLD)
    return "".join(low if len(low := char.lower()) == 1 else char for char in folded)


@dataclass(frozen=True, slots=True)
class PageView:
    number: int
    text: str
    folded: str
    source: FieldSource
    weight: float  # how far this page's text can be trusted: 1.0 for a text layer

    def line_span(self, offset: int) -> tuple[int, int]:
        start = self.text.rfind("\n", 0, offset) + 1
        end = self.text.find("\n", offset)
        return start, len(self.text) if end < 0 else end

    def rest_of_line(self, offset: int) -> str:
        return self.text[offset : self.line_span(offset)[1]]

    def lines_after(self, offset: int, count: int) -> list[tuple[int, str]]:
        """Up to `count` lines following the line holding `offset`: (start offset, text)."""
        lines: list[tuple[int, str]] = []
        position = self.line_span(offset)[1] + 1
        while len(lines) < count and position <= len(self.text):
            end = self.line_span(position)[1]
            lines.append((position, self.text[position:end]))
            position = end + 1
        return lines


def view(page: PageLike) -> PageView:
    text = _normalise(page.text)
    return PageView(page.number, text, fold(text), _source(page.source), _weight(page))


def views(pages: Sequence[PageLike]) -> list[PageView]:
    return [view(page) for page in pages]


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _source(source: str) -> FieldSource:
    return {"ocr": FieldSource.ocr, "xml": FieldSource.xml}.get(source, FieldSource.text_layer)


def _weight(page: PageLike) -> float:
    if page.source != "ocr":
        return 1.0
    confidence = UNKNOWN_OCR_CONFIDENCE if page.confidence is None else page.confidence
    return min(1.0, max(0.1, confidence))


def search(
    pages: Sequence[PageView], pattern: re.Pattern[str]
) -> Iterator[tuple[PageView, re.Match[str]]]:
    """Matches of a pattern written for folded text, page by page."""
    for page in pages:
        for match in pattern.finditer(page.folded):
            yield page, match


def first(
    pages: Sequence[PageView], pattern: re.Pattern[str]
) -> tuple[PageView, re.Match[str]] | None:
    return next(search(pages, pattern), None)


def make_field(
    name: str,
    value: Any,
    page: PageView,
    confidence: float,
    *,
    status: FieldStatus = FieldStatus.confirmed,
    reason: str | None = None,
) -> ExtractedField:
    """A field found on `page`; its confidence is scaled by how far the page can be trusted."""
    scaled = round(min(1.0, max(0.0, confidence * page.weight)), 3)
    return ExtractedField(name, value, scaled, page.source, page.number, status, reason)


def checked_field(
    name: str,
    value: Any,
    page: PageView,
    confidence: float,
    *,
    valid: bool,
    reason: str | None,
) -> ExtractedField:
    """An identifier's field: confirmed when its checksum passed, else a candidate."""
    if valid:
        return make_field(name, value, page, confidence, reason=reason)
    return make_field(
        name,
        value,
        page,
        confidence * CANDIDATE_FACTOR,
        status=FieldStatus.candidate,
        reason=reason,
    )
