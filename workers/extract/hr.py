"""Fields of HR records (akta osobowe): the employee, their PESEL, the kind of record and the
employment period it states. Leave dates in a leave request are not employment dates."""

from __future__ import annotations

import re
from collections.abc import Sequence

from workers.extract.dates import find_dates
from workers.extract.fields import ExtractedField
from workers.extract.identifiers import find_identifiers
from workers.extract.labels import date_at
from workers.extract.text import PageView, checked_field, first, make_field, search

KINDS = (  # (folded pattern, hr_document_kind)
    (r"\bswiadectw\w* pracy\b", "świadectwo pracy"),
    (r"\bwypowiedzeni\w* umowy o prace\b", "wypowiedzenie umowy o pracę"),
    (r"\bporozumieni\w* (?:zmieniajac|o rozwiazaniu)", "porozumienie"),
    (r"\bwniosek\s+(?:o\s+(?:udzielenie\s+)?(?:\w+\s+)?urlop|urlopowy)", "wniosek urlopowy"),
    (r"\bzaswiadczeni\w* o zatrudnieniu\b", "zaświadczenie o zatrudnieniu"),
    (r"\bskierowani\w* na (?:wstepne |okresowe |kontrolne )?badani", "skierowanie na badania"),
    (r"\bumow[ay] o prace\b", "umowa o pracę"),
    (r"\bemployment contract\b", "umowa o pracę"),
    (r"\bcertificate of employment\b", "świadectwo pracy"),
    (r"\bleave request\b", "wniosek urlopowy"),
)
_KIND_PATTERNS = [(re.compile(pattern), kind) for pattern, kind in KINDS]
_NAME_LABEL = re.compile(
    r"\b(?:imie i nazwisko(?: pracownika)?|imiona i nazwisko|pracownik|employee(?: name)?)"
    r"[ ]*:[ ]*"
)
_NAME = re.compile(r"[A-ZĄĆĘŁŃÓŚŹŻ][a-ząćęłńóśźż]+(?:-[A-ZĄĆĘŁŃÓŚŹŻ][a-ząćęłńóśźż]+)?")
_EMPLOYED = re.compile(
    r"\b(?:zatrudnion\w*(?:\(a\))?|employed)[\s\S]{0,160}?\b(?:od|from)\s+(?:dnia\s+)?"
)
_START_LABEL = re.compile(
    r"\b(?:data rozpoczecia pracy|dzien rozpoczecia pracy|rozpocznie prace(?: w dniu| dnia)?"
    r"|employment start(?: date)?)\b[ ]*:?[ ]*"
)
_FIXED_END = re.compile(
    r"\bna (?:czas okreslony|okres probny)\b[^.]{0,40}?\bdo\s+(?:dnia\s+)?|\buntil\s+"
)
_UNTIL = re.compile(r"^\s*(?:r\.\s*)?(?:do|to|until)\s+(?:dnia\s+)?")
TITLE_LINES = 10


def extract_hr(pages: Sequence[PageView]) -> list[ExtractedField]:
    kind = _kind(pages)
    found: list[ExtractedField | None] = [kind, _employee(pages), _pesel(pages)]
    if kind is None or kind.value != "wniosek urlopowy":
        found += _employment(pages)
    return [field for field in found if field is not None]


def _kind(pages: Sequence[PageView]) -> ExtractedField | None:
    if not pages:
        return None
    title = "\n".join(pages[0].folded.split("\n")[:TITLE_LINES])
    hits = [(m.start(), kind) for pattern, kind in _KIND_PATTERNS if (m := pattern.search(title))]
    if hits:
        return make_field("hr_document_kind", min(hits)[1], pages[0], 0.92)
    for pattern, kind in _KIND_PATTERNS:
        hit = first(pages, pattern)
        if hit:
            return make_field("hr_document_kind", kind, hit[0], 0.7)
    return None


def _employee(pages: Sequence[PageView]) -> ExtractedField | None:
    for page, match in search(pages, _NAME_LABEL):
        words = _NAME.findall(page.rest_of_line(match.end()))[:3]
        if len(words) >= 2:
            return make_field("employee_name", " ".join(words), page, 0.9)
    return None


def _pesel(pages: Sequence[PageView]) -> ExtractedField | None:
    for page in pages:
        for match in find_identifiers(page.text, ("pesel",)):
            valid, reason = match.valid, match.reason
            return checked_field("pesel", match.value, page, 0.95, valid=valid, reason=reason)
    return None


def _date_at(page: PageView, offset: int) -> str | None:
    found = date_at(page, offset)
    return found.isoformat() if found else None


def _employment(pages: Sequence[PageView]) -> list[ExtractedField]:
    fields = []
    for page, match in search(pages, _EMPLOYED):
        start = _date_at(page, match.end())
        if start:
            fields.append(make_field("employment_start", start, page, 0.9))
            fields += _period_end(page, match.end())
            return fields
    start_hit = first(pages, _START_LABEL)
    if start_hit and (start := _date_at(start_hit[0], start_hit[1].end())):
        fields.append(make_field("employment_start", start, start_hit[0], 0.92))
    end_hit = first(pages, _FIXED_END)
    if end_hit and (end := _date_at(end_hit[0], end_hit[1].end())):
        fields.append(make_field("employment_end", end, end_hit[0], 0.9))
    return fields


def _period_end(page: PageView, offset: int) -> list[ExtractedField]:
    """'… od 01.02.2019 do 31.12.2025': the end follows the start."""
    dates = find_dates(page.text[offset : offset + 80].replace("\n", " "))
    if len(dates) < 2:
        return []
    between = page.folded[offset + dates[0].end : offset + dates[1].start].replace("\n", " ")
    if not _UNTIL.match(between):
        return []
    return [make_field("employment_end", dates[1].value.isoformat(), page, 0.9)]
