"""Calendar dates as Polish and English documents print them: numeric (day first, the Polish
convention), ISO, Roman months, month names in any case, with or without diacritics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class DateMatch:
    value: date
    raw: str
    start: int
    end: int


_EARLIEST_YEAR, _LATEST_YEAR = 1900, 2100
_TWO_DIGIT_PIVOT = 70  # "25" -> 2025, "85" -> 1985

# Polish letters fold one to one, so offsets in the folded text are offsets in the original
_FOLD = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "acelnoszzACELNOSZZ")

_MONTH_WORDS: dict[int, tuple[str, ...]] = {
    # Polish nominative, genitive, locative and abbreviation (folded), then English
    1: ("styczen", "stycznia", "styczniu", "sty", "january", "jan"),
    2: ("luty", "lutego", "lutym", "lut", "february", "feb"),
    3: ("marzec", "marca", "marcu", "mar", "march"),
    4: ("kwiecien", "kwietnia", "kwietniu", "kwi", "april", "apr"),
    5: ("maj", "maja", "maju", "may"),
    6: ("czerwiec", "czerwca", "czerwcu", "cze", "june", "jun"),
    7: ("lipiec", "lipca", "lipcu", "lip", "july", "jul"),
    8: ("sierpien", "sierpnia", "sierpniu", "sie", "august", "aug"),
    9: ("wrzesien", "wrzesnia", "wrzesniu", "wrz", "september", "sept", "sep"),
    10: ("pazdziernik", "pazdziernika", "pazdzierniku", "paz", "october", "oct"),
    11: ("listopad", "listopada", "listopadzie", "lis", "november", "nov"),
    12: ("grudzien", "grudnia", "grudniu", "gru", "december", "dec"),
}
_MONTH_BY_WORD = {word: month for month, words in _MONTH_WORDS.items() for word in words}
_MONTH = "|".join(sorted(_MONTH_BY_WORD, key=len, reverse=True))
_ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
_ROMAN = "|".join(sorted(_ROMAN_MONTHS, key=len, reverse=True))

_SPACE = r"[ \u00a0\u202f\u2009]+"
# not the tail of a longer number, amount or identifier; "01.03.2025-31.03.2025" is a range
_START = r"(?<![0-9.,/])(?:(?<=[0-9]{4}-)|(?<![0-9]-))"
_DAY = r"(?P<day>[0-9]{1,2})"
_YEAR = r"(?P<year>[0-9]{4})(?![0-9])(?![.,][0-9])"  # "1.2.2025.4" is a version number
_YEAR_FIRST = r"(?P<year>[0-9]{4})"
_MONTH_NAME = rf"(?<![a-z])(?P<name>{_MONTH})(?![a-z])\.?"
_ORDINAL = r"(?:st|nd|rd|th)?"

# matched against the text with Polish letters folded to ASCII
_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(rf"{_START}{_DAY}(?P<sep>[./-])(?P<month>[0-9]{{1,2}})(?P=sep){_YEAR}"),
    re.compile(
        rf"{_START}{_YEAR_FIRST}(?P<sep>[./-])(?P<month>[0-9]{{1,2}})(?P=sep){_DAY}(?![0-9])"
    ),
    re.compile(
        rf"{_START}(?P<day>[0-9]{{2}})(?P<sep>[./-])(?P<month>[0-9]{{2}})(?P=sep)"
        r"(?P<short_year>[0-9]{2})(?![0-9])(?![.,/-][0-9])"
    ),
    re.compile(rf"{_START}{_DAY}(?:[.-] ?| )(?P<roman>{_ROMAN})(?![A-Za-z])(?:[.-] ?| ){_YEAR}"),
    re.compile(
        rf"{_START}{_DAY}{_ORDINAL}\.?{_SPACE}(?:of{_SPACE})?{_MONTH_NAME},?{_SPACE}{_YEAR}",
        re.IGNORECASE,
    ),
    re.compile(rf"{_MONTH_NAME}{_SPACE}{_DAY}{_ORDINAL},?{_SPACE}{_YEAR}", re.IGNORECASE),
)
_INVOICE_NUMBER_BEFORE = re.compile(
    r"(?:\b(?:nr|no|numer|number|faktur\w*|invoice|fv|fa|fk|fvat|vat|kor)\.?|#)\s*:?\s*$",
    re.IGNORECASE,
)


def _year(found: re.Match[str]) -> int:
    if found.groupdict().get("short_year") is None:
        return int(found["year"])
    short = int(found["short_year"])
    return (2000 if short < _TWO_DIGIT_PIVOT else 1900) + short


def _month(found: re.Match[str]) -> int:
    groups = found.groupdict()
    if groups.get("name"):
        return _MONTH_BY_WORD[groups["name"].lower()]
    if groups.get("roman"):
        return _ROMAN_MONTHS.index(groups["roman"]) + 1
    return int(found["month"])


def _real_date(year: int, month: int, day: int) -> date | None:
    if not _EARLIEST_YEAR <= year <= _LATEST_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _value(found: re.Match[str]) -> date | None:
    year, month, day = _year(found), _month(found), int(found["day"])
    value = _real_date(year, month, day)
    if value is None and found.groupdict().get("sep") == "/":
        # day first is the rule; "03/25/2025" can only be an American month-first date
        return _real_date(year, day, month)
    return value


def _is_invoice_number(text: str, found: re.Match[str]) -> bool:
    """'FV 1/03/2025' numbers invoices by month: a slashed date right after such a cue."""
    if found.groupdict().get("sep") != "/":
        return False
    line_start = text.rfind("\n", 0, found.start()) + 1
    return _INVOICE_NUMBER_BEFORE.search(text, line_start, found.start()) is not None


def _matches(folded: str) -> Iterator[DateMatch]:
    for pattern in _PATTERNS:
        for found in pattern.finditer(folded):
            value = _value(found)
            if value is not None and not _is_invoice_number(folded, found):
                yield DateMatch(value, found[0], *found.span())


def find_dates(text: str) -> list[DateMatch]:
    """Dates in `text`, in order; a month without a day ("w marcu 2025") is not a date."""
    kept: list[DateMatch] = []
    candidates = sorted(_matches(text.translate(_FOLD)), key=lambda m: (m.start, m.start - m.end))
    for match in candidates:
        if not kept or match.start >= kept[-1].end:
            kept.append(
                DateMatch(match.value, text[match.start : match.end], match.start, match.end)
            )
    return kept


_SUFFIX = re.compile(r"(?:\s*(?:r\.?|roku))$", re.IGNORECASE)


def parse_date(raw: str) -> date | None:
    """One date written alone ("12.03.2025 r.", "12 marca 2025", "March 12, 2025"), else None."""
    folded = _SUFFIX.sub("", raw.strip()).translate(_FOLD)
    for pattern in _PATTERNS:
        found = pattern.fullmatch(folded)
        if found is not None:
            return _value(found)
    return None
