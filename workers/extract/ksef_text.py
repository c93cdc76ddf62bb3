"""A KSeF invoice rendered as plain Polish text, stored as its page text for full-text search,
and the decimal formatting shared with the extracted fields."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from workers.extract.ksef_model import (
    INVOICE_KIND_LABELS_PL,
    PAYMENT_METHOD_LABELS_PL,
    KsefInvoice,
    LineItem,
    Party,
    VatRateTotal,
)


def money_str(value: Decimal | None) -> str | None:
    """Two decimal places at least ("1230.00"); a unit price may carry up to eight."""
    if value is None:
        return None
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return f"{value:f}"
    return f"{value.quantize(Decimal('0.01')):f}"


def quantity_str(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def _pl(value: Decimal | None) -> str:
    """Polish notation: decimal comma, no thousands separator (keeps the number one token)."""
    return (money_str(value) or "-").replace(".", ",")


def _rate_pl(rate: str | None) -> str:
    return f"{rate}%" if rate and rate.isdigit() else rate or "-"


def _day(value: date | None) -> str:
    return value.isoformat() if value else "-"


def ksef_text(invoice: KsefInvoice) -> str:
    sections = (
        _header(invoice),
        _party("Sprzedawca", invoice.seller),
        _party("Nabywca", invoice.buyer),
        _dates(invoice),
        _lines(invoice.lines),
        _totals(invoice),
        _payment(invoice),
        _correction(invoice),
        _advance(invoice),
        _additional_info(invoice),
    )
    return "\n\n".join("\n".join(lines) for lines in sections if lines) + "\n"


def _header(invoice: KsefInvoice) -> list[str]:
    label = INVOICE_KIND_LABELS_PL.get(invoice.kind or "", "Faktura")
    lines = [
        f"{label} nr {invoice.number or '-'}",
        f"Rodzaj faktury: {invoice.kind or '-'}",
        f"Faktura ustrukturyzowana KSeF, schemat {invoice.schema}",
    ]
    if not invoice.schema_valid:
        count = len(invoice.validation_errors)
        lines.append(f"Uwaga: plik niezgodny ze schematem XSD ({count} błędów)")
    return lines


def _party(role: str, party: Party) -> list[str]:
    lines = [f"{role}: {party.name or '-'}"]
    if party.nip:
        lines.append(f"NIP: {party.nip}")
    if party.eu_vat_id:
        lines.append(f"Numer VAT UE: {party.eu_vat_id}")
    if party.other_tax_id:
        country = f" ({party.other_tax_id_country})" if party.other_tax_id_country else ""
        lines.append(f"Identyfikator podatkowy{country}: {party.other_tax_id}")
    if party.no_tax_id:
        lines.append("Brak identyfikatora podatkowego")
    if party.address:
        lines.append(f"Adres: {', '.join(party.address)}")
    return lines


def _dates(invoice: KsefInvoice) -> list[str]:
    lines = [f"Data wystawienia: {_day(invoice.issue_date)}"]
    if invoice.issue_place:
        lines.append(f"Miejsce wystawienia: {invoice.issue_place}")
    if invoice.sale_period:
        period = invoice.sale_period
        lines.append(f"Okres: od {_day(period.start)} do {_day(period.end)}")
    elif invoice.sale_date:
        lines.append(f"Data sprzedaży: {_day(invoice.sale_date)}")
    return lines


def _lines(items: tuple[LineItem, ...]) -> list[str]:
    if not items:
        return []
    return ["Pozycje:", *(_line(item) for item in items)]


def _line(item: LineItem) -> str:
    quantity = quantity_str(item.quantity)
    amount = f"{quantity.replace('.', ',')} {item.unit or ''}".strip() if quantity else ""
    price = f" x {_pl(item.unit_net_price)}" if item.unit_net_price is not None else ""
    value = (
        f"wartość netto {_pl(item.net)}" if item.net is not None else f"brutto {_pl(item.gross)}"
    )
    before = " (stan przed korektą)" if item.before_correction else ""
    number = f"{item.number}." if item.number is not None else "-"
    return (
        f"{number} {item.name or '-'}: {amount}{price}, {value}, "
        f"stawka {_rate_pl(item.rate)}{before}"
    )


def _totals(invoice: KsefInvoice) -> list[str]:
    currency = invoice.currency or ""
    lines = [f"Waluta: {currency or '-'}"]
    if invoice.vat_breakdown:
        lines.append("Podsumowanie według stawek:")
        lines += [_rate_total(total) for total in invoice.vat_breakdown]
    if invoice.net_total is not None:
        lines.append(f"Razem netto: {_pl(invoice.net_total)} {currency}")
    if invoice.vat_total is not None:
        lines.append(f"Razem VAT: {_pl(invoice.vat_total)} {currency}")
    if invoice.vat_total_pln is not None:
        lines.append(f"Razem VAT w PLN: {_pl(invoice.vat_total_pln)} PLN")
    lines.append(f"Należność ogółem (brutto): {_pl(invoice.gross_total)} {currency}")
    return lines


def _rate_total(total: VatRateTotal) -> str:
    vat = f", VAT {_pl(total.vat)}" if total.vat is not None else ""
    pln = f" (VAT w PLN {_pl(total.vat_pln)})" if total.vat_pln is not None else ""
    return f"stawka {_rate_pl(total.rate)}: netto {_pl(total.net)}{vat}{pln}"


def _payment(invoice: KsefInvoice) -> list[str]:
    lines = ["Mechanizm podzielonej płatności"] if invoice.split_payment else []
    if invoice.due_dates:
        lines.append(f"Termin płatności: {', '.join(map(_day, invoice.due_dates))}")
    if invoice.payment_method:
        label = PAYMENT_METHOD_LABELS_PL[invoice.payment_method]
        note = f" ({invoice.payment_method_note})" if invoice.payment_method_note else ""
        lines.append(f"Forma płatności: {label}{note}")
    if invoice.paid_on:
        lines.append(f"Zapłacono: {_day(invoice.paid_on)}")
    for account in invoice.bank_accounts:
        bank = f" ({account.bank_name})" if account.bank_name else ""
        swift = f", SWIFT {account.swift}" if account.swift else ""
        lines.append(f"Rachunek bankowy: {account.number}{swift}{bank}")
    return lines


def _correction(invoice: KsefInvoice) -> list[str]:
    lines = [f"Przyczyna korekty: {invoice.correction_reason}"] if invoice.correction_reason else []
    for ref in invoice.corrected_invoices:
        ksef = f"numer KSeF {ref.ksef_number}" if ref.ksef_number else "wystawiona poza KSeF"
        lines.append(
            f"Faktura korygowana: nr {ref.number or '-'} z dnia {_day(ref.issue_date)}, {ksef}"
        )
    return lines


def _advance(invoice: KsefInvoice) -> list[str]:
    advance = invoice.advance
    if advance is None:
        return []
    lines = []
    if advance.order_value is not None:
        lines.append(
            f"Wartość zamówienia (brutto): {_pl(advance.order_value)} {invoice.currency or ''}"
        )
    lines += [
        f"Zaliczka otrzymana {_day(part.received_on)}: {_pl(part.amount)}"
        for part in advance.payments
    ]
    lines += [f"Faktura zaliczkowa nr {number}" for number in advance.advance_invoice_numbers]
    lines += [f"Faktura zaliczkowa KSeF {number}" for number in advance.advance_ksef_numbers]
    return lines


def _additional_info(invoice: KsefInvoice) -> list[str]:
    if not invoice.additional_info:
        return []
    return ["Dodatkowe informacje:", *(f"{key}: {value}" for key, value in invoice.additional_info)]
