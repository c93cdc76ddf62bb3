"""What conditions and mappings read from a document: its extracted or corrected fields, its
metadata keys (e.g. `cost_centre`), its class, and `amount_pln`.

`amount_pln` is the gross amount (gross_total, else contract_value) in PLN: as it is for PLN,
converted at the definition's stated rate for another currency, and None (unknown) when the
amount or the rate is missing. An unknown amount is routed as above every threshold: a
comparison `gt`/`gte` holds and `lt`/`lte` fails, so the full approval chain runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.documents.models import Document, DocumentField
from schemas.circulation import Condition, ConditionOp, WorkflowDefinition

AMOUNT_PLN = "amount_pln"
DOCUMENT_CLASS = "document_class"
_ABOVE_EVERYTHING = (ConditionOp.gt, ConditionOp.gte, ConditionOp.ne)


def document_facts(
    session: Session, document: Document, definition: WorkflowDefinition
) -> dict[str, Any]:
    facts: dict[str, Any] = dict(document.custom_fields)
    fields = session.execute(
        select(DocumentField.name, DocumentField.value).where(
            DocumentField.document_id == document.id, DocumentField.status == "confirmed"
        )
    )
    facts.update({name: value for name, value in fields if value is not None})
    facts[DOCUMENT_CLASS] = document.document_class
    facts[AMOUNT_PLN] = amount_pln(facts, definition.currency_rates)
    return facts


def amount_pln(facts: Mapping[str, Any], rates: Mapping[str, Decimal]) -> Decimal | None:
    amount = _decimal(facts.get("gross_total", facts.get("contract_value")))
    currency = str(facts.get("currency") or "PLN").upper()
    if amount is None:
        return None
    if currency == "PLN":
        return amount
    rate = rates.get(currency)
    return None if rate is None else (amount * rate).quantize(Decimal("0.01"))


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def holds(condition: Condition, facts: Mapping[str, Any]) -> bool:
    value = facts.get(condition.fact)
    if condition.op == ConditionOp.present:
        return value is not None
    if condition.op == ConditionOp.absent:
        return value is None
    if value is None:
        return condition.fact == AMOUNT_PLN and condition.op in _ABOVE_EVERYTHING
    return _compare(condition.op, value, condition.value)


def all_hold(conditions: list[Condition], facts: Mapping[str, Any]) -> bool:
    return all(holds(c, facts) for c in conditions)


def _compare(op: ConditionOp, actual: Any, expected: Any) -> bool:
    if op in (ConditionOp.in_, ConditionOp.not_in):
        members = {_normal(v) for v in (expected or [])}
        return (_normal(actual) in members) == (op == ConditionOp.in_)
    if op in (ConditionOp.eq, ConditionOp.ne):
        same: bool = _normal(actual) == _normal(expected)
        return same == (op == ConditionOp.eq)
    left, right = _decimal(actual), _decimal(expected)
    if left is None or right is None:
        return False
    comparisons: dict[ConditionOp, bool] = {
        ConditionOp.gt: left > right,
        ConditionOp.gte: left >= right,
        ConditionOp.lt: left < right,
        ConditionOp.lte: left <= right,
    }
    return comparisons[op]


def _normal(value: Any) -> Any:
    """Amounts compare as numbers ("5000" == 5000.00), everything else as text."""
    number = _decimal(value) if not isinstance(value, bool) else None
    return number if number is not None else str(value)
