"""Retention arithmetic, table-driven: every seeded class at the year's edges, 29 February,
unknown triggers and triggers entered later; the seeded rows equal the policy defaults."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.retention.models import ClassRetention, RetentionClass
from app.retention.policies import DEFAULT_MAPPING, DEFAULT_RULES
from app.retention.repository import rule_of
from app.retention.rules import (
    Category,
    DocumentFacts,
    RetentionRule,
    Status,
    Trigger,
    add_years,
    decide,
    period_end,
    tax_payment_deadline,
)

RULES = {rule.code: rule for rule, _name in DEFAULT_RULES}
UPLOADED = date(2024, 6, 1)


def _rules_of(document_class: str) -> list[RetentionRule]:
    codes = DEFAULT_MAPPING.get(document_class, ("default",))
    return [RULES[code] for code in codes]


def _decide(document_class: str, **fields: Any) -> tuple[Status, date | None, str | None]:
    uploaded = fields.pop("uploaded", UPLOADED)
    finished = fields.pop("circulation_finished", None)
    facts = DocumentFacts(uploaded_on=uploaded, fields=fields, circulation_finished_on=finished)
    decision = decide(_rules_of(document_class), facts)
    return decision.status, decision.retain_until, decision.rule and decision.rule.code


D = Status.dated
CASES: list[tuple[str, dict[str, Any], tuple[Status, date | None, str | None]]] = [
    # invoices: the tax deadline (30 April of the next year) outlasts the accounting 5 years
    ("invoice", {"issue_date": "2020-12-31"}, (D, date(2026, 12, 31), "vat_invoice")),
    ("invoice", {"issue_date": "2021-01-01"}, (D, date(2027, 12, 31), "vat_invoice")),
    ("invoice", {"issue_date": "2024-02-29"}, (D, date(2030, 12, 31), "vat_invoice")),
    ("invoice", {"issue_date": "2020-12-31", "sale_date": "2021-01-02"},
     (D, date(2027, 12, 31), "vat_invoice")),
    ("invoice", {}, (Status.unknown_trigger, None, "accounting_voucher")),
    ("correction", {"issue_date": "2019-03-15"}, (D, date(2025, 12, 31), "vat_invoice")),
    ("receipt", {"issue_date": "2019-12-31"}, (D, date(2025, 12, 31), "vat_invoice")),
    # contracts: civil claims (6 years) outlast the accounting 5 years from settlement
    ("contract", {"end_date": "2020-12-31"}, (D, date(2026, 12, 31), "contract_claims")),
    ("contract", {"end_date": "2021-01-01"}, (D, date(2027, 12, 31), "contract_claims")),
    ("contract", {"end_date": "2020-01-01", "settlement_date": "2023-06-30"},
     (D, date(2029, 12, 31), "contract_claims")),
    ("contract", {"indefinite": True}, (Status.unknown_trigger, None, "contract_settlement")),
    ("contract", {"end_date": "2019-06-30"}, (D, date(2025, 12, 31), "contract_claims")),
    ("annex", {"end_date": "2024-02-29"}, (D, date(2030, 12, 31), "contract_claims")),
    # HR files: hire date decides; unknown hire keeps the longest; end unknown keeps all
    ("hr_record", {"employment_start": "2018-12-31", "employment_end": "2020-01-01"},
     (D, date(2070, 12, 31), "hr_file_before_2019")),
    ("hr_record", {"employment_start": "2019-01-01", "employment_end": "2020-12-31"},
     (D, date(2030, 12, 31), "hr_file_from_2019")),
    ("hr_record", {"employment_start": "2010-05-01", "employment_end": "2020-06-30",
                   "zus_osw_ria_filed": True},
     (D, date(2030, 12, 31), "hr_file_1999_2018_reported")),
    ("hr_record", {"employment_start": "1998-12-31", "employment_end": "2020-06-30",
                   "zus_osw_ria_filed": True},
     (D, date(2070, 12, 31), "hr_file_before_2019")),
    ("hr_record", {"employment_end": "2021-01-01"}, (D, date(2071, 12, 31), "hr_file_before_2019")),
    ("hr_record", {"employment_start": "2019-02-01"},
     (Status.unknown_trigger, None, "hr_file_from_2019")),
    ("payroll", {"issue_date": "2020-12-31"}, (D, date(2030, 12, 31), "payroll")),
    ("payroll", {"issue_date": "2021-01-01"}, (D, date(2031, 12, 31), "payroll")),
    ("annual_statement", {"issue_date": "2020-03-31"},
     (Status.permanent, None, "annual_statement")),
    ("disposal_protocol", {}, (Status.permanent, None, "disposal_protocol")),
    ("proforma", {"issue_date": "2020-12-31"}, (D, date(2021, 12, 31), "pro_forma")),
    ("proforma", {"issue_date": "2021-01-01"}, (D, date(2022, 12, 31), "pro_forma")),
    ("other", {"uploaded": date(2020, 12, 31)}, (D, date(2030, 12, 31), "default")),
    ("other", {"uploaded": date(2021, 1, 1)}, (D, date(2031, 12, 31), "default")),
]  # fmt: skip


@pytest.mark.parametrize(("document_class", "fields", "expected"), CASES)
def test_seeded_rules(
    document_class: str, fields: dict[str, Any], expected: tuple[Status, date | None, str]
) -> None:
    assert _decide(document_class, **fields) == expected


def test_every_seeded_class_is_exercised() -> None:
    used = {expected[2] for _c, _f, expected in CASES}
    assert used == set(RULES)


def test_trigger_entered_later_dates_the_document() -> None:
    before = _decide("hr_record", employment_start="2019-04-01")
    later = _decide("hr_record", employment_start="2019-04-01", employment_end="2031-03-31")
    assert before[:2] == (Status.unknown_trigger, None)
    assert later[:2] == (D, date(2041, 12, 31))


def test_circulation_completion_trigger() -> None:
    rule = RetentionRule("bc", Category.Bc, 0, Trigger.circulation_completion, "use")
    unknown = decide([rule], DocumentFacts(UPLOADED, {}))
    done = decide([rule], DocumentFacts(UPLOADED, {}, circulation_finished_on=date(2025, 1, 1)))
    assert (unknown.status, done.retain_until) == (Status.unknown_trigger, date(2025, 12, 31))


@pytest.mark.parametrize(
    ("trigger", "years", "expected"),
    [
        (date(2020, 2, 29), 5, date(2025, 2, 28)),
        (date(2020, 2, 29), 4, date(2024, 2, 29)),
        (date(2020, 12, 31), 1, date(2021, 12, 31)),
        (date(2021, 1, 1), 0, date(2021, 1, 1)),
    ],
)
def test_periods_not_rounded_to_the_year_end(trigger: date, years: int, expected: date) -> None:
    rule = RetentionRule("exact", Category.B, years, Trigger.upload, "x", round_to_year_end=False)
    assert period_end(rule, trigger) == expected == add_years(trigger, years)


def test_tax_payment_deadline_falls_in_the_next_year() -> None:
    assert tax_payment_deadline(date(2020, 12, 31)) == date(2021, 4, 30)
    assert tax_payment_deadline(date(2021, 1, 1)) == date(2022, 4, 30)


def test_symbols() -> None:
    assert [RULES[c].symbol for c in ("annual_statement", "payroll", "default", "pro_forma")] == [
        "A",
        "B10",
        "BE10",
        "Bc",
    ]


def test_the_migration_seeds_the_policy_defaults(engine: Engine) -> None:
    with Session(engine) as session:
        seeded = {
            row.code: (rule_of(row), row.name) for row in session.scalars(select(RetentionClass))
        }
        mapping: dict[str, set[str]] = {}
        for row in session.scalars(select(ClassRetention)):
            mapping.setdefault(row.document_class, set()).add(row.retention_class)
    assert seeded == {rule.code: (rule, name) for rule, name in DEFAULT_RULES}
    assert mapping == {k: set(v) for k, v in DEFAULT_MAPPING.items()}
