"""KSeF structured invoices (FA(2), FA(3)): hardened parsing, offline XSD validation, and the
invoice fields and page text they yield. The XML is the legal document: it is never OCR'd."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from lxml import etree
from stdnum.pl import nip

from workers.extract.fields import ExtractedField, FieldSource, FieldStatus
from workers.extract.identifiers import is_valid_iban, is_valid_ksef_number
from workers.extract.ksef_model import KsefInvoice, LineItem, Party
from workers.extract.ksef_read import Node, read_invoice
from workers.extract.ksef_schema import schema_errors
from workers.extract.ksef_text import ksef_text, money_str, quantity_str

__all__ = [
    "DEFAULT_XSD_DIR",
    "KsefInvoice",
    "KsefRejected",
    "ksef_fields",
    "ksef_text",
    "parse_ksef",
]

# The official schemas ship with the package (see xsd/SOURCES.md).
DEFAULT_XSD_DIR = Path(__file__).resolve().parent / "xsd"
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class _Schema:
    name: str
    xsd_file: str


SCHEMAS: dict[str, _Schema] = {
    "http://crd.gov.pl/wzor/2023/06/29/12648/": _Schema("FA (2)", "schemat_FA(2)_v1-0E.xsd"),
    "http://crd.gov.pl/wzor/2025/06/25/13775/": _Schema("FA (3)", "schemat_FA(3)_v1-0E.xsd"),
}
# Other KSeF documents, named in the refusal so the user knows what was sent.
OTHER_KSEF_DOCUMENTS: dict[str, str] = {
    "http://crd.gov.pl/wzor/2026/03/06/14189/": "a KSeF FA_RR (1) invoice (faktura VAT RR)",
    "http://upo.schematy.mf.gov.pl/KSeF/v4-3": "a KSeF UPO receipt",
}
CORRECTION_KINDS = frozenset({"KOR", "KOR_ZAL", "KOR_ROZ"})
# Looked for in the raw bytes so libxml2 never does any entity work on them; a DTD in another
# encoding is still caught after parsing, from the document's docinfo.
_DTD_MARKERS = tuple(
    marker.encode(encoding)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("utf-8", "utf-16-le", "utf-16-be")
)
_DTD_REFUSAL = "the XML declares a DTD (<!DOCTYPE>/<!ENTITY>), which a KSeF invoice never does"


class KsefRejected(Exception):
    """The bytes are not a KSeF invoice this service can take; `reason` says why, for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_ksef(
    data: bytes, *, xsd_dir: Path | None = None, max_bytes: int = MAX_BYTES
) -> KsefInvoice:
    """Parse and validate a KSeF invoice; a schema-invalid one is parsed and marked, not refused.

    Raises KsefRejected for oversize, malformed or DTD-carrying XML and for anything that is not
    an FA(2)/FA(3) `Faktura`.
    """
    root = _parse_hardened(data, max_bytes)
    schema = _recognise(root)
    errors = schema_errors(root, (xsd_dir or DEFAULT_XSD_DIR) / schema.xsd_file)
    return read_invoice(
        Node(root, etree.QName(root).namespace or ""),
        schema=schema.name,
        validation_errors=errors,
    )


def _parse_hardened(data: bytes, max_bytes: int) -> etree._Element:
    if len(data) > max_bytes:
        raise KsefRejected(
            f"the XML file has {len(data)} bytes, more than the limit of {max_bytes} bytes"
        )
    if any(marker in data for marker in _DTD_MARKERS):
        raise KsefRejected(_DTD_REFUSAL)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise KsefRejected(f"malformed XML: {error.msg}") from error
    _refuse_dtd(root)
    return root


def _refuse_dtd(root: etree._Element) -> None:
    """KSeF invoices never carry a DTD; one is only ever an entity-expansion or XXE attempt."""
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.system_url or docinfo.public_id:
        raise KsefRejected(_DTD_REFUSAL)


def _recognise(root: etree._Element) -> _Schema:
    name = etree.QName(root)
    namespace = name.namespace or ""
    if namespace in OTHER_KSEF_DOCUMENTS:
        raise KsefRejected(f"{OTHER_KSEF_DOCUMENTS[namespace]} is not supported")
    schema = SCHEMAS.get(namespace)
    if schema is None:
        where = f" in namespace {namespace}" if namespace else " without a namespace"
        raise KsefRejected(
            f"not a KSeF FA (2)/FA (3) invoice: the root element is <{name.localname}>{where}"
        )
    if name.localname != "Faktura":
        raise KsefRejected(
            f"not a KSeF invoice: the root element is <{name.localname}>, "
            f"not <Faktura>, in the {schema.name} namespace"
        )
    return schema


def ksef_fields(invoice: KsefInvoice) -> list[ExtractedField]:
    """The invoice fields of the shared vocabulary (workers/extract/fields.py), source "xml".

    One field per name, as a document's fields are stored. The invoice's own KSeF number is
    not inside the XML (KSeF assigns it on receipt), so `ksef_number` is not produced here.
    """
    plain: list[tuple[str, object]] = [
        ("invoice_kind", invoice.kind),
        ("invoice_number", invoice.number),
        ("issue_date", _iso(invoice.issue_date)),
        ("due_date", _iso(min(invoice.due_dates, default=None))),
        ("seller_name", invoice.seller.name),
        ("buyer_name", invoice.buyer.name),
        ("buyer_vat_id", invoice.buyer.eu_vat_id or invoice.buyer.other_tax_id),
        ("currency", invoice.currency),
        ("net_total", money_str(invoice.net_total)),
        ("vat_total", money_str(invoice.vat_total)),
        ("gross_total", money_str(invoice.gross_total)),
        ("vat_breakdown", _breakdown(invoice)),
        ("split_payment", invoice.split_payment),
        ("payment_method", invoice.payment_method),
        ("line_items", _line_items(invoice.lines)),
    ]
    fields = [_field(name, value) for name, value in plain if value is not None]
    fields += _sale_date(invoice)
    fields += _nip_fields(invoice.seller, invoice.buyer)
    fields += [_bank_account(invoice.bank_accounts[0].number)] if invoice.bank_accounts else []
    fields += _corrected_fields(invoice)
    return fields


def _field(
    name: str,
    value: object,
    *,
    status: FieldStatus = FieldStatus.confirmed,
    reason: str | None = None,
) -> ExtractedField:
    return ExtractedField(
        name=name,
        value=value,
        confidence=1.0,
        source=FieldSource.xml,
        page=1,
        status=status,
        reason=reason,
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _breakdown(invoice: KsefInvoice) -> list[dict[str, str | None]] | None:
    if not invoice.vat_breakdown:
        return None
    return [
        # A rate without a P_14_x (0 %, zw, np, oo, marża) carries no VAT on this invoice.
        {"rate": total.rate, "net": money_str(total.net), "vat": money_str(total.vat or Decimal(0))}
        for total in invoice.vat_breakdown
    ]


def _line_items(lines: tuple[LineItem, ...]) -> list[dict[str, str | None]] | None:
    # Lines marked StanPrzed show a correction's "before" state; the vocabulary keeps the "after".
    current = [line for line in lines if not line.before_correction]
    if not current:
        return None
    return [
        {
            "name": line.name,
            "unit": line.unit,
            "quantity": quantity_str(line.quantity),
            "unit_net_price": money_str(line.unit_net_price),
            "net": money_str(line.net),
            "rate": line.rate,
        }
        for line in current
    ]


def _sale_date(invoice: KsefInvoice) -> list[ExtractedField]:
    if invoice.sale_date:
        return [_field("sale_date", invoice.sale_date.isoformat())]
    per_line = any(line.sale_date for line in invoice.lines)
    if invoice.issue_date is None or per_line or invoice.kind in CORRECTION_KINDS:
        return []
    # P_6 is filled only when the sale date differs from the issue date (art. 106e ust. 1 pkt 6).
    return [
        _field(
            "sale_date",
            invoice.issue_date.isoformat(),
            reason="P_6 absent: the sale date is the issue date",
        )
    ]


def _nip_fields(seller: Party, buyer: Party) -> list[ExtractedField]:
    pairs = (("seller_nip", seller.nip), ("buyer_nip", buyer.nip))
    return [_nip_field(name, value) for name, value in pairs if value]


def _nip_field(name: str, value: str) -> ExtractedField:
    number = nip.compact(value)
    if nip.is_valid(number):
        return _field(name, number)
    return _field(
        name, number, status=FieldStatus.candidate, reason="NIP fails the checksum or format"
    )


def _bank_account(number: str) -> ExtractedField:
    """NrRB as an IBAN without spaces; a bare 26-digit NRB is a Polish account (PL prefix)."""
    account = "".join(number.split()).upper()
    if len(account) == 26 and account.isdigit():
        account = f"PL{account}"
    if is_valid_iban(account):
        return _field("bank_account", account)
    return _field("bank_account", account, status=FieldStatus.candidate, reason="not a valid IBAN")


def _corrected_fields(invoice: KsefInvoice) -> list[ExtractedField]:
    """One value per field name: the first corrected invoice; the text lists them all."""
    if not invoice.corrected_invoices:
        return []
    first, count = invoice.corrected_invoices[0], len(invoice.corrected_invoices)
    reason = f"the first of {count} corrected invoices; all are in the text" if count > 1 else None
    fields = []
    if first.number:
        fields.append(_field("corrected_invoice_number", first.number, reason=reason))
    if first.ksef_number:
        fields.append(_ksef_number_field("corrected_ksef_number", first.ksef_number, reason))
    return fields


def _ksef_number_field(name: str, value: str, reason: str | None) -> ExtractedField:
    if is_valid_ksef_number(value):
        return _field(name, value, reason=reason)
    return _field(
        name,
        value,
        status=FieldStatus.candidate,
        reason="KSeF number fails its format or CRC-8 check",
    )
