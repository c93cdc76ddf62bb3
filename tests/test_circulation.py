"""Circulation engine through its service, with several users: the seeded workflows end to
end, thresholds, parallel and quorum steps, rejection and return, substitutes, invalidation
after an amount edit, segregation of duties, escalation with a controlled clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.circulation import escalation, repository
from app.circulation.calendar import add_business_days, due_at, is_business_day
from app.circulation.definitions import find_problems
from app.circulation.facts import amount_pln, holds
from app.circulation.models import CirculationTask, Notification, StepState
from app.circulation.seeds import DEFAULT_WORKFLOWS
from app.documents import service as documents
from app.errors import Conflict, Forbidden, Unprocessable
from app.security.principal import Actor
from schemas.circulation import Condition, WorkflowDefinition
from tests.circulation_office import ADMIN, Office, money, office

__all__ = ["office"]

# --- definitions, calendar, facts ---------------------------------------------------------


@pytest.mark.parametrize("document_class", sorted(DEFAULT_WORKFLOWS))
def test_seeded_definitions_are_valid(document_class: str) -> None:
    definition = WorkflowDefinition.model_validate(DEFAULT_WORKFLOWS[document_class])
    assert find_problems(definition) == []


def _definition(*steps: dict[str, Any]) -> WorkflowDefinition:
    return WorkflowDefinition.model_validate({"name": "t", "steps": list(steps)})


def _problems(definition: WorkflowDefinition) -> set[tuple[str, str | None]]:
    return {(p.problem, p.step) for p in find_problems(definition)}


def test_definition_problems_are_named_with_their_step() -> None:
    role = [{"role": "approver"}]
    assert _problems(
        _definition(
            {"key": "a", "name": "A", "assignees": role, "next": "end"},
            {"key": "b", "name": "B", "assignees": role},
        )
    ) == {("unreachable-step", "b")}
    assert _problems(_definition({"key": "a", "name": "A"})) == {("no-assignee", "a")}
    assert _problems(
        _definition(
            {"key": "a", "name": "A", "assignees": role},
            {"key": "b", "name": "B", "assignees": role, "next": "c"},
            {"key": "c", "name": "C", "assignees": role, "next": "b", "on_reject": "end"},
        )
    ) == {("cycle-without-exit", "b")}
    assert _problems(
        _definition({"key": "a", "name": "A", "assignees": role, "on_reject": "nowhere"})
    ) == {("unknown-step", "a")}
    assert _problems(
        _definition(
            {"key": "a", "name": "A", "kind": "quorum", "quorum": 3, "assignees": [{"user": "x"}]}
        )
    ) == {("bad-quorum", "a")}


def test_business_days_skip_weekends_and_polish_holidays() -> None:
    # Easter Monday 2026-04-06; 1 May (Friday) and 3 May (Sunday); Christmas Eve is a holiday.
    assert not is_business_day(date(2026, 4, 6))
    assert add_business_days(date(2026, 4, 3), 1) == date(2026, 4, 7)
    assert add_business_days(date(2026, 4, 30), 1) == date(2026, 5, 4)
    assert add_business_days(date(2026, 12, 23), 1) == date(2026, 12, 28)
    due = due_at(datetime(2026, 4, 3, 8, 0, tzinfo=UTC), 3)
    assert due.date() == date(2026, 4, 9)
    assert due.utcoffset() is not None


def test_amount_in_pln_and_unknown_amounts_route_above_every_threshold() -> None:
    rates = {"EUR": money("4.30")}
    assert amount_pln({"gross_total": "100.00", "currency": "EUR"}, rates) == money("430.00")
    assert amount_pln({"gross_total": "100.00", "currency": "USD"}, rates) is None
    above = Condition(fact="amount_pln", op="gt", value="5000")
    below = Condition(fact="amount_pln", op="lte", value="5000")
    assert holds(above, {"amount_pln": None})
    assert not holds(below, {"amount_pln": None})
    assert holds(Condition(fact="currency", op="in", value=["EUR", "PLN"]), {"currency": "PLN"})


# --- cost invoice: threshold bands ----------------------------------------------------------


def _approve_through(office: Office, document_id: Any, steps: list[tuple[str, str]]) -> None:
    for step, who in steps:
        office.pass_step(document_id, step, who)


TAIL = [("formal_check", "kasia"), ("booking", "kasia"), ("payment_approval", "henryk")]


@pytest.mark.parametrize(
    ("gross", "approvals"),
    [
        ("1200.00", [("approval", "anna")]),
        ("5000.00", [("approval", "anna")]),
        ("5000.01", [("approval", "anna"), ("second_approval", "bob")]),
        (
            "50000.01",
            [("approval", "anna"), ("second_approval", "bob"), ("cfo_approval", "celina")],
        ),
    ],
)
def test_cost_invoice_threshold_bands_end_to_end(
    office: Office, gross: str, approvals: list[tuple[str, str]]
) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice(gross)
    office.walk_invoice_to_approval(invoice)
    _approve_through(office, invoice, approvals + TAIL)

    circulation = office.circulation(invoice)
    assert circulation.state == "approved"
    assert circulation.finished_at is not None
    skipped = {step for action, step, _ in office.actions(invoice) if action == "step_skipped"}
    every = {"approval", "second_approval", "cfo_approval"}
    assert skipped == every - {step for step, _ in approvals}
    approved_by = [
        (step, actor) for action, step, actor in office.actions(invoice) if action == "approved"
    ]
    assert approved_by == [("registration", "rita"), ("description", "olga"), *approvals, *TAIL]


def test_foreign_currency_without_a_rate_takes_every_approval_level(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("100.00", currency="EUR")
    office.walk_invoice_to_approval(invoice)
    _approve_through(office, invoice, [("approval", "anna"), ("second_approval", "bob")])
    assert office.steps_now(invoice) == ["cfo_approval"]


def test_foreign_currency_with_a_stated_rate_is_converted(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow(currency_rates={"EUR": "4.30"})
    invoice = office.invoice("1000.00", currency="EUR")  # 4 300 PLN: one approver
    office.walk_invoice_to_approval(invoice)
    office.pass_step(invoice, "approval", "anna")
    assert office.steps_now(invoice) == ["formal_check"]


# --- segregation of duties ----------------------------------------------------------------


def test_registrant_of_the_document_may_not_approve(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00", created_by="anna")
    office.walk_invoice_to_approval(invoice)
    with pytest.raises(Forbidden, match="anna registered this document"):
        office.pass_step(invoice, "approval", "anna")
    office.pass_step(invoice, "approval", "bob")


def test_whoever_registered_or_described_may_not_approve(office: Office) -> None:
    office.staff()
    office.user("zenon", "clerk", "approver")
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.start(invoice)
    office.pass_step(invoice, "registration", "zenon")
    office.pass_step(invoice, "description", "olga")
    with pytest.raises(Forbidden, match="zenon registered this document"):
        office.pass_step(invoice, "approval", "zenon")
    with pytest.raises(Forbidden, match="olga described this document"):
        office.pass_step(invoice, "approval", "olga")
    with pytest.raises(Forbidden, match="olga described"):
        office.act("olga", office.task(invoice, "approval"), "claim")


def test_nobody_approves_two_levels(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("7000.00")
    office.walk_invoice_to_approval(invoice)
    office.pass_step(invoice, "approval", "anna")
    with pytest.raises(Forbidden, match="anna already approved step 'approval'"):
        office.pass_step(invoice, "second_approval", "anna")
    # Delegating the second level to the first approver is refused as well.
    task = office.task(invoice, "second_approval")
    office.act("bob", task, "claim")
    with pytest.raises(Unprocessable, match="anna already approved"):
        office.act("bob", task, "delegate", to_user="anna")


def test_segregation_of_duties_can_be_switched_off(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow(segregation_of_duties=False)
    invoice = office.invoice("7000.00")
    office.walk_invoice_to_approval(invoice)
    office.pass_step(invoice, "approval", "anna")
    office.pass_step(invoice, "second_approval", "anna")
    assert office.steps_now(invoice) == ["formal_check"]


# --- rejection and return -----------------------------------------------------------------


def test_rejection_needs_a_comment_and_ends_the_circulation(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.walk_invoice_to_approval(invoice)
    task = office.task(invoice, "approval")
    with pytest.raises(Unprocessable, match="reject needs a comment"):
        office.act("anna", task, "reject", comment="  ")
    office.act("anna", task, "reject", comment="not ordered by us")
    circulation = office.circulation(invoice)
    assert circulation.state == "rejected"
    assert office.open_tasks(invoice) == []
    rejected = [e for e in office.events(invoice) if e.action == "rejected"]
    assert rejected[0].comment == "not ordered by us"
    assert rejected[0].document_revision == 1


def test_rejection_returns_where_the_definition_says_and_redoes_the_path(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.walk_invoice_to_approval(invoice)
    office.pass_step(invoice, "approval", "anna")
    office.act("kasia", office.task(invoice, "formal_check"), "reject", comment="VAT wrong")
    assert office.circulation(invoice).state == "running"
    assert office.steps_now(invoice) == ["registration"]
    with office.session() as session:
        approvals = session.scalars(
            select(CirculationTask).where(CirculationTask.state == "approved")
        ).all()
        assert approvals
        assert all(t.invalidated_at is not None for t in approvals)
    office.pass_step(invoice, "registration", "rita")
    office.pass_step(invoice, "description", "olga")
    office.pass_step(invoice, "approval", "bob")
    _approve_through(office, invoice, TAIL)
    assert office.circulation(invoice).state == "approved"


def test_return_for_correction_to_an_earlier_step(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.walk_invoice_to_approval(invoice)
    task = office.task(invoice, "approval")
    with pytest.raises(Unprocessable, match="not an earlier completed step"):
        office.act("anna", task, "return", comment="fix", to_step="booking")
    office.act("anna", task, "return", comment="describe the project")
    assert office.steps_now(invoice) == ["description"]
    returned = next(e for e in office.events(invoice) if e.action == "returned")
    assert returned.details == {"to_step": "description"}
    office.pass_step(invoice, "description", "olga")
    office.pass_step(invoice, "approval", "anna")
    assert office.steps_now(invoice) == ["formal_check"]


# --- substitutes --------------------------------------------------------------------------


def _absence(office: Office, user: str, substitute: str, start: date, end: date) -> None:
    from app.circulation.absences import record_absence
    from schemas.circulation import AbsenceIn

    with office.session() as session:
        record_absence(
            session,
            absence=AbsenceIn(substitute=substitute, starts_on=start, ends_on=end),
            actor=office.people[user],
        )


def test_tasks_arriving_during_an_absence_go_to_the_substitute(office: Office) -> None:
    office.staff()
    office.user("piotr", "approver")
    office.cost_invoice_workflow()
    _absence(office, "olga", "piotr", date(2020, 1, 1), date(2099, 12, 31))
    invoice = office.invoice("900.00")
    office.start(invoice)
    office.pass_step(invoice, "registration", "rita")
    [task] = office.open_tasks(invoice)
    assert task.assignee_user_id == office.people["piotr"].user_id
    assert task.on_behalf_of_user_id == office.people["olga"].user_id
    office.act("piotr", task.id, "approve")
    approved = [e for e in office.events(invoice) if e.action == "approved"][-1]
    assert (approved.actor, approved.on_behalf_of) == ("piotr", "olga")
    # piotr described on olga's behalf: neither may approve the invoice.
    with pytest.raises(Forbidden, match="described"):
        office.pass_step(invoice, "approval", "piotr")


def test_a_substitute_may_act_on_a_task_already_waiting(office: Office) -> None:
    office.staff()
    office.user("piotr", "approver")
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.start(invoice)
    office.pass_step(invoice, "registration", "rita")
    task = office.task(invoice, "description")
    with pytest.raises(Forbidden, match="not assigned to you"):
        office.act("piotr", task, "approve")
    _absence(office, "olga", "piotr", date(2020, 1, 1), date(2099, 12, 31))
    office.act("piotr", task, "approve")
    approved = [e for e in office.events(invoice) if e.action == "approved"][-1]
    assert (approved.actor, approved.on_behalf_of) == ("piotr", "olga")


# --- approvals bound to revisions ---------------------------------------------------------


def test_amount_edit_after_an_approval_invalidates_it(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.walk_invoice_to_approval(invoice)
    office.pass_step(invoice, "approval", "anna")
    assert office.steps_now(invoice) == ["formal_check"]
    with office.session() as session:
        documents.correct_fields(
            session,
            document_id=invoice,
            values={"gross_total": "9000.00"},
            expected_revision=1,
            actor=ADMIN,
        )
    assert office.steps_now(invoice) == ["approval"]
    invalidated = [e for e in office.events(invoice) if e.action == "approvals_invalidated"]
    assert invalidated[0].details["changed"] == ["gross_total"]
    assert "changed after an approval" in invalidated[0].details["reason"]
    assert invalidated[0].document_revision == 2
    # The same approver may approve again; the new amount now needs a second approver.
    office.pass_step(invoice, "approval", "anna")
    assert office.steps_now(invoice) == ["second_approval"]
    approvals = [
        (e.step_key, e.document_revision) for e in office.events(invoice) if e.action == "approved"
    ]
    assert approvals[-1] == ("approval", 2)


def test_other_edits_and_edits_before_any_approval_keep_the_path(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.walk_invoice_to_approval(invoice)
    with office.session() as session:
        documents.correct_fields(
            session,
            document_id=invoice,
            values={"gross_total": "950.00"},
            expected_revision=1,
            actor=ADMIN,
        )
    office.pass_step(invoice, "approval", "anna")
    with office.session() as session:
        documents.correct_fields(
            session,
            document_id=invoice,
            values={"invoice_number": "FV 2/2026"},
            expected_revision=2,
            actor=ADMIN,
        )
    assert office.steps_now(invoice) == ["formal_check"]
    assert "approvals_invalidated" not in [e.action for e in office.events(invoice)]


def test_a_decision_against_a_stale_revision_is_refused(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.walk_invoice_to_approval(invoice)
    with pytest.raises(Conflict, match="revision 1, you looked at revision 3"):
        office.pass_step(invoice, "approval", "anna", document_revision=3)


# --- contract, HR record, quorum, any-of -------------------------------------------------


def test_contract_legal_review_then_signatories_in_parallel(office: Office) -> None:
    office.user("lena", "legal")
    office.user("sygn1", "signatory")
    office.user("sygn2", "signatory")
    contract = office.document("contract", fields={"contract_value": "120000.00"})
    office.start(contract)
    office.pass_step(contract, "legal_review", "lena")
    tasks = office.open_tasks(contract)
    assert [t.step_key for t in tasks] == ["signatories", "signatories"]
    by_user = {t.assignee_user_id: t.id for t in tasks}
    office.act("sygn2", by_user[office.people["sygn2"].user_id])
    assert office.circulation(contract).state == "running"
    office.act("sygn1", by_user[office.people["sygn1"].user_id])
    assert office.circulation(contract).state == "approved"


def test_contract_signatory_rejection_returns_to_legal_review(office: Office) -> None:
    office.user("lena", "legal")
    office.user("sygn1", "signatory")
    office.user("sygn2", "signatory")
    contract = office.document("contract")
    office.start(contract)
    office.pass_step(contract, "legal_review", "lena")
    task = next(
        t.id
        for t in office.open_tasks(contract)
        if t.assignee_user_id == office.people["sygn1"].user_id
    )
    office.act("sygn1", task, "reject", comment="penalty clause too high")
    assert office.steps_now(contract) == ["legal_review"]


def test_hr_record_review_then_archived(office: Office) -> None:
    office.user("hania", "hr")
    record = office.document("hr_record", title="Umowa o pracę")
    office.start(record)
    office.pass_step(record, "hr_review", "hania")
    circulation = office.circulation(record)
    assert circulation.state == "approved"


def _board_workflow(office: Office, kind: str, quorum: int | None = None) -> None:
    for name in ("m1", "m2", "m3"):
        office.user(name, "approver")
    step: dict[str, Any] = {
        "key": "board",
        "name": "Board",
        "kind": kind,
        "assignees": [{"user": "m1"}, {"user": "m2"}, {"user": "m3"}],
    }
    if quorum is not None:
        step["quorum"] = quorum
    office.save_workflow("other", {"name": "board", "steps": [step]})


def _board_task(office: Office, document_id: Any, member: str) -> Any:
    user_id = office.people[member].user_id
    return next(t.id for t in office.open_tasks(document_id) if t.assignee_user_id == user_id)


def test_quorum_two_of_three_completes_on_the_second_approval(office: Office) -> None:
    _board_workflow(office, "quorum", 2)
    document = office.document("other")
    office.start(document)
    office.act("m1", _board_task(office, document, "m1"))
    assert office.circulation(document).state == "running"
    third = _board_task(office, document, "m3")
    office.act("m2", _board_task(office, document, "m2"))
    assert office.circulation(document).state == "approved"
    with pytest.raises(Conflict, match="it is cancelled") as refused:
        office.act("m3", third)
    assert refused.value.extensions["circulation_state"] == "approved"


def test_quorum_fails_once_it_can_no_longer_be_reached(office: Office) -> None:
    _board_workflow(office, "quorum", 2)
    document = office.document("other")
    office.start(document)
    office.act("m1", _board_task(office, document, "m1"), "reject", comment="no")
    assert office.circulation(document).state == "running"
    office.act("m2", _board_task(office, document, "m2"), "reject", comment="no")
    assert office.circulation(document).state == "rejected"


def test_any_of_completes_on_the_first_approval(office: Office) -> None:
    _board_workflow(office, "any_of")
    document = office.document("other")
    office.start(document)
    office.act("m3", _board_task(office, document, "m3"))
    assert office.circulation(document).state == "approved"


# --- claim, delegate, comment, idempotency ------------------------------------------------


def test_claim_reserves_a_role_task(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.walk_invoice_to_approval(invoice)
    task = office.task(invoice, "approval")
    with pytest.raises(Forbidden, match="needs the role 'approver'"):
        office.act("kasia", task, "claim")
    office.act("anna", task, "claim")
    office.act("anna", task, "claim")  # a double click
    with pytest.raises(Conflict, match="it is claimed by anna"):
        office.act("bob", task, "claim")
    with pytest.raises(Forbidden, match="not assigned to you"):
        office.act("bob", task, "approve")
    office.act("anna", task, "approve")
    assert [a for a, _, _ in office.actions(invoice)].count("claimed") == 1


def test_delegation_only_to_someone_allowed_to_act(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.start(invoice)
    office.pass_step(invoice, "registration", "rita")
    task = office.task(invoice, "description")
    with pytest.raises(Unprocessable, match="kasia may not act on step 'description'"):
        office.act("olga", task, "delegate", to_user="kasia")
    with pytest.raises(Unprocessable, match="not an active user"):
        office.act("olga", task, "delegate", to_user="nobody")
    office.act("olga", task, "delegate", to_user="bob", comment="bob knows this project")
    office.act("olga", task, "delegate", to_user="bob")  # repeated: nothing new
    new_task = office.task(invoice, "description")
    office.act("bob", new_task, "approve")
    assert office.steps_now(invoice) == ["approval"]
    delegated = [e for e in office.events(invoice) if e.action == "delegated"]
    assert len(delegated) == 1
    assert delegated[0].details == {"to_user": "bob"}


def test_comments_and_refusal_of_strangers(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.walk_invoice_to_approval(invoice)
    task = office.task(invoice, "approval")
    office.act("anna", task, "comment", comment="asking the supplier")
    office.act("rita", task, "comment", comment="I registered it; see page 2")
    with pytest.raises(Forbidden, match="only people taking part"):
        office.act("kasia", task, "comment", comment="hi")
    comments = [(e.actor, e.comment) for e in office.events(invoice) if e.action == "commented"]
    assert comments == [
        ("anna", "asking the supplier"),
        ("rita", "I registered it; see page 2"),
    ]


def test_repeated_approval_is_idempotent_and_another_person_gets_409(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.walk_invoice_to_approval(invoice)
    task = office.task(invoice, "approval")
    office.act("anna", task)
    events = len(office.events(invoice))
    office.act("anna", task)
    assert len(office.events(invoice)) == events
    with pytest.raises(Conflict) as refused:
        office.act("bob", task)
    assert refused.value.extensions["task_state"] == "approved"
    assert refused.value.extensions["acted_by"] == "anna"
    assert refused.value.extensions["current_step"] == "formal_check"


def test_system_actors_do_not_decide(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.start(invoice)
    office.people["worker"] = Actor(name="worker")
    with pytest.raises(Forbidden, match="signed-in user"):
        office.pass_step(invoice, "registration", "worker")


# --- starting, versions, visibility, history ----------------------------------------------


def test_one_running_circulation_per_document_and_versions_are_kept(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.start(invoice)
    with pytest.raises(Conflict, match="already in circulation"):
        office.start(invoice)
    started_on = office.circulation(invoice).workflow_id
    shorter = {
        "name": "short",
        "steps": [{"key": "only", "name": "Only", "assignees": [{"role": "approver"}]}],
    }
    office.save_workflow("invoice", shorter)
    assert office.circulation(invoice).workflow_id == started_on
    office.pass_step(invoice, "registration", "rita")
    assert office.steps_now(invoice) == ["description"]


def test_a_step_nobody_can_take_is_refused_clearly(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00", cost_centre="XX")
    definition = dict(DEFAULT_WORKFLOWS["invoice"])
    definition["mappings"] = {"cost_centre_owners": {"entries": {"IT": "olga"}}}
    office.save_workflow("invoice", definition)
    office.start(invoice)
    with pytest.raises(Unprocessable, match="cost_centre='XX'"):
        office.pass_step(invoice, "registration", "rita")
    assert office.steps_now(invoice) == ["registration"]


def test_open_task_documents_follow_the_tasks(office: Office) -> None:
    office.staff()
    office.user("piotr", "approver")
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.start(invoice)

    def visible_to(who: str) -> bool:
        with office.session() as session:
            ids = session.scalars(repository.open_task_document_ids(office.people[who])).all()
            return invoice in ids

    assert visible_to("rita")
    assert not visible_to("olga")
    office.pass_step(invoice, "registration", "rita")
    assert visible_to("olga")
    assert not visible_to("rita")
    assert not visible_to("piotr")
    _absence(office, "olga", "piotr", date(2020, 1, 1), date(2099, 12, 31))
    assert visible_to("piotr")


def test_events_are_append_only(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.start(invoice)
    with pytest.raises(DBAPIError, match="append-only"), office.engine.begin() as conn:
        conn.execute(text("UPDATE circulation_events SET comment = 'forged'"))
    with pytest.raises(DBAPIError, match="append-only"), office.engine.begin() as conn:
        conn.execute(text("DELETE FROM circulation_events"))


# --- deadlines ----------------------------------------------------------------------------

# Friday before Easter 2026, 10:00 in Warsaw; registration is due in 2 business days: the
# Monday after Easter is a holiday, so the end of Wednesday 8 April.
EASTER_FRIDAY = datetime(2026, 4, 3, 8, 0, tzinfo=UTC)


def test_overdue_tasks_escalate_and_reminders_become_notifications(office: Office) -> None:
    office.staff()
    office.user("szef", "head_of_unit")
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.start(invoice, now=EASTER_FRIDAY)
    [task] = office.open_tasks(invoice)
    assert task.due_at == datetime(2026, 4, 8, 21, 59, 59, tzinfo=UTC)

    def run(job: Any, now: datetime) -> int:
        with office.session() as session:
            count: int = job(session, now=now)
            return count

    assert run(escalation.escalate_overdue, datetime(2026, 4, 8, 21, 0, tzinfo=UTC)) == 0
    assert run(escalation.send_reminders, datetime(2026, 4, 8, 6, 0, tzinfo=UTC)) == 1
    assert run(escalation.send_reminders, datetime(2026, 4, 8, 7, 0, tzinfo=UTC)) == 0
    assert run(escalation.escalate_overdue, datetime(2026, 4, 9, 6, 0, tzinfo=UTC)) == 1
    assert run(escalation.escalate_overdue, datetime(2026, 4, 9, 7, 0, tzinfo=UTC)) == 0

    with office.session() as session:
        kinds = {(n.kind, n.user_id) for n in session.scalars(select(Notification))}
    people = office.people
    assert ("reminder", people["rita"].user_id) in kinds
    assert ("overdue", people["rita"].user_id) in kinds
    assert ("escalation", people["henryk"].user_id) in kinds
    assert ("escalation", people["szef"].user_id) in kinds
    assert "escalated" in [a for a, _, _ in office.actions(invoice)]
    # The escalation target may now act on the task, or hand it to someone else.
    office.act(
        "szef", task.id, "reassign", to_user="uploader", now=datetime(2026, 4, 9, tzinfo=UTC)
    )
    office.pass_step(invoice, "registration", "uploader")
    assert office.steps_now(invoice) == ["description"]


def test_steps_record_their_rounds(office: Office) -> None:
    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.walk_invoice_to_approval(invoice)
    office.act("anna", office.task(invoice, "approval"), "return", comment="again")
    office.pass_step(invoice, "description", "olga")
    with office.session() as session:
        from app.circulation.models import CirculationStep

        steps = session.scalars(select(CirculationStep).order_by(CirculationStep.seq)).all()
        rounds = [(s.step_key, s.round, s.state) for s in steps]
    assert ("description", 2, StepState.completed) in rounds
    assert ("approval", 1, StepState.returned) in rounds
    assert ("approval", 2, StepState.active) in rounds


def test_one_audit_event_per_change_names_what_followed(office: Office) -> None:
    from app.audit.models import AuditEvent

    office.staff()
    office.cost_invoice_workflow()
    invoice = office.invoice("900.00")
    office.walk_invoice_to_approval(invoice)
    office.pass_step(invoice, "approval", "anna")
    with office.session() as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert last is not None
    assert (last.actor, last.action, last.document_id) == ("anna", "circulation.approved", invoice)
    assert last.details["step"] == "approval"
    assert last.details["then"] == [
        "step_completed:approval",
        "step_skipped:second_approval",
        "step_skipped:cfo_approval",
        "step_activated:formal_check",
    ]


def test_inbox_pages_by_due_with_undated_tasks_last(office: Office) -> None:
    reviewer = office.user("hanna", "hr", "approver")
    office.save_workflow(
        "other",
        {"name": "t", "steps": [{"key": "look", "name": "Look", "assignees": [{"role": "hr"}]}]},
    )
    undated = [office.document("other") for _ in range(2)]
    dated = [office.document("hr_record") for _ in range(2)]
    office.start(dated[1], now=datetime(2026, 3, 2, tzinfo=UTC))
    office.start(dated[0], now=datetime(2026, 3, 9, tzinfo=UTC))
    for document in undated:
        office.start(document)

    def pages(descending: bool) -> list[Any]:
        seen: list[Any] = []
        after = None
        while True:
            with office.session() as session:
                query = repository.inbox(reviewer, descending=descending, after=after)
                rows = session.execute(query.limit(1)).all()
            if not rows:
                return seen
            task, circulation, _ = rows[0]
            seen.append(circulation.document_id)
            after = (task.due_at, task.id)

    ascending = pages(False)
    assert ascending[:2] == [dated[1], dated[0]]
    assert sorted(ascending[2:]) == sorted(undated)
    assert pages(True) == list(reversed(ascending))


def test_start_if_defined_starts_once_and_only_for_classes_with_a_workflow(
    office: Office,
) -> None:
    from app.circulation.service import start_if_defined

    office.staff()
    invoice = office.invoice("900.00")
    annex = office.document("annex")
    with office.session() as session:
        assert start_if_defined(session, document_id=invoice, actor=ADMIN) is not None
        assert start_if_defined(session, document_id=invoice, actor=ADMIN) is None
        assert start_if_defined(session, document_id=annex, actor=ADMIN) is None
    assert office.steps_now(invoice) == ["registration"]
