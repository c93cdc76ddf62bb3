"""Money amounts in Polish and English writing: parsing, finding them in text without taking
dates, identifiers or phone numbers for amounts, and the Polish "słownie" wording."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True, slots=True)
class AmountMatch:
    value: Decimal
    currency: str | None  # ISO 4217 code
    raw: str
    start: int
    end: int


_CURRENCY_WORDS: dict[str, str] = {
    "zł": "PLN",
    "zl": "PLN",
    "złotych": "PLN",
    "zlotych": "PLN",
    "złote": "PLN",
    "zlote": "PLN",
    "złoty": "PLN",
    "zloty": "PLN",
    "€": "EUR",
    "euro": "EUR",
    "$": "USD",
    "us$": "USD",
    "£": "GBP",
    "fr.": "CHF",
    "kč": "CZK",
}
_ISO_CODES = frozenset(
    (
        "PLN",
        "EUR",
        "USD",
        "GBP",
        "CHF",
        "CZK",
        "SEK",
        "NOK",
        "DKK",
        "HUF",
        "JPY",
        "CNY",
        "CAD",
        "AUD",
        "UAH",
        "RON",
        "BGN",
    )
)


def normalise_currency(raw: str) -> str | None:
    """'zł', 'zl', 'złotych', 'PLN' -> 'PLN'; '€' -> 'EUR'; '$' -> 'USD'; unknown -> None."""
    word = raw.strip().lower()
    if word.upper() in _ISO_CODES:
        return word.upper()
    return _CURRENCY_WORDS.get(word) or _CURRENCY_WORDS.get(word.rstrip("."))


_GAPS = "[ \u00a0\u202f\u2009]"
_CURRENCY = "|".join(
    re.escape(word) for word in sorted([*_CURRENCY_WORDS, *_ISO_CODES], key=len, reverse=True)
)
# a currency word must not run into a letter ("zło" in "złoto", "EUR" in "EUROPA")
_CURRENCY_TOKEN = rf"(?i:{_CURRENCY})(?![^\W\d_])"
# grouped forms need a non-zero first group so that "0,125" stays a decimal
_SPACE_GROUPED = rf"[1-9][0-9]{{0,2}}(?:{_GAPS}[0-9]{{3}})+|"
_INTEGER = (
    r"[1-9][0-9]{0,2}(?:\.[0-9]{3})+|[1-9][0-9]{0,2}(?:,[0-9]{3})+|[1-9][0-9]{0,2}(?:'[0-9]{3})+"
    r"|[0-9]+"
)
_FRACTION = r"[.,](?:[0-9]{1,4}|-{1,2})"  # "100,-" is how Polish writes a round amount
_UNIT = r"%|(?:szt|kg|g|t|l|m|m2|m²|m3|km|h|godz|min|pcs|pc|hrs?|kwh|mwh|x)(?![^\W\d_])"


def _number(integer: str) -> str:
    return rf"(?P<sign>[-−](?=[0-9]))?(?P<integer>{integer})(?P<fraction>{_FRACTION})?(?![0-9])"


def _amount_pattern(integer: str) -> re.Pattern[str]:
    return re.compile(
        rf"""
        (?:(?<![^\W\d_])(?P<before>{_CURRENCY_TOKEN})(?P<gap>{_GAPS})?|(?<!\w)(?<![0-9][.,/-]))
        {_number(integer)}
        (?![.,/-][0-9])                                  # a date, a NIP, an invoice number
        (?(fraction)|(?!{_GAPS}[0-9]))                   # a bare integer inside a digit group
        (?:{_GAPS}?(?P<after>{_CURRENCY_TOKEN})|(?!{_GAPS}?(?i:{_UNIT})))
        """,
        re.VERBOSE,
    )


_AMOUNT_RE = _amount_pattern(_SPACE_GROUPED + _INTEGER)
# a line that prints "7256,67" does not group thousands with spaces, so there "29 250,23" is a
# quantity and a unit price (single-spaced columns), not 29 250,23
_AMOUNT_UNGROUPED_RE = _amount_pattern(_INTEGER)
_UNGROUPED_THOUSANDS = re.compile(
    r"(?<![0-9])(?<![0-9][.,/-])[0-9]{4,}[.,][0-9]{2}(?![0-9]|[.,/-][0-9])"
)
_WHOLE_AMOUNT_RE = re.compile(
    rf"(?:(?P<before>{_CURRENCY_TOKEN}){_GAPS}?)?{_number(_SPACE_GROUPED + _INTEGER)}"
    rf"(?:{_GAPS}?(?P<after>{_CURRENCY_TOKEN}))?"
)
_SYMBOLS = frozenset("€$£")


def _number_value(sign: str | None, integer: str, fraction: str | None) -> Decimal | None:
    thousands = next((char for char in integer if not char.isdigit()), None)
    if fraction and thousands is not None and fraction[0] == thousands:
        return None  # "1.234.56": one separator can not both group and mark decimals
    digits = re.sub(r"[^0-9]", "", integer)
    decimals = fraction[1:] if fraction and fraction[1] != "-" else ""
    value = Decimal(f"{digits}.{decimals}" if decimals else digits)
    return -value if sign else value


def _match_value(found: re.Match[str]) -> Decimal | None:
    return _number_value(found["sign"], found["integer"], found["fraction"])


def parse_amount(raw: str) -> Decimal | None:
    """'1 234,56 zł', '1.234,56 PLN', '1,234.56', '12,5', '-1 234,56' -> Decimal; else None.

    Separators: a dot, comma or apostrophe followed by exactly three digits, after a first group
    of one to three digits not starting with 0, groups thousands ("1.234" = "1,234" = 1234);
    otherwise the last dot or comma marks decimals ("1.23", "12,5", "0,125", "1234.567").
    Spaces (also U+00A0, U+202F, U+2009) only ever group thousands. In find_amounts a line
    that prints an ungrouped amount of four or more digits ("7256,67") takes its spaces for
    column gaps instead; elsewhere text alone can not split "12 250,00" into a quantity and a
    price.
    """
    found = _WHOLE_AMOUNT_RE.fullmatch(raw.strip())
    if found is None or (found["before"] and found["after"]):
        return None
    return _match_value(found)


def _looks_like_money(found: re.Match[str]) -> bool:
    """Two decimals, "100,-", or a currency: bare integers are counts, years, ids, phones.

    More than two decimals need the currency after them ("0,1234 zł/kWh"): "EUR 4,2650" is how
    an exchange rate is printed. "$ 3" is OCR's reading of "§ 3", not three dollars."""
    fraction = found["fraction"] or ""
    if found["before"] in _SYMBOLS and found["gap"] and not fraction:
        return False
    if len(fraction) > 3 and "-" not in fraction:
        return bool(found["after"])
    return bool(found["before"] or found["after"]) or len(fraction) == 3 or "-" in fraction


def find_amounts(text: str) -> list[AmountMatch]:
    """Money amounts in `text`, in order, with the currency written next to them (if any)."""
    amounts: list[AmountMatch] = []
    line_start = 0
    for line in text.split("\n"):
        amounts += _line_amounts(line, line_start)
        line_start += len(line) + 1
    return amounts


def _line_amounts(line: str, offset: int) -> Iterator[AmountMatch]:
    pattern = _AMOUNT_UNGROUPED_RE if _UNGROUPED_THOUSANDS.search(line) else _AMOUNT_RE
    for found in pattern.finditer(line):
        value = _match_value(found)
        if value is not None and _looks_like_money(found):
            currency = normalise_currency(found["before"] or found["after"] or "")
            yield AmountMatch(
                value, currency, found[0], found.start() + offset, found.end() + offset
            )


# --- "słownie": the amount in Polish words ----------------------------------------------

_UNITS = (
    "zero",
    "jeden",
    "dwa",
    "trzy",
    "cztery",
    "pięć",
    "sześć",
    "siedem",
    "osiem",
    "dziewięć",
)
_TEENS = (
    "dziesięć",
    "jedenaście",
    "dwanaście",
    "trzynaście",
    "czternaście",
    "piętnaście",
    "szesnaście",
    "siedemnaście",
    "osiemnaście",
    "dziewiętnaście",
)
_TENS = (
    "_",
    "_",
    "dwadzieścia",
    "trzydzieści",
    "czterdzieści",
    "pięćdziesiąt",
    "sześćdziesiąt",
    "siedemdziesiąt",
    "osiemdziesiąt",
    "dziewięćdziesiąt",
)
_HUNDREDS = (
    "_",
    "sto",
    "dwieście",
    "trzysta",
    "czterysta",
    "pięćset",
    "sześćset",
    "siedemset",
    "osiemset",
    "dziewięćset",
)
_SCALES = (
    ("miliard", "miliardy", "miliardów"),
    ("milion", "miliony", "milionów"),
    ("tysiąc", "tysiące", "tysięcy"),
)
_ZLOTY = ("złoty", "złote", "złotych")


def _plural(count: int, forms: tuple[str, str, str]) -> str:
    """Polish plural: 1 złoty, 2-4 złote (but 12-14 złotych), otherwise złotych."""
    if count == 1:
        return forms[0]
    if count % 10 in (2, 3, 4) and count % 100 not in (12, 13, 14):
        return forms[1]
    return forms[2]


def _below_thousand(number: int) -> list[str]:
    hundreds, rest = divmod(number, 100)
    words = [_HUNDREDS[hundreds]] if hundreds else []
    if 10 <= rest < 20:
        return [*words, _TEENS[rest - 10]]
    tens, units = divmod(rest, 10)
    words += [_TENS[tens]] if tens else []
    return words + ([_UNITS[units]] if units else [])


def _integer_words(number: int) -> list[str]:
    if number == 0:
        return [_UNITS[0]]
    words: list[str] = []
    for power, forms in zip((9, 6, 3), _SCALES, strict=True):
        count, number = divmod(number, 10**power)
        if count:
            words += [*_below_thousand(count), _plural(count, forms)]
    return words + _below_thousand(number)


def amount_in_words_pl(value: Decimal) -> str:
    """1230 -> 'jeden tysiąc dwieście trzydzieści złotych 00/100' (the invoice "Słownie:")."""
    cents_total = int((abs(value) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    zloty, grosze = divmod(cents_total, 100)
    if zloty >= 10**12:
        raise ValueError(f"amount too large to write in words: {value}")
    words = [*_integer_words(zloty), _plural(zloty, _ZLOTY), f"{grosze:02d}/100"]
    return " ".join(["minus", *words] if value < 0 and cents_total else words)
