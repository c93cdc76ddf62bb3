"""KSeF invoices: hardened parsing, offline XSD validation, typed result, fields and text.

Ground truth comes from the official FA(2) examples in ../shared/ksef/fa2 and from our own FA(3)
invoices in tests/data/ksef/fa3, written from the FA(3) schema (which judges them valid).
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests import samples
from workers.extract.fields import ExtractedField, FieldSource, FieldStatus
from workers.extract.ksef import (
    DEFAULT_XSD_DIR,
    KsefInvoice,
    KsefRejected,
    ksef_fields,
    ksef_text,
    parse_ksef,
)
from workers.extract.ksef_model import AdvancePayment, BankAccount, CorrectedInvoice, SalePeriod

FA3_DIR = Path(__file__).parent / "data" / "ksef" / "fa3"
FA2_EXAMPLES = sorted(
    {*samples.KSEF_FA2_DIR.glob("*FA_2*.xml"), *samples.KSEF_FA2_DIR.glob("*Fa_2*.xml")}
)
FA3_INVOICES = sorted(FA3_DIR.glob("*.xml"))
# Official example 14 repeats NrKSeFFaZaliczkowej inside one FakturaZaliczkowa; the schema
# allows one per FakturaZaliczkowa (which itself may repeat).
INVALID_FA2_EXAMPLE = "rozliczeniowa__Fa_2_Przyklad_14.xml"


def fa2(name: str) -> KsefInvoice:
    return parse_ksef((samples.KSEF_FA2_DIR / name).read_bytes())


def fa3_bytes(name: str) -> bytes:
    return (FA3_DIR / name).read_bytes()


def fa3(name: str) -> KsefInvoice:
    return parse_ksef(fa3_bytes(name))


def field_values(fields: list[ExtractedField]) -> dict[str, Any]:
    names = [field.name for field in fields]
    assert len(names) == len(set(names)), "a document stores one value per field name"
    return {field.name: field.value for field in fields}


def by_name(fields: list[ExtractedField], name: str) -> ExtractedField:
    (found,) = [field for field in fields if field.name == name]
    return found


# --- official FA(2) examples ---------------------------------------------------------------


@pytest.mark.parametrize("path", FA2_EXAMPLES, ids=lambda path: path.name)
def test_every_official_fa2_example_parses_and_validates(path: Path) -> None:
    invoice = parse_ksef(path.read_bytes())
    assert invoice.schema == "FA (2)"
    assert invoice.number
    assert invoice.issue_date is not None
    if path.name == INVALID_FA2_EXAMPLE:
        assert not invoice.schema_valid
        assert invoice.validation_errors == (
            "line 107: Element 'NrKSeFFaZaliczkowej': This element is not expected.",
        )
    else:
        assert invoice.schema_valid, invoice.validation_errors
        assert invoice.validation_errors == ()


def test_fa2_leasing_invoice_with_period_exempt_line_and_bank_account() -> None:
    invoice = fa2("podstawowa__FA_2_Przyklad_9.xml")
    assert invoice.kind == "VAT"
    assert invoice.number == "FV2022/02/150"
    assert invoice.issue_date == date(2022, 2, 15)
    assert invoice.sale_period == SalePeriod(date(2022, 1, 1), date(2022, 1, 1))
    assert invoice.sale_date == date(2022, 1, 1)
    assert (invoice.seller.nip, invoice.seller.name) == ("9999999999", "ABC Leasing S.A.")
    assert (invoice.buyer.nip, invoice.buyer.name) == ("1111111111", "Gmina Bzdziszewo")
    assert [(rate.rate, rate.net, rate.vat) for rate in invoice.vat_breakdown] == [
        ("23", Decimal("2000"), Decimal("460")),
        ("zw", Decimal("300"), None),
    ]
    assert (invoice.net_total, invoice.vat_total, invoice.gross_total) == (
        Decimal("2300"),
        Decimal("460"),
        Decimal("2760"),
    )
    assert invoice.due_dates == (date(2022, 3, 15),)
    assert invoice.payment_method == "transfer"
    assert invoice.bank_accounts == (
        BankAccount("73111111111111111111111111", None, "Bank Bankowości Bankowej S. A."),
    )
    assert [(line.name, line.net, line.rate) for line in invoice.lines] == [
        ("rata leasingowa za 01/2022", Decimal("2000"), "23"),
        ("pakiet ubezpieczeń za 01/2022", Decimal("300"), "zw"),
    ]
    values = field_values(ksef_fields(invoice))
    assert values["sale_date"] == "2022-01-01"
    assert values["due_date"] == "2022-03-15"
    assert values["bank_account"] == "PL73111111111111111111111111"
    assert values["vat_breakdown"] == [
        {"rate": "23", "net": "2000.00", "vat": "460.00"},
        {"rate": "zw", "net": "300.00", "vat": "0.00"},
    ]


def test_fa2_euro_invoice_keeps_pln_vat_apart() -> None:
    invoice = fa2("podstawowa__FA_2_Przyklad_4.xml")
    assert invoice.currency == "EUR"
    assert invoice.number == "15/2024"
    assert invoice.seller.nip == "5451824119"
    assert invoice.buyer.nip == "4660430720"
    assert invoice.vat_total == Decimal("23")  # P_14_1 only; P_14_1W is the same tax in PLN
    assert invoice.vat_total_pln == Decimal("99.36")
    assert invoice.gross_total == Decimal("123")
    assert len(invoice.lines) == 2
    first, second = invoice.lines
    assert (first.net, first.gross, first.unit_gross_price) == (None, Decimal(123), Decimal(123))
    assert (second.quantity, second.unit_net_price, second.net) == (
        Decimal("2.561"),
        Decimal("1350.0"),
        Decimal("3457.35"),
    )
    values = field_values(ksef_fields(invoice))
    assert values["currency"] == "EUR"
    assert (values["net_total"], values["vat_total"], values["gross_total"]) == (
        "100.00",
        "23.00",
        "123.00",
    )
    assert values["line_items"][1] == {
        "name": "GTU_1",
        "unit": "-",
        "quantity": "2.561",
        "unit_net_price": "1350.00",
        "net": "3457.35",
        "rate": "zw",
    }


def test_fa2_correction_of_six_invoices_names_each_of_them() -> None:
    invoice = fa2("korygujaca_bez_wierszy__FA_2_Przyklad_6.xml")
    assert invoice.kind == "KOR"
    assert invoice.number == "FK2022/07/243"
    assert invoice.correction_reason == (
        "rabat 50000 z uwagi na poziom zakupów pierwszym półroczu 2022"
    )
    assert invoice.gross_total == Decimal("-50000")
    assert invoice.net_total == Decimal("-40650.41")
    assert len(invoice.corrected_invoices) == 6
    assert invoice.corrected_invoices[0] == CorrectedInvoice(
        "FV2022/01/134", date(2022, 1, 15), "9999999999-20230908-8BEF280C8D35-4D"
    )
    assert invoice.lines == ()
    fields = ksef_fields(invoice)
    number = by_name(fields, "corrected_invoice_number")
    assert number.value == "FV2022/01/134"
    assert number.reason == "the first of 6 corrected invoices; all are in the text"
    # The official examples' KSeF numbers are placeholders whose CRC-8 does not hold.
    ksef_number = by_name(fields, "corrected_ksef_number")
    assert ksef_number.value == "9999999999-20230908-8BEF280C8D35-4D"
    assert ksef_number.status is FieldStatus.candidate
    assert ksef_number.reason == "KSeF number fails its format or CRC-8 check"
    text = ksef_text(invoice)
    for corrected in invoice.corrected_invoices:
        assert f"nr {corrected.number} z dnia {corrected.issue_date}" in text
        assert f"numer KSeF {corrected.ksef_number}" in text
    values = field_values(fields)
    assert "sale_date" not in values  # a correction without P_6 has no sale date of its own


def test_fa2_correction_lines_before_and_after() -> None:
    invoice = fa2("korygujaca__FA_2_Przyklad_2.xml")
    assert [(line.net, line.before_correction) for line in invoice.lines] == [
        (Decimal("1626.01"), True),
        (Decimal("1463.41"), False),
    ]
    values = field_values(ksef_fields(invoice))
    assert [item["net"] for item in values["line_items"]] == ["1463.41"]
    assert values["corrected_invoice_number"] == "FV2022/02/150"
    assert values["corrected_ksef_number"] == "9999999999-20230908-8BEF280C8D35-4D"
    assert (values["net_total"], values["vat_total"], values["gross_total"]) == (
        "-162.60",
        "-37.40",
        "-200.00",
    )


def test_fa2_advance_invoice_and_invalid_settlement_are_both_read() -> None:
    advance = fa2("zaliczkowa__FA_2_Przyklad_10.xml")
    assert advance.kind == "ZAL"
    assert advance.advance is not None
    assert advance.advance.order_value == Decimal("375150")
    assert advance.paid_on == date(2022, 2, 15)
    assert advance.gross_total == Decimal("20000")

    settlement = fa2(INVALID_FA2_EXAMPLE)
    assert settlement.kind == "ROZ"
    assert settlement.advance is not None
    assert settlement.advance.advance_ksef_numbers == ("9999999999-20230908-8BEF280C8D35-4D",) * 8
    assert settlement.due_dates == (date(2022, 9, 15), date(2022, 10, 15))
    assert settlement.gross_total == Decimal("307635")
    assert field_values(ksef_fields(settlement))["due_date"] == "2022-09-15"


def test_fa2_margin_and_simplified_invoices() -> None:
    margin = fa2("podstawowa__FA_2_Przyklad_19.xml")
    assert [(rate.rate, rate.net) for rate in margin.vat_breakdown] == [
        ("23", Decimal("813")),
        ("marża", Decimal("2000")),
    ]
    assert margin.vat_total == Decimal("187")
    simplified = fa2("uproszczona__FA_2_Przyklad_15.xml")
    assert simplified.kind == "UPR"
    assert simplified.buyer.name is None
    assert simplified.buyer.nip == "1111111111"
    assert "buyer_name" not in field_values(ksef_fields(simplified))


# --- our FA(3) invoices ------------------------------------------------------------------


def test_there_are_fa3_test_invoices() -> None:
    assert len(FA3_INVOICES) >= 5


@pytest.mark.parametrize("path", FA3_INVOICES, ids=lambda path: path.name)
def test_our_fa3_invoices_are_schema_valid(path: Path) -> None:
    invoice = parse_ksef(path.read_bytes())
    assert invoice.schema == "FA (3)"
    assert invoice.validation_errors == ()
    assert invoice.schema_valid
    fields = ksef_fields(invoice)
    assert all(field.source is FieldSource.xml for field in fields)
    assert all(field.confidence == 1.0 and field.page == 1 for field in fields)
    assert all(field.status is FieldStatus.confirmed for field in fields)
    json.dumps([field.value for field in fields])


def test_fa3_multi_rate_invoice() -> None:
    invoice = fa3("fa3_multi_rate.xml")
    values = field_values(ksef_fields(invoice))
    assert values == {
        "invoice_kind": "VAT",
        "invoice_number": "FV/2026/02/0131",
        "issue_date": "2026-02-16",
        "sale_date": "2026-02-13",
        "due_date": "2026-03-02",
        "seller_name": "Hurtownia Spożywcza Mazowsze sp. z o.o.",
        "seller_nip": "9542718365",
        "buyer_name": "Kawiarnia Pod Lipą Anna Nowak",
        "buyer_nip": "6718239055",
        "currency": "PLN",
        "net_total": "1386.00",
        "vat_total": "263.70",
        "gross_total": "1649.70",
        "vat_breakdown": [
            {"rate": "23", "net": "1050.00", "vat": "241.50"},
            {"rate": "8", "net": "180.00", "vat": "14.40"},
            {"rate": "5", "net": "156.00", "vat": "7.80"},
        ],
        "split_payment": False,
        "payment_method": "transfer",
        "bank_account": "PL60102010260000042270201111",
        "line_items": [
            {
                "name": "Kawa ziarnista 1 kg",
                "unit": "szt.",
                "quantity": "10",
                "unit_net_price": "80.00",
                "net": "800.00",
                "rate": "23",
            },
            {
                "name": "Herbata czarna 100 torebek",
                "unit": "op.",
                "quantity": "20",
                "unit_net_price": "12.50",
                "net": "250.00",
                "rate": "23",
            },
            {
                "name": "Ciastka maślane 200 g",
                "unit": "szt.",
                "quantity": "30",
                "unit_net_price": "6.00",
                "net": "180.00",
                "rate": "8",
            },
            {
                "name": "Mleko UHT 3,2% 1 l",
                "unit": "szt.",
                "quantity": "48",
                "unit_net_price": "3.25",
                "net": "156.00",
                "rate": "5",
            },
        ],
    }
    assert invoice.issue_place == "Warszawa"
    assert invoice.additional_info == (("Numer zamówienia klienta", "ZAM/77/2026"),)
    assert invoice.seller.address == ("ul. Grochowska 101", "04-186 Warszawa", "PL")


def test_fa3_correction_references_the_invoice_and_its_ksef_number() -> None:
    invoice = fa3("fa3_correction.xml")
    assert invoice.kind == "KOR"
    assert invoice.correction_reason == "zwrot 2 szt. kawy z uszkodzonym opakowaniem"
    assert invoice.corrected_invoices == (
        CorrectedInvoice(
            "FV/2026/02/0117", date(2026, 2, 10), "9542718365-20260210-4F1A2B3C4D5E-87"
        ),
    )
    values = field_values(ksef_fields(invoice))
    assert values["corrected_invoice_number"] == "FV/2026/02/0117"
    assert values["corrected_ksef_number"] == "9542718365-20260210-4F1A2B3C4D5E-87"
    assert (values["net_total"], values["vat_total"], values["gross_total"]) == (
        "-160.00",
        "-36.80",
        "-196.80",
    )
    assert [item["quantity"] for item in values["line_items"]] == ["8"]
    assert "sale_date" not in values


def test_fa3_advance_invoice_and_its_settlement() -> None:
    advance = fa3("fa3_advance.xml")
    assert advance.kind == "ZAL"
    assert advance.advance is not None
    assert (advance.advance.order_value, advance.advance.order_lines) == (Decimal("24600.00"), 1)
    assert advance.paid_on == date(2026, 2, 19)
    assert (advance.net_total, advance.vat_total, advance.gross_total) == (
        Decimal("5000.00"),
        Decimal("1150.00"),
        Decimal("6150.00"),
    )
    assert advance.lines == ()
    assert "line_items" not in field_values(ksef_fields(advance))

    settlement = fa3("fa3_settlement.xml")
    assert settlement.kind == "ROZ"
    assert settlement.advance is not None
    assert settlement.advance.advance_ksef_numbers == ("5820493174-20260220-A1B2C3D4E5F6-36",)
    assert settlement.advance.payments == ()
    assert settlement.gross_total == Decimal("18450.00")


def test_fa3_eu_buyer_in_euro() -> None:
    invoice = fa3("fa3_eu_buyer_eur.xml")
    assert invoice.buyer.eu_vat_id == "DE297118460"
    assert invoice.buyer.nip is None
    assert invoice.currency == "EUR"
    assert [(r.field, r.rate, r.net, r.vat, r.vat_pln) for r in invoice.vat_breakdown] == [
        ("P_13_1", "23", Decimal("2000.00"), Decimal("460.00"), Decimal("1955.00")),
        ("P_13_6_2", "0 WDT", Decimal("4500.00"), None, None),
    ]
    assert invoice.vat_total == Decimal("460.00")
    assert invoice.vat_total_pln == Decimal("1955.00")
    values = field_values(ksef_fields(invoice))
    assert values["buyer_vat_id"] == "DE297118460"
    assert "buyer_nip" not in values
    assert (values["net_total"], values["vat_total"], values["gross_total"]) == (
        "6500.00",
        "460.00",
        "6960.00",
    )
    assert values["vat_breakdown"][1] == {"rate": "0 WDT", "net": "4500.00", "vat": "0.00"}
    assert values["bank_account"] == "PL33114020040000350278135966"


def test_fa3_split_payment_with_bank_account() -> None:
    invoice = fa3("fa3_split_payment.xml")
    assert invoice.split_payment
    assert invoice.bank_accounts == (
        BankAccount("PL79 1240 1037 0000 2605 0017 7777", "PKOPPLPW", "Bank Pekao S.A."),
    )
    assert invoice.lines[0].quantity == Decimal("12.5")
    values = field_values(ksef_fields(invoice))
    assert values["split_payment"] is True
    assert values["bank_account"] == "PL79124010370000260500177777"
    assert values["gross_total"] == "49200.00"
    assert values["due_date"] == "2026-04-09"


def test_sale_date_defaults_to_issue_date_when_p6_is_absent() -> None:
    data = fa3_bytes("fa3_multi_rate.xml").replace(b"<P_6>2026-02-13</P_6>", b"")
    invoice = parse_ksef(data)
    assert invoice.schema_valid
    assert invoice.sale_date is None
    field = by_name(ksef_fields(invoice), "sale_date")
    assert field.value == "2026-02-16"
    assert field.reason == "P_6 absent: the sale date is the issue date"


def test_checksum_failures_become_candidates() -> None:
    data = (
        fa3_bytes("fa3_multi_rate.xml")
        .replace(b"<NIP>9542718365</NIP>", b"<NIP>9542718364</NIP>")
        .replace(b"60102010260000042270201111", b"61102010260000042270201111")
    )
    invoice = parse_ksef(data)
    assert invoice.schema_valid  # the schema checks the NIP's form, not its checksum
    fields = ksef_fields(invoice)
    seller_nip = by_name(fields, "seller_nip")
    assert (seller_nip.value, seller_nip.status) == ("9542718364", FieldStatus.candidate)
    assert seller_nip.reason == "NIP fails the checksum or format"
    account = by_name(fields, "bank_account")
    assert (account.value, account.status) == (
        "PL61102010260000042270201111",
        FieldStatus.candidate,
    )
    assert by_name(fields, "buyer_nip").status is FieldStatus.confirmed


def test_schema_invalid_invoice_is_parsed_and_marked() -> None:
    data = fa3_bytes("fa3_multi_rate.xml").replace(b"<P_2>FV/2026/02/0131</P_2>", b"")
    invoice = parse_ksef(data)
    assert not invoice.schema_valid
    assert invoice.validation_errors == (
        "line 42: Element 'P_6': This element is not expected. Expected is ( P_2 ).",
    )
    assert invoice.number is None
    assert invoice.gross_total == Decimal("1649.70")
    assert "invoice_number" not in field_values(ksef_fields(invoice))


def test_validation_errors_are_capped() -> None:
    lines = b"".join(
        b"<FaWiersz><NrWierszaFa>x</NrWierszaFa><P_8B>y</P_8B></FaWiersz>" for _ in range(30)
    )
    data = fa3_bytes("fa3_multi_rate.xml").replace(b"<Platnosc>", lines + b"<Platnosc>", 1)
    invoice = parse_ksef(data)
    assert len(invoice.validation_errors) == 21
    assert invoice.validation_errors[-1] == "... and 40 more errors"
    assert all(error.startswith("line ") for error in invoice.validation_errors[:20])


# --- text ----------------------------------------------------------------------------------


def test_text_rendering_in_polish() -> None:
    text = ksef_text(fa3("fa3_eu_buyer_eur.xml"))
    for expected in (
        "Faktura VAT nr FE/2026/03/0007",
        "Sprzedawca: Zakład Konstrukcji Stalowych Wisła S.A.",
        "NIP: 5820493174",
        "Nabywca: Müller Fördertechnik GmbH",
        "Numer VAT UE: DE297118460",
        "Data wystawienia: 2026-03-05",
        "Data sprzedaży: 2026-03-04",
        "2. Przenośnik taśmowy PT-200: 3 szt. x 1500,00, wartość netto 4500,00, stawka 0 WDT",
        "stawka 23%: netto 2000,00, VAT 460,00 (VAT w PLN 1955,00)",
        "Razem netto: 6500,00 EUR",
        "Należność ogółem (brutto): 6960,00 EUR",
        "Termin płatności: 2026-04-04",
        "Forma płatności: przelew",
    ):
        assert expected in text.splitlines(), expected


def test_text_of_a_correction_and_an_invalid_invoice() -> None:
    text = ksef_text(fa3("fa3_correction.xml")).splitlines()
    assert "Przyczyna korekty: zwrot 2 szt. kawy z uszkodzonym opakowaniem" in text
    assert (
        "Faktura korygowana: nr FV/2026/02/0117 z dnia 2026-02-10, "
        "numer KSeF 9542718365-20260210-4F1A2B3C4D5E-87"
    ) in text
    assert any(line.endswith("(stan przed korektą)") for line in text)
    invalid = ksef_text(fa2(INVALID_FA2_EXAMPLE)).splitlines()
    assert "Uwaga: plik niezgodny ze schematem XSD (1 błędów)" in invalid
    assert "Mechanizm podzielonej płatności" in ksef_text(fa3("fa3_split_payment.xml"))


# --- refusals ------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Faktura [
  <!ENTITY a "hahahahahahahahahaha">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
  <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
  <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
  <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
  <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
  <!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">
]>
<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"><Fa><P_2>&i;</P_2></Fa></Faktura>
"""


def _external_entity(target: Path) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE Faktura [<!ENTITY secret SYSTEM "{target.as_uri()}">]>\n'
        '<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"><Fa><P_2>&secret;</P_2>'
        "</Fa></Faktura>"
    ).encode()


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(KsefRejected, match="DTD") as refused:
        parse_ksef(BILLION_LAUGHS)
    assert "haha" not in refused.value.reason


def test_external_entity_is_refused_without_reading_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    with pytest.raises(KsefRejected, match="DTD") as refused:
        parse_ksef(_external_entity(secret))
    assert "TOP-SECRET" not in refused.value.reason


@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16", "UTF-32"])
def test_dtd_is_refused_even_in_a_valid_invoice(encoding: str) -> None:
    """UTF-8 and UTF-16 are caught in the raw bytes, UTF-32 after parsing."""
    text = fa3_bytes("fa3_multi_rate.xml").decode()
    text = text.replace('encoding="UTF-8"', f'encoding="{encoding}"')
    assert parse_ksef(text.encode(encoding)).schema_valid
    with_dtd = text.replace("<Faktura ", "<!DOCTYPE Faktura>\n<Faktura ", 1)
    with pytest.raises(KsefRejected, match="DTD"):
        parse_ksef(with_dtd.encode(encoding))


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (
            b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>',
            "root element is <Invoice> in namespace "
            "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
        ),
        (b"<Faktura><Fa/></Faktura>", "root element is <Faktura> without a namespace"),
        (
            b'<Naglowek xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"/>',
            "root element is <Naglowek>, not <Faktura>, in the FA (3) namespace",
        ),
        (
            (samples.KSEF_FA2_DIR / "FA_RR_1_Przyklad_1.xml").read_bytes(),
            "FA_RR (1)",
        ),
    ],
    ids=["ubl", "no-namespace", "wrong-root", "fa-rr"],
)
def test_other_xml_is_refused_and_named(content: bytes, named: str) -> None:
    with pytest.raises(KsefRejected) as refused:
        parse_ksef(content)
    assert named in refused.value.reason


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not xml at all",
        b'<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"><Fa>&undefined;</Fa></Faktura>',
    ],
    ids=["empty", "text", "undefined-entity"],
)
def test_malformed_xml_is_refused(content: bytes) -> None:
    with pytest.raises(KsefRejected, match=r"^malformed XML: "):
        parse_ksef(content)


def test_truncated_invoice_is_refused() -> None:
    data = fa3_bytes("fa3_multi_rate.xml")
    with pytest.raises(KsefRejected, match=r"^malformed XML: ") as refused:
        parse_ksef(data[: len(data) // 2])
    assert refused.value.reason == str(refused.value)


def test_oversize_input_is_refused_before_parsing() -> None:
    data = fa3_bytes("fa3_multi_rate.xml")
    with pytest.raises(KsefRejected, match=f"has {len(data)} bytes, more than the limit of 1000"):
        parse_ksef(data, max_bytes=1000)
    # The default limit is 20 MiB; garbage past it is refused without being read as XML.
    with pytest.raises(KsefRejected, match="more than the limit of 20971520 bytes"):
        parse_ksef(b" " * (20 * 1024 * 1024 + 1))


# --- schemas -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["schemat_FA(2)_v1-0E.xsd", "schemat_FA(3)_v1-0E.xsd", "bazowe/StrukturyDanych_v10-0E.xsd"],
)
def test_packaged_schemas_are_the_official_ones(name: str) -> None:
    official = samples.SHARED / "ksef" / "xsd" / name
    assert (DEFAULT_XSD_DIR / name).read_bytes() == official.read_bytes()


def test_xsd_dir_is_configurable(tmp_path: Path) -> None:
    copy = tmp_path / "xsd"
    shutil.copytree(DEFAULT_XSD_DIR, copy)
    invoice = parse_ksef(fa3_bytes("fa3_advance.xml"), xsd_dir=copy)
    assert invoice.schema_valid

    with pytest.raises(FileNotFoundError, match="KSeF schema not found"):
        parse_ksef(fa3_bytes("fa3_advance.xml"), xsd_dir=tmp_path / "missing")


def test_base_types_come_from_disk_never_the_network(tmp_path: Path) -> None:
    """Without the local bazowe/ copies the import cannot resolve: nothing is fetched instead."""
    copy = tmp_path / "xsd"
    copy.mkdir()
    shutil.copy(DEFAULT_XSD_DIR / "schemat_FA(3)_v1-0E.xsd", copy)
    with pytest.raises(etree.XMLSchemaParseError):
        parse_ksef(fa3_bytes("fa3_advance.xml"), xsd_dir=copy)


def test_advance_payments_are_read() -> None:
    data = fa3_bytes("fa3_advance.xml").replace(
        b"<RodzajFaktury>ZAL</RodzajFaktury>",
        b"<RodzajFaktury>ZAL</RodzajFaktury>"
        b"<ZaliczkaCzesciowa><P_6Z>2026-02-10</P_6Z><P_15Z>2000.00</P_15Z></ZaliczkaCzesciowa>"
        b"<ZaliczkaCzesciowa><P_6Z>2026-02-19</P_6Z><P_15Z>4150.00</P_15Z></ZaliczkaCzesciowa>",
    )
    invoice = parse_ksef(data)
    assert invoice.schema_valid, invoice.validation_errors
    assert invoice.advance is not None
    assert invoice.advance.payments == (
        AdvancePayment(date(2026, 2, 10), Decimal("2000.00")),
        AdvancePayment(date(2026, 2, 19), Decimal("4150.00")),
    )
