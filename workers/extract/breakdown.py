"""Amount arithmetic of an invoice's summary: rows where net + VAT = gross, VAT = net × rate, and
per-rate sums that add up to the totals.

Rows are recognised by their arithmetic rather than their layout because OCR often tears a
table apart: the rate column lands away from its numbers, or every column becomes a block of
its own. The checks (exact to the grosz) keep coincidences out."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from workers.extract.amounts import find_amounts
from workers.extract.text import PageView

CENT = Decimal("0.01")
RATES = ("23", "8", "5", "22", "7", "4", "3")
MAX_VAT_SHARE = Decimal("0.2305")  # VAT is at most 23 % of net, plus rounding
_UNGROUPED = re.compile(r"(?<![\d.,])(\d{4,})(?=[.,]\d\d(?!\d))")
_ZERO_RATES = re.compile(r"(?<![\d,.])(0\s?%|zw\b|np\b|oo\b)")


@dataclass(frozen=True, slots=True)
class Row:
    """Three amounts on one line with net + vat = gross."""

    net: Decimal
    vat: Decimal
    gross: Decimal
    rate: str | None  # from the arithmetic (or the line's "zw"/"0%"); None for mixed rates
    page: PageView
    line: str


@dataclass(frozen=True, slots=True)
class RateSum:
    rate: str
    net: Decimal
    vat: Decimal


def vat_of(net: Decimal, rate: str) -> Decimal:
    return (net * Decimal(rate) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def rate_of(net: Decimal, vat: Decimal, line: str = "") -> str | None:
    if vat == 0 and net:
        zero = _ZERO_RATES.search(line.lower())
        return zero[1].replace(" ", "").replace("%", "") if zero else None
    return next((rate for rate in RATES if vat_of(net, rate) == vat), None)


def _regrouped(line: str) -> str:
    """The line with "9213,52" written "9 213,52", as the rest of an OCR'd row may group it."""
    return _UNGROUPED.sub(lambda m: f"{int(m[1]):,}".replace(",", " "), line)


def line_readings(line: str) -> list[list[Decimal]]:
    """The amounts of a line, read as printed and, where that differs, with thousands grouped.

    A line mixing "71 955,77" with "9213,52" (OCR dropped a space) is otherwise read as if
    spaces never grouped thousands on it, which is right for "29 804,46" (quantity, price) in
    an item row that prints ungrouped amounts; the sums decide which reading holds."""
    readings = [[a.value for a in find_amounts(line)]]
    regrouped = _regrouped(line)
    if regrouped != line:
        readings.append([a.value for a in find_amounts(regrouped)])
    return readings


def table_rows(pages: Sequence[PageView]) -> list[Row]:
    rows = []
    for page in pages:
        for line in page.text.split("\n"):
            for values in line_readings(line):
                rows += [
                    Row(net, vat, gross, rate_of(net, vat, line), page, line)
                    for net, vat, gross in zip(values, values[1:], values[2:], strict=False)
                    if net + vat == gross and net
                ]
    return list(dict.fromkeys(rows))


def all_amounts(pages: Sequence[PageView]) -> list[tuple[PageView, Decimal]]:
    return [
        (page, value)
        for page in pages
        for line in page.text.split("\n")
        for values in line_readings(line)
        for value in values
    ]


def net_and_vat(
    amounts: list[tuple[PageView, Decimal]], gross: Decimal
) -> tuple[PageView, Decimal, Decimal] | None:
    """Two amounts anywhere on the pages adding up to `gross` like net and VAT do; the last
    such net wins (summaries close an invoice)."""
    values = {value for _, value in amounts}
    for page, net in reversed(amounts):
        vat = gross - net
        if net and vat and vat in values and 0 < vat / net <= MAX_VAT_SHARE:
            return page, net, vat
    return None


def _rate_candidates(rows: list[Row], amounts: list[Decimal]) -> dict[str, list[RateSum]]:
    """(net, vat) pairs per rate: from table rows first, then from any two amounts."""
    found: dict[str, list[RateSum]] = {}
    for row in rows:
        if row.rate is not None:
            found.setdefault(row.rate, []).append(RateSum(row.rate, row.net, row.vat))
    values = set(amounts)
    for net in dict.fromkeys(amounts):
        for rate in RATES:
            vat = vat_of(net, rate)
            if vat and vat in values and vat != net:
                found.setdefault(rate, []).append(RateSum(rate, net, vat))
    return {rate: list(dict.fromkeys(sums)) for rate, sums in found.items()}


def breakdown(
    rows: list[Row], amounts: list[Decimal], net: Decimal, vat: Decimal
) -> list[RateSum] | None:
    """One (net, vat) per rate adding up to the totals; None when no combination does."""
    candidates = _rate_candidates(rows, amounts)
    for size in range(1, min(len(candidates), 4) + 1):
        for rates in itertools.combinations(candidates, size):
            for combination in _products(candidates, rates):
                if _adds_up(combination, net, vat, single=size == 1):
                    return list(combination)
    return None


def _products(
    candidates: dict[str, list[RateSum]], rates: tuple[str, ...]
) -> Iterator[tuple[RateSum, ...]]:
    yield from itertools.islice(itertools.product(*(candidates[r] for r in rates)), 5000)


def _adds_up(sums: tuple[RateSum, ...], net: Decimal, vat: Decimal, *, single: bool) -> bool:
    if sum(s.net for s in sums) != net or sum(s.vat for s in sums) != vat:
        return False
    return single or all(s.net != net for s in sums)
