"""Reading a KSeF `Faktura` element tree into the typed model, tolerant of what the schema would
refuse: a missing or unreadable element becomes None, never an exception."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from workers.extract.ksef_model import (
    OTHER_PAYMENT_METHOD,
    PAYMENT_METHODS,
    RATE_BUCKETS,
    AdvanceInfo,
    AdvancePayment,
    BankAccount,
    CorrectedInvoice,
    KsefInvoice,
    LineItem,
    Party,
    RateBucket,
    SalePeriod,
    VatRateTotal,
)


@dataclass(frozen=True, slots=True)
class Node:
    """An element of one KSeF namespace, addressed by slash-separated local names."""

    element: etree._Element
    ns: str

    def _path(self, path: str) -> str:
        return "/".join(f"{{{self.ns}}}{step}" for step in path.split("/"))

    def find(self, path: str) -> Node | None:
        found = self.element.find(self._path(path))
        return None if found is None else Node(found, self.ns)

    def child(self, path: str) -> Node:
        """The element at `path`, or an empty stand-in whose every lookup finds nothing."""
        return self.find(path) or Node(etree.Element("missing"), self.ns)

    def findall(self, path: str) -> list[Node]:
        return [Node(found, self.ns) for found in self.element.iterfind(self._path(path))]

    def text(self, path: str) -> str | None:
        found = self.element.find(self._path(path))
        if found is None or found.text is None:
            return None
        return found.text.strip() or None

    def texts(self, path: str) -> tuple[str, ...]:
        values = (found.text for found in self.element.iterfind(self._path(path)))
        return tuple(value.strip() for value in values if value and value.strip())

    def decimal(self, path: str) -> Decimal | None:
        return to_decimal(self.text(path))

    def date(self, path: str) -> date | None:
        return to_date(self.text(path))

    def flag(self, path: str) -> bool:
        return self.text(path) == "1"


def to_decimal(raw: str | None) -> Decimal | None:
    if raw is None:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def to_date(raw: str | None) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def read_invoice(root: Node, *, schema: str, validation_errors: tuple[str, ...]) -> KsefInvoice:
    fa = root.child("Fa")
    breakdown = read_breakdown(fa)
    lines = tuple(read_line(line) for line in fa.findall("FaWiersz"))
    period = _sale_period(fa)
    payment = fa.child("Platnosc")
    return KsefInvoice(
        schema=schema,
        schema_valid=not validation_errors,
        validation_errors=validation_errors,
        kind=fa.text("RodzajFaktury"),
        number=fa.text("P_2"),
        issue_date=fa.date("P_1"),
        issue_place=fa.text("P_1M"),
        sale_date=fa.date("P_6") or (period.end if period else None),
        sale_period=period,
        seller=read_party(root.child("Podmiot1")),
        buyer=read_party(root.child("Podmiot2")),
        currency=fa.text("KodWaluty"),
        vat_breakdown=with_line_rates(breakdown, lines),
        net_total=_sum(rate.net for rate in breakdown),
        vat_total=_sum(rate.vat for rate in breakdown),
        vat_total_pln=_sum(rate.vat_pln for rate in breakdown),
        gross_total=fa.decimal("P_15"),
        split_payment=fa.flag("Adnotacje/P_18A"),
        due_dates=_due_dates(payment),
        payment_method=_payment_method(payment),
        payment_method_note=payment.text("OpisPlatnosci"),
        paid_on=payment.date("DataZaplaty") if payment.flag("Zaplacono") else None,
        bank_accounts=tuple(
            read_account(account) for account in payment.findall("RachunekBankowy")
        ),
        lines=lines,
        correction_reason=fa.text("PrzyczynaKorekty"),
        corrected_invoices=tuple(read_corrected(node) for node in fa.findall("DaneFaKorygowanej")),
        advance=read_advance(fa),
        additional_info=tuple(
            (note.text("Klucz") or "", note.text("Wartosc") or "")
            for note in fa.findall("DodatkowyOpis")
        ),
    )


def _sale_period(fa: Node) -> SalePeriod | None:
    period = fa.find("OkresFa")
    return None if period is None else SalePeriod(period.date("P_6_Od"), period.date("P_6_Do"))


def _sum(values: Iterable[Decimal | None]) -> Decimal | None:
    present = [value for value in values if value is not None]
    return sum(present, Decimal(0)) if present else None


def read_party(party: Node) -> Party:
    ids = party.child("DaneIdentyfikacyjne")
    eu_prefix, eu_number = ids.text("KodUE"), ids.text("NrVatUE")
    address = party.child("Adres")
    return Party(
        name=ids.text("Nazwa"),
        nip=ids.text("NIP"),
        eu_vat_id=f"{eu_prefix or ''}{eu_number}" if eu_number else None,
        other_tax_id=ids.text("NrID"),
        other_tax_id_country=ids.text("KodKraju"),
        no_tax_id=ids.flag("BrakID"),
        address=tuple(
            line for tag in ("AdresL1", "AdresL2", "KodKraju") if (line := address.text(tag))
        ),
    )


def read_breakdown(fa: Node) -> tuple[VatRateTotal, ...]:
    totals = (_bucket_total(fa, bucket) for bucket in RATE_BUCKETS)
    return tuple(total for total in totals if total is not None)


def _bucket_total(fa: Node, bucket: RateBucket) -> VatRateTotal | None:
    net = fa.decimal(bucket.net_tag)
    if net is None:
        return None
    return VatRateTotal(
        field=bucket.net_tag,
        rate=bucket.rates[0],
        net=net,
        vat=fa.decimal(bucket.vat_tag) if bucket.vat_tag else None,
        vat_pln=fa.decimal(bucket.vat_pln_tag) if bucket.vat_pln_tag else None,
    )


def with_line_rates(
    breakdown: tuple[VatRateTotal, ...], lines: tuple[LineItem, ...]
) -> tuple[VatRateTotal, ...]:
    """Name the rate a multi-rate bucket stands for (23 or 22, 8 or 7, 4 or 3) from the lines.

    The P_13_x field says only "the basic rate"; the lines' P_12 say which one was applied.
    """
    line_rates = {line.rate for line in lines}
    by_field = {bucket.net_tag: bucket for bucket in RATE_BUCKETS}
    result = []
    for total in breakdown:
        used = [rate for rate in by_field[total.field].rates if rate in line_rates]
        rate = used[0] if len(used) == 1 else total.rate
        result.append(VatRateTotal(total.field, rate, total.net, total.vat, total.vat_pln))
    return tuple(result)


def read_line(line: Node) -> LineItem:
    number = line.text("NrWierszaFa")
    return LineItem(
        number=int(number) if number and number.isdigit() else None,
        sale_date=line.date("P_6A"),
        name=line.text("P_7"),
        unit=line.text("P_8A"),
        quantity=line.decimal("P_8B"),
        unit_net_price=line.decimal("P_9A"),
        unit_gross_price=line.decimal("P_9B"),
        net=line.decimal("P_11"),
        gross=line.decimal("P_11A"),
        rate=line.text("P_12"),
        before_correction=line.flag("StanPrzed"),
    )


def _due_dates(payment: Node) -> tuple[date, ...]:
    dates = (term.date("Termin") for term in payment.findall("TerminPlatnosci"))
    return tuple(due for due in dates if due is not None)


def _payment_method(payment: Node) -> str | None:
    if payment.flag("PlatnoscInna"):
        return OTHER_PAYMENT_METHOD
    return PAYMENT_METHODS.get(payment.text("FormaPlatnosci") or "")


def read_account(account: Node) -> BankAccount:
    return BankAccount(
        number=account.text("NrRB") or "",
        swift=account.text("SWIFT"),
        bank_name=account.text("NazwaBanku"),
    )


def read_corrected(corrected: Node) -> CorrectedInvoice:
    return CorrectedInvoice(
        number=corrected.text("NrFaKorygowanej"),
        issue_date=corrected.date("DataWystFaKorygowanej"),
        ksef_number=corrected.text("NrKSeFFaKorygowanej"),
    )


def read_advance(fa: Node) -> AdvanceInfo | None:
    order = fa.find("Zamowienie")
    payments = tuple(
        AdvancePayment(received_on=part.date("P_6Z"), amount=part.decimal("P_15Z"))
        for part in fa.findall("ZaliczkaCzesciowa")
    )
    numbers = fa.texts("FakturaZaliczkowa/NrFaZaliczkowej")
    ksef_numbers = fa.texts("FakturaZaliczkowa/NrKSeFFaZaliczkowej")
    if order is None and not (payments or numbers or ksef_numbers):
        return None
    return AdvanceInfo(
        order_value=order.decimal("WartoscZamowienia") if order is not None else None,
        order_lines=len(order.findall("ZamowienieWiersz")) if order is not None else 0,
        payments=payments,
        advance_invoice_numbers=numbers,
        advance_ksef_numbers=ksef_numbers,
    )
