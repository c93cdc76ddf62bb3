"""Circulation through the API with several signed-in users: inbox, actions, timeline,
workflow CRUD, absences, notifications, visibility, and real concurrent requests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.circulation import escalation
from app.storage import BlobStore
from app.storage.local import LocalBlobStore
from tests.circulation_office import Office, office

__all__ = ["office"]

LoginAs = Callable[..., httpx.Client]


@pytest.fixture
def blob_store(tmp_path: Path) -> BlobStore:
    """Circulation does not touch blobs: one store is enough."""
    return LocalBlobStore(tmp_path / "var" / "blobs")


class Staff(dict[str, httpx.Client]):
    pass


@pytest.fixture
def staff(login_as: LoginAs, office: Office) -> Staff:
    people = Staff(
        rita=login_as("rita", "clerk"),
        olga=login_as("olga", "approver"),
        anna=login_as("anna", "approver"),
        bob=login_as("bob", "approver"),
        celina=login_as("celina", "cfo"),
        kasia=login_as("kasia", "accountant"),
        henryk=login_as("henryk", "head_of_unit"),
    )
    office.cost_invoice_workflow()
    return people


def _inbox(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/me/tasks", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _task(client: httpx.Client, document_id: uuid.UUID, step: str) -> str:
    tasks = [t for t in _inbox(client) if t["document_id"] == str(document_id)]
    assert [t["step"] for t in tasks] == [step]
    task_id: str = tasks[0]["id"]
    return task_id


def _act(
    client: httpx.Client, task_id: str, action: str = "approve", **body: Any
) -> httpx.Response:
    return client.post(f"/tasks/{task_id}/actions", json={"action": action, **body})


def _pass(client: httpx.Client, document_id: uuid.UUID, step: str) -> dict[str, Any]:
    response = _act(client, _task(client, document_id, step))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _start(client: httpx.Client, document_id: uuid.UUID) -> dict[str, Any]:
    response = client.post(f"/documents/{document_id}/circulation")
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_cost_invoice_through_the_api_with_a_timeline(
    client: httpx.Client, staff: Staff, office: Office
) -> None:
    invoice = office.invoice("60000.00")
    started = _start(client, invoice)
    assert started["state"] == "running"
    assert started["pending"] == ["role:clerk"]
    assert staff["celina"].get(f"/documents/{invoice}").status_code == 404

    _pass(staff["rita"], invoice, "registration")
    _pass(staff["olga"], invoice, "description")
    _pass(staff["anna"], invoice, "approval")
    refused = _act(staff["anna"], _task(staff["bob"], invoice, "second_approval"))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "already approved step 'approval'" in refused.json()["detail"]
    _pass(staff["bob"], invoice, "second_approval")
    # The CFO sees the invoice while her task is open, and not after.
    assert staff["celina"].get(f"/documents/{invoice}").status_code == 200
    _pass(staff["celina"], invoice, "cfo_approval")
    assert staff["celina"].get(f"/documents/{invoice}").status_code == 404
    _pass(staff["kasia"], invoice, "formal_check")
    _pass(staff["kasia"], invoice, "booking")
    done = _pass(staff["henryk"], invoice, "payment_approval")

    assert done["state"] == "approved"
    assert done["pending"] == []
    timeline = client.get(f"/documents/{invoice}/circulation").json()
    assert [s["key"] for s in timeline["steps"]] == [
        "registration", "description", "approval", "second_approval", "cfo_approval",
        "formal_check", "booking", "payment_approval",
    ]  # fmt: skip
    assert {s["state"] for s in timeline["steps"]} == {"completed"}
    cfo = timeline["steps"][4]["tasks"][0]
    assert (cfo["assignee"], cfo["acted_by"], cfo["document_revision"]) == (
        "role:cfo",
        "celina",
        1,
    )
    assert timeline["events"][-1]["action"] == "finished"
    assert timeline["events"][-1]["details"] == {"state": "approved"}


def test_refusals_are_problem_details(client: httpx.Client, staff: Staff, office: Office) -> None:
    invoice = office.invoice("900.00")
    _start(client, invoice)
    assert client.post(f"/documents/{invoice}/circulation").status_code == 409
    task = _task(staff["rita"], invoice, "registration")
    no_comment = _act(staff["rita"], task, "reject")
    assert no_comment.status_code == 422
    assert no_comment.json()["detail"] == "reject needs a comment"
    assert _act(staff["kasia"], task).status_code == 403
    assert _act(staff["rita"], str(uuid.uuid4())).status_code == 404
    unknown = _act(staff["rita"], task, "teleport")
    assert unknown.status_code == 422
    assert _act(staff["rita"], task).status_code == 200
    late = _act(staff["rita"], task, "reject", comment="too late")
    assert late.status_code == 409
    assert late.json()["task_state"] == "approved"
    assert late.json()["acted_by"] == "rita"


def test_inbox_sorts_by_due_filters_and_pages(
    client: httpx.Client, staff: Staff, office: Office
) -> None:
    now = datetime.now(UTC)
    invoices = [office.invoice(f"{n}00.00") for n in (1, 2, 3)]
    office.start(invoices[1], now=now - timedelta(days=30))
    office.start(invoices[0], now=now - timedelta(days=20))
    office.start(invoices[2], now=now)
    rita = staff["rita"]

    first = rita.get("/me/tasks", params={"limit": 2}).json()
    assert [t["document_id"] for t in first["items"]] == [str(invoices[1]), str(invoices[0])]
    assert all(t["overdue"] for t in first["items"])
    rest = rita.get("/me/tasks", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [t["document_id"] for t in rest["items"]] == [str(invoices[2])]
    assert rest["next_cursor"] is None
    latest_first = _inbox(rita, sort="-due")
    assert [t["document_id"] for t in latest_first] == [str(invoices[i]) for i in (2, 0, 1)]
    assert len(_inbox(rita, overdue="true")) == 2
    assert _inbox(rita, **{"class": "contract"}) == []
    assert len(_inbox(rita, step="registration")) == 3
    assert _inbox(staff["anna"]) == []
    assert rita.get("/me/tasks", params={"cursor": "nonsense"}).status_code == 400


def test_workflow_crud_with_validation_errors(client: httpx.Client, staff: Staff) -> None:
    broken = {
        "document_class": "annex",
        "definition": {
            "name": "annex",
            "steps": [
                {"key": "a", "name": "A", "assignees": [{"role": "legal"}], "next": "end"},
                {"key": "b", "name": "B"},
            ],
        },
    }
    refused = client.post("/workflows", json=broken)
    assert refused.status_code == 422
    problems = {(e["problem"], e["step"]) for e in refused.json()["errors"]}
    assert problems == {("no-assignee", "b")}
    broken["definition"]["steps"][1]["assignees"] = [{"role": "legal"}]  # type: ignore[index]
    unreachable = client.post("/workflows", json=broken).json()
    assert unreachable["errors"][0]["problem"] == "unreachable-step"
    assert "step 'b' cannot be reached" in unreachable["detail"]

    good = {"name": "annex", "steps": [{"key": "a", "name": "A", "assignees": [{"role": "legal"}]}]}
    created = client.post("/workflows", json={"document_class": "annex", "definition": good})
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1
    again = client.post("/workflows", json={"document_class": "annex", "definition": good})
    assert again.status_code == 409
    assert staff["anna"].put("/workflows/annex", json=good).status_code == 403
    good["segregation_of_duties"] = True
    assert client.put("/workflows/annex", json=good).json()["version"] == 2
    assert client.get("/workflows/annex").json()["version"] == 2
    assert (
        client.get("/workflows/annex/versions/1").json()["definition"]["segregation_of_duties"]
        is False
    )
    assert {w["document_class"] for w in client.get("/workflows").json()} >= {
        "annex", "invoice", "contract", "hr_record",
    }  # fmt: skip
    assert client.delete("/workflows/annex").status_code == 204
    assert client.get("/workflows/annex").status_code == 404


def test_absences_and_substitutes_through_the_api(
    client: httpx.Client, staff: Staff, office: Office
) -> None:
    today = datetime.now(UTC).date()
    absence = {
        "substitute": "bob",
        "starts_on": (today - timedelta(days=1)).isoformat(),
        "ends_on": (today + timedelta(days=7)).isoformat(),
        "reason": "urlop",
    }
    created = staff["olga"].post("/absences", json=absence)
    assert created.status_code == 201, created.text
    assert created.json()["user"] == "olga"
    assert [a["substitute"] for a in staff["bob"].get("/absences").json()] == ["bob"]
    assert staff["anna"].post("/absences", json={**absence, "user": "olga"}).status_code == 403
    backwards = {**absence, "ends_on": (today - timedelta(days=9)).isoformat()}
    assert staff["olga"].post("/absences", json=backwards).status_code == 422

    invoice = office.invoice("900.00")
    _start(client, invoice)
    _pass(staff["rita"], invoice, "registration")
    task = _inbox(staff["bob"])[0]
    assert (task["assignee"], task["on_behalf_of"]) == ("bob", "olga")
    done = _pass(staff["bob"], invoice, "description")
    approved = [e for e in done["events"] if e["action"] == "approved"][-1]
    assert (approved["actor"], approved["on_behalf_of"]) == ("bob", "olga")


def test_notifications_of_escalations(client: httpx.Client, staff: Staff, office: Office) -> None:
    invoice = office.invoice("900.00")
    office.start(invoice, now=datetime.now(UTC) - timedelta(days=30))
    with office.session() as session:
        assert escalation.escalate_overdue(session, now=datetime.now(UTC)) == 1
    [overdue] = staff["rita"].get("/me/notifications").json()
    assert overdue["kind"] == "overdue"
    assert "escalated to role:head_of_unit" in overdue["message"]
    [escalated] = staff["henryk"].get("/me/notifications", params={"unread": "true"}).json()
    assert escalated["kind"] == "escalation"
    read = staff["henryk"].post(f"/me/notifications/{escalated['id']}/read")
    assert read.status_code == 204
    assert staff["henryk"].get("/me/notifications", params={"unread": "true"}).json() == []
    # Escalated to henryk's role: the task is in his inbox now.
    assert [t["step"] for t in _inbox(staff["henryk"])] == ["registration"]


# --- concurrency --------------------------------------------------------------------------


def _same_moment(requests: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(requests))
    results: list[httpx.Response | None] = [None] * len(requests)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = requests[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def _twin(client: httpx.Client) -> httpx.Client:
    """A second connection of the same user (a second browser tab)."""
    return httpx.Client(base_url=str(client.base_url), headers=client.headers, timeout=30)


ROUNDS = 6


def test_two_approvers_at_the_same_moment_one_wins(
    client: httpx.Client, staff: Staff, office: Office
) -> None:
    invoices = [office.invoice("900.00") for _ in range(ROUNDS)]
    for invoice in invoices:
        office.start(invoice)
        _pass(staff["rita"], invoice, "registration")
        _pass(staff["olga"], invoice, "description")
    for invoice in invoices:
        task = _task(staff["anna"], invoice, "approval")
        responses = _same_moment(
            [lambda t=task: _act(staff["anna"], t), lambda t=task: _act(staff["bob"], t)]
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 409], [r.text for r in responses]
        loser = next(r for r in responses if r.status_code == 409).json()
        assert loser["task_state"] == "approved"
        assert loser["acted_by"] in {"anna", "bob"}
        timeline = client.get(f"/documents/{invoice}/circulation").json()
        approvals = [e for e in timeline["events"] if e["action"] == "approved"]
        assert [e["step"] for e in approvals] == ["registration", "description", "approval"]


def test_a_double_click_is_idempotent(client: httpx.Client, staff: Staff, office: Office) -> None:
    invoices = [office.invoice("900.00") for _ in range(ROUNDS)]
    rita, rita_again = staff["rita"], _twin(staff["rita"])
    with rita_again:
        for invoice in invoices:
            office.start(invoice)
            task = _task(rita, invoice, "registration")
            responses = _same_moment(
                [lambda t=task: _act(rita, t), lambda t=task: _act(rita_again, t)]
            )
            assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
            timeline = client.get(f"/documents/{invoice}/circulation").json()
            assert [e["action"] for e in timeline["events"]].count("approved") == 1
            assert timeline["current_step"] == "description"
