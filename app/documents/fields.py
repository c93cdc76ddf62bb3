"""Extracted fields as the API shows them, and corrections a person makes (source `manual`).

A manual value is validated like an extracted one (a NIP must pass its checksum, a date must
be a date), recorded with an audit event, and never overwritten by reprocessing.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.documents.models import Document, DocumentField
from app.errors import Unprocessable
from schemas.documents import FieldOut
from workers.extract.fields import KNOWN_FIELDS, FieldSource, FieldStatus
from workers.extract.identifiers import (
    is_valid_iban,
    is_valid_ksef_number,
    is_valid_pesel,
    mask_pesel,
    normalise_nip,
)

REVIEW_THRESHOLD = 0.8
_MONEY_FIELDS = {"net_total", "vat_total", "gross_total", "contract_value"}
_DATE_FIELDS = {
    "issue_date", "sale_date", "due_date", "signing_date", "start_date", "end_date",
    "employment_start", "employment_end",
}  # fmt: skip
_BOOL_FIELDS = {"split_payment", "indefinite"}
_SENSITIVE = {"pesel"}


def field_out(field: DocumentField, *, unmask: bool = False) -> FieldOut:
    """A cleared field (manual, value null) is shown as such: null, source `manual`."""
    value = field.value
    if field.name in _SENSITIVE and isinstance(value, str) and not unmask:
        value = mask_pesel(value)
    return FieldOut(
        name=field.name,
        value=value,
        confidence=field.confidence,
        source=field.source,
        page=field.page,
        status=field.status,
        reason=field.reason,
        needs_review=needs_review(field),
        updated_by=field.updated_by,
        updated_at=field.updated_at,
    )


def needs_review(field: DocumentField) -> bool:
    if field.source == FieldSource.manual:
        return False
    return field.status == FieldStatus.candidate or field.confidence < REVIEW_THRESHOLD


def _nip(value: Any) -> str:
    nip = normalise_nip(str(value))
    if nip is None:
        raise ValueError("not a valid NIP (10 digits with a correct check digit)")
    return nip


def _checked(check: Any, label: str) -> Any:
    def validate(value: Any) -> str:
        cleaned = re.sub(r"\s+", "", str(value)).upper()
        if not check(cleaned):
            raise ValueError(f"not a valid {label}")
        return cleaned

    return validate


def _money(value: Any) -> str:
    try:
        amount = Decimal(str(value).replace(" ", "").replace(",", "."))
    except InvalidOperation as exc:
        raise ValueError("not an amount (use 1234.56)") from exc
    if not amount.is_finite():
        raise ValueError("not an amount (use 1234.56)")
    return str(amount.quantize(Decimal("0.01")))


def _date(value: Any) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise ValueError("not a date (use YYYY-MM-DD)") from exc


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _currency(value: Any) -> str:
    code = str(value).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError("not an ISO 4217 currency code such as PLN or EUR")
    return code


_VALIDATORS: dict[str, Any] = {
    "seller_nip": _nip,
    "buyer_nip": _nip,
    "pesel": _checked(is_valid_pesel, "PESEL"),
    "bank_account": _checked(is_valid_iban, "IBAN / bank account number"),
    "ksef_number": _checked(is_valid_ksef_number, "KSeF number"),
    "corrected_ksef_number": _checked(is_valid_ksef_number, "KSeF number"),
    "currency": _currency,
    **dict.fromkeys(_MONEY_FIELDS, _money),
    **dict.fromkeys(_DATE_FIELDS, _date),
    **dict.fromkeys(_BOOL_FIELDS, _bool),
}


def validated_value(name: str, value: Any) -> Any:
    if name not in KNOWN_FIELDS:
        raise Unprocessable(
            f"unknown field {name!r}; known fields: {', '.join(sorted(KNOWN_FIELDS))}"
        )
    validate = _VALIDATORS.get(name)
    if validate is None:
        return value
    try:
        return validate(value)
    except ValueError as exc:
        raise Unprocessable(f"{name}: {exc}", field=name) from exc


def set_manual_fields(
    session: Session, *, document: Document, values: dict[str, Any], actor: str
) -> dict[str, dict[str, Any]]:
    """Store corrections; `None` clears a field and keeps it cleared through reprocessing.

    Confirming an extracted value as it is also counts: it becomes `manual`. Returns the
    changes for the audit trail.
    """
    clean = {name: None if v is None else validated_value(name, v) for name, v in values.items()}
    existing = {
        f.name: f
        for f in session.scalars(
            select(DocumentField).where(DocumentField.document_id == document.id)
        )
    }
    changes = {
        name: {"from": existing[name].value if name in existing else None, "to": value}
        for name, value in clean.items()
        if name not in existing
        or existing[name].value != value
        or existing[name].source != FieldSource.manual
    }
    for name, value in clean.items():
        _apply(session, document, existing.get(name), name, value, actor)
    if changes:
        record(
            session,
            actor=actor,
            action="document.fields_corrected",
            document_id=document.id,
            details={"changes": _masked(changes)},
        )
    session.flush()
    return changes


def _apply(
    session: Session,
    document: Document,
    field: DocumentField | None,
    name: str,
    value: Any,
    actor: str,
) -> None:
    if field is None:
        field = DocumentField(document_id=document.id, name=name)
        session.add(field)
    field.value = value
    field.version_id = document.current_version_id
    field.confidence = 1.0
    field.source = FieldSource.manual
    field.page = None
    field.status = FieldStatus.confirmed
    field.reason = None
    field.updated_by = actor


def _masked(changes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """PESEL stays out of the audit trail in clear."""
    return {
        name: {
            k: mask_pesel(v) if name in _SENSITIVE and isinstance(v, str) else v
            for k, v in change.items()
        }
        for name, change in changes.items()
    }


def fields_of(session: Session, document_id: uuid.UUID) -> list[DocumentField]:
    return list(
        session.scalars(
            select(DocumentField)
            .where(DocumentField.document_id == document_id)
            .order_by(DocumentField.name)
        )
    )
