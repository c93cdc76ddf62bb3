"""Retention arithmetic under Polish law, pure: no database, no clock.

Periods run in whole calendar years from the end of the year in which the trigger happened
(rounded to 31 December by default); several applicable rules: the longest wins; a trigger
that is not known yet (employment not ended, contract not settled) means keep, never guess.
Archival categories (JRWA, "kategorie archiwalne"): A permanent ("materiały archiwalne"),
B<n> destroyed after n years, BE<n> an expert decides after n years, Bc destroyed once used.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any


class Category(StrEnum):
    A = "A"
    B = "B"
    BE = "BE"
    Bc = "Bc"


class Trigger(StrEnum):
    """The event a retention period is counted from."""

    issue_date = "issue_date"
    financial_year_end = "financial_year_end"
    tax_payment_deadline = "tax_payment_deadline"
    employment_end = "employment_end"
    contract_end = "contract_end"
    circulation_completion = "circulation_completion"
    upload = "upload"


class Condition(StrEnum):
    """When a class applies to a document of its document class (HR files split by hire date)."""

    hired_before_2019 = "hired_before_2019"
    """Hired before 2019 and no ZUS OSW + RIA reports filed: 50 years."""
    hired_1999_2018_reported = "hired_1999_2018_reported"
    """Hired 1999-2018 and the employer filed ZUS OSW + RIA: 10 years."""
    hired_from_2019 = "hired_from_2019"


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """A retention class as the rules see it (rows of `retention_classes`)."""

    code: str
    category: Category
    period_years: int
    trigger: Trigger
    legal_basis: str
    round_to_year_end: bool = True
    condition: Condition | None = None

    @property
    def symbol(self) -> str:
        """A, B5, BE10, Bc: the archival category as the JRWA writes it."""
        if self.category in (Category.A, Category.Bc):
            return self.category.value
        return f"{self.category.value}{self.period_years}"


@dataclass(frozen=True, slots=True)
class DocumentFacts:
    """What a retention date depends on: dated fields (extracted, manual or custom) and events."""

    uploaded_on: date
    fields: Mapping[str, Any]
    circulation_finished_on: date | None = None


class Status(StrEnum):
    dated = "dated"
    """retain_until is known."""
    permanent = "permanent"
    """Category A: never destroyed."""
    unknown_trigger = "unknown_trigger"
    """An applicable rule waits for a date nobody knows yet: keep."""


@dataclass(frozen=True, slots=True)
class Decision:
    status: Status
    rule: RetentionRule | None
    retain_until: date | None
    trigger_date: date | None
    explanation: str

    @property
    def basis(self) -> str:
        return "" if self.rule is None else self.rule.legal_basis


HIRE_SPLIT = date(2019, 1, 1)
OSW_RIA_FROM = date(1999, 1, 1)


def _field_date(facts: DocumentFacts, *names: str) -> date | None:
    for name in names:
        value = facts.fields.get(name)
        if value in (None, ""):
            continue
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            continue
    return None


def _latest(*dates: date | None) -> date | None:
    known = [d for d in dates if d is not None]
    return max(known) if known else None


def tax_payment_deadline(taxable_on: date) -> date:
    """The last tax payment deadline a cost or sale dated `taxable_on` bears on.

    VAT is due by the 25th of the next month (VAT act art. 103), but the annual income-tax
    return (PIT: 30 April, CIT: end of the third month) for the year falls in the next year:
    the later one, 30 April of the next year, counts (Ordynacja podatkowa art. 70 § 1, art. 86).
    """
    return date(taxable_on.year + 1, 4, 30)


def _document_date(facts: DocumentFacts) -> date | None:
    return _latest(_field_date(facts, "issue_date"), _field_date(facts, "sale_date"))


def _tax(facts: DocumentFacts) -> date | None:
    taxable = _document_date(facts)
    return None if taxable is None else tax_payment_deadline(taxable)


def _contract_end(facts: DocumentFacts) -> date | None:
    """Final settlement when someone entered it, otherwise the contract's end date."""
    return _field_date(facts, "settlement_date", "end_date")


_TRIGGERS: dict[Trigger, Callable[[DocumentFacts], date | None]] = {
    Trigger.issue_date: lambda f: _field_date(f, "issue_date"),
    Trigger.financial_year_end: _document_date,
    Trigger.tax_payment_deadline: _tax,
    Trigger.employment_end: lambda f: _field_date(f, "employment_end"),
    Trigger.contract_end: _contract_end,
    Trigger.circulation_completion: lambda f: f.circulation_finished_on,
    Trigger.upload: lambda f: f.uploaded_on,
}


def trigger_date(trigger: Trigger, facts: DocumentFacts) -> date | None:
    return _TRIGGERS[trigger](facts)


def _reported(facts: DocumentFacts) -> bool:
    return facts.fields.get("zus_osw_ria_filed") is True


def applies(condition: Condition | None, facts: DocumentFacts) -> bool:
    """Does a class apply? An unknown hire date makes every HR condition apply (keep longest)."""
    if condition is None:
        return True
    hired = _field_date(facts, "employment_start")
    if hired is None:
        return True
    if condition is Condition.hired_from_2019:
        return hired >= HIRE_SPLIT
    reported = _reported(facts) and OSW_RIA_FROM <= hired < HIRE_SPLIT
    if condition is Condition.hired_1999_2018_reported:
        return reported
    return hired < HIRE_SPLIT and not reported


def add_years(day: date, years: int) -> date:
    """Same day `years` later; 29 February becomes 28 February in a common year."""
    year = day.year + years
    return date(year, day.month, min(day.day, calendar.monthrange(year, day.month)[1]))


def period_end(rule: RetentionRule, trigger: date) -> date:
    if rule.round_to_year_end:
        return date(trigger.year + rule.period_years, 12, 31)
    return add_years(trigger, rule.period_years)


def decide(rules: Sequence[RetentionRule], facts: DocumentFacts) -> Decision:
    """The decision for one document under the classes of its document class."""
    applicable = [rule for rule in rules if applies(rule.condition, facts)]
    if not applicable:
        return Decision(Status.unknown_trigger, None, None, None, "no retention class applies")
    permanent = [rule for rule in applicable if rule.category is Category.A]
    if permanent:
        rule = permanent[0]
        trigger = trigger_date(rule.trigger, facts)
        return Decision(
            Status.permanent, rule, None, trigger, f"{rule.code}: category A, kept permanently"
        )
    return _longest(applicable, facts)


def _longest(rules: Sequence[RetentionRule], facts: DocumentFacts) -> Decision:
    dated: list[tuple[date, date, RetentionRule]] = []
    for rule in rules:
        trigger = trigger_date(rule.trigger, facts)
        if trigger is None:
            return Decision(
                Status.unknown_trigger,
                rule,
                None,
                None,
                f"{rule.code}: the {rule.trigger.value.replace('_', ' ')} is not known yet; "
                "kept until it is",
            )
        dated.append((period_end(rule, trigger), trigger, rule))
    until, trigger, rule = max(dated, key=lambda item: (item[0], item[2].code))
    return Decision(Status.dated, rule, until, trigger, _explain(rule, trigger, until, len(rules)))


def _explain(rule: RetentionRule, trigger: date, until: date, considered: int) -> str:
    counted = "from the end of the year of" if rule.round_to_year_end else "from"
    text = (
        f"{rule.code} ({rule.symbol}): {rule.period_years} years {counted} the "
        f"{rule.trigger.value.replace('_', ' ')} {trigger.isoformat()}, until {until.isoformat()}"
    )
    if considered > 1:
        text += f"; the longest of {considered} applicable classes"
    return text
