"""Fields of invoice-like documents (faktura, faktura korygująca, pro forma, paragon) read from
their page text: numbers, kind, dates, seller and buyer, money, payment terms."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from workers.extract.dates import find_dates
from workers.extract.fields import ExtractedField
from workers.extract.identifiers import find_identifiers
from workers.extract.labels import Found, date_after, number_after
from workers.extract.parties import (
    SELLER,
    PartyBlock,
    clean_name,
    find_parties,
    party_nip,
    party_vat_id,
)
from workers.extract.payment import payment_fields
from workers.extract.text import PageView, checked_field, first, make_field
from workers.extract.totals import currency_field, gross_only, money_fields

_NUMBER_LABEL = re.compile(
    r"\b(?:faktura|faktury|invoice|korekta|proforma|pro forma|rachunek|nota)\b"
    r"[^\n]{0,40}?\b(?:nr|no|numer|number)\b\.?(?:\s*/\s*no\.?)?\s*:?\s*"
    r"|^\s*(?:nr|numer|no)\.?(?:\s*(?:faktury|dokumentu))?(?:\s*/\s*no\.?)?\s*:\s*"
    r"|\b(?:nr|numer) faktury\s*:?\s*|\binvoice (?:no|number)\.?\s*:?\s*",
    re.MULTILINE,
)
_REFERENCE_LABEL = re.compile(
    r"\b(?:do|dotyczy|dot\.)\s+faktury(?:\s+vat)?\s+(?:nr|numer)\.?\s*:?\s*"
    r"|\bfaktur[ay]\s+korygowan\w*(?:\s+vat)?\s+(?:nr|numer)\.?\s*:?\s*"
    r"|\bkorygowanej\s+faktury(?:\s+vat)?\s+(?:nr|numer)\.?\s*:?\s*"
    r"|\b(?:corrected|original) invoice\s+(?:no|number)\.?\s*:?\s*"
)
_DATE_LABELS = {
    "issue_date": r"\bdata (?:wystawienia|faktury|dokumentu)\b|\bissue date\b|\bdate of issue\b"
    r"|\binvoice date\b|\bwystawion[oa] dnia\b",
    "sale_date": r"\bdata (?:sprzedazy|dostawy|dokonania (?:dostawy|sprzedazy)|wykonania uslugi"
    r"|zakonczenia dostawy)\b|\bdate of (?:sale|supply)\b|\b(?:sale|delivery) date\b",
    "due_date": r"\btermin (?:platnosci|zaplaty)\b|\bplatne do\b|\bzaplata do\b|\bdue date\b"
    r"|\bpayment due\b",
}
_DATE_PATTERNS = {name: re.compile(pattern) for name, pattern in _DATE_LABELS.items()}
_ANY_DATE_LABEL = re.compile("|".join(_DATE_LABELS.values()))
_DAYS = re.compile(r"^\W*(\d{1,3})\s*(?:dni|days)\b")
_KINDS = (  # (pattern on the title lines, RodzajFaktury)
    (re.compile(r"korygujac\w*[^\n]*zaliczkow|korekta[^\n]*zaliczkow"), "KOR_ZAL"),
    (re.compile(r"korygujac\w*[^\n]*rozliczeniow|korekta[^\n]*rozliczeniow"), "KOR_ROZ"),
    (re.compile(r"\bfaktura\s+(?:vat\s+)?zaliczkowa\b"), "ZAL"),
    (re.compile(r"\bfaktura\s+(?:vat\s+)?(?:rozliczeniowa|koncowa)\b"), "ROZ"),
    (re.compile(r"\bfaktura\s+(?:vat\s+)?uproszczona\b"), "UPR"),
)
_CLASS_KINDS = {"invoice": "VAT", "correction": "KOR", "proforma": "PROFORMA"}
TITLE_LINES = 10


def extract_invoice(pages: Sequence[PageView], document_class: str) -> list[ExtractedField]:
    if document_class == "receipt":
        return _receipt(pages)
    correction = document_class == "correction"
    found: list[ExtractedField | None] = [
        *_numbers(pages, correction=correction),
        _kind(pages, document_class),
        *_dates(pages),
        *_parties(pages),
        *money_fields(pages, correction=correction),
        currency_field(pages),
        *payment_fields(pages, correction=correction),
    ]
    return [field for field in found if field is not None]


def _in_title(page: PageView, offset: int) -> bool:
    return page.number == 1 and page.text.count("\n", 0, offset) < TITLE_LINES


def _numbers(pages: Sequence[PageView], *, correction: bool) -> list[ExtractedField]:
    fields = []
    references = [(p, m) for p in pages for m in _REFERENCE_LABEL.finditer(p.folded)]
    skip = {(page.number, match.end()) for page, match in references}
    own = number_after(pages, _NUMBER_LABEL, skip)
    if own:
        number, page, match = own
        confidence = 0.95 if _in_title(page, match.start()) else 0.85
        fields.append(make_field("invoice_number", number, page, confidence))
    if correction:
        corrected = number_after(pages, _REFERENCE_LABEL)
        if corrected:
            fields.append(make_field("corrected_invoice_number", corrected[0], corrected[1], 0.9))
    return fields


def _kind(pages: Sequence[PageView], document_class: str) -> ExtractedField | None:
    if not pages or document_class not in _CLASS_KINDS:
        return None
    title = "\n".join(pages[0].folded.split("\n")[:TITLE_LINES])
    for pattern, kind in _KINDS:
        if pattern.search(title) and (kind.startswith("KOR") == (document_class == "correction")):
            return make_field("invoice_kind", kind, pages[0], 0.9)
    return make_field("invoice_kind", _CLASS_KINDS[document_class], pages[0], 0.85)


def _dates(pages: Sequence[PageView]) -> list[ExtractedField]:
    found = {
        name: date_after(pages, pattern, _ANY_DATE_LABEL)
        for name, pattern in _DATE_PATTERNS.items()
    }
    issue = found["issue_date"] or _date_after_number(pages)
    fields = [
        _date_field(name, value) for name, value in found.items() if value and name != "issue_date"
    ]
    if issue:
        fields.append(_date_field("issue_date", issue))
        if found["due_date"] is None:
            fields += _due_in_days(pages, issue)
    return fields


def _date_field(name: str, found: Found) -> ExtractedField:
    return make_field(name, found.value.isoformat(), found.page, 0.95 * found.confidence)


def _date_after_number(pages: Sequence[PageView]) -> Found | None:
    """'Faktura VAT nr FV/1/2026 z dnia 12.03.2026': the title's date is the issue date."""
    found = date_after(pages[:1], re.compile(r"\b(?:nr|no)\b[^\n]{1,40}?\bz dnia\b"))
    return Found(found.value, found.page, 0.9) if found else None


def _due_in_days(pages: Sequence[PageView], issue: Found) -> list[ExtractedField]:
    """'Termin płatności: 14 dni' counts from the issue date."""
    hit = first(pages, _DATE_PATTERNS["due_date"])
    if hit is None:
        return []
    page, match = hit
    days = _DAYS.match(page.folded[match.end() : page.line_span(match.start())[1]])
    if days is None:
        return []
    due = issue.value + timedelta(days=int(days[1]))
    reason = f"{days[1]} days from the issue date"
    return [make_field("due_date", due.isoformat(), page, 0.75, reason=reason)]


# --------------------------------------------------------------------------- parties


def _parties(pages: Sequence[PageView]) -> list[ExtractedField]:
    blocks = find_parties(pages)
    if not blocks:
        return _parties_by_order(pages)
    fields = []
    for block in blocks:
        fields += _block_fields(block)
    return fields


def _block_fields(block: PartyBlock) -> list[ExtractedField]:
    role = "seller" if block.role == SELLER else "buyer"
    confidence = 0.5 if block.guessed_name else (0.85 if block.merged else 0.92)
    fields = []
    if block.name:
        fields.append(make_field(f"{role}_name", block.name, block.page, confidence))
    nip = party_nip(block)
    if nip:
        fields.append(
            checked_field(
                f"{role}_nip", nip.value, block.page, 0.95, valid=nip.valid, reason=nip.reason
            )
        )
    vat_id = party_vat_id(block) if role == "buyer" and nip is None else None
    if vat_id:
        fields.append(make_field("buyer_vat_id", vat_id, block.page, 0.85))
    return fields


def _parties_by_order(pages: Sequence[PageView]) -> list[ExtractedField]:
    """No seller/buyer labels: the first NIP is the issuer's (printed on top), then the buyer's."""
    nips = [(page, m) for page in pages for m in find_identifiers(page.text, ("nip",))]
    fields = []
    for name, (page, match) in zip(("seller_nip", "buyer_nip"), nips, strict=False):
        reason = match.reason or "no seller/buyer label: taken by order"
        fields.append(checked_field(name, match.value, page, 0.5, valid=match.valid, reason=reason))
    return fields


def _receipt(pages: Sequence[PageView]) -> list[ExtractedField]:
    """A till receipt: the shop heads it, its NIP follows, then the date and the total."""
    if not pages:
        return []
    page = pages[0]
    fields: list[ExtractedField | None] = [*gross_only(pages), currency_field(pages)]
    lines = [line for line in page.text.split("\n") if line.strip()]
    name = clean_name(lines[0]) if lines else None
    if name:
        fields.append(
            make_field("seller_name", name, page, 0.7, reason="first line of the receipt")
        )
    nips = find_identifiers(page.text, ("nip",))
    if nips:
        nip = nips[0]
        fields.append(
            checked_field("seller_nip", nip.value, page, 0.9, valid=nip.valid, reason=nip.reason)
        )
    dates = find_dates(page.text)
    if dates:
        fields.append(make_field("issue_date", dates[0].value.isoformat(), page, 0.85))
    fields += payment_fields(pages, correction=False)
    return [field for field in fields if field is not None]
