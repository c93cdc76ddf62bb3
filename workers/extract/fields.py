"""The shared vocabulary of extraction: one field found in a document, with its evidence.

Field names (one list for every extractor, the API and the search index):

invoice    invoice_number, invoice_kind (VAT, KOR, ZAL, ROZ, UPR, KOR_ZAL, KOR_ROZ, PROFORMA),
           issue_date, sale_date, due_date, seller_name, seller_nip, buyer_name, buyer_nip,
           buyer_vat_id (EU or other tax id of a foreign buyer), net_total, vat_total,
           gross_total, vat_breakdown (list of {rate, net, vat}), currency, bank_account,
           split_payment, ksef_number, payment_method, corrected_invoice_number,
           corrected_ksef_number, line_items (list of {name, unit, quantity, unit_net_price,
           net, rate})
contract   contract_kind, parties (list of {name, nip, krs, regon}), signing_date,
           start_date, end_date, indefinite, contract_value, currency, notice_period
hr record  employee_name, pesel, hr_document_kind, employment_start, employment_end

Values are JSON: dates as ISO `YYYY-MM-DD` strings, money as decimal strings ("1234.56"),
identifiers normalised (NIP as 10 digits, IBAN without spaces, PESEL as 11 digits).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FieldSource(StrEnum):
    xml = "xml"
    text_layer = "text-layer"
    ocr = "ocr"
    manual = "manual"


class FieldStatus(StrEnum):
    confirmed = "confirmed"
    candidate = "candidate"  # e.g. an identifier failing its checksum: shown, never trusted


@dataclass(frozen=True, slots=True)
class ExtractedField:
    name: str
    value: Any
    confidence: float  # 0.0 .. 1.0
    source: FieldSource
    page: int | None = None  # 1-based page where the value was found
    status: FieldStatus = FieldStatus.confirmed
    reason: str | None = None  # why a candidate is not confirmed, or how it was repaired


INVOICE_FIELDS = frozenset(
    {
        "invoice_number", "invoice_kind", "issue_date", "sale_date", "due_date", "seller_name",
        "seller_nip", "buyer_name", "buyer_nip", "buyer_vat_id", "net_total", "vat_total",
        "gross_total", "vat_breakdown", "currency", "bank_account", "split_payment",
        "ksef_number", "payment_method", "corrected_invoice_number", "corrected_ksef_number",
        "line_items",
    }
)  # fmt: skip
CONTRACT_FIELDS = frozenset(
    {
        "contract_kind", "parties", "signing_date", "start_date", "end_date", "indefinite",
        "contract_value", "currency", "notice_period",
    }
)  # fmt: skip
HR_FIELDS = frozenset(
    {"employee_name", "pesel", "hr_document_kind", "employment_start", "employment_end"}
)
KNOWN_FIELDS = INVOICE_FIELDS | CONTRACT_FIELDS | HR_FIELDS
