"""Document class from the words on its pages: invoice, correction, proforma, receipt, contract,
annex, hr_record or other, with a confidence and the cues that decided it."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from workers.extract.text import TextPage, fold

CLASSES = ("invoice", "correction", "proforma", "receipt", "contract", "annex", "hr_record")
OTHER = "other"
TITLE_LINES = 8  # the first non-empty lines of page 1, where a document names itself
TITLE_FACTOR = 3.0
FIRST_TITLE_BONUS = 5.0
MIN_SCORE = 4.0  # below this nothing is claimed: the class is "other"
MARGIN_SCALE = 5.0  # a lead of this many points over the runner-up gives ~63 % confidence
# Cues of an invoice's structure rather than its words: identifiers, totals, a payment line.
_NIP = re.compile(r"\bnip\b|\bvat\s*id\b")
_AMOUNT = re.compile(r"\d[\d ]*[.,]\d\d\b")
_PAYABLE = re.compile(r"\bdo zaplaty\b|\bamount due\b|\bkwota do zwrotu\b")


@dataclass(frozen=True, slots=True)
class Cue:
    name: str  # shown to people, in the document's language
    document_class: str
    pattern: re.Pattern[str]  # on folded text (lower case, no diacritics)
    weight: float
    names_document: bool  # a title word ("Faktura", "Aneks"), not a label or a clause


def _cue(
    name: str, document_class: str, pattern: str, weight: float, *, title: bool = False
) -> Cue:
    return Cue(name, document_class, re.compile(pattern), weight, names_document=title)


_CONTRACT_ROLES = (
    r"\b(?:wynajmujac|najemc|zleceniodawc|zleceniobiorc|zamawiajac|wykonawc|sprzedajac|kupujac"
    r"|uslugodawc)\w*"
)
_NOT_SPECIFIC = r"(?!\s+(?:vat\s+)?(?:korygujac|pro\s*-?\s*forma|proforma|zaliczkow))"
CUES: tuple[Cue, ...] = (
    _cue("faktura", "invoice", rf"\bfaktura\b{_NOT_SPECIFIC}", 3.0, title=True),
    _cue("invoice", "invoice", r"\b(?:vat |tax )?invoice\b", 3.0, title=True),
    _cue("faktura zaliczkowa", "invoice", r"\bfaktura\s+(?:vat\s+)?zaliczkowa\b", 4.0, title=True),
    _cue(
        "data sprzedaży",
        "invoice",
        r"\bdata (?:sprzedazy|dostawy)\b|\bdate of (?:sale|supply)\b",
        1.5,
    ),
    _cue("sprzedawca", "invoice", r"\b(?:sprzedawca|wystawca|seller)\b", 1.0),
    _cue("nabywca", "invoice", r"\b(?:nabywca|buyer)\b", 1.0),
    _cue(
        "faktura korygująca", "correction", r"\bfaktura\s+(?:vat\s+)?korygujaca\b", 6.0, title=True
    ),
    _cue("korekta faktury", "correction", r"\bkorekta\b(?:\s+(?:do\s+)?faktury)?", 4.0, title=True),
    _cue("faktura korygowana", "correction", r"\bfaktur[ay]\s+korygowan", 2.0),
    _cue("przyczyna korekty", "correction", r"\bprzyczyna korekty\b", 3.0),
    _cue("przed/po korekcie", "correction", r"\b(?:przed korekta|po korekcie)\b", 2.0),
    _cue(
        "credit note",
        "correction",
        r"\b(?:credit note|corrective invoice|correction invoice)\b",
        5.0,
        title=True,
    ),
    _cue("pro forma", "proforma", r"\bpro\s*-?\s*forma\b|\bproforma\b", 6.0, title=True),
    _cue("nie jest fakturą", "proforma", r"\bnie (?:jest|stanowi) faktur", 3.0),
    _cue("paragon fiskalny", "receipt", r"\bparagon(?:\s+fiskalny)?\b", 6.0, title=True),
    _cue("receipt", "receipt", r"\breceipt\b", 3.0, title=True),
    _cue("PTU", "receipt", r"\b(?:ptu [a-g]|suma ptu|sprzedaz opodatk)", 2.0),
    _cue("suma PLN", "receipt", r"\bsuma pln\b|\bkasjer\b|\bnr wydr\b", 2.0),
    _cue("aneks", "annex", r"\baneks\b(?:\s+nr\b)?", 7.0, title=True),
    _cue("annex", "annex", r"\b(?:annex|amendment)\b(?:\s+no\b)?", 4.0, title=True),
    _cue("bez zmian", "annex", r"\bpozostale postanowienia umowy pozostaja bez zmian\b", 2.0),
    _cue("umowa", "contract", r"\bumowa\b(?!\s+o\s+prace)", 4.0, title=True),
    _cue(
        "agreement",
        "contract",
        r"\b(?:agreement|contract)\b(?<!employment contract)",
        3.0,
        title=True,
    ),
    _cue("zawarta w dniu", "contract", r"\bzawart[aey]\s+(?:w\s+)?(?:dniu|dnia)\b", 2.0),
    _cue("zwana dalej", "contract", r"\bzwan[aey]{1,2}m?\s+dalej\b", 2.0),
    _cue("strony umowy", "contract", _CONTRACT_ROLES, 1.5),
    _cue("§", "contract", r"§\s*\d", 1.0),
    _cue("umowa o pracę", "hr_record", r"\bumow[ay]\s+o\s+prace\b", 7.0, title=True),
    _cue("świadectwo pracy", "hr_record", r"\bswiadectwo pracy\b", 7.0, title=True),
    _cue(
        "wniosek urlopowy",
        "hr_record",
        r"\bwniosek\s+(?:o\s+(?:udzielenie\s+)?urlop|urlopowy)",
        7.0,
        title=True,
    ),
    _cue("urlop wypoczynkowy", "hr_record", r"\burlop\w*\s+wypoczynkow", 2.0),
    _cue(
        "employment",
        "hr_record",
        r"\b(?:employment contract|certificate of employment|leave request)\b",
        5.0,
        title=True,
    ),
    _cue("pracownik", "hr_record", r"\bpracownik", 1.5),
    _cue("pracodawca", "hr_record", r"\bpracodawc", 1.5),
    _cue("PESEL", "hr_record", r"\bpesel\b", 2.0),
    _cue("czas pracy", "hr_record", r"\bwymiar(?:ze)? czasu pracy\b|\bstanowisko\b", 1.5),
)


@dataclass(frozen=True, slots=True)
class Classification:
    code: str
    confidence: float  # 0..1
    cues: tuple[str, ...]  # what was found, strongest first: "faktura korygująca (title)"


def classify(pages: Sequence[TextPage]) -> Classification:
    """The most likely class. A title word in the first lines weighs TITLE_FACTOR times more,
    and the first of them ("Aneks nr 1 do umowy najmu") gets FIRST_TITLE_BONUS on top."""
    title, body = _title_and_body(pages)
    scores = dict.fromkeys(CLASSES, 0.0)
    found: list[tuple[float, str]] = []
    for cue in CUES:
        points, where = _cue_points(cue, title, body)
        if points:
            scores[cue.document_class] += points
            found.append((points, f"{cue.name}{where}"))
    first_named = _first_title_cue(title)
    if first_named is not None:
        scores[first_named.document_class] += FIRST_TITLE_BONUS
    if _looks_like_invoice(body):
        scores["invoice"] += 2.0
        found.append((2.0, "NIP + amounts + do zapłaty"))
    cues = tuple(name for _, name in sorted(found, key=lambda item: -item[0]))
    return _decide(scores, cues)


def _title_and_body(pages: Sequence[TextPage]) -> tuple[str, str]:
    ordered = sorted(pages, key=lambda page: page.number)
    body = fold("\n".join(page.text for page in ordered))
    first = ordered[0].text if ordered else ""
    lines = [line for line in first.splitlines() if line.strip()][:TITLE_LINES]
    return fold("\n".join(lines)), body


def _first_title_cue(title: str) -> Cue | None:
    positions = [
        (found.start(), -cue.weight, index)
        for index, cue in enumerate(CUES)
        if cue.names_document and (found := cue.pattern.search(title))
    ]
    return CUES[min(positions)[2]] if positions else None


def _cue_points(cue: Cue, title: str, body: str) -> tuple[float, str]:
    if cue.names_document and cue.pattern.search(title):
        return cue.weight * TITLE_FACTOR, " (title)"
    if cue.pattern.search(body):
        return cue.weight, ""
    return 0.0, ""


def _looks_like_invoice(body: str) -> bool:
    return bool(_NIP.search(body) and len(_AMOUNT.findall(body)) >= 3 and _PAYABLE.search(body))


def _decide(scores: dict[str, float], cues: tuple[str, ...]) -> Classification:
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    (best, top), (_, runner_up) = ranked[0], ranked[1]
    if top < MIN_SCORE:
        return Classification(OTHER, round(max(0.3, 1.0 - top / MIN_SCORE), 3), cues)
    confidence = 1.0 - math.exp(-(top - runner_up) / MARGIN_SCALE)
    return Classification(best, round(min(0.99, max(0.05, confidence)), 3), cues)
