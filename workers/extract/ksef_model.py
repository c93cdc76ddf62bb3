"""The typed result of parsing a KSeF invoice (FA(2), FA(3)) and the tables that give its codes
meaning: VAT rate buckets (P_13_x/P_14_x), payment methods, invoice kinds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class RateBucket:
    """One P_13_x field (net) with its P_14_x (VAT) and P_14_xW (VAT in PLN) companions.

    `rates` lists the rate codes the bucket may stand for, the current one first; the codes are
    those of FaWiersz/P_12 in FA(3), so the breakdown and the lines speak the same language.
    """

    net_tag: str
    vat_tag: str | None
    vat_pln_tag: str | None
    rates: tuple[str, ...]


# From the FA(3) XSD annotations (FA(2) has the same fields with the same meaning).
RATE_BUCKETS: tuple[RateBucket, ...] = (
    RateBucket("P_13_1", "P_14_1", "P_14_1W", ("23", "22")),  # stawka podstawowa
    RateBucket("P_13_2", "P_14_2", "P_14_2W", ("8", "7")),  # stawka obniżona pierwsza
    RateBucket("P_13_3", "P_14_3", "P_14_3W", ("5",)),  # stawka obniżona druga
    RateBucket("P_13_4", "P_14_4", "P_14_4W", ("4", "3")),  # ryczałt dla taksówek osobowych
    RateBucket("P_13_5", "P_14_5", None, ("OSS",)),  # procedura szczególna, dział XII rozdz. 6a
    RateBucket("P_13_6_1", None, None, ("0 KR",)),  # 0% w kraju, bez WDT i eksportu
    RateBucket("P_13_6_2", None, None, ("0 WDT",)),  # 0%, wewnątrzwspólnotowa dostawa towarów
    RateBucket("P_13_6_3", None, None, ("0 EX",)),  # 0%, eksport towarów
    RateBucket("P_13_7", None, None, ("zw",)),  # zwolnione od podatku
    RateBucket("P_13_8", None, None, ("np I",)),  # poza terytorium kraju (bez P_13_5, P_13_9)
    RateBucket("P_13_9", None, None, ("np II",)),  # usługi z art. 100 ust. 1 pkt 4
    RateBucket("P_13_10", None, None, ("oo",)),  # odwrotne obciążenie w obrocie krajowym
    RateBucket("P_13_11", None, None, ("marża",)),  # procedura marży, art. 119 i 120
)

# Platnosc/FormaPlatnosci (TFormaPlatnosci): code -> stable English key.
PAYMENT_METHODS: dict[str, str] = {
    "1": "cash",
    "2": "card",
    "3": "voucher",
    "4": "cheque",
    "5": "credit",
    "6": "transfer",
    "7": "mobile",
}
OTHER_PAYMENT_METHOD = "other"  # Platnosc/PlatnoscInna with its OpisPlatnosci

PAYMENT_METHOD_LABELS_PL: dict[str, str] = {
    "cash": "gotówka",
    "card": "karta",
    "voucher": "bon",
    "cheque": "czek",
    "credit": "kredyt",
    "transfer": "przelew",
    "mobile": "płatność mobilna",
    OTHER_PAYMENT_METHOD: "inna",
}

INVOICE_KIND_LABELS_PL: dict[str, str] = {
    "VAT": "Faktura VAT",
    "KOR": "Faktura korygująca",
    "ZAL": "Faktura zaliczkowa",
    "ROZ": "Faktura rozliczeniowa (po zaliczkach)",
    "UPR": "Faktura uproszczona",
    "KOR_ZAL": "Faktura korygująca fakturę zaliczkową",
    "KOR_ROZ": "Faktura korygująca fakturę rozliczeniową",
}


@dataclass(frozen=True, slots=True)
class Party:
    """Podmiot1 (seller, sprzedawca) or Podmiot2 (buyer, nabywca)."""

    name: str | None
    nip: str | None = None
    eu_vat_id: str | None = None  # KodUE + NrVatUE, e.g. "DE811907980"
    other_tax_id: str | None = None  # NrID, issued in other_tax_id_country
    other_tax_id_country: str | None = None
    no_tax_id: bool = False  # BrakID
    address: tuple[str, ...] = ()  # KodKraju, AdresL1, AdresL2


@dataclass(frozen=True, slots=True)
class VatRateTotal:
    """One rate of the per-rate summary: net (P_13_x), VAT (P_14_x) and VAT in PLN (P_14_xW)."""

    field: str  # the P_13_x element it came from
    rate: str  # a FaWiersz/P_12 code: "23", "8", "0 WDT", "zw", "oo", "np I", ...; "OSS", "marża"
    net: Decimal
    vat: Decimal | None
    vat_pln: Decimal | None


@dataclass(frozen=True, slots=True)
class LineItem:
    """FaWiersz: one line of the invoice, in the invoice currency."""

    number: int | None  # NrWierszaFa
    sale_date: date | None  # P_6A, when the lines have different sale dates
    name: str | None  # P_7
    unit: str | None  # P_8A
    quantity: Decimal | None  # P_8B
    unit_net_price: Decimal | None  # P_9A
    unit_gross_price: Decimal | None  # P_9B
    net: Decimal | None  # P_11
    gross: Decimal | None  # P_11A
    rate: str | None  # P_12
    before_correction: bool = False  # StanPrzed: the line shows the state before a correction


@dataclass(frozen=True, slots=True)
class BankAccount:
    """Platnosc/RachunekBankowy."""

    number: str  # NrRB as written
    swift: str | None = None
    bank_name: str | None = None


@dataclass(frozen=True, slots=True)
class CorrectedInvoice:
    """DaneFaKorygowanej: one invoice this correction corrects."""

    number: str | None  # NrFaKorygowanej
    issue_date: date | None  # DataWystFaKorygowanej
    ksef_number: str | None  # NrKSeFFaKorygowanej; None when issued outside KSeF (NrKSeFN)


@dataclass(frozen=True, slots=True)
class AdvancePayment:
    """ZaliczkaCzesciowa: one payment received before the sale."""

    received_on: date | None  # P_6Z
    amount: Decimal | None  # P_15Z


@dataclass(frozen=True, slots=True)
class AdvanceInfo:
    """Advance invoices (faktura zaliczkowa) and the final invoice that settles them."""

    order_value: Decimal | None  # Zamowienie/WartoscZamowienia, gross
    order_lines: int  # Zamowienie/ZamowienieWiersz count
    payments: tuple[AdvancePayment, ...]
    advance_invoice_numbers: tuple[str, ...]  # FakturaZaliczkowa/NrFaZaliczkowej (outside KSeF)
    advance_ksef_numbers: tuple[str, ...]  # FakturaZaliczkowa/NrKSeFFaZaliczkowej


@dataclass(frozen=True, slots=True)
class SalePeriod:
    """OkresFa: the period an invoice covers (P_6_Od .. P_6_Do)."""

    start: date | None
    end: date | None


@dataclass(frozen=True, slots=True)
class KsefInvoice:
    """A parsed KSeF invoice. Amounts are in `currency`; for a correction they are differences.

    A schema-invalid invoice is still parsed as far as its elements allow: what is missing or
    unreadable is None, and `schema_valid`/`validation_errors` say what is wrong.
    """

    schema: str  # "FA (2)" or "FA (3)"
    schema_valid: bool
    validation_errors: tuple[str, ...]
    kind: str | None  # RodzajFaktury: VAT, KOR, ZAL, ROZ, UPR, KOR_ZAL, KOR_ROZ
    number: str | None  # P_2
    issue_date: date | None  # P_1
    issue_place: str | None  # P_1M
    sale_date: date | None  # P_6, or P_6_Do of the period
    sale_period: SalePeriod | None  # OkresFa
    seller: Party
    buyer: Party
    currency: str | None  # KodWaluty
    vat_breakdown: tuple[VatRateTotal, ...]
    net_total: Decimal | None  # sum of P_13_x
    vat_total: Decimal | None  # sum of P_14_x, invoice currency
    vat_total_pln: Decimal | None  # sum of P_14_xW, foreign-currency invoices only
    gross_total: Decimal | None  # P_15
    split_payment: bool  # Adnotacje/P_18A == 1 (mechanizm podzielonej płatności)
    due_dates: tuple[date, ...]  # Platnosc/TerminPlatnosci/Termin
    payment_method: str | None  # a PAYMENT_METHODS value or OTHER_PAYMENT_METHOD
    payment_method_note: str | None  # Platnosc/OpisPlatnosci
    paid_on: date | None  # Platnosc/DataZaplaty when Zaplacono == 1
    bank_accounts: tuple[BankAccount, ...]
    lines: tuple[LineItem, ...]
    correction_reason: str | None  # PrzyczynaKorekty
    corrected_invoices: tuple[CorrectedInvoice, ...]
    advance: AdvanceInfo | None
    additional_info: tuple[tuple[str, str], ...]  # DodatkowyOpis: (Klucz, Wartosc)
