"""Values that follow a label on the page: "Data wystawienia: 12.03.2026", "Nr faktury: F 1/2026".

A value is taken from the rest of the label's line, up to the next label of the same family
(two columns run into one line put "Data wystawienia: … Data sprzedaży: …" side by side),
or failing that from the start of the next line, with less confidence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from workers.extract.dates import find_dates
from workers.extract.text import PageView, search

NEXT_LINE_FACTOR = 0.85  # a value under its label rather than beside it
MAX_GAP = 40  # characters between a label and its value on the same line
_NUMBER_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/\-_.]*")
_PREFIX_TOKEN = re.compile(r"[A-Z]{1,4}")


@dataclass(frozen=True, slots=True)
class Found:
    value: date
    page: PageView
    confidence: float  # how sure the label-to-value link is, before the page's own weight


def _window(page: PageView, match: re.Match[str], stop: re.Pattern[str] | None) -> str:
    rest = page.folded[match.end() : page.line_span(match.start())[1]]
    cut = stop.search(rest) if stop else None
    return page.text[match.end() : match.end() + (cut.start() if cut else len(rest))]


def _next_line(page: PageView, match: re.Match[str]) -> str:
    following = page.lines_after(match.start(), 2)
    return next((text for _, text in following if text.strip()), "")


def date_after(
    pages: Sequence[PageView], label: re.Pattern[str], stop: re.Pattern[str] | None = None
) -> Found | None:
    """The first date following `label` (folded pattern) on its line, or heading the next."""
    for page, match in search(pages, label):
        dates = [d for d in find_dates(_window(page, match, stop)) if d.start <= MAX_GAP]
        if dates:
            return Found(dates[0].value, page, 1.0)
        below = find_dates(_next_line(page, match))
        if below and below[0].start <= 2:
            return Found(below[0].value, page, NEXT_LINE_FACTOR)
    return None


def date_at(page: PageView, offset: int) -> date | None:
    """The date printed right at `offset` ("zawarta w dniu |12 marca 2026 r."), lines joined."""
    dates = find_dates(page.text[offset : offset + 40].replace("\n", " "))
    return dates[0].value if dates and dates[0].start <= 3 else None


def parse_number(text: str) -> str | None:
    """A document number at the start of `text`: "FV/2026/03/117", "F 12/2026", "2026-0001"."""
    words = text.split()[:2]
    for index, word in enumerate(words):
        token = word.rstrip(",;:.)")
        if not _NUMBER_TOKEN.fullmatch(token):
            return None
        if any(char.isdigit() for char in token):
            return " ".join([*words[:index], token])
        if not _PREFIX_TOKEN.fullmatch(token):
            return None
    return None


def number_after(
    pages: Sequence[PageView], label: re.Pattern[str], skip: set[tuple[int, int]] | None = None
) -> tuple[str, PageView, re.Match[str]] | None:
    """The first document number after `label`; `skip` holds (page, end) of labels to ignore."""
    for page, match in search(pages, label):
        if skip and (page.number, match.end()) in skip:
            continue
        number = parse_number(page.rest_of_line(match.end()))
        if number:
            return number, page, match
    return None
