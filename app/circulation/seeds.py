"""Default workflow definitions (version 1 of each), written by migration 0009.

Roles they use besides the built-in ones: `cfo` (dyrektor finansowy), `legal` (dział prawny),
`signatory` (osoba uprawniona do reprezentacji), `head_of_unit` (kierownik jednostki).

Cost invoice thresholds are plain conditions on `amount_pln`: edit them through the API (a new
version). No exchange rates are stated by default, so an invoice in another currency is
routed as above every threshold (two approvers and the CFO) until a rate is stated.
"""

from __future__ import annotations

from typing import Any

SECOND_APPROVER_ABOVE = "5000.00"
CFO_ABOVE = "50000.00"

COST_INVOICE: dict[str, Any] = {
    "name": "Cost invoice (obieg faktury kosztowej)",
    "segregation_of_duties": True,
    "currency_rates": {},
    "mappings": {"cost_centre_owners": {"entries": {}, "fallback": {"role": "approver"}}},
    "steps": [
        {
            "key": "registration",
            "name": "Registration (rejestracja)",
            "assignees": [{"role": "clerk"}],
            "duty": "register",
            "due_business_days": 2,
            "escalate_to": {"role": "head_of_unit"},
        },
        {
            "key": "description",
            "name": "Description by the cost-centre owner (opis merytoryczny)",
            "assignees": [{"fact": "cost_centre", "mapping": "cost_centre_owners"}],
            "duty": "describe",
            "due_business_days": 3,
            "escalate_to": {"role": "head_of_unit"},
            "delegate_to_roles": ["approver"],
        },
        {
            "key": "approval",
            "name": "Substantive approval (akceptacja merytoryczna)",
            "assignees": [{"role": "approver"}],
            "duty": "approve",
            "due_business_days": 3,
            "escalate_to": {"role": "head_of_unit"},
        },
        {
            "key": "second_approval",
            "name": "Second substantive approval (above the first threshold)",
            "assignees": [{"role": "approver"}],
            "when": [{"fact": "amount_pln", "op": "gt", "value": SECOND_APPROVER_ABOVE}],
            "duty": "approve",
            "due_business_days": 3,
            "escalate_to": {"role": "head_of_unit"},
        },
        {
            "key": "cfo_approval",
            "name": "CFO approval (above the second threshold)",
            "assignees": [{"role": "cfo"}],
            "when": [{"fact": "amount_pln", "op": "gt", "value": CFO_ABOVE}],
            "duty": "approve",
            "due_business_days": 3,
            "escalate_to": {"role": "head_of_unit"},
        },
        {
            "key": "formal_check",
            "name": "Formal and arithmetic check (kontrola formalno-rachunkowa)",
            "assignees": [{"role": "accountant"}],
            "due_business_days": 2,
            "on_reject": "registration",
            "escalate_to": {"role": "head_of_unit"},
        },
        {
            "key": "booking",
            "name": "Booking (dekretacja)",
            "assignees": [{"role": "accountant"}],
            "due_business_days": 2,
            "on_reject": "formal_check",
            "escalate_to": {"role": "head_of_unit"},
        },
        {
            "key": "payment_approval",
            "name": "Approval for payment (zatwierdzenie do wypłaty)",
            "assignees": [{"role": "head_of_unit"}],
            "duty": "approve",
            "due_business_days": 2,
            "escalate_to": {"role": "admin"},
        },
    ],
}

CONTRACT: dict[str, Any] = {
    "name": "Contract (obieg umowy)",
    "segregation_of_duties": False,
    "steps": [
        {
            "key": "legal_review",
            "name": "Legal review (opinia prawna)",
            "assignees": [{"role": "legal"}],
            "due_business_days": 5,
            "escalate_to": {"role": "head_of_unit"},
        },
        {
            "key": "signatories",
            "name": "Signatories approve in parallel (podpisy)",
            "kind": "all_of",
            "assignees": [{"role": "signatory"}],
            "on_reject": "legal_review",
            "due_business_days": 5,
            "escalate_to": {"role": "head_of_unit"},
        },
    ],
}

HR_RECORD: dict[str, Any] = {
    "name": "HR record (dokumentacja pracownicza)",
    "segregation_of_duties": False,
    "steps": [
        {
            "key": "hr_review",
            "name": "HR review",
            "assignees": [{"role": "hr"}],
            "due_business_days": 5,
            "escalate_to": {"role": "admin"},
        }
    ],
}

DEFAULT_WORKFLOWS: dict[str, dict[str, Any]] = {
    "invoice": COST_INVOICE,
    "contract": CONTRACT,
    "hr_record": HR_RECORD,
}
