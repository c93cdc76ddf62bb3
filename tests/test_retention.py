"""Retention on a real database and blob store: recomputation, legal holds, disposal batches,
destruction (including one killed midway and run again) and the disposal protocol."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.cli import main
from app.config import Settings
from app.db import build_sessionmaker, session_scope
from app.documents import service as documents
from app.documents.models import Document, DocumentField, DocumentPage, DocumentVersion
from app.errors import Conflict
from app.retention import disposal, holds, purge, repository, review
from app.retention.models import (
    BatchKind,
    BatchStatus,
    DisposalBatch,
    DisposalItem,
    DocumentRetention,
    ItemState,
    Tombstone,
)
from app.retention.verify import retention_problems
from app.search.models import DocumentSearch
from app.security.principal import Actor, system_actor
from app.storage import BlobStore
from app.storage.local import LocalBlobStore
from app.verify import verify_archive
from schemas.documents import DocumentPatch
from schemas.retention import ApproveIn, ExcludeIn, HoldIn, HoldRelease
from schemas.search import SearchFilters
from tests.retention_docs import keys_of, make_document

SYSTEM = system_actor("tests")
ANNA = Actor(name="anna", user_id=uuid.uuid4(), roles=frozenset({"archivist"}))
BOSS = Actor(name="boss", user_id=uuid.uuid4(), roles=frozenset({"admin"}))
LONG_AGO = datetime(2010, 3, 1, tzinfo=UTC)


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return build_sessionmaker(engine)


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


Make = Callable[..., uuid.UUID]


@pytest.fixture
def make(factory: sessionmaker[Session], store: BlobStore, tmp_path: Path) -> Make:
    def create(document_class: str | None, **kwargs: Any) -> uuid.UUID:
        with session_scope(factory) as session:
            return make_document(
                session, store, tmp_path / "tmp", document_class=document_class, **kwargs
            )

    return create


@pytest.fixture
def circulating() -> Iterator[set[uuid.UUID]]:
    """Documents the circulation hook reports as still in circulation."""
    running: set[uuid.UUID] = set()
    repository.register_unfinished_circulation(
        lambda: select(Document.id).where(Document.id.in_(running or [uuid.uuid4()]))
    )
    yield running
    repository._hooks.unfinished_circulation = None


def _row(factory: sessionmaker[Session], document_id: uuid.UUID) -> DocumentRetention:
    with factory() as session:
        row = session.get(DocumentRetention, document_id)
        assert row is not None
        return row


def _invoice(make: Make, year: int, **kwargs: object) -> uuid.UUID:
    return make("invoice", fields={"issue_date": f"{year}-01-10"}, **kwargs)


def test_trigger_entered_years_later_and_hold_keeps_the_date(
    factory: sessionmaker[Session], make: Make
) -> None:
    hr = make("hr_record", fields={"employment_start": "2019-05-01"})
    assert _row(factory, hr).status == "unknown_trigger"
    with session_scope(factory) as session:
        documents.correct_fields(
            session, document_id=hr, values={"employment_end": "2021-03-31"},
            expected_revision=1, actor=SYSTEM,
        )  # fmt: skip
    assert _row(factory, hr).retain_until == date(2031, 12, 31)
    with session_scope(factory) as session:
        hold = holds.place_hold(
            session, data=HoldIn(name="spór", reason="pozew", document_ids=[hr]), actor=SYSTEM
        )
    with session_scope(factory) as session:
        documents.correct_fields(
            session, document_id=hr, values={"employment_end": "2019-12-31"},
            expected_revision=2, actor=SYSTEM,
        )  # fmt: skip
    held = _row(factory, hr)
    assert (held.retain_until, held.computed_until) == (date(2031, 12, 31), date(2029, 12, 31))
    assert "legal hold" in held.rule
    with session_scope(factory) as session:
        holds.release_hold(session, hold_id=hold.id, data=HoldRelease(reason="ugoda"), actor=SYSTEM)
    assert _row(factory, hr).retain_until == date(2029, 12, 31)


def test_class_change_recomputes(factory: sessionmaker[Session], make: Make) -> None:
    doc = make(None, uploaded=LONG_AGO, fields={"issue_date": "2015-03-01"})
    assert (_row(factory, doc).retention_class, _row(factory, doc).symbol) == ("default", "BE10")
    with session_scope(factory) as session:
        documents.update_metadata(
            session, document_id=doc, patch=DocumentPatch(document_class="invoice"),
            expected_revision=1, actor=SYSTEM,
        )  # fmt: skip
    row = _row(factory, doc)
    assert (row.retention_class, row.retain_until) == ("vat_invoice", date(2021, 12, 31))


def _batch(factory: sessionmaker[Session], kind: BatchKind) -> tuple[DisposalBatch, set[uuid.UUID]]:
    with factory() as session:
        batch = session.scalars(select(DisposalBatch).where(DisposalBatch.kind == kind)).one()
        ids = {i.document_id for i in disposal.batch_items(session, batch.id)}
        return batch, ids


def _item(
    factory: sessionmaker[Session], batch_id: uuid.UUID, document_id: uuid.UUID
) -> DisposalItem:
    with factory() as session:
        return session.scalars(
            select(DisposalItem).where(
                DisposalItem.batch_id == batch_id, DisposalItem.document_id == document_id
            )
        ).one()


def _gone(
    factory: sessionmaker[Session], store: BlobStore, document_id: uuid.UUID, keys: list[str]
) -> None:
    assert keys
    assert all(store.stat(key) is None for key in keys)
    with factory() as session:
        assert session.get(Document, document_id) is None
        for model in (DocumentVersion, DocumentField, DocumentSearch):
            column = model.document_id  # type: ignore[attr-defined]
            assert session.scalars(select(column).where(column == document_id)).first() is None
        assert (
            session.scalars(
                select(DocumentPage.id).where(DocumentPage.preview_key.in_(keys))
            ).first()
            is None
        )


def test_disposal_end_to_end(
    factory: sessionmaker[Session],
    store: BlobStore,
    settings: Settings,
    make: Make,
    circulating: set[uuid.UUID],
) -> None:
    due, excluded, late_hold = (_invoice(make, 2015) for _ in range(3))
    two_versions = _invoice(make, 2015, versions=2)
    held = _invoice(make, 2016)
    in_circulation = _invoice(make, 2016)
    circulating.add(in_circulation)
    not_yet = _invoice(make, 2024)
    expert = make(None, uploaded=LONG_AGO)
    permanent = make("annual_statement", fields={"issue_date": "2010-03-31"})
    unknown = make("hr_record", fields={"employment_start": "2019-01-01"})
    with session_scope(factory) as session:
        holds.place_hold(
            session, data=HoldIn(name="kontrola US", reason="VAT 2016", document_ids=[held]),
            actor=SYSTEM,
        )  # fmt: skip
        disposal.collect(session)
    batch, listed = _batch(factory, BatchKind.destruction)
    assert listed == {due, two_versions, excluded, late_hold}
    assert _batch(factory, BatchKind.expert_review)[1] == {expert}
    assert _batch(factory, BatchKind.transfer)[1] == {permanent}
    assert not {held, in_circulation, not_yet, unknown} & listed

    with session_scope(factory) as session:
        review.exclude(
            session, batch_id=batch.id, item_id=_item(factory, batch.id, excluded).id,
            data=ExcludeIn(reason="potrzebna w sprawie", keep_until=date(2030, 12, 31)),
            actor=ANNA,
        )  # fmt: skip
        review.approve(
            session, batch_id=batch.id, data=ApproveIn(second_approval_required=True), actor=ANNA
        )
    with session_scope(factory) as session, pytest.raises(Conflict):
        review.approve(session, batch_id=batch.id, data=ApproveIn(), actor=ANNA)
    with session_scope(factory) as session:
        assert review.approve(session, batch_id=batch.id, data=ApproveIn(), actor=BOSS).status == (
            BatchStatus.approved
        )
        queued = session.execute(
            text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t"),
            {"t": review.DESTROY_TASK},
        ).scalar_one()
        assert queued == 1
    assert _row(factory, excluded).retain_until == date(2030, 12, 31)
    with session_scope(factory) as session:
        holds.place_hold(
            session, data=HoldIn(name="late", reason="r", document_ids=[late_hold]), actor=SYSTEM
        )
        keys = {d: keys_of(session, d) for d in (due, two_versions)}
        shas = {
            d: list(session.scalars(select(DocumentVersion.sha256).where(
                DocumentVersion.document_id == d
            ).order_by(DocumentVersion.number)))
            for d in (due, two_versions)
        }  # fmt: skip

    report = disposal.destroy_batch(factory, store, settings, batch.id)

    assert (report.destroyed, report.skipped, report.completed) == (2, 1, True)
    for document_id, document_keys in keys.items():
        _gone(factory, store, document_id, document_keys)
    with factory() as session:
        tombstone = session.get(Tombstone, due)
        assert tombstone is not None
        assert (tombstone.sha256s, tombstone.approvers) == (shas[due], ["anna", "boss"])
        assert tombstone.retention_class == "vat_invoice"
        assert _item(factory, batch.id, late_hold).state == ItemState.skipped
        assert session.get(Document, late_hold) is not None
        finished = session.get(DisposalBatch, batch.id)
        assert finished is not None
        assert finished.status == BatchStatus.completed
        protocol = session.get(Document, finished.protocol_document_id)
        assert protocol is not None
        assert protocol.document_class == "disposal_protocol"
        version = session.scalars(select(DocumentVersion).where(
            DocumentVersion.document_id == protocol.id
        )).one()  # fmt: skip
    pdf_text = _pdf_text(b"".join(store.open(version.blob_key)))
    assert f"Protokół brakowania nr {batch.number}" in pdf_text
    assert shas[due][0] in pdf_text
    assert "potrzebna w sprawie" in pdf_text
    assert retention_problems(factory, store) == []
    assert verify_archive(factory, store, settings, check_hashes=True).problems == []
    assert _row(factory, permanent).status == "permanent"


def test_expert_review_requalifies_and_a_is_never_destroyed(
    factory: sessionmaker[Session], store: BlobStore, settings: Settings, make: Make
) -> None:
    kept, destroyed = (make(None, uploaded=LONG_AGO) for _ in range(2))
    permanent = make("annual_statement", fields={"issue_date": "2005-03-31"})
    with session_scope(factory) as session:
        disposal.collect(session)
    batch, _listed = _batch(factory, BatchKind.expert_review)
    transfer, _ = _batch(factory, BatchKind.transfer)
    with session_scope(factory) as session:
        review.requalify(
            session, batch_id=batch.id, item_id=_item(factory, batch.id, kept).id,
            reason="wartość historyczna", actor=ANNA,
        )  # fmt: skip
        review.approve(session, batch_id=batch.id, data=ApproveIn(), actor=ANNA)
        review.approve(session, batch_id=transfer.id, data=ApproveIn(), actor=ANNA)
    assert disposal.destroy_batch(factory, store, settings, batch.id).destroyed == 1
    assert disposal.destroy_batch(factory, store, settings, transfer.id).destroyed == 0
    with factory() as session:
        assert session.get(Document, destroyed) is None
        assert session.get(Document, kept) is not None
        assert session.get(Document, permanent) is not None
        done = session.get(DisposalBatch, transfer.id)
        assert done is not None
        assert done.status == BatchStatus.completed
    assert (_row(factory, kept).status, _row(factory, kept).category) == ("permanent", "A")
    with session_scope(factory) as session:
        disposal.collect(session)
        assert session.scalar(select(DisposalBatch.id).where(
            DisposalBatch.status == BatchStatus.draft
        )) is None  # fmt: skip


class Crashing:
    """The real store, with a failure injected at one call (the process dying there)."""

    def __init__(self, store: BlobStore, *, method: str, after: int) -> None:
        self.store, self.method, self.left = store, method, after

    def __getattr__(self, name: str) -> object:
        real = getattr(self.store, name)
        if name != self.method:
            return real

        def call(*args: object, **kwargs: object) -> object:
            self.left -= 1
            if self.left < 0:
                raise SystemExit("killed")
            return real(*args, **kwargs)

        return call


@pytest.mark.parametrize(("method", "after"), [("delete", 7), ("stat", 0), ("put", 0)])
def test_destruction_killed_midway_completes_on_rerun(
    factory: sessionmaker[Session],
    store: BlobStore,
    settings: Settings,
    make: Make,
    method: str,
    after: int,
) -> None:
    """Killed while deleting objects, before burying rows, or while archiving the protocol."""
    ids = [_invoice(make, 2014) for _ in range(7)]
    with session_scope(factory) as session:
        keys = {d: keys_of(session, d) for d in ids}
        batch = disposal.collect(session)[BatchKind.destruction]
        review.approve(session, batch_id=batch.id, data=ApproveIn(), actor=ANNA)
    crashing = Crashing(store, method=method, after=after)
    with pytest.raises(SystemExit):
        disposal.destroy_batch(factory, crashing, settings, batch.id, chunk=3)  # type: ignore[arg-type]
    _check_consistent(factory, store, keys)

    report = disposal.destroy_batch(factory, store, settings, batch.id, chunk=3)

    assert report.completed
    for document_id, document_keys in keys.items():
        _gone(factory, store, document_id, document_keys)
    assert retention_problems(factory, store) == []
    assert verify_archive(factory, store, settings, check_hashes=False).problems == []


def _check_consistent(
    factory: sessionmaker[Session], store: BlobStore, keys: dict[uuid.UUID, list[str]]
) -> None:
    """Never a tombstone while content exists; never content whose rows are gone."""
    with factory() as session:
        for document_id, document_keys in keys.items():
            present = [k for k in document_keys if store.stat(k) is not None]
            if session.get(Tombstone, document_id) is not None:
                assert not present
                assert session.get(Document, document_id) is None
            else:
                assert session.get(Document, document_id) is not None


def test_a_search_hold_catches_documents_that_match_later(
    factory: sessionmaker[Session], make: Make
) -> None:
    with session_scope(factory) as session:
        hold = holds.place_hold(
            session,
            data=HoldIn(
                name="spór z dostawcą",
                reason="pozew",
                search=SearchFilters(document_class="contract"),
            ),
            actor=SYSTEM,
        )
    contract = make("contract", fields={"end_date": "2010-06-30"})
    invoice = _invoice(make, 2012)
    with session_scope(factory) as session:
        batches = disposal.collect(session)
        listed = {
            i.document_id for i in disposal.batch_items(session, batches[BatchKind.destruction].id)
        }
    assert invoice in listed
    assert contract not in listed
    with session_scope(factory) as session:
        holds.release_hold(
            session, hold_id=hold.id, data=HoldRelease(reason="koniec"), actor=SYSTEM
        )
        disposal.collect(session)
        listed = {
            i.document_id for i in disposal.batch_items(session, batches[BatchKind.destruction].id)
        }
    assert contract in listed


def test_dry_run_changes_nothing(factory: sessionmaker[Session], make: Make) -> None:
    for _ in range(3):
        _invoice(make, 2013)
    summary = purge.dry_run(factory)
    assert summary.would_add == {"destruction": 3}
    with factory() as session:
        assert session.scalar(select(DisposalBatch.id)) is None


def _pdf_text(data: bytes) -> str:
    pdf = pypdfium2.PdfDocument(io.BytesIO(data))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in pdf)
    finally:
        pdf.close()


def test_purge_killed_with_sigkill_is_completed_by_the_next_run(
    factory: sessionmaker[Session],
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`docarchive purge --run` in a real process, SIGKILLed once destruction has started."""
    store = LocalBlobStore(tmp_path / "var" / "blobs")
    with session_scope(factory) as session:
        ids = [
            make_document(
                session, store, tmp_path / "tmp", document_class="invoice",
                fields={"issue_date": "2012-02-02"},
            )
            for _ in range(1000)
        ]  # fmt: skip
        keys = {d: keys_of(session, d) for d in ids}
        batch = disposal.collect(session)[BatchKind.destruction]
        review.approve(session, batch_id=batch.id, data=ApproveIn(), actor=ANNA)
    monkeypatch.setenv("DOCARCHIVE_DATABASE_URL", database_url)
    monkeypatch.setenv("DOCARCHIVE_DATA_DIR", str(tmp_path / "var"))
    command = [str(Path(sys.executable).with_name("docarchive")), "purge", "--run"]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        try:
            _wait_for_destruction_to_start(engine, batch.id, process)
        finally:
            process.kill()
    _check_consistent(factory, store, keys)
    with factory() as session:
        left = session.scalar(
            select(func.count(DisposalItem.id)).where(
                DisposalItem.batch_id == batch.id, DisposalItem.state != ItemState.destroyed
            )
        )
    assert left, "the process finished before it was killed: nothing was tested"

    assert main(["purge", "--run"]) == 0

    for document_id, document_keys in keys.items():
        _gone(factory, store, document_id, document_keys)
    assert retention_problems(factory, store) == []


def _wait_for_destruction_to_start(
    engine: Engine, batch_id: uuid.UUID, process: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + 120
    query = text("SELECT count(*) FROM disposal_items WHERE batch_id = :b AND state <> 'pending'")
    while time.monotonic() < deadline and process.poll() is None:
        with engine.connect() as conn:
            if conn.execute(query, {"b": batch_id}).scalar_one() > 0:
                return
        time.sleep(0.02)
    stderr = b"" if process.poll() is None or process.stderr is None else process.stderr.read()
    raise AssertionError(f"destruction did not start: {stderr.decode()[-2000:]}")
