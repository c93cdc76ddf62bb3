"""Invoice-like corpus documents: VAT invoices in several layouts, a EUR invoice, corrections,
pro formas and till receipts, each with the field values a perfect reader would extract."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tests import corpus_data as data
from tests.corpus_layout import LEFT, Cell, Doc, Sheet

GOODS = (
    ("Usługa konsultingowa", "godz.", "23"),
    ("Papier ksero A4", "ryza", "23"),
    ("Licencja oprogramowania", "szt.", "23"),
    ("Transport krajowy", "km", "23"),
    ("Serwis drukarki", "usł.", "23"),
    ("Materiały biurowe", "kpl.", "23"),
    ("Montaż stolarki okiennej", "usł.", "8"),
    ("Usługa gastronomiczna", "usł.", "8"),
    ("Nasiona traw", "kg", "8"),
    ("Książka „Rachunkowość w praktyce”", "szt.", "5"),
    ("Chleb żytni", "szt.", "5"),
    ("Czasopismo branżowe", "egz.", "5"),
)
PAYMENT_WORDS = {"transfer": "przelew", "cash": "gotówka", "card": "karta płatnicza"}
ITEM_COLUMNS = (18.0, 26.0, 100.0, 113.0, 127.0, 148.0, 168.0, 180.0)
SUMMARY_COLUMNS = (100.0, 125.0, 150.0, 172.0)


@dataclass(frozen=True)
class Item:
    name: str
    unit: str
    quantity: Decimal
    price: Decimal
    rate: str

    @property
    def net(self) -> Decimal:
        return data.round_money(self.quantity * self.price)


@dataclass(frozen=True)
class RateTotal:
    rate: str
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


def items(rng: random.Random, *, multi_rate: bool, count: int) -> list[Item]:
    pool = GOODS if multi_rate else [g for g in GOODS if g[2] == "23"]
    chosen = rng.sample(pool, count)
    if multi_rate and len({g[2] for g in chosen}) < 2:
        chosen[-1] = rng.choice([g for g in GOODS if g[2] != chosen[0][2]])
    return [
        Item(
            name, unit, Decimal(rng.randint(1, 40)), Decimal(rng.randint(500, 250_000)) / 100, rate
        )
        for name, unit, rate in chosen
    ]


def rate_totals(lines: list[Item]) -> list[RateTotal]:
    """Per-rate sums; VAT is computed once on each rate's net sum, as the VAT act requires."""
    totals = []
    for rate in ("23", "8", "5", "np"):
        net = sum((item.net for item in lines if item.rate == rate), Decimal(0))
        if net:
            totals.append(RateTotal(rate, net, _vat(net, rate)))
    return totals


def _vat(net: Decimal, rate: str) -> Decimal:
    return data.round_money(net * Decimal(rate) / 100) if rate.isdigit() else Decimal("0.00")


def printed_rate(rate: str) -> str:
    return f"{rate}%" if rate.isdigit() else rate


def breakdown(totals: list[RateTotal]) -> list[dict[str, str]]:
    return [{"rate": t.rate, "net": f"{t.net:.2f}", "vat": f"{t.vat:.2f}"} for t in totals]


@dataclass
class Style:
    """How one issuer prints things."""

    grouped: bool
    date_style: int
    currency_word: str

    def money(self, value: Decimal) -> str:
        return data.money(value, grouped=self.grouped)

    def day(self, value: date) -> str:
        return data.date_numeric(value, self.date_style)


def _style(rng: random.Random, currency: str) -> Style:
    word = currency if currency != "PLN" else rng.choice(("PLN", "zł"))
    return Style(rng.random() < 0.7, rng.randrange(3), word)


def _number(rng: random.Random, issued: date) -> str:
    serial = rng.randint(1, 999)
    return rng.choice(
        (
            f"FV/{issued.year}/{issued.month:02d}/{serial}",
            f"F {serial}/{issued.year}",
            f"{issued.year}-{serial:04d}",
            f"FS {serial:04d}/{issued.month:02d}/{issued.year}",
        )
    )


def _title(rng: random.Random, number: str) -> tuple[str, bool]:
    """The heading, and whether it already carries the number."""
    return rng.choice(
        (
            (f"Faktura VAT nr {number}", True),
            (f"FAKTURA nr {number}", True),
            ("Faktura VAT", False),
        )
    )


def _party_rows(
    sheet: Sheet, seller: data.Company, buyer: data.Company, style: int, rng: random.Random
) -> None:
    blocks = [
        [seller.name, seller.street, seller.city_line, f"NIP: {data.nip_printed(seller.nip, rng)}"],
        [buyer.name, buyer.street, buyer.city_line, f"NIP: {data.nip_printed(buyer.nip, rng)}"],
    ]
    labels = rng.choice((("Sprzedawca:", "Nabywca:"), ("Wystawca:", "Odbiorca:")))
    if style == 0:  # side by side; the text layer interleaves the two columns line by line
        sheet.row(Cell(LEFT, labels[0], bold=True), Cell(110, labels[1], bold=True), space=4)
        for left, right in zip(*blocks, strict=True):
            sheet.row(Cell(LEFT, left), Cell(110, right))
        return
    pairs = list(zip(labels, blocks, strict=True))
    if rng.random() < 0.25:  # some issuers print the buyer first; the labels still decide
        pairs.reverse()
    for label, block in pairs:
        if style == 2:
            sheet.row(Cell(LEFT, f"{label} {block[0]}", bold=True), space=4)
            block = block[1:]
        else:
            sheet.row(Cell(LEFT, label, bold=True), space=4)
        for text in block:
            sheet.line(text)


def _item_table(sheet: Sheet, lines: list[Item], style: Style) -> None:
    header = (
        "Lp.",
        "Nazwa towaru lub usługi",
        "J.m.",
        "Ilość",
        "Cena netto",
        "Wart. netto",
        "VAT",
        "Wart. brutto",
    )
    sheet.row(
        *(Cell(x, h, bold=True, size=8) for x, h in zip(ITEM_COLUMNS, header, strict=True)), space=5
    )
    for n, item in enumerate(lines, 1):
        gross = item.net + _vat(item.net, item.rate)
        values = (
            f"{n}",
            item.name,
            item.unit,
            f"{item.quantity}",
            style.money(item.price),
            style.money(item.net),
            printed_rate(item.rate),
            style.money(gross),
        )
        sheet.row(*(Cell(x, v, size=8) for x, v in zip(ITEM_COLUMNS, values, strict=True)))


def _summary_table(sheet: Sheet, totals: list[RateTotal], style: Style) -> None:
    header = ("Stawka VAT", "Wartość netto", "Kwota VAT", "Wartość brutto")
    sheet.row(
        *(Cell(x, h, bold=True, size=8) for x, h in zip(SUMMARY_COLUMNS, header, strict=True)),
        space=4,
    )
    for t in totals:
        values = (
            printed_rate(t.rate),
            style.money(t.net),
            style.money(t.vat),
            style.money(t.gross),
        )
        sheet.row(*(Cell(x, v, size=8) for x, v in zip(SUMMARY_COLUMNS, values, strict=True)))
    net, vat = sum((t.net for t in totals), Decimal(0)), sum((t.vat for t in totals), Decimal(0))
    values = ("Razem", style.money(net), style.money(vat), style.money(net + vat))
    sheet.row(
        *(Cell(x, v, bold=True, size=8) for x, v in zip(SUMMARY_COLUMNS, values, strict=True))
    )


def _summary_lines(sheet: Sheet, totals: list[RateTotal], style: Style) -> None:
    net, vat = sum((t.net for t in totals), Decimal(0)), sum((t.vat for t in totals), Decimal(0))
    sheet.line(f"Razem netto: {style.money(net)} {style.currency_word}", x=110)
    sheet.line(f"Razem VAT: {style.money(vat)} {style.currency_word}", x=110)
    sheet.line(f"Razem brutto: {style.money(net + vat)} {style.currency_word}", x=110)


@dataclass
class Invoice:
    """The facts of one invoice, from which both the page and the ground truth are made."""

    number: str
    issued: date
    sold: date
    due: date | None
    seller: data.Company
    buyer: data.Company
    lines: list[Item]
    currency: str
    payment: str
    account: str | None
    split_payment: bool
    ksef: str | None

    @property
    def totals(self) -> list[RateTotal]:
        return rate_totals(self.lines)

    def expected(self) -> dict[str, Any]:
        totals = self.totals
        net, vat = (
            sum((t.net for t in totals), Decimal(0)),
            sum((t.vat for t in totals), Decimal(0)),
        )
        return {
            "invoice_number": self.number,
            "invoice_kind": "VAT",
            "issue_date": self.issued.isoformat(),
            "sale_date": self.sold.isoformat(),
            "due_date": self.due.isoformat() if self.due else None,
            "seller_name": self.seller.name,
            "seller_nip": self.seller.nip,
            "buyer_name": self.buyer.name,
            "buyer_nip": self.buyer.nip,
            "net_total": f"{net:.2f}",
            "vat_total": f"{vat:.2f}",
            "gross_total": f"{net + vat:.2f}",
            "currency": self.currency,
            "bank_account": self.account,
            "split_payment": True if self.split_payment else None,
            "ksef_number": self.ksef,
            "payment_method": self.payment,
            "corrected_invoice_number": None,
        }


def random_invoice(
    rng: random.Random, *, multi_rate: bool = False, currency: str = "PLN"
) -> Invoice:
    issued = data.random_date(rng, date(2025, 6, 1), 400)
    seller, buyer = data.two_companies(rng)
    payment = rng.choice(("transfer", "transfer", "transfer", "cash", "card"))
    lines = items(
        rng, multi_rate=multi_rate, count=rng.randint(3, 5) if multi_rate else rng.randint(1, 4)
    )
    gross = sum((t.gross for t in rate_totals(lines)), Decimal(0))
    return Invoice(
        number=_number(rng, issued),
        issued=issued,
        sold=issued - timedelta(days=rng.choice((0, 0, 1, 3))),
        due=issued + timedelta(days=rng.choice((7, 14, 30))) if payment == "transfer" else None,
        seller=seller,
        buyer=buyer,
        lines=lines,
        currency=currency,
        payment=payment,
        account=data.iban_pl(rng) if payment == "transfer" else None,
        split_payment=payment == "transfer" and gross > 15_000 and rng.random() < 0.7,
        ksef=data.ksef_number(rng, seller.nip, issued) if rng.random() < 0.4 else None,
    )


def _payment_block(sheet: Sheet, invoice: Invoice, style: Style, rng: random.Random) -> None:
    word = rng.choice(("Sposób płatności", "Forma płatności"))
    sheet.row(Cell(LEFT, f"{word}: {PAYMENT_WORDS[invoice.payment]}"), space=4)
    if invoice.due and rng.random() < 0.25:
        sheet.line(f"Termin płatności: {(invoice.due - invoice.issued).days} dni")
    elif invoice.due:
        sheet.line(f"Termin płatności: {style.day(invoice.due)}")
    if invoice.account:
        label = rng.choice(("Nr konta", "Numer rachunku bankowego", "Rachunek"))
        sheet.line(f"{label}: {data.iban_printed(invoice.account, rng)}")
    if invoice.split_payment:
        sheet.line("Mechanizm podzielonej płatności", bold=True)
    if invoice.ksef:
        sheet.line(f"Numer KSeF: {invoice.ksef}", size=8)


def vat_invoice(rng: random.Random, *, multi_rate: bool) -> Doc:
    invoice = random_invoice(rng, multi_rate=multi_rate)
    style = _style(rng, invoice.currency)
    layout = rng.randrange(3)
    sheet = Sheet()
    title, has_number = _title(rng, invoice.number)
    dated_title = has_number and rng.random() < 0.25
    if dated_title:  # "Faktura VAT nr FV/1/2026 z dnia 12.03.2026" and no separate issue date
        title = f"{title} z dnia {style.day(invoice.issued)}"
    sheet.line(title, bold=True, size=15 if not dated_title else 12)
    if not has_number:
        sheet.line(f"Nr faktury: {invoice.number}", bold=True)
    sheet.row(Cell(110, f"Miejsce wystawienia: {invoice.seller.city}"), space=3)
    if not dated_title:
        sheet.line(f"Data wystawienia: {style.day(invoice.issued)}", x=110)
    sheet.line(f"Data sprzedaży: {style.day(invoice.sold)}", x=110)
    _party_rows(sheet, invoice.seller, invoice.buyer, layout, rng)
    _item_table(sheet, invoice.lines, style)
    expected = invoice.expected()
    if multi_rate or rng.random() < 0.6:
        _summary_table(sheet, invoice.totals, style)
        expected["vat_breakdown"] = breakdown(invoice.totals)
    else:
        _summary_lines(sheet, invoice.totals, style)
    gross = style.money(sum((t.gross for t in invoice.totals), Decimal(0)))
    due_word = rng.choice(("Do zapłaty", "Razem do zapłaty"))
    sheet.row(Cell(LEFT, f"{due_word}: {gross} {style.currency_word}", bold=True, size=11), space=5)
    _payment_block(sheet, invoice, style, rng)
    template = (
        f"invoice-{'multirate' if multi_rate else 'vat'}-{('columns', 'stacked', 'inline')[layout]}"
    )
    return Doc(template, "invoice", expected, sheet)
