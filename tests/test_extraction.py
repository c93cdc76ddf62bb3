"""Field extraction against ground truth: every corpus template born-digital, a sample of clean
and noisy scans through real tesseract (read once per module), and focused snippets for the
traps (seller/buyer, corrections, number formats, multi-rate tables, checksums)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import pytest

from tests.corpus import (
    BORN_DIGITAL,
    CLEAN_SCAN,
    NOISY_SCAN,
    TEMPLATES,
    CorpusItem,
    field_outcomes,
    make_item,
)
from workers.extract.document import ExtractionResult, extract_document
from workers.extract.fields import ExtractedField, FieldSource, FieldStatus
from workers.ocr import ocr_pool
from workers.pages import PageText, read_pages

# Scans chosen to cover the variants: turned 90° and 180°, a 2-page TIFF, JPEG and image PDFs.
SCANS = (
    (CLEAN_SCAN, 3),
    (CLEAN_SCAN, 4),
    (CLEAN_SCAN, 9),
    (CLEAN_SCAN, 13),
    (NOISY_SCAN, 2),
    (NOISY_SCAN, 6),
)
TARGETS = {CLEAN_SCAN: 0.95, NOISY_SCAN: 0.90}

Read = tuple[CorpusItem, list[PageText], ExtractionResult]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Read]:
    directory = tmp_path_factory.mktemp("corpus")
    items = [make_item(directory, BORN_DIGITAL, index) for index in range(len(TEMPLATES))]
    items += [make_item(directory, kind, index) for kind, index in SCANS]
    with ocr_pool(2) as ocr, ThreadPoolExecutor(2) as threads:
        pages = list(
            threads.map(lambda item: read_pages(item.path, item.media_type, executor=ocr), items)
        )
    return {
        item.name: (item, item_pages, extract_document(item_pages, declared_class=None))
        for item, item_pages in zip(items, pages, strict=True)
    }


def _wrong(read: Read) -> dict[str, tuple[Any, Any]]:
    item, _, result = read
    found = {field.name: field.value for field in result.fields}
    outcomes = field_outcomes(item, result.document_class, result.fields)
    return {
        name: (found.get(name, result.document_class), item.expected.get(name, item.expected_class))
        for name, right in outcomes.items()
        if not right
    }


def _of_kind(corpus: dict[str, Read], kind: str) -> list[Read]:
    return [read for read in corpus.values() if read[0].input_kind == kind]


@pytest.mark.parametrize("index", range(len(TEMPLATES)))
def test_born_digital_fields_are_exact(corpus: dict[str, Read], index: int) -> None:
    read = _of_kind(corpus, BORN_DIGITAL)[index]
    assert _wrong(read) == {}, read[0].name
    assert {field.source for field in read[2].fields} == {FieldSource.text_layer}


@pytest.mark.parametrize("kind", [CLEAN_SCAN, NOISY_SCAN])
def test_scans_meet_the_accuracy_target(corpus: dict[str, Read], kind: str) -> None:
    reads = _of_kind(corpus, kind)
    total = sum(len(read[0].expected) + 1 for read in reads)
    wrong = {read[0].name: _wrong(read) for read in reads if _wrong(read)}
    accuracy = 1 - sum(len(errors) for errors in wrong.values()) / total
    assert accuracy >= TARGETS[kind], wrong
    assert all(read[2].document_class == read[0].expected_class for read in reads), wrong


def test_scanned_fields_say_ocr_and_are_less_certain(corpus: dict[str, Read]) -> None:
    """A field read by OCR is never more certain than the page's own OCR confidence."""
    for item, pages, result in corpus.values():
        if item.input_kind == BORN_DIGITAL:
            continue
        assert {field.source for field in result.fields} == {FieldSource.ocr}
        for field in result.fields:
            assert field.page is not None
            assert field.confidence <= (pages[field.page - 1].confidence or 0.0), field


def test_turned_and_multi_page_scans_are_read_upright(corpus: dict[str, Read]) -> None:
    turned = {
        item.variant: pages
        for item, pages, _ in corpus.values()
        if item.variant in ("rot90", "rot180")
    }
    assert turned["rot90"][0].rotation in (90, 270)
    assert turned["rot180"][0].rotation == 180
    two_page = next(pages for item, pages, _ in corpus.values() if item.variant == "tiff")
    assert [page.number for page in two_page] == [1, 2]


# --------------------------------------------------------------------------- snippets


SELLER, BUYER = "5260250274", "7251801126"


def read_text(
    text: str, declared: str | None = None, *, ocr: float | None = None
) -> dict[str, ExtractedField]:
    source: Literal["ocr", "text-layer"] = "ocr" if ocr is not None else "text-layer"
    pages = [
        PageText(n, chunk, source, ocr, 0, 595, 842) for n, chunk in enumerate(text.split("\f"), 1)
    ]
    return {field.name: field for field in extract_document(pages, declared_class=declared).fields}


def values(fields: dict[str, ExtractedField], *names: str) -> tuple[Any, ...]:
    return tuple(fields[name].value if name in fields else None for name in names)


@pytest.mark.parametrize(
    ("line", "number"),
    [
        ("Faktura VAT nr FV/2026/03/117 z dnia 12.03.2026", "FV/2026/03/117"),
        ("FAKTURA nr F 12/2026", "F 12/2026"),
        ("Faktura VAT\nNr faktury: 2026-0001", "2026-0001"),
        ("Faktura VAT / VAT Invoice\nNr / No.: INV-2026-0042", "INV-2026-0042"),
        ("Faktura nr: FS 0042/03/2026 (oryginał)", "FS 0042/03/2026"),
    ],
)
def test_invoice_number_formats(line: str, number: str) -> None:
    fields = read_text(
        f"{line}\nSprzedawca: Alfa S.A.\nNIP: {SELLER}\nDo zapłaty: 123,00 zł", "invoice"
    )
    assert fields["invoice_number"].value == number


def test_dated_title_gives_the_issue_date() -> None:
    fields = read_text(
        "Faktura VAT nr FV/2026/03/117 z dnia 12.03.2026\nDo zapłaty: 1,00 zł", "invoice"
    )
    assert values(fields, "invoice_number", "issue_date") == ("FV/2026/03/117", "2026-03-12")


def test_buyer_printed_first_is_still_the_buyer() -> None:
    text = (
        f"Faktura nr 1/2026\nNabywca:\nBeta S.A.\nNIP: {BUYER}\n\nSprzedawca:\nAlfa Sp. z "
        f"o.o.\nNIP: {SELLER}"
    )
    fields = read_text(text, "invoice")
    assert values(fields, "seller_name", "seller_nip", "buyer_name", "buyer_nip") == (
        "Alfa Sp. z o.o.",
        SELLER,
        "Beta S.A.",
        BUYER,
    )


def test_two_columns_run_into_one_line_are_split() -> None:
    text = (
        "Faktura nr 1/2026\nSprzedawca: Nabywca:\nAlfa Sp. z o.o. sp.k. Beta Handel S.A.\n"
        f"ul. Lipowa 5 al. Jerozolimskie 7\n00-950 Warszawa 31-042 Kraków\nNIP: {SELLER} NIP: "
        f"PL{BUYER}"
    )
    fields = read_text(text, "invoice")
    assert values(fields, "seller_name", "seller_nip", "buyer_name", "buyer_nip") == (
        "Alfa Sp. z o.o. sp.k.",
        SELLER,
        "Beta Handel S.A.",
        BUYER,
    )


def test_recipient_is_not_the_buyer_when_a_buyer_is_named() -> None:
    text = (
        f"Faktura nr 1/2026\nSprzedawca: Alfa S.A.\nNIP: {SELLER}\n\nNabywca: Gmina Kraków\n"
        f"NIP: {BUYER}\n\nOdbiorca: Szkoła Podstawowa nr 5\nNIP: 6260181591"
    )
    assert values(read_text(text, "invoice"), "buyer_name", "buyer_nip") == ("Gmina Kraków", BUYER)


def test_wystawca_and_odbiorca_are_seller_and_buyer() -> None:
    text = (
        f"Faktura nr 1/2026\nWystawca: Alfa S.A.\nNIP: {SELLER}\n\nOdbiorca: Beta S.A.\nNIP: "
        f"{BUYER}"
    )
    assert values(read_text(text, "invoice"), "seller_nip", "buyer_nip") == (SELLER, BUYER)


@pytest.mark.parametrize(
    ("title", "reference", "own", "corrected"),
    [
        (
            "Faktura korygująca nr KOR/2026/03/5",
            "Dotyczy faktury nr FV/2026/02/88 z dnia 15.02.2026",
            "KOR/2026/03/5",
            "FV/2026/02/88",
        ),
        (
            "Korekta faktury nr FK 1/2026",
            "Korekta do faktury VAT nr 2026-0623 z dnia 01-03-2026",
            "FK 1/2026",
            "2026-0623",
        ),
        (
            "FAKTURA VAT KORYGUJĄCA nr 7/2026",
            "Faktura korygowana nr F 3/2026",
            "7/2026",
            "F 3/2026",
        ),
    ],
)
def test_correction_numbers_its_own_and_the_corrected_invoice(
    title: str, reference: str, own: str, corrected: str
) -> None:
    text = (
        f"{title}\n{reference}\n            Wartość netto Kwota VAT Wartość brutto\n"
        "Przed korektą 1 000,00 230,00 1 230,00\nPo korekcie 900,00 207,00 1 107,00\n"
        "Różnica -100,00 -23,00 -123,00\nKwota do zwrotu: 123,00 zł"
    )
    fields = read_text(text)
    assert values(fields, "invoice_kind", "invoice_number", "corrected_invoice_number") == (
        "KOR",
        own,
        corrected,
    )
    assert values(fields, "net_total", "vat_total", "gross_total") == (
        "-100.00",
        "-23.00",
        "-123.00",
    )


def test_correction_keeps_the_corrected_invoices_ksef_number_apart() -> None:
    text = (
        "Faktura korygująca nr KOR/1/2026\nDo faktury nr F 9/2026\n"
        "Numer KSeF faktury korygowanej: 5260250274-20260312-CB5C3F98E277-31\nKwota do zwrotu: "
        "1,00 zł"
    )
    fields = read_text(text, "correction")
    assert "ksef_number" not in fields
    assert fields["corrected_ksef_number"].value == "5260250274-20260312-CB5C3F98E277-31"


MULTI_RATE = """Stawka VAT Wartość netto Kwota VAT Wartość brutto
23% 1 000,00 230,00 1 230,00
8% 500,00 40,00 540,00
5% 100,00 5,00 105,00
Razem 1 600,00 275,00 1 875,00
Razem do zapłaty: 1 875,00 zł"""
BREAKDOWN = [
    {"rate": "23", "net": "1000.00", "vat": "230.00"},
    {"rate": "8", "net": "500.00", "vat": "40.00"},
    {"rate": "5", "net": "100.00", "vat": "5.00"},
]


def test_multi_rate_table() -> None:
    fields = read_text(f"Faktura VAT nr F 1/2026\n{MULTI_RATE}", "invoice")
    assert values(fields, "net_total", "vat_total", "gross_total", "currency") == (
        "1600.00",
        "275.00",
        "1875.00",
        "PLN",
    )
    assert fields["vat_breakdown"].value == BREAKDOWN


def test_multi_rate_table_torn_into_columns_by_ocr() -> None:
    """Tesseract often returns each table column as a block; the arithmetic still holds."""
    text = (
        "Faktura VAT nr F 1/2026\nStawka VAT\n23%\n8%\n5%\nRazem\n\nWartość netto\n1 "
        "000,00\n500,00\n"
        "100,00\n1 600,00\n\nKwota VAT\n230,00\n40,00\n5,00\n275,00\n\nDo zaptaty: 1 875,00 PLN"
    )
    fields = read_text(text, "invoice", ocr=0.9)
    assert values(fields, "net_total", "vat_total", "gross_total") == (
        "1600.00",
        "275.00",
        "1875.00",
    )
    assert fields["vat_breakdown"].value == BREAKDOWN


def test_row_where_ocr_dropped_a_thousands_space() -> None:
    text = (
        "Faktura nr 6/2026\n23% 23 047,05 5 300,82 28 347,87\n8% 48 908,72 3 912,70 52 821,42\n"
        "Razem 71 955,77 9213,52 81 169,29\nRazem do zapłaty: 81 169,29 zł"
    )
    fields = read_text(text, "invoice", ocr=0.9)
    totals = values(fields, "net_total", "vat_total", "gross_total")
    assert totals == ("71955.77", "9213.52", "81169.29")
    assert [rate["rate"] for rate in fields["vat_breakdown"].value] == ["23", "8"]


def test_two_line_grosses_adding_up_to_the_total_are_not_net_and_vat() -> None:
    """OCR tore the table apart; the labelled totals win over a coincidence of two amounts."""
    text = (
        "Faktura nr 7/2026\nRazem do zapłaty: 47 764,16 PLN\nMechanizm podzielonej ptatnosci\n"
        "Razem netto: 38 832,65 PLN\nRazem VAT: 8 931,51 PLN\nRazem brutto: 47 764,16 PLN\n"
        "Wart. brutto\n38 664,89\n9 099,27"
    )
    fields = read_text(text, "invoice", ocr=0.9)
    totals = values(fields, "net_total", "vat_total", "gross_total", "split_payment")
    assert totals == ("38832.65", "8931.51", "47764.16", True)


def test_summary_lines_and_razem_do_zaplaty() -> None:
    text = (
        "Faktura nr 2/2026\nRazem netto: 100,00 zł\nRazem VAT: 23,00 zł\nRazem brutto: 123,00 "
        "zł\nRazem do zapłaty: 123,00 zł"
    )
    assert values(read_text(text, "invoice"), "net_total", "vat_total", "gross_total") == (
        "100.00",
        "23.00",
        "123.00",
    )


def test_eur_invoice_ignores_the_vat_in_pln_line() -> None:
    text = (
        "Faktura VAT / VAT Invoice\nNr / No.: INV-2026-0042\n23% 1 000,00 230,00 1 230,00\n"
        "Do zapłaty / Amount due: 1 230,00 EUR\nKurs EUR/PLN: 4,2978\nKwota VAT w PLN / VAT "
        "amount in PLN: 988,49 PLN"
    )
    fields = read_text(text, "invoice")
    assert values(fields, "vat_total", "gross_total", "currency") == ("230.00", "1230.00", "EUR")


def test_payment_terms() -> None:
    text = (
        "Faktura nr 3/2026\nData wystawienia: 2026-03-12\nData sprzedaży: 2026-03-10\n"
        "Sposób płatności: przelew\nTermin płatności: 14 dni\n"
        "Nr konta: PL59 1140 0000 1819 0937 8657 9754\nMechanizm podzielonej płatności\n"
        "Numer KSeF: 5260250274-20260312-CB5C3F98E277-31"
    )
    fields = read_text(text, "invoice")
    assert values(fields, "issue_date", "sale_date", "due_date", "payment_method") == (
        "2026-03-12",
        "2026-03-10",
        "2026-03-26",
        "transfer",
    )
    assert fields["due_date"].confidence < fields["issue_date"].confidence  # inferred, not printed
    assert values(fields, "bank_account", "split_payment", "ksef_number") == (
        "PL59114000001819093786579754",
        True,
        "5260250274-20260312-CB5C3F98E277-31",
    )


def test_failed_checksums_are_candidates_never_confirmed() -> None:
    text = (
        "Faktura nr 4/2026\nSprzedawca: Alfa S.A.\nNIP: 526-025-02-75\n"
        "Numer KSeF: 5260250274-20260312-CB5C3F98E277-32"
    )
    fields = read_text(text, "invoice")
    for name in ("seller_nip", "ksef_number"):
        assert fields[name].status == FieldStatus.candidate, name
        assert fields[name].reason
        assert fields[name].confidence < 0.5


def test_ocr_confidence_scales_field_confidence() -> None:
    text = f"Faktura nr 5/2026\nSprzedawca: Alfa S.A.\nNIP: {SELLER}"
    printed = read_text(text, "invoice")["seller_nip"]
    scanned = read_text(text, "invoice", ocr=0.8)["seller_nip"]
    assert (scanned.source, printed.source) == (FieldSource.ocr, FieldSource.text_layer)
    assert scanned.confidence == pytest.approx(printed.confidence * 0.8, abs=0.001)


def test_receipt() -> None:
    text = (
        "Żabka Polska Sp. z o.o.\nul. Lipowa 5\nNIP 526-025-02-74\n2026-03-12 14:32\nPARAGON "
        "FISKALNY\nChleb 4,99 C\nSUMA PLN 4,99\nKarta 4,99"
    )
    fields = read_text(text)
    names = ("seller_name", "seller_nip", "issue_date", "gross_total", "currency", "payment_method")
    assert values(fields, *names) == (
        "Żabka Polska Sp. z o.o.",
        SELLER,
        "2026-03-12",
        "4.99",
        "PLN",
        "card",
    )


# --------------------------------------------------------------------------- contracts and HR

CONTRACT = """UMOWA NAJMU LOKALU UŻYTKOWEGO
zawarta w dniu 12 marca 2026 r. w Krakowie pomiędzy:
Alfa Sp. z o.o. z siedzibą w Warszawie, ul. Lipowa 5, 00-950 Warszawa, wpisaną do rejestru
przedsiębiorców pod numerem KRS 0000598952, NIP 526-025-02-74, REGON 919482192,
zwaną dalej „Wynajmującym”,
a
Beta S.A. z siedzibą w Krakowie, NIP 7251801126, zwaną dalej „Najemcą”.
§ 2. Umowa zostaje zawarta {term}.
§ 3. Czynsz najmu wynosi 4 500,00 zł netto miesięcznie.
Najemca wpłaci kaucję w wysokości 9 000,00 zł.
§ 4. {notice}"""


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        (
            "na czas określony od dnia 1 kwietnia 2026 r. do dnia 31 marca 2028 r.",
            (False, "2026-04-01", "2028-03-31"),
        ),
        ("na czas nieokreślony, począwszy od dnia 1.04.2026 r.", (True, "2026-04-01", None)),
    ],
)
def test_contract_term(term: str, expected: tuple[Any, ...]) -> None:
    fields = read_text(CONTRACT.format(term=term, notice=""))
    assert values(fields, "indefinite", "start_date", "end_date") == expected
    assert values(fields, "contract_kind", "signing_date", "contract_value", "currency") == (
        "umowa najmu",
        "2026-03-12",
        "4500.00",
        "PLN",
    )
    assert fields["parties"].value == [
        {"name": "Alfa Sp. z o.o.", "nip": SELLER, "krs": "0000598952", "regon": "919482192"},
        {"name": "Beta S.A.", "nip": BUYER, "krs": None, "regon": None},
    ]


@pytest.mark.parametrize(
    ("notice", "period"),
    [
        (
            "Każda ze stron może wypowiedzieć umowę z zachowaniem trzymiesięcznego okresu "
            "wypowiedzenia.",
            "P3M",
        ),
        ("Okres wypowiedzenia umowy wynosi 1 (jeden) miesiąc.", "P1M"),
        ("Umowę można rozwiązać z zachowaniem 30-dniowego okresu wypowiedzenia.", "P30D"),
        ("Stronom przysługuje dwutygodniowy okres wypowiedzenia.", "P2W"),
    ],
)
def test_notice_period(notice: str, period: str) -> None:
    fields = read_text(CONTRACT.format(term="na czas nieokreślony", notice=notice))
    assert fields["notice_period"].value == period


def test_party_roles_in_ocr_quotes() -> None:
    text = (
        "UMOWA SPRZEDAŻY\nzawarta w dniu 7 maja 2025 r. w Łodzi pomiędzy:\n"
        f"Alfa Sp. z 0.0. z siedzibą w Łodzi, NIP {SELLER}, zwaną dalej ,Sprzedajacym”,\na\n"
        f"Beta sp. j. z siedzibą w Białymstoku, NIP {BUYER}, zwaną dalej „Kupującym”.\n§ 1."
    )
    names = [party["name"] for party in read_text(text, ocr=0.95)["parties"].value]
    assert names == ["Alfa Sp. z o.o.", "Beta sp. j."]


def test_annex_is_dated_by_its_own_signing() -> None:
    text = (
        "ANEKS NR 1\ndo umowy najmu nr 5/2025 z dnia 3 lutego 2025 r.\nzawarty w dniu 10.01.2026 "
        "r. pomiędzy:\n"
    )
    fields = read_text(text + CONTRACT.split("pomiędzy:\n", 1)[1].format(term="", notice=""))
    assert values(fields, "contract_kind", "signing_date") == ("umowa najmu", "2026-01-10")


PESEL = "85031465420"


def test_leave_dates_are_not_employment_dates() -> None:
    text = (
        f"Kraków, 02.06.2026\nImię i nazwisko: Anna Wiśniewska\nPESEL: {PESEL}\nWNIOSEK URLOPOWY\n"
        "Proszę o udzielenie mi urlopu wypoczynkowego w dniach od 07.07.2026 do 18.07.2026."
    )
    fields = read_text(text)
    assert values(fields, "hr_document_kind", "employee_name", "pesel") == (
        "wniosek urlopowy",
        "Anna Wiśniewska",
        PESEL,
    )
    assert "employment_start" not in fields
    assert "employment_end" not in fields


def test_employment_certificate_period() -> None:
    text = (
        "ŚWIADECTWO PRACY\n1. Stwierdza się, że:\nImię i nazwisko: Jan Kowalski\nNumer PESEL: "
        f"{PESEL}\n"
        "był(a) zatrudniony(a) w Alfa Sp. z o.o. w okresie od 01.02.2019 do 31.12.2025 w pełnym "
        "wymiarze."
    )
    fields = read_text(text)
    assert values(fields, "hr_document_kind", "employment_start", "employment_end") == (
        "świadectwo pracy",
        "2019-02-01",
        "2025-12-31",
    )


def test_employment_contract_for_a_fixed_term() -> None:
    text = (
        "UMOWA O PRACĘ\nzawarta w dniu 20.03.2026 r.\nImię i nazwisko pracownika: Jan Kowalski\n"
        f"PESEL: {PESEL}\n1. Strony zawierają umowę o pracę na czas określony do dnia 31.03.2027 "
        "r.\n"
        "2. Data rozpoczęcia pracy: 01.04.2026 r."
    )
    fields = read_text(text)
    assert values(fields, "hr_document_kind", "employment_start", "employment_end") == (
        "umowa o pracę",
        "2026-04-01",
        "2027-03-31",
    )


def test_invalid_pesel_is_a_candidate() -> None:
    fields = read_text("UMOWA O PRACĘ\nImię i nazwisko: Jan Kowalski\nPESEL: 85031465421")
    assert fields["pesel"].status == FieldStatus.candidate
    assert fields["pesel"].reason
