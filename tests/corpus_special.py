"""The less common invoice-like corpus documents: a bilingual EUR invoice, corrections,
pro formas and till receipts."""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta
from decimal import Decimal

from tests import corpus_data as data
from tests.corpus_invoices import (
    GOODS,
    SUMMARY_COLUMNS,
    Invoice,
    RateTotal,
    Style,
    _item_table,
    _party_rows,
    _payment_block,
    _summary_table,
    breakdown,
    random_invoice,
)
from tests.corpus_layout import LEFT, Cell, Doc, Sheet

REASONS = ("rabat posprzedażowy", "zwrot części towaru", "błędna cena jednostkowa")
SHOP_UNITS = ("szt.", "kg", "egz.", "ryza", "kpl.")
RECEIPT_LETTERS = {"23": "A", "8": "B", "5": "C"}


def eur_invoice(rng: random.Random) -> Doc:
    """A bilingual EUR invoice: to a Polish buyer with 23 % VAT (and the VAT in PLN printed, as
    the VAT act requires), or to an EU buyer under reverse charge ("np", no VAT)."""
    invoice = random_invoice(rng, currency="EUR")
    foreign = data.foreign_company(rng) if rng.random() < 0.5 else None
    lines = (
        [dataclasses.replace(item, rate="np") for item in invoice.lines]
        if foreign
        else invoice.lines
    )
    invoice = dataclasses.replace(
        invoice,
        number=f"INV-{invoice.issued.year}-{rng.randint(1, 400):04d}",
        lines=lines,
        payment="transfer",
        due=invoice.issued + timedelta(days=30),
        account=invoice.account or data.iban_pl(rng),
        split_payment=False,
        ksef=None,
    )
    style = Style(grouped=True, date_style=1, currency_word="EUR")
    sheet = Sheet()
    sheet.line("Faktura VAT / VAT Invoice", bold=True, size=15)
    sheet.line(f"Nr / No.: {invoice.number}", bold=True)
    sheet.row(Cell(110, f"Data wystawienia / Issue date: {style.day(invoice.issued)}"), space=3)
    sheet.line(f"Data sprzedaży / Date of supply: {style.day(invoice.sold)}", x=110)
    _bilingual_parties(sheet, invoice, foreign)
    _item_table(sheet, invoice.lines, style)
    _summary_table(sheet, invoice.totals, style)
    gross = sum((t.gross for t in invoice.totals), Decimal(0))
    sheet.row(
        Cell(LEFT, f"Do zapłaty / Amount due: {style.money(gross)} EUR", bold=True, size=11),
        space=5,
    )
    if foreign:
        sheet.line("Odwrotne obciążenie / Reverse charge")
    else:
        _vat_in_pln(sheet, invoice, style, rng)
    sheet.row(Cell(LEFT, "Sposób płatności / Payment method: przelew / bank transfer"), space=4)
    sheet.line(f"Termin płatności / Due date: {style.day(invoice.due or invoice.issued)}")
    sheet.line(f"IBAN: {data.iban_printed(invoice.account or '', rng)}   SWIFT/BIC: BREXPLPW")
    expected = invoice.expected() | {"vat_breakdown": breakdown(invoice.totals)}
    if foreign:
        expected |= {"buyer_name": foreign.name, "buyer_nip": None, "buyer_vat_id": foreign.vat_id}
    return Doc("invoice-eur", "invoice", expected, sheet)


def _bilingual_parties(sheet: Sheet, invoice: Invoice, foreign: data.ForeignCompany | None) -> None:
    seller, buyer = invoice.seller, foreign or invoice.buyer
    sheet.row(
        Cell(LEFT, "Sprzedawca / Seller:", bold=True),
        Cell(110, "Nabywca / Buyer:", bold=True),
        space=4,
    )
    for attr in ("name", "street", "city_line"):
        sheet.row(Cell(LEFT, getattr(seller, attr)), Cell(110, getattr(buyer, attr)))
    buyer_id = foreign.vat_id if foreign else f"PL{invoice.buyer.nip}"
    sheet.row(Cell(LEFT, f"NIP / VAT ID: PL{seller.nip}"), Cell(110, f"NIP / VAT ID: {buyer_id}"))


def _vat_in_pln(sheet: Sheet, invoice: Invoice, style: Style, rng: random.Random) -> None:
    vat = sum((t.vat for t in invoice.totals), Decimal(0))
    rate = Decimal(rng.randint(41000, 44000)) / 10000
    table_day = data.date_numeric(invoice.issued - timedelta(days=1), 0)
    sheet.line(f"Kurs EUR/PLN: {str(rate).replace('.', ',')} (tabela NBP z dnia {table_day})")
    sheet.line(
        f"Kwota VAT w PLN / VAT amount in PLN: {style.money(data.round_money(vat * rate))} PLN"
    )


def correction(rng: random.Random) -> Doc:
    original = random_invoice(rng)
    issued = original.issued + timedelta(days=rng.randint(5, 60))
    serial = rng.randint(1, 99)
    number = rng.choice(
        (f"KOR/{issued.year}/{issued.month:02d}/{serial}", f"FK {serial}/{issued.year}")
    )
    before = original.totals[0]
    after_net = data.round_money(before.net * Decimal(rng.randint(50, 95)) / 100)
    after = RateTotal(
        before.rate, after_net, data.round_money(after_net * Decimal(before.rate) / 100)
    )
    diff = RateTotal(before.rate, after.net - before.net, after.vat - before.vat)
    corrected_ksef = (
        data.ksef_number(rng, original.seller.nip, original.issued) if rng.random() < 0.4 else None
    )
    style = Style(rng.random() < 0.7, rng.randrange(3), rng.choice(("PLN", "zł")))
    sheet = Sheet()
    title = rng.choice(("Faktura korygująca nr", "FAKTURA VAT KORYGUJĄCA nr", "Korekta faktury nr"))
    sheet.line(f"{title} {number}", bold=True, size=14)
    sheet.row(Cell(110, f"Data wystawienia: {style.day(issued)}"), space=3)
    reference = rng.choice(
        ("Dotyczy faktury nr", "Korekta do faktury VAT nr", "Faktura korygowana nr")
    )
    sheet.row(
        Cell(LEFT, f"{reference} {original.number} z dnia {style.day(original.issued)}"), space=3
    )
    if corrected_ksef:
        sheet.line(f"Numer KSeF faktury korygowanej: {corrected_ksef}", size=8)
    sheet.line(f"Przyczyna korekty: {rng.choice(REASONS)}")
    _party_rows(sheet, original.seller, original.buyer, rng.randrange(3), rng)
    header = ("", "Wartość netto", "Kwota VAT", "Wartość brutto")
    sheet.row(
        *(
            Cell(x, h, bold=True, size=8)
            for x, h in zip((LEFT, *SUMMARY_COLUMNS[1:]), header, strict=True)
        ),
        space=5,
    )
    for label, total in (("Przed korektą", before), ("Po korekcie", after), ("Różnica", diff)):
        values = (label, style.money(total.net), style.money(total.vat), style.money(total.gross))
        sheet.row(
            *(Cell(x, v, size=8) for x, v in zip((LEFT, *SUMMARY_COLUMNS[1:]), values, strict=True))
        )
    sheet.row(
        Cell(LEFT, f"Kwota do zwrotu: {style.money(-diff.gross)} {style.currency_word}", bold=True),
        space=5,
    )
    expected = {
        "invoice_number": number,
        "invoice_kind": "KOR",
        "issue_date": issued.isoformat(),
        "seller_name": original.seller.name,
        "seller_nip": original.seller.nip,
        "buyer_name": original.buyer.name,
        "buyer_nip": original.buyer.nip,
        "net_total": f"{diff.net:.2f}",
        "vat_total": f"{diff.vat:.2f}",
        "gross_total": f"{diff.gross:.2f}",
        "currency": "PLN",
        "corrected_invoice_number": original.number,
        "corrected_ksef_number": corrected_ksef,
        "ksef_number": None,
        "split_payment": None,
    }
    return Doc("correction", "correction", expected, sheet)


def proforma(rng: random.Random) -> Doc:
    invoice = random_invoice(rng)
    serial = rng.randint(1, 99)
    number = f"PF/{invoice.issued.year}/{invoice.issued.month:02d}/{serial}"
    invoice = dataclasses.replace(invoice, number=number, ksef=None, split_payment=False)
    style = Style(rng.random() < 0.7, rng.randrange(3), rng.choice(("PLN", "zł")))
    sheet = Sheet()
    title = rng.choice(("Faktura PRO FORMA nr", "PROFORMA nr", "Faktura proforma nr"))
    sheet.line(f"{title} {number}", bold=True, size=14)
    sheet.row(Cell(110, f"Data wystawienia: {style.day(invoice.issued)}"), space=3)
    _party_rows(sheet, invoice.seller, invoice.buyer, rng.randrange(3), rng)
    _item_table(sheet, invoice.lines, style)
    _summary_table(sheet, invoice.totals, style)
    gross = sum((t.gross for t in invoice.totals), Decimal(0))
    sheet.row(
        Cell(LEFT, f"Do zapłaty: {style.money(gross)} {style.currency_word}", bold=True, size=11),
        space=5,
    )
    _payment_block(sheet, invoice, style, rng)
    sheet.row(
        Cell(LEFT, "Dokument nie jest fakturą VAT w rozumieniu ustawy o VAT.", size=8), space=4
    )
    expected = invoice.expected() | {
        "invoice_kind": "PROFORMA",
        "vat_breakdown": breakdown(invoice.totals),
    }
    del expected["sale_date"]
    return Doc("proforma", "proforma", expected, sheet)


def receipt(rng: random.Random) -> Doc:
    shop = data.company(rng, sole_trader_share=0.3)
    issued = data.random_date(rng, date(2025, 6, 1), 400)
    lines = [
        (name, Decimal(rng.randint(1, 3)), Decimal(rng.randint(199, 4999)) / 100, rate)
        for name, _unit, rate in rng.sample([g for g in GOODS if g[1] in SHOP_UNITS], 3)
    ]
    sheet = Sheet(width=80, height=170)
    for text in (shop.name, shop.street, shop.city_line, f"NIP {data.nip_printed(shop.nip, rng)}"):
        sheet.line(text, x=6, size=8)
    sheet.row(
        Cell(6, f"{issued:%Y-%m-%d} {rng.randint(8, 20)}:{rng.randint(0, 59):02d}", size=8),
        Cell(46, f"nr wydr. {rng.randint(1000, 9999)}", size=8),
        space=2,
    )
    sheet.centred("PARAGON FISKALNY", size=10)
    per_rate: dict[str, Decimal] = {}
    for name, qty, price, rate in lines:
        value = data.round_money(qty * price)
        per_rate[rate] = per_rate.get(rate, Decimal(0)) + value
        sheet.line(name, x=6, size=8)
        sheet.row(
            Cell(20, f"{qty} x {data.money(price)}", size=8),
            Cell(56, f"{data.money(value)} {RECEIPT_LETTERS[rate]}", size=8),
        )
    total = sum(per_rate.values(), Decimal(0))
    sheet.gap(2)
    for rate, gross in sorted(per_rate.items(), key=lambda kv: RECEIPT_LETTERS[kv[0]]):
        vat = data.round_money(gross * Decimal(rate) / (100 + Decimal(rate)))
        sheet.row(
            Cell(6, f"PTU {RECEIPT_LETTERS[rate]} {rate},00%", size=8),
            Cell(56, data.money(vat), size=8),
        )
    sheet.row(
        Cell(6, "SUMA PLN", bold=True, size=10),
        Cell(50, data.money(total), bold=True, size=10),
        space=2,
    )
    payment = rng.choice(("card", "cash"))
    sheet.row(
        Cell(6, "Karta" if payment == "card" else "Gotówka", size=8),
        Cell(56, data.money(total), size=8),
    )
    sheet.line(f"Kasa 1  Kasjer nr {rng.randint(1, 9)}", x=6, size=7)
    expected = {
        "seller_name": shop.name,
        "seller_nip": shop.nip,
        "issue_date": issued.isoformat(),
        "gross_total": f"{total:.2f}",
        "currency": "PLN",
        "payment_method": payment,
    }
    return Doc("receipt", "receipt", expected, sheet)
