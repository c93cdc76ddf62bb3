"""How an invoice is paid and registered: payment method, bank account, split payment
(mechanizm podzielonej płatności) and the KSeF numbers printed on it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from workers.extract.fields import ExtractedField
from workers.extract.identifiers import IdentifierMatch, find_identifiers
from workers.extract.text import PageView, checked_field, first, make_field, search

_METHOD_LABEL = re.compile(
    r"\b(?:sposob|forma|metoda|rodzaj) (?:platnosci|zaplaty)\b|\bpayment method\b|\bplatnosc\s*:"
)
# Polish and English words -> the keys workers.extract.ksef_model.PAYMENT_METHODS uses
_METHODS = (
    (re.compile(r"\bprzelew|\btransfer\b|\bwire\b"), "transfer"),
    (re.compile(r"\bgotowk|\bcash\b"), "cash"),
    (re.compile(r"\bkart[aąy]|\bcard\b"), "card"),
    (re.compile(r"\bblik\b|\bmobiln|\bmobile\b"), "mobile"),
    (re.compile(r"\bkredyt|\bcredit\b"), "credit"),
    (re.compile(r"\bczek|\bcheque\b"), "cheque"),
    (re.compile(r"\bbon\b|\bvoucher\b"), "voucher"),
    (re.compile(r"\bkompensat|\bpobrani|\bpotraceni"), "other"),
)
_TILL_PAYMENT = re.compile(r"^\s*(karta|gotowka|blik)\b", re.MULTILINE)
_ACCOUNT_CUE = re.compile(r"\b(?:konto|konta|rachun\w*|iban|nrb|bank\w*|account)\b")
_SPLIT_PAYMENT = re.compile(r"\bmechanizm\w* podzielonej p[lt]atnosci\b|\bsplit payment\b")
_CORRECTED = re.compile(r"korygowan|korekcie|corrected")


def payment_fields(pages: Sequence[PageView], *, correction: bool) -> list[ExtractedField]:
    found = [_method(pages), _account(pages), _split_payment(pages)]
    return [field for field in found if field is not None] + _ksef_numbers(pages, correction)


def _method_of(text: str) -> str | None:
    return next((key for pattern, key in _METHODS if pattern.search(text)), None)


def _method(pages: Sequence[PageView]) -> ExtractedField | None:
    for page, match in search(pages, _METHOD_LABEL):
        method = _method_of(page.folded[match.end() : page.line_span(match.start())[1]])
        if method:
            return make_field("payment_method", method, page, 0.92)
    till = first(pages, _TILL_PAYMENT)
    if till:
        page, match = till
        return make_field("payment_method", _method_of(match[1]) or "other", page, 0.8)
    return None


def _account(pages: Sequence[PageView]) -> ExtractedField | None:
    candidates = [
        (page, match, _has_cue(page, match))
        for page in pages
        for match in find_identifiers(page.text, ("iban",))
    ]
    if not candidates:
        return None
    page, match, cue = max(candidates, key=lambda c: (c[1].valid, c[2]))
    return _identifier_field("bank_account", match, page, 0.95 if cue else 0.8)


def _has_cue(page: PageView, match: IdentifierMatch) -> bool:
    start, _ = page.line_span(match.start)
    return bool(_ACCOUNT_CUE.search(page.folded[max(0, start - 1 - 80) : match.start]))


def _identifier_field(
    name: str, match: IdentifierMatch, page: PageView, confidence: float
) -> ExtractedField:
    return checked_field(
        name, match.value, page, confidence, valid=match.valid, reason=match.reason
    )


def _split_payment(pages: Sequence[PageView]) -> ExtractedField | None:
    hit = first(pages, _SPLIT_PAYMENT)
    return make_field("split_payment", True, hit[0], 0.95) if hit else None


def _ksef_numbers(pages: Sequence[PageView], correction: bool) -> list[ExtractedField]:
    """The invoice's own KSeF number; on a correction, the corrected invoice's one too."""
    fields: dict[str, ExtractedField] = {}
    for page in pages:
        for match in find_identifiers(page.text, ("ksef_number",)):
            start, _ = page.line_span(match.start)
            about_original = bool(_CORRECTED.search(page.folded[start : match.start]))
            name = "corrected_ksef_number" if correction and about_original else "ksef_number"
            fields.setdefault(name, _identifier_field(name, match, page, 0.95))
    return list(fields.values())
