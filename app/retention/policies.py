"""The Polish defaults seeded by migration 0011: retention classes and the document classes they
cover. The migration carries a frozen copy; a test keeps the two equal."""

from __future__ import annotations

from app.retention.rules import Category, Condition, RetentionRule, Trigger

UOR = "ustawa o rachunkowości"
DEFAULT_CLASS = "default"

DEFAULT_RULES: tuple[tuple[RetentionRule, str], ...] = (
    (
        RetentionRule(
            "accounting_voucher", Category.B, 5, Trigger.financial_year_end,
            f"{UOR} art. 74 ust. 2 pkt 8",
        ),
        "Accounting vouchers, purchase and sales invoices (dowody księgowe)",
    ),
    (
        RetentionRule(
            "vat_invoice", Category.B, 5, Trigger.tax_payment_deadline,
            "Ordynacja podatkowa art. 86 § 1 w zw. z art. 70 § 1",
        ),
        "Tax records and VAT invoices (dokumentacja podatkowa)",
    ),
    (
        RetentionRule(
            "contract_settlement", Category.B, 5, Trigger.contract_end,
            f"{UOR} art. 74 ust. 2 pkt 4",
        ),
        "Commercial contracts and loans, from final settlement (umowy handlowe)",
    ),
    (
        RetentionRule(
            "contract_claims", Category.B, 6, Trigger.contract_end, "Kodeks cywilny art. 118"
        ),
        "Contracts, limitation of civil claims (przedawnienie roszczeń)",
    ),
    (
        RetentionRule(
            "hr_file_before_2019", Category.B, 50, Trigger.employment_end,
            "ustawa z 10 stycznia 2018 r. o zmianie niektórych ustaw (Dz.U. 2018 poz. 357) "
            "art. 7",
            condition=Condition.hired_before_2019,
        ),
        "Employee files, hired before 2019 (akta osobowe)",
    ),
    (
        RetentionRule(
            "hr_file_1999_2018_reported", Category.B, 10, Trigger.employment_end,
            "ustawa z 10 stycznia 2018 r. art. 7 ust. 2 (raporty ZUS OSW i RIA)",
            condition=Condition.hired_1999_2018_reported,
        ),
        "Employee files, hired 1999-2018 with ZUS OSW + RIA filed (akta osobowe)",
    ),
    (
        RetentionRule(
            "hr_file_from_2019", Category.B, 10, Trigger.employment_end,
            "Kodeks pracy art. 94 pkt 9b",
            condition=Condition.hired_from_2019,
        ),
        "Employee files, hired on or after 2019-01-01 (akta osobowe)",
    ),
    (
        RetentionRule(
            "payroll", Category.B, 10, Trigger.financial_year_end, f"{UOR} art. 74 ust. 2 pkt 2"
        ),
        "Payroll cards and payroll lists (karty i listy płac)",
    ),
    (
        RetentionRule(
            "annual_statement", Category.A, 5, Trigger.financial_year_end,
            f"{UOR} art. 74 ust. 1",
        ),
        "Annual financial statements (sprawozdania finansowe), kept permanently",
    ),
    (
        RetentionRule(
            "pro_forma", Category.Bc, 1, Trigger.issue_date,
            "not an accounting voucher: kept while in use",
        ),
        "Pro-forma invoices (faktury pro forma)",
    ),
    (
        RetentionRule(
            "disposal_protocol", Category.A, 0, Trigger.upload,
            "ustawa o narodowym zasobie archiwalnym i archiwach art. 5 ust. 2",
        ),
        "Disposal protocols and lists of destroyed records (protokoły brakowania)",
    ),
    (
        RetentionRule(
            DEFAULT_CLASS, Category.BE, 10, Trigger.upload,
            "default for documents no other class covers; an expert reviews them",
        ),
        "Everything else (configurable default)",
    ),
)  # fmt: skip

DEFAULT_MAPPING: dict[str, tuple[str, ...]] = {
    "invoice": ("accounting_voucher", "vat_invoice"),
    "correction": ("accounting_voucher", "vat_invoice"),
    "receipt": ("accounting_voucher", "vat_invoice"),
    "proforma": ("pro_forma",),
    "contract": ("contract_settlement", "contract_claims"),
    "annex": ("contract_settlement", "contract_claims"),
    "hr_record": ("hr_file_before_2019", "hr_file_1999_2018_reported", "hr_file_from_2019"),
    "payroll": ("payroll",),
    "annual_statement": ("annual_statement",),
    "disposal_protocol": ("disposal_protocol",),
}

PROTOCOL_CLASS = "disposal_protocol"
NEW_DOCUMENT_CLASSES = (
    ("payroll", "Payroll", "Listy płac"),
    ("annual_statement", "Annual financial statement", "Sprawozdanie finansowe"),
    (PROTOCOL_CLASS, "Disposal protocol", "Protokół brakowania"),
)
