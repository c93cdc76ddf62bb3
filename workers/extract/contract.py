"""Fields of a contract or an annex (umowa, aneks): kind, parties, signing date, term, value
and notice period, read from the contract's own wording."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from workers.extract.amounts import find_amounts
from workers.extract.contract_parties import parties_field
from workers.extract.dates import find_dates
from workers.extract.fields import ExtractedField
from workers.extract.labels import date_at
from workers.extract.text import PageView, first, make_field, search

KINDS = (  # (folded word after "umowa"/"umowy", canonical kind)
    ("najmu", "umowa najmu"),
    ("dzierzawy", "umowa dzierżawy"),
    ("o swiadczenie uslug", "umowa o świadczenie usług"),
    ("sprzedazy", "umowa sprzedaży"),
    ("zlecenia", "umowa zlecenia"),
    ("o dzielo", "umowa o dzieło"),
    ("dostawy", "umowa dostawy"),
    ("leasingu", "umowa leasingu"),
    ("pozyczki", "umowa pożyczki"),
    ("licencyjna", "umowa licencyjna"),
    ("o zachowaniu poufnosci", "umowa o zachowaniu poufności"),
    ("agencyjna", "umowa agencyjna"),
    ("o wspolprac", "umowa o współpracy"),
    ("ramowa", "umowa ramowa"),
    ("przedwstepna", "umowa przedwstępna"),
    ("o roboty budowlane", "umowa o roboty budowlane"),
    ("kredytu", "umowa kredytu"),
    ("o prace", "umowa o pracę"),
)
_KIND = re.compile(
    r"\bumow[ay]\s+(?:nr\s+\S+\s+)?(" + "|".join(re.escape(word) for word, _ in KINDS) + ")"
)
_SIGNED = re.compile(r"\bzawart[aey]\s+(?:w\s+)?(?:dniu|dnia)\s+|\b(?:dated|made on)\s+")
_FIXED = re.compile(r"\bna (?:czas|okres) okreslony\b|\bfor a (?:fixed|definite) (?:term|period)\b")
_INDEFINITE = re.compile(r"\bna czas nieokreslony\b|\bfor an indefinite (?:term|period)\b")
_STARTS = re.compile(
    r"\b(?:wchodzi w zycie|obowiazuje|zostaje zawarta)\b[^.]{0,80}?\b(?:z dniem|od)\b"
)
_FROM = re.compile(r"\b(?:od|from)\s+(?:dnia\s+)?$")
_UNTIL = re.compile(r"\b(?:do|until|to)\s+(?:dnia\s+)?$")
_VALUE = re.compile(
    r"\b(?:wartosc umowy|laczna wartosc|wynagrodzeni\w*|czynsz\w*|cen[aey](?: sprzedazy)?"
    r"|contract value|remuneration|price|rent)\b"
)
_NOT_VALUE = re.compile(r"\bkaucj|\bkar\w* umown|\bodsetk|\bdeposit|\bpenalt")
_NOTICE_ADJECTIVE = re.compile(
    r"\b(\d+|[a-z]+?)-?(miesieczn|tygodniow|dniow)\w*\s+(?:okres\w*\s+)?wypowiedzeni"
)
_NOTICE_PLAIN = re.compile(
    r"\bokres\w* wypowiedzenia\b[^.\d]{0,30}?(\d+)\s*(?:\([a-z ]+\)\s*)?(miesi|tygod|dni)"
)
_NUMBER_WORDS = {
    "jedno": 1,
    "dwu": 2,
    "trzy": 3,
    "cztero": 4,
    "piecio": 5,
    "szescio": 6,
    "dziewiecio": 9,
    "dwunasto": 12,
}
_UNITS = {"miesi": "M", "tygod": "W", "dni": "D"}
_ADJECTIVE_UNITS = {"miesieczn": "M", "tygodniow": "W", "dniow": "D"}
WINDOW = 260  # characters of a clause searched for its dates


def extract_contract(pages: Sequence[PageView]) -> list[ExtractedField]:
    found: list[ExtractedField | None] = [
        _kind(pages),
        parties_field(pages),
        _signing_date(pages),
        *_term(pages),
        *_value(pages),
        _notice(pages),
    ]
    return [field for field in found if field is not None]


def _kind(pages: Sequence[PageView]) -> ExtractedField | None:
    hit = first(pages, _KIND)
    if hit is None:
        return None
    page, match = hit
    kind = next(canonical for word, canonical in KINDS if match[1] == word)
    return make_field("contract_kind", kind, page, 0.9)


def _clause(page: PageView, start: int) -> str:
    """The text from `start` on, lines joined, for one clause's worth of characters."""
    return page.text[start : start + WINDOW].replace("\n", " ")


def _signing_date(pages: Sequence[PageView]) -> ExtractedField | None:
    for page, match in search(pages, _SIGNED):
        signed = date_at(page, match.end())
        if signed:
            return make_field("signing_date", signed.isoformat(), page, 0.95)
    return None


def _dates_after(clause: str, cue: re.Pattern[str]) -> str | None:
    """The first date in the clause directly preceded by a cue ("od dnia", "do")."""
    for found in find_dates(clause):
        if cue.search(clause[max(0, found.start - 12) : found.start].lower()):
            return found.value.isoformat()
    return None


def _term(pages: Sequence[PageView]) -> list[ExtractedField]:
    for pattern, indefinite in ((_INDEFINITE, True), (_FIXED, False), (_STARTS, None)):
        for page, match in search(pages, pattern):
            clause = _clause(page, match.start())
            fields = _term_fields(page, clause, indefinite)
            if fields:
                return fields
    return []


def _term_fields(page: PageView, clause: str, indefinite: bool | None) -> list[ExtractedField]:
    fields = []
    if indefinite is not None:
        fields.append(make_field("indefinite", indefinite, page, 0.95))
    start = _dates_after(clause, _FROM) or _starts_with(clause)
    if start:
        fields.append(make_field("start_date", start, page, 0.9))
    end = _dates_after(clause, _UNTIL)
    if end and not indefinite:
        fields.append(make_field("end_date", end, page, 0.9))
    return fields


def _starts_with(clause: str) -> str | None:
    """'wchodzi w życie z dniem 1 marca 2026 r.'"""
    found = re.search(r"\bz dniem\s+", clause.lower())
    dates = find_dates(clause[found.end() :]) if found else []
    return dates[0].value.isoformat() if dates and dates[0].start <= 2 else None


def _value(pages: Sequence[PageView]) -> list[ExtractedField]:
    for page, match in search(pages, _VALUE):
        clause = _clause(page, match.start())
        sentence = clause.split(". ")[0]
        if _NOT_VALUE.search(page.folded[max(0, match.start() - 60) : match.start() + 40]):
            continue
        amounts = [a for a in find_amounts(sentence) if a.value > 0]
        if amounts:
            return _value_fields(page, amounts[0].value, amounts[0].currency)
    return []


def _value_fields(page: PageView, value: Decimal, currency: str | None) -> list[ExtractedField]:
    fields = [make_field("contract_value", f"{value:.2f}", page, 0.85)]
    if currency:
        fields.append(make_field("currency", currency, page, 0.9))
    else:
        fields.append(make_field("currency", "PLN", page, 0.5, reason="no currency printed"))
    return fields


def _notice(pages: Sequence[PageView]) -> ExtractedField | None:
    for page, match in search(pages, _NOTICE_ADJECTIVE):
        count = int(match[1]) if match[1].isdigit() else _NUMBER_WORDS.get(match[1])
        if count:
            return make_field("notice_period", f"P{count}{_ADJECTIVE_UNITS[match[2]]}", page, 0.9)
    hit = first(pages, _NOTICE_PLAIN)
    if hit:
        page, match = hit
        return make_field("notice_period", f"P{int(match[1])}{_UNITS[match[2]]}", page, 0.9)
    return None
