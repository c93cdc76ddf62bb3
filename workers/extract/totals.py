"""Invoice money: net, VAT and gross totals, the per-rate breakdown and the currency.

The amount payable ("Do zapłaty", "Kwota do zwrotu") anchors the totals; a summary row or two
amounts that add up to it give net and VAT (see breakdown.py for why arithmetic, not layout)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from workers.extract.amounts import AmountMatch, find_amounts, normalise_currency
from workers.extract.breakdown import RATES, Row, all_amounts, breakdown, net_and_vat, table_rows
from workers.extract.fields import ExtractedField
from workers.extract.text import PageView, make_field, search

CENT = Decimal("0.01")
_PAY = r"zap[lt]aty"  # OCR reads "ł" as "t" often enough
_LABELS = {
    "net": re.compile(
        r"\b(?:razem netto|suma netto|wartosc netto razem|netto razem|total net|net total"
        r"|wartosc netto|kwota netto)\b"
    ),
    "vat": re.compile(
        r"\b(?:razem vat|suma vat|vat razem|total vat|kwota vat|podatek vat|kwota podatku)\b"
        r"(?!\s*(?:w|in)\s*pln)"
    ),
    "gross": re.compile(
        rf"\b(?:razem do {_PAY}|do {_PAY}|razem brutto|suma brutto|wartosc brutto|brutto razem"
        r"|amount due|total gross|total due|suma (?:pln|eur|brutto)|naleznosc)\b"
    ),
}
_REFUND = re.compile(r"\b(?:do zwrotu|kwota zwrotu)\b")
_DIFFERENCE_ROW = re.compile(r"\b(?:roznica|zmiana|difference|(?:wartosc|kwota) korekty)\b")
_CURRENCY_LABEL = re.compile(r"\b(?:waluta|currency)\s*:?\s*([a-z]{3})\b")
_FOREIGN_SIDE_NOTE = re.compile(r"\bkurs\b|\bw pln\b|\bin pln\b|\bexchange rate\b")


@dataclass(frozen=True, slots=True)
class Totals:
    net: Decimal
    vat: Decimal
    gross: Decimal
    page: PageView
    confidence: float


def labelled_amounts(pages: Sequence[PageView], kind: str) -> list[tuple[PageView, AmountMatch]]:
    """The first amount after each label of `kind` on the label's line."""
    found = []
    for page, match in search(pages, _LABELS[kind]):
        start, end = page.line_span(match.start())
        after = [a for a in find_amounts(page.text[start:end]) if a.start + start >= match.start()]
        if after:
            found.append((page, after[0]))
    return found


def _payable(pages: Sequence[PageView]) -> tuple[PageView, Decimal] | None:
    for page, match in search(pages, _REFUND):
        amounts = find_amounts(page.rest_of_line(match.end()))
        if amounts:
            return page, -abs(amounts[0].value)
    due = labelled_amounts(pages, "gross")
    return (due[-1][0], due[-1][1].value) if due else None


def find_totals(pages: Sequence[PageView], *, correction: bool) -> Totals | None:
    """The first that holds: a table row (or a correction's difference row) ending in the amount
    payable; labelled net and VAT adding up to it; any two amounts adding up to it; the largest
    row; labelled totals, however inconsistent."""
    rows = table_rows(pages)
    payable = _payable(pages)
    row = _difference_row(rows) if correction else None
    if row is None and payable is not None:
        row = next((r for r in reversed(rows) if r.gross == payable[1]), None)
    if row is not None:
        return Totals(row.net, row.vat, row.gross, row.page, 0.97)
    labelled = _labelled_totals(pages)
    if labelled and payable and labelled.gross == payable[1] == labelled.net + labelled.vat:
        return labelled
    if payable is not None:
        pair = net_and_vat(all_amounts(pages), payable[1])
        if pair is not None:
            return Totals(pair[1], pair[2], payable[1], pair[0], 0.8)
    if rows and not correction:
        best = max(rows, key=lambda r: abs(r.gross))
        return Totals(best.net, best.vat, best.gross, best.page, 0.75)
    return labelled


def _difference_row(rows: list[Row]) -> Row | None:
    for row in rows:
        if _DIFFERENCE_ROW.search(row.line.lower()):
            return row
    for before, after, diff in zip(rows, rows[1:], rows[2:], strict=False):
        if after.gross - before.gross == diff.gross and after.net - before.net == diff.net:
            return diff
    return None


def _labelled_totals(pages: Sequence[PageView]) -> Totals | None:
    values = {kind: labelled_amounts(pages, kind) for kind in ("net", "vat", "gross")}
    if not all(values.values()):
        return None
    (page, net), (_, vat), (_, gross) = (values[k][-1] for k in ("net", "vat", "gross"))
    consistent = net.value + vat.value == gross.value
    return Totals(net.value, vat.value, gross.value, page, 0.9 if consistent else 0.5)


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP)}"


def money_fields(pages: Sequence[PageView], *, correction: bool) -> list[ExtractedField]:
    totals = find_totals(pages, correction=correction)
    if totals is None:
        return []
    fields = [
        make_field(name, _money(value), totals.page, totals.confidence)
        for name, value in (
            ("net_total", totals.net),
            ("vat_total", totals.vat),
            ("gross_total", totals.gross),
        )
    ]
    if not correction:
        fields += _breakdown_field(pages, totals)
    return fields


def _breakdown_field(pages: Sequence[PageView], totals: Totals) -> list[ExtractedField]:
    amounts = [value for _, value in all_amounts(pages)]
    sums = breakdown(table_rows(pages), amounts, totals.net, totals.vat)
    if not sums:
        return []
    order = {rate: index for index, rate in enumerate(RATES)}
    value = [
        {"rate": s.rate, "net": _money(s.net), "vat": _money(s.vat)}
        for s in sorted(sums, key=lambda s: order.get(s.rate, len(order)))
    ]
    confidence = totals.confidence * (0.95 if len(sums) > 1 else 0.9)
    return [make_field("vat_breakdown", value, totals.page, confidence)]


def gross_only(pages: Sequence[PageView]) -> list[ExtractedField]:
    """A receipt's amount payable."""
    found = labelled_amounts(pages, "gross")
    if not found:
        return []
    page, amount = found[-1]
    return [make_field("gross_total", _money(amount.value), page, 0.85)]


def currency_field(pages: Sequence[PageView]) -> ExtractedField | None:
    for page, match in search(pages, _CURRENCY_LABEL):
        code = normalise_currency(match[1])
        if code:
            return make_field("currency", code, page, 0.95)
    payable = [(p, a) for p, a in labelled_amounts(pages, "gross") if a.currency]
    if payable:
        page, amount = payable[-1]
        return make_field("currency", amount.currency, page, 0.93)
    votes = Counter(_currencies(pages))
    if votes:
        return make_field("currency", votes.most_common(1)[0][0], pages[0], 0.8)
    if not pages:
        return None
    return make_field("currency", "PLN", pages[0], 0.5, reason="no currency printed")


def _currencies(pages: Sequence[PageView]) -> list[str]:
    codes = []
    for page in pages:
        for line in page.text.split("\n"):
            if not _FOREIGN_SIDE_NOTE.search(line.lower()):
                codes += [a.currency for a in find_amounts(line) if a.currency]
    return codes
