"""Amounts and dates as Polish and English documents print them, and what must not be taken
for either (dates, NIPs, phones, IBANs, invoice numbers)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.test_identifiers import HR_RECORD, INVOICE_EN, INVOICE_PL
from workers.extract.amounts import (
    AmountMatch,
    amount_in_words_pl,
    find_amounts,
    normalise_currency,
    parse_amount,
)
from workers.extract.dates import find_dates, parse_date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1 234,56 zł", "1234.56"),
        ("1 234,56 zl", "1234.56"),
        ("1.234,56 PLN", "1234.56"),
        ("1234.56", "1234.56"),
        ("1234,56", "1234.56"),
        ("1 234 567,00", "1234567.00"),
        ("12,5", "12.5"),
        ("-1 234,56", "-1234.56"),
        ("−1 234,56 zł", "-1234.56"),  # U+2212 minus sign
        ("1,234.56", "1234.56"),
        ("1,234,567.89", "1234567.89"),
        ("1.234.567,89", "1234567.89"),
        ("1\u00a0234,56 zł", "1234.56"),  # no-break space
        ("1\u202f234,56\u00a0zł", "1234.56"),  # narrow no-break space
        ("1\u2009234,56", "1234.56"),  # thin space
        ("1'234.56 CHF", "1234.56"),
        ("PLN 1 234,56", "1234.56"),
        ("zł 12,00", "12.00"),
        ("€1.234,56", "1234.56"),
        ("€ 99,99", "99.99"),
        ("$1,234.56", "1234.56"),
        ("EUR1234.56", "1234.56"),
        ("100 zł", "100"),
        ("100zł", "100"),
        ("100,- zł", "100"),
        ("1 500,-", "1500"),
        ("12 złotych", "12"),
        ("0,00", "0.00"),
        ("0,125", "0.125"),  # a leading zero group can not be thousands
        ("0,1234 zł", "0.1234"),
        ("1.23", "1.23"),  # two digits after the only separator: decimals
        ("1.234", "1234"),  # three digits after the only separator: thousands
        ("1,234", "1234"),
        ("12.345.678", "12345678"),
        ("1234,5678", "1234.5678"),
        ("  7,50 PLN  ", "7.50"),
    ],
)
def test_parse_amount(raw: str, expected: str) -> None:
    assert parse_amount(raw) == Decimal(expected)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "abc",
        "zł",
        "12.03.2025",
        "2025-03-12",
        "1.234.56",  # one separator can not group and mark decimals
        "1,234,56",
        "1 23,45",  # broken thousands group
        "12 34",
        "PLN 100 EUR",
        "1,2,3",
        "526-025-02-74",
        "+48 600 123 456",
        "100 %",
    ],
)
def test_parse_amount_rejects_nonsense(raw: str) -> None:
    assert parse_amount(raw) is None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("zł", "PLN"),
        ("zl", "PLN"),
        ("ZŁ", "PLN"),
        ("zł.", "PLN"),
        ("złotych", "PLN"),
        ("PLN", "PLN"),
        ("pln", "PLN"),
        ("€", "EUR"),
        ("EUR", "EUR"),
        ("euro", "EUR"),
        ("$", "USD"),
        ("USD", "USD"),
        ("£", "GBP"),
        ("CHF", "CHF"),
        ("Kč", "CZK"),
        ("SEK", "SEK"),
        ("zloto", None),
        ("XYZ", None),
        ("", None),
    ],
)
def test_normalise_currency(raw: str, code: str | None) -> None:
    assert normalise_currency(raw) == code


Amount = tuple[str, str | None, str]  # value, currency, raw


def amounts(text: str) -> list[Amount]:
    return [(str(m.value), m.currency, m.raw) for m in find_amounts(text)]


def test_polish_invoice_amounts() -> None:
    assert amounts(INVOICE_PL) == [
        ("250.00", None, "250,00"),
        ("3000.00", None, "3 000,00"),
        ("690.00", None, "690,00"),
        ("3690.00", None, "3 690,00"),
        ("1200.00", None, "1 200,00"),
        ("1200.00", None, "1 200,00"),
        ("276.00", None, "276,00"),
        ("1476.00", None, "1 476,00"),
        ("4200.00", None, "4 200,00"),
        ("966.00", None, "966,00"),
        ("5166.00", None, "5 166,00"),
        ("5166.00", "PLN", "5 166,00 zł"),
    ]


def test_english_invoice_amounts() -> None:
    assert amounts(INVOICE_EN) == [
        ("150.00", "EUR", "EUR 150.00"),
        ("1500.00", "EUR", "EUR 1,500.00"),
        ("320.50", "EUR", "EUR 320.50"),
        ("320.50", "EUR", "EUR 320.50"),
        ("1820.50", "EUR", "EUR 1,820.50"),
        ("0.00", "EUR", "EUR 0.00"),
        ("1820.50", "EUR", "EUR 1,820.50"),
    ]


def test_hr_record_has_no_amounts() -> None:
    assert find_amounts(HR_RECORD) == []


def test_amount_offsets_point_into_the_text() -> None:
    text = "Do zapłaty:\u00a01\u00a0234,56\u00a0zł (słownie...)"
    (match,) = find_amounts(text)
    assert match == AmountMatch(Decimal("1234.56"), "PLN", "1\u00a0234,56\u00a0zł", 12, 23)
    assert text[match.start : match.end] == match.raw


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Razem 2 000,00 23% 460,00 2 460,00", ["2000.00", "460.00", "2460.00"]),
        ("Kwota: 1 234,56 PLN, zaliczka 1 000,- zł", ["1234.56", "1000"]),
        ("Total: $1,234.56; fee £12.50", ["1234.56", "12.50"]),
        ("Saldo: -1 234,56 zł", ["-1234.56"]),
        ("Cena 0,1234 zł/kWh", ["0.1234"]),
        ("Kurs EUR 4,2650 z dnia 11.03.2025", []),  # an exchange rate, not an amount
        ("Ilość: 2,00 szt., rabat 5,00 %", []),  # quantities and percentages
        ("Termin: 12.03.2025 r., data 2025-03-12, 12/03/2025", []),
        ("NIP: 526-025-02-74, NIP 526 025 02 74, PL5260250274", []),
        ("tel. +48 600 123 456, fax (22) 123-45-67", []),
        ("Konto PLN: 61 1090 1014 0000 0712 1981 2874", []),
        ("Faktura FV/2025/03/0147, FV 12/03/2025, INV-2025-0042", []),
        ("00-590 Warszawa, ul. Długa 5 m. 3, lok. 10/12", []),
        ("Słownie: sto złotych 00/100", []),
        ("Rok 2025, 12 pozycji, 3 strony", []),
        ("Strony zmieniają $ 3 ust. 1 umowy", []),  # OCR read "§" as "$"
        # single-spaced columns: a line printing 7256,67 does not group thousands with spaces
        (
            "1 Materiały biurowe kpl. 29 250,23 7256,67 23% 8925,70",
            ["250.23", "7256.67", "8925.70"],
        ),
        # where the line groups thousands, "29 250,23" stays one number: text alone can not
        # tell it from quantity 29 and price 250,23 (a known limitation, see amounts.py)
        ("1 Materiały biurowe kpl. 29 250,23 7 256,67", ["29250.23", "7256.67"]),
    ],
)
def test_find_amounts_in_context(text: str, expected: list[str]) -> None:
    assert [str(m.value) for m in find_amounts(text)] == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1230", "jeden tysiąc dwieście trzydzieści złotych 00/100"),
        ("5166.00", "pięć tysięcy sto sześćdziesiąt sześć złotych 00/100"),
        ("1", "jeden złoty 00/100"),
        ("2", "dwa złote 00/100"),
        ("12", "dwanaście złotych 00/100"),
        ("22.50", "dwadzieścia dwa złote 50/100"),
        ("0.99", "zero złotych 99/100"),
        ("1001", "jeden tysiąc jeden złotych 00/100"),
        ("2000000", "dwa miliony złotych 00/100"),
        ("15000", "piętnaście tysięcy złotych 00/100"),
        (
            "1234567.89",
            "jeden milion dwieście trzydzieści cztery tysiące pięćset sześćdziesiąt "
            "siedem złotych 89/100",
        ),
        ("-12.345", "minus dwanaście złotych 35/100"),
    ],
)
def test_amount_in_words_pl(value: str, words: str) -> None:
    assert amount_in_words_pl(Decimal(value)) == words


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12.03.2025", date(2025, 3, 12)),
        ("12.03.2025 r.", date(2025, 3, 12)),
        ("12.03.2025r.", date(2025, 3, 12)),
        ("12.03.2025 roku", date(2025, 3, 12)),
        ("1.3.2025", date(2025, 3, 1)),
        ("2025-03-12", date(2025, 3, 12)),
        ("2025.03.12", date(2025, 3, 12)),
        ("2025/03/12", date(2025, 3, 12)),
        ("12-03-2025", date(2025, 3, 12)),
        ("12/03/2025", date(2025, 3, 12)),  # day first (Polish and British)
        ("03/25/2025", date(2025, 3, 25)),  # only readable month first
        ("12.03.25", date(2025, 3, 12)),
        ("31.12.99", date(1999, 12, 31)),
        ("12 marca 2025", date(2025, 3, 12)),
        ("12 marca 2025 r.", date(2025, 3, 12)),
        ("12 MARCA 2025", date(2025, 3, 12)),
        ("12. marca 2025", date(2025, 3, 12)),
        ("1 stycznia 2026", date(2026, 1, 1)),
        ("01 stycznia 2026 r.", date(2026, 1, 1)),
        ("29 lutego 2024", date(2024, 2, 29)),
        ("15 kwietnia 2025", date(2025, 4, 15)),
        ("3 maja 2025", date(2025, 5, 3)),
        ("30 czerwca 2025", date(2025, 6, 30)),
        ("4 lipca 2025", date(2025, 7, 4)),
        ("15 sierpnia 2025", date(2025, 8, 15)),
        ("12 września 2025", date(2025, 9, 12)),
        ("12 wrzesnia 2025", date(2025, 9, 12)),  # without diacritics
        ("5 października 2025 roku", date(2025, 10, 5)),
        ("5 pazdziernika 2025", date(2025, 10, 5)),
        ("11 listopada 2025", date(2025, 11, 11)),
        ("24 grudnia 2025", date(2025, 12, 24)),
        ("12 marzec 2025", date(2025, 3, 12)),  # nominative, a common slip
        ("12 marcu 2025", date(2025, 3, 12)),  # locative, accepted because a day is present
        ("12 mar. 2025", date(2025, 3, 12)),
        ("3 paź. 2025", date(2025, 10, 3)),
        ("3 paz 2025", date(2025, 10, 3)),
        ("24 gru 2025", date(2025, 12, 24)),
        ("7 sty 2026", date(2026, 1, 7)),
        ("12.III.2025", date(2025, 3, 12)),
        ("12 III 2025", date(2025, 3, 12)),
        ("1-XII-2025", date(2025, 12, 1)),
        ("9.IX.2025", date(2025, 9, 9)),
        ("March 12, 2025", date(2025, 3, 12)),
        ("March 12 2025", date(2025, 3, 12)),
        ("Mar. 12, 2025", date(2025, 3, 12)),
        ("March 3rd, 2025", date(2025, 3, 3)),
        ("Sept. 3, 2025", date(2025, 9, 3)),
        ("12 March 2025", date(2025, 3, 12)),
        ("1st January 2026", date(2026, 1, 1)),
        ("2nd of May 2025", date(2025, 5, 2)),
        ("17 Apr 2025", date(2025, 4, 17)),
    ],
)
def test_parse_date(raw: str, expected: date) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "31.02.2025",
        "29.02.2025",
        "32.01.2025",
        "12.13.2025",
        "2025-02-30",
        "w marcu 2025",
        "marzec 2025",
        "March 2025",
        "12 marca",
        "12.03",
        "1.3.25",  # two-digit years need two-digit day and month
        "12.03.1850",
        "12.XIII.2025",
        "12 foo 2025",
        "20250312",
        "",
    ],
)
def test_parse_date_rejects(raw: str) -> None:
    assert parse_date(raw) is None


DateFound = tuple[date, str]


def dates(text: str) -> list[DateFound]:
    return [(m.value, m.raw) for m in find_dates(text)]


def test_polish_invoice_dates() -> None:
    assert dates(INVOICE_PL) == [
        (date(2025, 3, 14), "14.03.2025"),
        (date(2025, 3, 12), "2025-03-12"),
        (date(2025, 3, 28), "28 marca 2025"),
    ]


def test_english_invoice_dates() -> None:
    assert dates(INVOICE_EN) == [
        (date(2025, 3, 3), "March 3, 2025"),
        (date(2025, 4, 2), "2 April 2025"),
        (date(2025, 4, 2), "2025-04-02"),
    ]


def test_hr_record_has_no_dates() -> None:
    assert find_dates(HR_RECORD) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Okres rozliczeniowy 01.03.2025-31.03.2025",
            [(date(2025, 3, 1), "01.03.2025"), (date(2025, 3, 31), "31.03.2025")],
        ),
        ("Umowa zawarta w Łodzi dnia 2 stycznia 2025 r.", [(date(2025, 1, 2), "2 stycznia 2025")]),
        ("Zatrudniony od 1 PAŹDZIERNIKA 2019", [(date(2019, 10, 1), "1 PAŹDZIERNIKA 2019")]),
        ("Wykonano w marcu 2025, zapłacono 2025-04-10", [(date(2025, 4, 10), "2025-04-10")]),
        ("Faktura VAT nr FV 1/03/2025 z dnia 3/03/2025", [(date(2025, 3, 3), "3/03/2025")]),
        ("Invoice No. 12/03/2025", []),  # an invoice number numbered by month
        ("Nr FV/12/03/2025", []),
        ("Kwota 1.234,56 zł, NIP 526-025-02-74, tel. 12-345-67-89", []),
        (
            "KSeF 5265877635-20250826-0100001AF629-AF, konto 61 1090 1014 0000 0712 1981 2874",
            [],
        ),
        ("Wersja 1.2.2025.4, IP 192.168.12.03", []),
        (
            "Data: 12.03.2025T10:00, sent 2025-03-12T10:15:00Z",
            [(date(2025, 3, 12), "12.03.2025"), (date(2025, 3, 12), "2025-03-12")],
        ),
        (
            "Aneks z 12.III.2025 do umowy z 5 lis 2024",
            [(date(2025, 3, 12), "12.III.2025"), (date(2024, 11, 5), "5 lis 2024")],
        ),
    ],
)
def test_find_dates_in_context(text: str, expected: list[DateFound]) -> None:
    assert dates(text) == expected


def test_date_offsets_point_into_the_original_text() -> None:
    text = "Łódź, dnia 5 października 2025 r."
    (match,) = find_dates(text)
    assert text[match.start : match.end] == match.raw == "5 października 2025"
