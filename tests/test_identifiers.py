"""Polish identifiers: checksums against independently computed check digits and python-stdnum,
and find_identifiers on realistic Polish and English documents, clean and OCR-damaged."""

from __future__ import annotations

import random
from datetime import date

import pytest
from stdnum.pl import nip as stdnum_nip
from stdnum.pl import pesel as stdnum_pesel
from stdnum.pl import regon as stdnum_regon

from workers.extract.identifiers import (
    IdentifierMatch,
    find_identifiers,
    is_valid_iban,
    is_valid_ksef_number,
    is_valid_nip,
    is_valid_pesel,
    is_valid_regon,
    mask_pesel,
    normalise_nip,
    pesel_birth_date,
)

# --- check-digit helpers, written from the published algorithms ---------------------------


def nip_remainder(first9: str) -> int:
    return sum(int(d) * w for d, w in zip(first9, (6, 5, 7, 2, 3, 4, 5, 6, 7), strict=True)) % 11


def make_nip(first9: str) -> str:
    assert nip_remainder(first9) != 10, "this prefix has no valid NIP"
    return first9 + str(nip_remainder(first9))


def make_regon9(first8: str) -> str:
    weights = (8, 9, 2, 3, 4, 5, 6, 7)
    return first8 + str(sum(int(d) * w for d, w in zip(first8, weights, strict=True)) % 11 % 10)


def make_regon14(regon9: str, unit: str) -> str:
    first13 = regon9 + unit
    weights = (2, 4, 8, 5, 0, 9, 7, 3, 6, 1, 2, 4, 8)
    return first13 + str(sum(int(d) * w for d, w in zip(first13, weights, strict=True)) % 11 % 10)


def make_pesel(born: date, serial: str = "0123") -> str:
    century_offset = {18: 80, 19: 0, 20: 20, 21: 40, 22: 60}[born.year // 100]
    first10 = f"{born.year % 100:02d}{born.month + century_offset:02d}{born.day:02d}{serial}"
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    total = sum(int(d) * w for d, w in zip(first10, weights, strict=True))
    return first10 + str((10 - total % 10) % 10)


def make_pl_iban(bank7: str, account16: str) -> str:
    """'PL' + check digits + 8-digit sort code (with its own check digit) + 16-digit account."""
    total = sum(int(d) * w for d, w in zip(bank7, (3, 9, 7, 1, 3, 9, 7), strict=True)) % 10
    bban = bank7 + str((10 - total) % 10) + account16
    return "PL" + iban_check_digits("PL", bban) + bban


def iban_check_digits(country: str, bban: str) -> str:
    letters = "".join(str(ord(char) - 55) for char in country)
    return f"{98 - int(bban + letters + '00') % 97:02d}"


def crc8_by_polynomial_division(data: bytes) -> int:
    """CRC-8 (x^8 + x^2 + x + 1, init 0) as the remainder of a GF(2) division."""
    remainder = int.from_bytes(data, "big") << 8
    generator = 0x107
    while remainder.bit_length() > 8:
        remainder ^= generator << (remainder.bit_length() - 9)
    return remainder


def make_ksef(nip: str, day: str, technical: str) -> str:
    body = f"{nip}-{day}-{technical}"
    return f"{body}-{crc8_by_polynomial_division(body.encode()):02X}"


# --- known values ------------------------------------------------------------------------

MF_NIP = "5260250274"  # Ministerstwo Finansów
SELLER_NIP = "5265877635"  # the seller in the official KSeF number example
BUYER_NIP = "7792433527"
REGON9 = "146239067"
REGON14 = make_regon14(REGON9, "0001")
IBAN = "PL61109010140000071219812874"
OFFICIAL_KSEF = "5265877635-20250826-0100001AF629-AF"  # CIRFMF ksef-docs, numer-ksef.md
PESEL_1944 = "44051401359"


def test_helpers_agree_with_python_stdnum() -> None:
    rng = random.Random(20250312)
    for _ in range(200):
        first9 = f"{rng.randrange(10**9):09d}"
        if nip_remainder(first9) != 10:
            assert stdnum_nip.is_valid(make_nip(first9))
        regon = make_regon9(f"{rng.randrange(10**8):08d}")
        assert stdnum_regon.is_valid(regon)
        assert stdnum_regon.is_valid(make_regon14(regon, f"{rng.randrange(10**4):04d}"))
        born = date(1900 + rng.randrange(200), 1 + rng.randrange(12), 1 + rng.randrange(28))
        assert stdnum_pesel.is_valid(make_pesel(born, f"{rng.randrange(10**4):04d}"))


def test_checksums_agree_with_python_stdnum_on_random_numbers() -> None:
    rng = random.Random(97)
    for _ in range(3000):
        assert is_valid_nip(n := f"{rng.randrange(10**10):010d}") == stdnum_nip.is_valid(n)
        assert is_valid_regon(r := f"{rng.randrange(10**9):09d}") == stdnum_regon.is_valid(r)
        assert is_valid_regon(r := f"{rng.randrange(10**14):014d}") == stdnum_regon.is_valid(r)
        assert is_valid_pesel(p := f"{rng.randrange(10**11):011d}") == stdnum_pesel.is_valid(p)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (MF_NIP, True),
        (SELLER_NIP, True),
        (BUYER_NIP, True),
        ("0000000000", True),  # checksum-valid, yet no taxpayer has it: validity != existence
        ("1111111111", True),
        ("5260250275", False),
        ("526025027", False),
        ("52602502741", False),
        ("526-025-02-74", False),  # is_valid_* take normalised values
        ("526025027a", False),
        ("５２６０２５０２７４", False),  # fullwidth digits are not ASCII digits
        ("1230000000", False),  # weighted sum mod 11 is 10: no check digit can match
    ],
)
def test_is_valid_nip(value: str, valid: bool) -> None:
    assert is_valid_nip(value) is valid


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5260250274", MF_NIP),
        ("526-025-02-74", MF_NIP),
        ("526 025 02 74", MF_NIP),
        ("526-02-50-274", MF_NIP),
        ("PL5260250274", MF_NIP),
        ("PL 526-025-02-74", MF_NIP),
        ("pl5260250274", MF_NIP),
        (" 526\u00a0025\u00a002\u00a074 ", MF_NIP),
        ("5260250275", None),
        ("DE5260250274", None),
        ("NIP 5260250274", None),
        ("", None),
    ],
)
def test_normalise_nip(raw: str, expected: str | None) -> None:
    assert normalise_nip(raw) == expected


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (REGON9, True),
        (REGON14, True),
        ("192598184", True),
        ("12345678512347", True),
        ("146239068", False),
        (REGON14[:-1] + str((int(REGON14[-1]) + 1) % 10), False),
        ("146239068" + REGON14[9:], False),  # the 9-digit parent part must hold too
        ("1462390670", False),
    ],
)
def test_is_valid_regon(value: str, valid: bool) -> None:
    assert is_valid_regon(value) is valid


@pytest.mark.parametrize(
    ("born", "encoded_month"),
    [
        (date(1944, 5, 14), "05"),
        (date(1899, 12, 31), "92"),
        (date(2002, 7, 8), "27"),
        (date(2100, 1, 1), "41"),
        (date(2200, 2, 28), "62"),
    ],
)
def test_pesel_birth_date_for_every_century(born: date, encoded_month: str) -> None:
    pesel = make_pesel(born)
    assert pesel[2:4] == encoded_month
    assert is_valid_pesel(pesel)
    assert pesel_birth_date(pesel) == born


@pytest.mark.parametrize(
    ("value", "valid", "born"),
    [
        (PESEL_1944, True, date(1944, 5, 14)),
        ("44051401358", False, date(1944, 5, 14)),  # wrong check digit, date still readable
        ("44133101351", False, None),  # month 13
        ("99023012340", False, None),  # 30 February
        ("4405140135", False, None),
        ("4405140135x", False, None),
    ],
)
def test_pesel_validity_and_birth_date(value: str, valid: bool, born: date | None) -> None:
    assert is_valid_pesel(value) is valid
    assert pesel_birth_date(value) == born


@pytest.mark.parametrize(
    ("value", "masked"),
    [(PESEL_1944, "*******1359"), ("1234", "****"), ("", "")],
)
def test_mask_pesel_keeps_only_the_last_four(value: str, masked: str) -> None:
    assert mask_pesel(value) == masked


GENERATED_IBAN = make_pl_iban("1020555", "0000123456789012")
BAD_SORT_CODE = "1020555" + str((int(GENERATED_IBAN[11]) + 1) % 10) + "0000123456789012"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (IBAN, True),
        ("PL61 1090 1014 0000 0712 1981 2874", True),
        (GENERATED_IBAN, True),
        ("DE89370400440532013000", True),
        ("GB82WEST12345698765432", True),
        ("PL62109010140000071219812874", False),  # mod 97
        ("61109010140000071219812874", False),  # a bare NRB has no country code
        ("PL611090101400000712198128", False),  # too short for Poland
        ("PL" + iban_check_digits("PL", BAD_SORT_CODE) + BAD_SORT_CODE, False),  # sort code
        ("DE89370400440532013001", False),
    ],
)
def test_is_valid_iban(value: str, valid: bool) -> None:
    assert is_valid_iban(value) is valid


def test_bad_sort_code_passes_mod_97_but_not_the_bank_check() -> None:
    iban = "PL" + iban_check_digits("PL", BAD_SORT_CODE) + BAD_SORT_CODE
    assert int(iban[4:] + "2521" + iban[2:4]) % 97 == 1
    assert not is_valid_iban(iban)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (OFFICIAL_KSEF, True),
        (make_ksef(MF_NIP, "20260201", "0A1B2C3D4E5F"), True),
        (OFFICIAL_KSEF[:-2] + "AE", False),
        (make_ksef("5260250275", "20260201", "0A1B2C3D4E5F"), False),  # NIP part invalid
        (make_ksef(MF_NIP, "20250230", "0A1B2C3D4E5F"), False),  # 30 February
        (OFFICIAL_KSEF.lower(), False),
        (OFFICIAL_KSEF[:-3], False),
        # the FA(2) examples in ../shared/ksef carry placeholders that fail the CRC-8
        ("9999999999-20230908-8BEF280C8D35-4D", False),
    ],
)
def test_is_valid_ksef_number(value: str, valid: bool) -> None:
    assert is_valid_ksef_number(value) is valid


def test_crc_helper_reproduces_the_official_example() -> None:
    assert make_ksef(SELLER_NIP, "20250826", "0100001AF629") == OFFICIAL_KSEF


# --- find_identifiers ---------------------------------------------------------------------

Found = tuple[str, str, bool, bool]  # kind, value, valid, repaired


def summary(matches: list[IdentifierMatch]) -> list[Found]:
    return [(m.kind, m.value, m.valid, m.repaired) for m in matches]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NIP: 5260250274", [("nip", MF_NIP, True, False)]),
        ("NIP 526-025-02-74", [("nip", MF_NIP, True, False)]),
        ("NIP 526 025 02 74", [("nip", MF_NIP, True, False)]),
        ("NIP: 526-02-50-274", [("nip", MF_NIP, True, False)]),
        ("VAT ID: PL5260250274", [("nip", MF_NIP, True, False)]),
        ("NIP UE: PL 526-025-02-74", [("nip", MF_NIP, True, False)]),
        ("Tax ID 5260250274", [("nip", MF_NIP, True, False)]),
        ("Nr NIP\n5260250274", [("nip", MF_NIP, True, False)]),
        ("NIP5260250274", [("nip", MF_NIP, True, False)]),  # OCR dropped the space
        ("PESEL44051401359", [("pesel", PESEL_1944, True, False)]),
        ("5260250274", [("nip", MF_NIP, True, False)]),  # no cue: reported because valid
        ("NIP: 5260250275", [("nip", "5260250275", False, False)]),
        ("5260250275", []),  # no cue and invalid: just a number
        ("PL5260250275", [("nip", "5260250275", False, False)]),  # "PL" + 10 digits is a NIP
        ("KRS 0000123456", [("krs", "0000123456", True, False)]),
        ("KRS: 5260250274", [("krs", MF_NIP, True, False)]),  # the cue decides, not the checksum
        ("Nr KRS: 123456", [("krs", "123456", False, False)]),
        ("REGON: " + REGON9, [("regon", REGON9, True, False)]),
        ("REGON " + REGON14, [("regon", REGON14, True, False)]),
        ("REGON: 146239068", [("regon", "146239068", False, False)]),
        ("PESEL: " + PESEL_1944, [("pesel", PESEL_1944, True, False)]),
        ("PESEL 44051401358", [("pesel", "44051401358", False, False)]),
        (PESEL_1944, [("pesel", PESEL_1944, True, False)]),
        ("tel. 600123456", []),
        ("tel. 022-525-02-74", []),  # a phone written like a NIP
        ("Faktura nr 1234567890", []),
        ("nr konta: 61 1090 1014 0000 0712 1981 2874", [("iban", IBAN, True, False)]),
        ("IBAN PL61 1090 1014 0000 0712 1981 2874", [("iban", IBAN, True, False)]),
        ("61109010140000071219812874", [("iban", IBAN, True, False)]),
        ("61-1090-1014-0000-0712-1981-2874", [("iban", IBAN, True, False)]),
        (
            "PL62 1090 1014 0000 0712 1981 2874",
            [("iban", "PL62109010140000071219812874", False, False)],
        ),
        ("IBAN: DE89 3704 0044 0532 0130 00", [("iban", "DE89370400440532013000", True, False)]),
        ("IBAN: DE89 3704 0044 0532 0130 01", [("iban", "DE89370400440532013001", False, False)]),
        ("DE89 3704 0044 0532 0130 01", []),  # a foreign IBAN-like string needs a cue when invalid
        (
            "GB82 WEST 1234 5698 7654 32 BIC NWBKGB2L",
            [("iban", "GB82WEST12345698765432", True, False)],
        ),
        (f"KSeF: {OFFICIAL_KSEF}", [("ksef_number", OFFICIAL_KSEF, True, False)]),
        (
            "9999999999-20230908-8BEF280C8D35-4D",
            [("ksef_number", "9999999999-20230908-8BEF280C8D35-4D", False, False)],
        ),
        (
            "NIP: 5260250274, REGON: 146239067",
            [("nip", MF_NIP, True, False), ("regon", REGON9, True, False)],
        ),
        (
            "NIP / REGON: 5260250274 / 146239067",
            [("nip", MF_NIP, True, False), ("regon", REGON9, True, False)],
        ),
    ],
)
def test_find_identifiers_spellings(text: str, expected: list[Found]) -> None:
    assert summary(find_identifiers(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # OCR confusions repaired because the repaired value passes the checksum
        ("NIP: 526O250274", [("nip", MF_NIP, True, True)]),
        ("NIP: 526-O25-O2-74", [("nip", MF_NIP, True, True)]),
        ("NIP 5Z60Z50274", [("nip", MF_NIP, True, True)]),
        ("NIP: 526-587-76-3S", [("nip", SELLER_NIP, True, True)]),
        ("REGON l46239067", [("regon", REGON9, True, True)]),
        ("PESEL: 44O514O1359", [("pesel", PESEL_1944, True, True)]),
        ("PL61 1090 1014 OOOO 0712 1981 2874", [("iban", IBAN, True, True)]),
        ("| 5260250274 |", [("nip", MF_NIP, True, False)]),
        ("|5260250274|", [("nip", MF_NIP, True, False)]),
        ("5265877635-2025O826-0100001AF629-AF", [("ksef_number", OFFICIAL_KSEF, True, True)]),
        ("5265877635-20250826-O1OOOO1AF629-AF", [("ksef_number", OFFICIAL_KSEF, True, True)]),
        ("NIP: 526-587-7 6-35", [("nip", SELLER_NIP, True, False)]),  # OCR inserted a space
        ("PESEL: 440514 01359", [("pesel", PESEL_1944, True, False)]),
        ("KRS 0000 123456", [("krs", "0000123456", True, False)]),
        # repair would not give a valid number: kept as found, invalid, not repaired
        ("NIP: 526O250275", [("nip", "526O250275", False, False)]),
        ("NIP: 779-243-35-2B", [("nip", "779243352B", False, False)]),
        ("526O250275", []),
        ("5260Z50274", []),  # letters in a bare run without a cue: a code, not repaired
        ("KRS pod numerem 0000123456", [("krs", "0000123456", True, False)]),
        (
            "PL61 1090 1014 OOOO 0712 1981 2875",
            [("iban", "PL6110901014OOOO071219812875", False, False)],
        ),
        # KRS has no checksum: never repaired
        ("KRS 0000l23456", [("krs", "0000l23456", False, False)]),
        # too damaged to be a number
        ("NIP: SOBOlOZ274", []),
    ],
)
def test_find_identifiers_ocr_damage(text: str, expected: list[Found]) -> None:
    assert summary(find_identifiers(text)) == expected


def test_repair_reason_names_the_substitution() -> None:
    (match,) = find_identifiers("NIP: 526O25O274")
    assert match.reason == "repaired OCR confusion O→0"
    assert match.raw == "526O25O274"
    (failed,) = find_identifiers("NIP: 526O250275")
    assert failed.reason == "NIP checksum failed (no OCR repair makes it pass)"


def test_nip_inside_ksef_number_or_iban_is_not_reported_again() -> None:
    text = f"Numer KSeF {OFFICIAL_KSEF}; konto {IBAN}"
    assert [m.kind for m in find_identifiers(text)] == ["ksef_number", "iban"]
    assert find_identifiers(text, kinds=["nip"]) == []


def test_kinds_filter_and_offsets() -> None:
    text = f"NIP: {MF_NIP}\nPESEL: {PESEL_1944}\n"
    (pesel,) = find_identifiers(text, kinds=["pesel"])
    assert text[pesel.start : pesel.end] == pesel.raw == PESEL_1944


# --- realistic documents -------------------------------------------------------------------

INVOICE_PL = """\
FAKTURA VAT nr FV/2025/03/0147                                   Oryginał
Data wystawienia: 14.03.2025 r.                    Miejsce wystawienia: Warszawa
Data sprzedaży: 2025-03-12
Numer KSeF: 5265877635-20250826-0100001AF629-AF

Sprzedawca:                                  Nabywca:
Przykładowa Spółka z o.o.                    Kowalski Usługi Budowlane Jan Kowalski
ul. Marszałkowska 10/12, 00-590 Warszawa     ul. Długa 5 m. 3, 31-147 Kraków
NIP: 526-587-76-35                           NIP: PL 779-243-35-27
REGON: 146239067                             tel. 600 700 800
KRS: 0000123456
Bank: mBank S.A.   Nr rachunku: PL61 1090 1014 0000 0712 1981 2874

Lp. Nazwa towaru/usługi   J.m.  Ilość  Cena netto  Wart. netto  VAT  Kwota VAT  Wart. brutto
1   Usługa wdrożeniowa    h     12     250,00      3 000,00     23%  690,00     3 690,00
2   Licencja roczna       szt.  1      1 200,00    1 200,00     23%  276,00     1 476,00
                                       Razem:      4 200,00          966,00     5 166,00
Do zapłaty: 5 166,00 zł
Słownie: pięć tysięcy sto sześćdziesiąt sześć złotych 00/100
Sposób płatności: przelew          Termin płatności: 28 marca 2025 r.
Mechanizm podzielonej płatności
"""

INVOICE_PL_IDENTIFIERS: list[Found] = [
    ("ksef_number", OFFICIAL_KSEF, True, False),
    ("nip", SELLER_NIP, True, False),
    ("nip", BUYER_NIP, True, False),
    ("regon", REGON9, True, False),
    ("krs", "0000123456", True, False),
    ("iban", IBAN, True, False),
]

INVOICE_EN = """\
INVOICE No. INV-2025-0042
Invoice date: March 3, 2025                 Due date: 2 April 2025
Supplier: Przykładowa Sp. z o.o., Tax ID: PL5265877635, Company reg. (KRS): 0000123456
Customer: Acme Ltd, 1 High Street, London EC1A 1BB, VAT No: GB 123 4567 89
Bank account (IBAN): PL61 1090 1014 0000 0712 1981 2874, SWIFT: BREXPLPWXXX
EUR account: DE89 3704 0044 0532 0130 00
Phone: +48 22 123 45 67

Description               Qty    Unit price      Amount
Consulting services       10     EUR 150.00      EUR 1,500.00
Travel expenses           1      EUR 320.50      EUR 320.50

Subtotal: EUR 1,820.50
VAT 0% (reverse charge): EUR 0.00
Total due: EUR 1,820.50 by 2025-04-02
"""

INVOICE_EN_IDENTIFIERS: list[Found] = [
    ("nip", SELLER_NIP, True, False),
    ("krs", "0000123456", True, False),
    ("iban", IBAN, True, False),
    ("iban", "DE89370400440532013000", True, False),
]

HR_RECORD = f"""\
ŚWIADECTWO PRACY
Pracownik: Anna Nowak, PESEL: {PESEL_1944}, zam. Łódź
Pracodawca: Przykładowa Sp. z o.o., NIP 5265877635, REGON {REGON14}
Zleceniobiorca: Piotr Zieliński, PESEL 44051401358
"""


def test_polish_invoice_identifiers() -> None:
    assert summary(find_identifiers(INVOICE_PL)) == INVOICE_PL_IDENTIFIERS


def test_english_invoice_identifiers() -> None:
    assert summary(find_identifiers(INVOICE_EN)) == INVOICE_EN_IDENTIFIERS


def test_hr_record_identifiers() -> None:
    assert summary(find_identifiers(HR_RECORD)) == [
        ("pesel", PESEL_1944, True, False),
        ("nip", SELLER_NIP, True, False),
        ("regon", REGON14, True, False),
        ("pesel", "44051401358", False, False),
    ]


def test_ocr_damaged_invoice_identifiers() -> None:
    damaged = (
        INVOICE_PL.replace("526-587-76-35", "526-587-76-3S")
        .replace("779-243-35-27", "779-243-35-2B")
        .replace("0000 0712", "OOOO 0712")
    )
    found = find_identifiers(damaged)
    assert summary(found) == [
        ("ksef_number", OFFICIAL_KSEF, True, False),
        ("nip", SELLER_NIP, True, True),
        ("nip", "779243352B", False, False),
        ("regon", REGON9, True, False),
        ("krs", "0000123456", True, False),
        ("iban", IBAN, True, True),
    ]
    assert [m.raw for m in found][1:3] == ["526-587-76-3S", "PL 779-243-35-2B"]
