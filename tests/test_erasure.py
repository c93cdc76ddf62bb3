"""GDPR erasure requests on a real database, blob store and API: each answer a document can
get, PESEL, NIP and name subjects, invalid identifiers, who may file and read them, and a
scheduled document destroyed by the batch while its answer stays."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import build_sessionmaker, session_scope
from app.documents.models import Document
from app.errors import Forbidden, Unprocessable
from app.retention import disposal, erasure, holds, repository, review, service
from app.retention.erasure_models import ErasureAnswer, ErasureRequest
from app.retention.models import BatchKind, DisposalItem, DocumentRetention, Tombstone
from app.security.principal import Actor, system_actor
from app.storage import BlobStore
from schemas.erasure import Subject
from schemas.retention import ApproveIn, ExcludeIn, HoldIn
from tests import test_retention
from tests.conftest import LiveServer, LoginAs
from tests.retention_docs import keys_of, make_document

# the retention tests' fixtures: a session factory, a local store, `make` and `circulating`
Make = test_retention.Make
factory = test_retention.factory
store = test_retention.store
make = test_retention.make
circulating = test_retention.circulating

SYSTEM = system_actor("tests")
ANNA = Actor(name="anna", user_id=uuid.uuid4(), roles=frozenset({"archivist"}))
LEX = Actor(name="lex", user_id=uuid.uuid4(), roles=frozenset({"legal"}))
ACCOUNTANT = Actor(name="konrad", user_id=uuid.uuid4(), roles=frozenset({"accountant"}))
LONG_AGO = datetime(2010, 3, 1, tzinfo=UTC)
PESEL = "44051401359"
OTHER_PESEL = "02070803628"
NIP = "5260250274"


def _file(
    factory: sessionmaker[Session], kind: str, value: str, actor: Actor = ANNA
) -> dict[uuid.UUID, ErasureAnswer]:
    with session_scope(factory) as session:
        request = erasure.file_request(
            session,
            subject=Subject.model_validate({"kind": kind, "value": value}),
            requested_by=actor,
            reference="pismo 1/2026",
        )
        return {a.document_id: a for a in erasure.answers_of(session, request.id)}


def _retention(factory: sessionmaker[Session], document_id: uuid.UUID) -> DocumentRetention:
    with factory() as session:
        row = session.get(DocumentRetention, document_id)
        assert row is not None
        return row


def test_each_answer_for_a_pesel_and_the_scheduled_ones_destroyed(
    factory: sessionmaker[Session],
    store: BlobStore,
    settings: Settings,
    make: Make,
    circulating: set[uuid.UUID],
) -> None:
    person = {"pesel": PESEL}
    retained = make("invoice", fields={**person, "issue_date": "2024-01-10"})
    held = make("invoice", fields={**person, "issue_date": "2012-02-10"})
    permanent = make("annual_statement", fields={**person, "issue_date": "2015-03-31"})
    unknown = make("hr_record", fields={**person, "employment_start": "2019-05-01"})
    no_basis = make(
        "proforma", fields={**person, "issue_date": f"{date.today().year}-01-05"}, title="Proforma"
    )
    unclassified = make(None, fields=person, title="Notatka")  # the default class: BE
    in_review = make(None, fields=person, uploaded=LONG_AGO)
    running = make("invoice", fields={**person, "issue_date": "2012-03-10"})
    circulating.add(running)
    someone_else = make("invoice", fields={"pesel": OTHER_PESEL, "issue_date": "2024-01-10"})
    with session_scope(factory) as session:
        holds.place_hold(
            session,
            data=HoldIn(
                name="spór", reason="pozew", case_reference="I C 12/26", document_ids=[held]
            ),
            actor=SYSTEM,
        )
        batches = disposal.collect(session)
        assert set(batches) == {BatchKind.expert_review, BatchKind.transfer}
        review_number = batches[BatchKind.expert_review].number
    # due, but collected after the request: the request lists it
    past = make("invoice", fields={**person, "issue_date": "2012-01-10"}, title="Faktura 2012")

    answers = _file(factory, "pesel", PESEL)

    assert someone_else not in answers
    outcomes = {d: (a.outcome, a.retained_until) for d, a in answers.items()}
    assert outcomes == {
        retained: ("retained", date(2030, 12, 31)),
        past: ("scheduled", None),
        held: ("held", date(2018, 12, 31)),
        permanent: ("permanent", None),
        unknown: ("undetermined", None),
        no_basis: ("scheduled", None),
        unclassified: ("retained", None),
        in_review: ("retained", None),
        running: ("retained", None),
    }
    assert answers[retained].message == (
        "retained until 2030-12-31 under Ordynacja podatkowa art. 86 § 1 w zw. z art. 70 § 1"
    )
    assert answers[held].message == "retained: legal hold spór, case I C 12/26"
    assert answers[permanent].message == (
        "kept permanently (category A) under ustawa o rachunkowości art. 74 ust. 1"
    )
    assert answers[unknown].message.startswith(
        "retained: the retention period cannot be computed yet (the employment end is not "
        "known) under "
    )
    assert answers[in_review].message.startswith("retained pending expert review (category BE)")
    assert answers[in_review].batch_number == review_number
    assert answers[unclassified].message.startswith("retained pending expert review (category BE)")
    assert answers[running].message.startswith("retained until its circulation finishes")
    batch_number = answers[past].batch_number
    assert batch_number is not None
    assert batch_number != review_number
    assert answers[past].message == (
        f"scheduled for destruction in batch {batch_number}: its retention under Ordynacja "
        "podatkowa art. 86 § 1 w zw. z art. 70 § 1 ended on 2018-12-31"
    )
    assert answers[no_basis].message.startswith(
        f"scheduled for destruction in batch {batch_number}: no statutory duty to keep it"
    )
    # nothing keeps the pro-forma: its retention ends the day before the request
    assert _retention(factory, no_basis).retain_until == repository.today() - timedelta(days=1)
    with factory() as session:
        request = session.scalars(select(ErasureRequest)).one()
        assert request.counts == {
            "retained": 4, "scheduled": 2, "held": 1, "permanent": 1, "undetermined": 1
        }  # fmt: skip
        assert request.subject_value == PESEL
        items = session.scalars(
            select(DisposalItem).where(DisposalItem.batch_id == answers[past].batch_id)
        ).all()
        assert {i.document_id for i in items} == {past, no_basis}
        assert {i.remarks for i in items} == {f"erasure request {request.id}"}
        events = session.execute(
            text("SELECT details::text FROM audit_events WHERE action = :a"),
            {"a": "retention.erasure_answered"},
        ).scalars().all()  # fmt: skip
        assert len(events) == 1
        assert PESEL not in events[0]
        assert "*******1359" in events[0]
        keys = {d: keys_of(session, d) for d in (past, no_basis)}

    batch_id = answers[past].batch_id
    assert batch_id is not None
    with session_scope(factory) as session:
        review.approve(session, batch_id=batch_id, data=ApproveIn(), actor=ANNA)
    report = disposal.destroy_batch(factory, store, settings, batch_id)

    assert (report.destroyed, report.skipped) == (2, 0)
    with factory() as session:
        for document_id in (past, no_basis):
            assert session.get(Document, document_id) is None
            assert session.get(Tombstone, document_id) is not None
            assert all(store.stat(key) is None for key in keys[document_id])
        kept = erasure.answers_of(session, request.id)
    assert {a.document_id for a in kept} == set(answers)
    assert {a.title for a in kept if a.document_id == past} == {"Faktura 2012"}


def test_a_document_already_in_a_destruction_batch_keeps_its_place(
    factory: sessionmaker[Session], make: Make
) -> None:
    due = make("invoice", fields={"pesel": PESEL, "issue_date": "2012-01-10"})
    with session_scope(factory) as session:
        number = disposal.collect(session)[BatchKind.destruction].number

    answer = _file(factory, "pesel", PESEL)[due]

    assert (answer.outcome, answer.batch_number) == ("scheduled", number)
    with factory() as session:
        assert len(session.scalars(select(DisposalItem)).all()) == 1


def test_an_item_the_archive_excluded_is_not_listed_again(
    factory: sessionmaker[Session], make: Make
) -> None:
    due = make("invoice", fields={"pesel": PESEL, "issue_date": "2012-01-10"})
    with session_scope(factory) as session:
        batch = disposal.collect(session)[BatchKind.destruction]
        item = session.scalars(select(DisposalItem).where(DisposalItem.batch_id == batch.id)).one()
        review.exclude(
            session,
            batch_id=batch.id,
            item_id=item.id,
            data=ExcludeIn(reason="kontrola skarbowa w toku"),
            actor=ANNA,
        )
        number = batch.number

    answer = _file(factory, "pesel", PESEL)[due]

    assert answer.outcome == "retained"
    assert answer.message.startswith(
        f"retained: excluded from batch {number} by the archive (kontrola skarbowa w toku)"
    )
    with factory() as session:
        assert len(session.scalars(select(DisposalItem)).all()) == 1


def test_a_pesel_typed_into_a_name_is_masked_in_the_trail(
    factory: sessionmaker[Session], make: Make
) -> None:
    make("contract", title="Umowa z Piotrem Wiśniewskim")

    _file(factory, "name", f"Piotr Wiśniewski {PESEL}", actor=LEX)

    with factory() as session:
        details = session.execute(
            text("SELECT details::text FROM audit_events WHERE action = :a"),
            {"a": "retention.erasure_answered"},
        ).scalar_one()
        request = session.scalars(select(ErasureRequest)).one()
    assert PESEL not in details
    assert PESEL not in erasure.shown_subject(
        request.subject_kind, request.subject_value, unmasked=False
    )


def test_keeping_decided_after_the_request_wins(factory: sessionmaker[Session], make: Make) -> None:
    pro_forma = make(
        "proforma", fields={"pesel": PESEL, "issue_date": f"{date.today().year}-01-05"}
    )
    assert _file(factory, "pesel", PESEL)[pro_forma].outcome == "scheduled"

    with session_scope(factory) as session:
        service.extend(session, document_id=pro_forma, until=date(2040, 12, 31), actor="anna")

    assert _retention(factory, pro_forma).retain_until == date(2040, 12, 31)


def test_a_basis_citing_no_statute_does_not_keep_and_an_extension_is_named(
    factory: sessionmaker[Session], make: Make
) -> None:
    pro_forma = make(
        "proforma", fields={"pesel": PESEL, "issue_date": f"{date.today().year}-01-05"}
    )
    extended = make("invoice", fields={"pesel": PESEL, "issue_date": "2012-01-10"})
    with session_scope(factory) as session:
        service.extend(session, document_id=extended, until=date(2031, 12, 31), actor="tests")

    answers = _file(factory, "pesel", PESEL)

    assert answers[pro_forma].outcome == "scheduled"
    assert answers[pro_forma].message.endswith(
        "no statutory duty to keep it (not an accounting voucher: kept while in use)"
    )
    assert (answers[extended].outcome, answers[extended].retained_until) == (
        "retained", date(2031, 12, 31)
    )  # fmt: skip
    assert answers[extended].message.endswith(
        "(the statutory period ends on 2018-12-31; extended by the archive)"
    )
    # The pro-forma's date ends the day before the request, and stays ended when its
    # retention is computed again later (an edit, a reprocessing, a released hold).
    yesterday = date.today() - timedelta(days=1)
    assert _retention(factory, pro_forma).retain_until == yesterday
    with session_scope(factory) as session:
        service.recompute(session, document_id=pro_forma, actor="tests")
        service.recompute(session, document_id=extended, actor="tests")
    assert _retention(factory, pro_forma).retain_until == yesterday
    assert _retention(factory, extended).retain_until == date(2031, 12, 31)


def test_nip_finds_seller_buyer_and_text(factory: sessionmaker[Session], make: Make) -> None:
    sold = make("invoice", fields={"seller_nip": NIP, "issue_date": "2024-02-01"})
    bought = make("invoice", fields={"buyer_nip": NIP, "issue_date": "2024-02-01"})
    mentioned = make("contract", title="Umowa NIP 526-025-02-74")
    other = make("invoice", fields={"seller_nip": "5250001234", "issue_date": "2024-02-01"})

    answers = _file(factory, "nip", "PL 526-025-02-74")

    assert set(answers) == {sold, bought, mentioned}
    assert other not in answers
    assert answers[mentioned].outcome == "undetermined"  # a contract not yet settled


def test_name_finds_phrase_in_any_form_and_counterparty(
    factory: sessionmaker[Session], make: Make
) -> None:
    declined = make("contract", title="Umowa z Piotrem Wiśniewskim")
    party = make(
        "invoice", fields={"seller_name": "Piotr Wisniewski Usługi", "issue_date": "2024-02-01"}
    )
    namesake_word = make("contract", title="Piotr Nowak, ul. Wiśniewskiego")

    answers = _file(factory, "name", "Piotr  Wiśniewski", actor=LEX)

    assert set(answers) == {declined, party}
    assert namesake_word not in answers


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("pesel", "44051401358", "its check digit is wrong"),
        ("pesel", "4405140135", "a PESEL has 11 digits"),
        ("nip", "526-025-02-75", "not a valid NIP"),
        ("name", "123 456", "a name needs letters"),
    ],
)
def test_invalid_subjects_are_refused(
    factory: sessionmaker[Session], kind: str, value: str, reason: str
) -> None:
    with session_scope(factory) as session, pytest.raises(Unprocessable, match=reason):
        erasure.file_request(
            session,
            subject=Subject.model_validate({"kind": kind, "value": value}),
            requested_by=ANNA,
            reference=None,
        )


def test_only_archivists_legal_and_admins_file(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session, pytest.raises(Forbidden):
        erasure.file_request(
            session, subject=Subject(kind="nip", value=NIP), requested_by=ACCOUNTANT,
            reference=None,
        )  # fmt: skip


def _pesel_invoice(server: LiveServer, tmp_path: Path, year: int) -> uuid.UUID:
    with session_scope(build_sessionmaker(server.engine)) as session:
        return make_document(
            session, server.store, tmp_path, document_class="invoice",
            fields={"pesel": PESEL, "issue_date": f"{year}-05-05"}, title=f"Faktura {year}",
        )  # fmt: skip


def test_api_files_lists_and_reads_answers_after_destruction(
    server: LiveServer, client: httpx.Client, tmp_path: Path, login_as: LoginAs
) -> None:
    archivist = login_as("anna", "archivist")
    accountant = login_as("konrad", "accountant")
    kept = _pesel_invoice(server, tmp_path, 2024)
    due = _pesel_invoice(server, tmp_path, 2012)
    body = {"subject": {"kind": "pesel", "value": PESEL}, "reference": f"wniosek {PESEL}"}

    refused = accountant.post("/erasure-requests", json=body)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    invalid = archivist.post(
        "/erasure-requests", json={"subject": {"kind": "pesel", "value": "44051401358"}}
    )
    assert invalid.status_code == 422
    assert "check digit" in invalid.json()["detail"]
    filed = archivist.post("/erasure-requests", json=body)
    assert filed.status_code == 201, filed.text
    request = filed.json()
    assert request["subject"] == {"kind": "pesel", "value": "*******1359"}
    assert request["reference"] == "wniosek *******1359"
    assert request["counts"] == {"retained": 1, "scheduled": 1}
    answers = {a["document_id"]: a for a in request["answers"]}
    assert answers[str(kept)]["retained_until"] == "2030-12-31"
    batch_id = answers[str(due)]["batch_id"]

    assert accountant.get("/erasure-requests").status_code == 403
    assert accountant.get(f"/erasure-requests/{request['id']}").status_code == 403
    listed = archivist.get("/erasure-requests").json()
    assert [r["id"] for r in listed["items"]] == [request["id"]]
    assert "answers" not in listed["items"][0]
    # the tester holds the hr role too: PESELs in clear
    assert client.get(f"/erasure-requests/{request['id']}").json()["subject"]["value"] == PESEL

    assert archivist.post(f"/retention/batches/{batch_id}/approve").status_code == 200
    report = disposal.destroy_batch(
        build_sessionmaker(server.engine), server.store, server.settings, uuid.UUID(batch_id)
    )
    assert report.destroyed == 1
    later = archivist.get(f"/erasure-requests/{request['id']}").json()
    assert later["answers"] == request["answers"]
    assert archivist.get(f"/documents/{due}/retention").json()["status"] == "destroyed"
    assert archivist.get(f"/erasure-requests/{uuid.uuid4()}").status_code == 404


def test_api_pages_requests_newest_first(server: LiveServer, login_as: LoginAs) -> None:
    legal = login_as("lex", "legal")
    ids = [
        legal.post(
            "/erasure-requests", json={"subject": {"kind": "name", "value": f"Firma {n}"}}
        ).json()["id"]
        for n in ("Alfa", "Beta", "Gamma")
    ]
    first = legal.get("/erasure-requests", params={"limit": 2}).json()
    rest = legal.get(
        "/erasure-requests", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [r["id"] for r in first["items"] + rest["items"]] == ids[::-1]
    assert rest["next_cursor"] is None
    assert legal.get("/erasure-requests", params={"cursor": "nonsense"}).status_code == 400
