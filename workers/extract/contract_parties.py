"""The parties of a contract (strony umowy) with their NIP, KRS and REGON, from the comparition:
prose ("… z siedzibą w …, NIP …, zwaną dalej „Najemcą”") or role-labelled blocks ("Najemca:")."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from workers.extract.fields import ExtractedField
from workers.extract.identifiers import IdentifierKind, IdentifierMatch, find_identifiers
from workers.extract.parties import clean_name
from workers.extract.text import PageView, checked_field

_ROLES = (
    r"wynajmujacy|najemca|zamawiajacy|wykonawca|sprzedajacy|kupujacy|zleceniodawca"
    r"|zleceniobiorca|uslugodawca|uslugobiorca|wydzierzawiajacy|dzierzawca|pozyczkodawca"
    r"|pozyczkobiorca|licencjodawca|licencjobiorca|dostawca|odbiorca|leasingodawca"
    r"|leasingobiorca|strona \d|party \d|landlord|tenant|client|contractor|seller|buyer"
)
_ROLE_LINE = re.compile(rf"^[ ]*(?:{_ROLES})[ ]*:[ ]*", re.MULTILINE)
_BETWEEN = re.compile(r"\b(?:pomiedzy|miedzy|between)\b\s*:?")
_END = re.compile(r"§|\bo nastepujacej tresci\b|\bstrony (?:zgodnie )?(?:postanawiaja|ustalaja)")
_CALLED = re.compile(r"\b(?:zwan\w*|dalej zwan\w*|hereinafter(?: referred to as)?)\s+(?:dalej\s+)?")
_CONNECTOR = re.compile(r"^[\s,;:]*(?:(?:a|oraz|and|i)\s+)?", re.IGNORECASE)
_NAME_END = re.compile(
    r",|\s+z siedzib|\s+prowadz|\s+wpisan|\s+zamieszkal|\s+ul\.|\s+nip\b|\s+regon\b|\s+krs\b"
    r"|\s+adres|\s+\(|\s+with (?:its )?(?:registered )?(?:seat|office)"
)
PARTY_IDENTIFIERS: tuple[IdentifierKind, ...] = ("nip", "krs", "regon")
_ROLE_IN_QUOTES = re.compile(r"\s*(?:,,|[\",'])?\s*\w+\s*(?:[\"']{1,2})?\s*[,.;]?")
REGION = 2000  # characters after "pomiędzy" searched for the parties
BLOCK_LINES = 4


@dataclass(frozen=True, slots=True)
class Party:
    name: str | None
    identifiers: list[IdentifierMatch]

    def as_value(self) -> dict[str, str | None]:
        def first_of(kind: str) -> str | None:
            return next((m.value for m in self.identifiers if m.kind == kind), None)

        return {
            "name": self.name,
            "nip": first_of("nip"),
            "krs": first_of("krs"),
            "regon": first_of("regon"),
        }


def parties_field(pages: Sequence[PageView]) -> ExtractedField | None:
    for page in pages[:2]:
        parties = _labelled_parties(page) or _prose_parties(page)
        if len(parties) >= 2:
            return _field(page, parties)
    return None


def _field(page: PageView, parties: list[Party]) -> ExtractedField:
    value = [party.as_value() for party in parties]
    invalid = [m for party in parties for m in party.identifiers if not m.valid]
    complete = all(p.name and p.identifiers for p in parties)
    confidence = 0.9 if complete else 0.7
    reasons = "; ".join(f"{m.kind.upper()} {m.raw}: {m.reason}" for m in invalid)
    return checked_field(
        "parties", value, page, confidence, valid=not invalid, reason=reasons or None
    )


def _party(text: str, name: str | None) -> Party:
    found = find_identifiers(text, PARTY_IDENTIFIERS)
    return Party(clean_name(name), [m for m in found if m.valid or m.kind != "krs"])


def _prose_parties(page: PageView) -> list[Party]:
    between = _BETWEEN.search(page.folded)
    if between is None:
        return []
    start = between.end()
    end_match = _END.search(page.folded, start, start + REGION)
    end = end_match.start() if end_match else min(len(page.text), start + REGION)
    text = page.text[start:end].replace("\n", " ")
    folded = page.folded[start:end].replace("\n", " ")
    parties, segment_start = [], 0
    for called in _CALLED.finditer(folded):
        segment = text[segment_start : called.start()]
        parties.append(_party(segment, _prose_name(segment)))
        segment_start = _after_role(folded, called.end())
    return parties


def _after_role(folded: str, offset: int) -> int:
    """Past the role in quotes ('„Najemcą”,') that ends a party's description; OCR reads the
    opening „ as ',,' or ','."""
    role = _ROLE_IN_QUOTES.match(folded, offset)
    return role.end() if role else offset


def _prose_name(segment: str) -> str | None:
    body = _CONNECTOR.sub("", segment, count=1)
    cut = _NAME_END.search(body)
    name = body[: cut.start()] if cut else body[:120]
    return name.strip() or None


def _labelled_parties(page: PageView) -> list[Party]:
    labels = list(_ROLE_LINE.finditer(page.folded))
    parties = []
    for index, label in enumerate(labels):
        limit = labels[index + 1].start() if index + 1 < len(labels) else len(page.text)
        inline = page.rest_of_line(label.end()).strip()
        lines = [inline] if inline else []
        for start, text in page.lines_after(label.start(), BLOCK_LINES):
            if start >= limit or "§" in text or (not text.strip() and lines):
                break
            lines.append(text.strip())
        block = "\n".join(line for line in lines if line)
        name = block.split("\n")[0].split(",")[0] if block else None
        parties.append(_party(block, name))
    return parties
