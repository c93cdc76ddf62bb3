"""S3 Object Lock on moto's S3 server: retention dates and legal holds carried onto the stored
originals, destruction refused by the store's lock, versioned buckets emptied of every version,
and a bucket without Object Lock treated as if the setting were off."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from minio.commonconfig import ENABLED
from minio.versioningconfig import VersioningConfig
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import AuditEvent
from app.cli import main
from app.config import ObjectLockMode, Settings
from app.db import build_sessionmaker, session_scope
from app.documents import service as documents
from app.documents.models import Document, DocumentVersion
from app.retention import disposal, holds, object_lock, review
from app.retention import endpoints as retention_endpoints
from app.retention import service as retention
from app.retention.models import (
    BatchKind,
    DisposalItem,
    DocumentRetention,
    ItemState,
    ObjectLock,
    Tombstone,
)
from app.security.principal import Actor, system_actor
from app.storage.base import BlobLocked, verify_blob
from app.storage.local import LocalBlobStore
from app.storage.s3 import S3BlobStore
from schemas.retention import ApproveIn, HoldIn, HoldRelease
from schemas.search import SearchFilters
from tests.conftest import MotoS3
from tests.retention_docs import keys_of, make_document
from workers import runtime
from workers.app import MAINTENANCE_QUEUE, connected

SYSTEM = system_actor("tests")
ANNA = Actor(name="anna", user_id=uuid.uuid4(), roles=frozenset({"archivist"}))


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return build_sessionmaker(engine)


@pytest.fixture
def locking(settings: Settings) -> Settings:
    return settings.model_copy(update={"s3_object_lock": True})


def _store(moto: MotoS3, bucket: str | None = None, *, object_lock: bool) -> S3BlobStore:
    return S3BlobStore(
        endpoint=moto.endpoint,
        bucket=bucket or f"lock-{uuid.uuid4().hex[:12]}",
        access_key="testing",
        secret_key="testing",
        secure=False,
        region="us-east-1",
        timeout_seconds=2.0,
        object_lock=object_lock,
    )


@pytest.fixture
def store(moto_s3: MotoS3) -> S3BlobStore:
    """A bucket this service created, with Object Lock on."""
    return _store(moto_s3, object_lock=True)


def _invoice(
    factory: sessionmaker[Session], store: S3BlobStore, tmp_path: Path, issued: date
) -> uuid.UUID:
    with session_scope(factory) as session:
        return make_document(
            session, store, tmp_path / "tmp", document_class="invoice",
            fields={"issue_date": issued.isoformat()},
        )  # fmt: skip


def _original(factory: sessionmaker[Session], document_id: uuid.UUID) -> DocumentVersion:
    with factory() as session:
        return session.scalars(
            select(DocumentVersion).where(DocumentVersion.document_id == document_id)
        ).one()


def _retain_until(factory: sessionmaker[Session], document_id: uuid.UUID) -> date:
    with factory() as session:
        row = session.get(DocumentRetention, document_id)
        assert row is not None
        assert row.retain_until is not None
        return row.retain_until


def _recorded(factory: sessionmaker[Session], version_id: uuid.UUID) -> ObjectLock | None:
    with factory() as session:
        return session.get(ObjectLock, version_id)


def _versions(store: S3BlobStore, keys: list[str]) -> list[Any]:
    listed = store.client.list_objects(store.bucket, recursive=True, include_version=True)
    return [obj for obj in listed if obj.object_name in keys]


def _put(store: S3BlobStore, tmp_path: Path, key: str, data: bytes) -> None:
    path = tmp_path / uuid.uuid4().hex
    path.write_bytes(data)
    store.put(key, path, size=len(data))


def test_moto_refuses_to_delete_a_locked_version(store: S3BlobStore, tmp_path: Path) -> None:
    retained, held = "sha256/retained", "sha256/held"
    _put(store, tmp_path, retained, b"retained")
    _put(store, tmp_path, held, b"held")
    until = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    store.retain(retained, until=until, mode="GOVERNANCE")
    store.set_legal_hold(held, on=True)
    # moto would shorten it; the store never asks to.
    store.retain(retained, until=until - timedelta(days=10), mode="GOVERNANCE")
    assert store.lock_states(retained)[0].until == until

    with pytest.raises(BlobLocked) as refused:
        store.delete(retained)
    assert str(refused.value) == (
        f"object locked until {until.isoformat(timespec='minutes')} (GOVERNANCE)"
    )
    with pytest.raises(BlobLocked, match=r"^object under a legal hold$"):
        store.delete(held)
    assert store.stat(retained) is not None
    assert store.stat(held) is not None

    store.set_legal_hold(held, on=False)
    store.delete(held)
    assert store.stat(held, any_version=True) is None
    assert _versions(store, [held]) == []


def test_sync_locks_until_the_statutory_date_without_the_archives_extension(
    factory: sessionmaker[Session], store: S3BlobStore, locking: Settings, tmp_path: Path
) -> None:
    document_id = _invoice(factory, store, tmp_path, date(2024, 6, 15))
    version = _original(factory, document_id)
    statutory_until = _retain_until(factory, document_id)

    report = object_lock.sync(factory, store, locking)

    assert (report.active, report.locked, report.held, report.failed) == (True, 1, 0, {})
    (lock,) = store.lock_states(version.blob_key)
    assert (lock.until, lock.mode, lock.legal_hold) == (
        object_lock.lock_end(statutory_until), "GOVERNANCE", False,
    )  # fmt: skip
    recorded = _recorded(factory, version.id)
    assert recorded is not None
    assert (recorded.locked_until, recorded.mode) == (statutory_until, "GOVERNANCE")
    assert object_lock.sync(factory, store, locking).locked == 0
    with factory() as session:  # what GET /documents/{id}/retention shows of it
        shown = retention_endpoints.document_retention(document_id, session, ANNA).store_locks
    assert [(s.version, s.locked_until, s.mode, s.legal_hold) for s in shown] == [
        (1, statutory_until, "GOVERNANCE", False)
    ]

    # The archive keeps it longer by its own choice: no duty, so no lock beyond the law's.
    extended = date(statutory_until.year + 10, 12, 31)
    with session_scope(factory) as session:
        retention.extend(session, document_id=document_id, until=extended, actor="tests")
    assert _retain_until(factory, document_id) == extended
    assert object_lock.sync(factory, store, locking).locked == 0
    assert store.lock_states(version.blob_key)[0].until == object_lock.lock_end(statutory_until)

    # A later issue date moves the statutory date: the lock follows it.
    with session_scope(factory) as session:
        documents.correct_fields(
            session, document_id=document_id, values={"issue_date": date.today().isoformat()},
            expected_revision=1, actor=SYSTEM,
        )  # fmt: skip
        row = session.get(DocumentRetention, document_id)
        assert row is not None
        assert row.computed_until is not None
        later = row.computed_until
    assert statutory_until < later < extended
    assert object_lock.sync(factory, store, locking).locked == 1
    assert store.lock_states(version.blob_key)[0].until == object_lock.lock_end(later)

    compliance = locking.model_copy(update={"s3_object_lock_mode": ObjectLockMode.compliance})
    assert object_lock.sync(factory, store, compliance).locked == 1
    (lock,) = store.lock_states(version.blob_key)
    assert (lock.until, lock.mode) == (object_lock.lock_end(later), "COMPLIANCE")


def test_no_retention_lock_without_a_statutory_basis(
    factory: sessionmaker[Session], store: S3BlobStore, locking: Settings, tmp_path: Path
) -> None:
    """Pro-forma invoices and the default class cite no statute: an erasure request or a
    corrected date must still be able to end them, so only a legal hold reaches the store."""
    with session_scope(factory) as session:
        proforma, unclassified = (
            make_document(
                session, store, tmp_path / "tmp", document_class=document_class,
                fields={"issue_date": date.today().isoformat()},
            )
            for document_class in ("proforma", None)
        )  # fmt: skip
        for row in (session.get(DocumentRetention, d) for d in (proforma, unclassified)):
            assert row is not None
            assert row.retain_until is not None
            assert (row.status, row.retain_until > date.today()) == ("dated", True)
        holds.place_hold(
            session, data=HoldIn(name="spór", reason="pozew", document_ids=[proforma]),
            actor=SYSTEM,
        )  # fmt: skip

    report = object_lock.sync(factory, store, locking)

    assert (report.locked, report.held) == (0, 1)
    proforma_lock, unclassified_lock = (
        store.lock_states(_original(factory, d).blob_key)[0] for d in (proforma, unclassified)
    )
    assert (proforma_lock.until, proforma_lock.legal_hold) == (None, True)
    assert (unclassified_lock.until, unclassified_lock.legal_hold) == (None, False)
    assert _recorded(factory, _original(factory, unclassified).id) is None


def test_hold_sets_and_release_clears_the_legal_hold_flag(
    factory: sessionmaker[Session], store: S3BlobStore, locking: Settings, tmp_path: Path
) -> None:
    document_id = _invoice(factory, store, tmp_path, date(2015, 1, 10))
    key = _original(factory, document_id).blob_key
    with session_scope(factory) as session:
        hold = holds.place_hold(
            session, data=HoldIn(name="spór", reason="pozew", document_ids=[document_id]),
            actor=SYSTEM,
        )  # fmt: skip

    report = object_lock.sync(factory, store, locking)

    # Retention ended in 2021: no retention lock, only the hold.
    assert (report.locked, report.held, report.released) == (0, 1, 0)
    assert store.lock_states(key)[0].legal_hold
    with pytest.raises(BlobLocked, match="legal hold"):
        store.delete(key)

    with session_scope(factory) as session:
        holds.release_hold(session, hold_id=hold.id, data=HoldRelease(reason="ugoda"), actor=SYSTEM)
    report = object_lock.sync(factory, store, locking)

    assert (report.locked, report.held, report.released) == (0, 0, 1)
    assert not store.lock_states(key)[0].legal_hold
    assert object_lock.sync(factory, store, locking).released == 0


def test_destruction_of_a_locked_object_is_refused_and_nothing_goes(
    factory: sessionmaker[Session], store: S3BlobStore, locking: Settings, tmp_path: Path
) -> None:
    """Locked while retention ran to 2030-something; a corrected issue date makes it due, but
    the store keeps its lock: the item is refused, rows, blob and derived objects stay."""
    document_id = _invoice(factory, store, tmp_path, date.today())
    object_lock.sync(factory, store, locking)
    locked_until = object_lock.lock_end(_retain_until(factory, document_id))
    with session_scope(factory) as session:
        documents.correct_fields(
            session, document_id=document_id, values={"issue_date": "2015-01-10"},
            expected_revision=1, actor=SYSTEM,
        )  # fmt: skip
        keys = keys_of(session, document_id)
        batch = disposal.collect(session)[BatchKind.destruction]
        review.approve(session, batch_id=batch.id, data=ApproveIn(), actor=ANNA)
    version = _original(factory, document_id)

    report = disposal.destroy_batch(factory, store, locking, batch.id)

    reason = (
        "the store refused to delete: object locked until "
        f"{locked_until.isoformat(timespec='minutes')} (GOVERNANCE)"
    )
    assert (report.destroyed, report.refused) == (0, {str(document_id): reason})
    with factory() as session:
        item = session.scalars(select(DisposalItem).where(DisposalItem.batch_id == batch.id)).one()
        assert (item.state, item.remarks) == (ItemState.refused, reason)
        assert session.get(Document, document_id) is not None
        assert session.get(Tombstone, document_id) is None
    verify_blob(store, sha256=version.sha256, size=version.size)
    assert all(store.stat(key) is not None for key in keys)


def _due_for_destruction(factory: sessionmaker[Session], document_id: uuid.UUID) -> uuid.UUID:
    """Correct the issue date to 2015 (retention long over) and approve the batch it joins."""
    with session_scope(factory) as session:
        documents.correct_fields(
            session, document_id=document_id, values={"issue_date": "2015-01-10"},
            expected_revision=1, actor=SYSTEM,
        )  # fmt: skip
        batch = disposal.collect(session)[BatchKind.destruction]
        review.approve(session, batch_id=batch.id, data=ApproveIn(), actor=ANNA)
        return batch.id


def test_a_lock_on_a_later_object_refuses_the_item_before_anything_is_deleted(
    factory: sessionmaker[Session], store: S3BlobStore, locking: Settings, tmp_path: Path
) -> None:
    """The second version's original is held; the first one (deleted first, were objects
    deleted one by one) and every derived object keep all their S3 versions."""
    with session_scope(factory) as session:
        document_id = make_document(
            session, store, tmp_path / "tmp", document_class="invoice",
            fields={"issue_date": date.today().isoformat()}, versions=2,
        )  # fmt: skip
        keys = keys_of(session, document_id)
        first, second = session.scalars(
            select(DocumentVersion)
            .where(DocumentVersion.document_id == document_id)
            .order_by(DocumentVersion.number)
        ).all()
    store.set_legal_hold(second.blob_key, on=True)
    stored = sorted((v.object_name, v.version_id) for v in _versions(store, keys))
    batch_id = _due_for_destruction(factory, document_id)

    report = disposal.destroy_batch(factory, store, locking, batch_id)

    reason = "the store refused to delete: object under a legal hold"
    assert (report.destroyed, report.refused) == (0, {str(document_id): reason})
    assert sorted((v.object_name, v.version_id) for v in _versions(store, keys)) == stored
    for version in (first, second):
        verify_blob(store, sha256=version.sha256, size=version.size)
    with factory() as session:
        assert session.get(Document, document_id) is not None


def test_delete_markers_go_last(
    store: S3BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delete the store refuses (destruction checks every lock first, but one may be placed
    after the check) leaves the marker above the held version: the object stays hidden."""
    key = "sha256/hidden"
    _put(store, tmp_path, key, b"hidden")
    store.set_legal_hold(key, on=True)
    store.client.remove_object(store.bucket, key)
    assert store.stat(key) is None
    # Test seam: versions newest first, the marker before what it hides (S3's own order; the
    # SDK lists each page's versions before its markers, moto's page included).
    listed = store._versions
    monkeypatch.setattr(store, "_versions", lambda key: reversed(list(listed(key))))

    with pytest.raises(BlobLocked, match="legal hold"):
        store.delete(key)

    assert store.stat(key) is None
    assert store.stat(key, any_version=True) is not None
    assert sorted(bool(v.is_delete_marker) for v in _versions(store, [key])) == [False, True]


def test_a_bucket_versioned_after_the_store_read_it_loses_every_version(
    factory: sessionmaker[Session], moto_s3: MotoS3, settings: Settings, tmp_path: Path
) -> None:
    bucket = f"later-{uuid.uuid4().hex[:12]}"
    store = _store(moto_s3, bucket, object_lock=False)
    document_id = _invoice(factory, store, tmp_path, date(2015, 1, 10))
    with session_scope(factory) as session:
        keys = keys_of(session, document_id)
        batch = disposal.collect(session)[BatchKind.destruction]
        review.approve(session, batch_id=batch.id, data=ApproveIn(), actor=ANNA)
    # Versioning turned on while the process runs; the thumbnail then hides behind a marker.
    store.client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    thumbnail = _original(factory, document_id).thumbnail_key
    assert thumbnail is not None
    store.client.remove_object(bucket, thumbnail)
    assert store.stat(thumbnail) is None
    store.refresh()  # what a destruction run and verify do first
    assert store.stat(thumbnail, any_version=True) is not None

    report = disposal.destroy_batch(factory, store, settings, batch.id)

    assert (report.destroyed, report.refused) == (1, {})
    assert _versions(store, keys) == []


def test_one_sync_at_a_time_after_refreshing_search_holds(
    factory: sessionmaker[Session],
    engine: Engine,
    store: S3BlobStore,
    locking: Settings,
    tmp_path: Path,
) -> None:
    with session_scope(factory) as session:
        holds.place_hold(
            session, data=HoldIn(name="kontrola", reason="kontrola skarbowa",
                                 search=SearchFilters(document_class="invoice")),
            actor=SYSTEM,
        )  # fmt: skip
    # Matches the hold's search only from now on: nothing but the sync refreshes the scope.
    document_id = _invoice(factory, store, tmp_path, date.today())
    version = _original(factory, document_id)

    with engine.connect() as other:
        other.scalar(select(func.pg_advisory_lock(object_lock.SYNC_LOCK)))
        try:
            busy = object_lock.sync(factory, store, locking)
        finally:
            other.scalar(select(func.pg_advisory_unlock(object_lock.SYNC_LOCK)))
    report = object_lock.sync(factory, store, locking)

    assert (busy.active, busy.running_elsewhere, busy.locked, busy.held) == (True, True, 0, 0)
    assert (report.running_elsewhere, report.locked, report.held) == (False, 1, 1)
    assert store.lock_states(version.blob_key)[0].legal_hold


def test_each_chunk_is_audited_and_continues_after_the_last(
    factory: sessionmaker[Session],
    store: S3BlobStore,
    locking: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(object_lock, "SYNC_CHUNK", 1)
    locked_id, missing_id = (_invoice(factory, store, tmp_path, date.today()) for _ in range(2))
    locked, missing = _original(factory, locked_id), _original(factory, missing_id)
    store.delete(missing.blob_key)

    report = object_lock.sync(factory, store, locking)

    assert (report.locked, report.failed) == (1, {missing.blob_key: "not in the store"})
    with factory() as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "retention.object_lock_synced")
            .order_by(AuditEvent.id)
        ).all()
    until = _retain_until(factory, locked_id).isoformat()
    assert sorted((e.details for e in events), key=lambda d: bool(d["failed"])) == [
        {"mode": "GOVERNANCE", "held": [], "released": [], "failed": [],
         "locked": [{"version": str(locked.id), "until": until}]},
        {"mode": "GOVERNANCE", "held": [], "released": [], "locked": [],
         "failed": [{"version": str(missing.id), "problem": "not in the store"}]},
    ]  # fmt: skip
    assert {e.actor for e in events} == {"retention"}


def test_destruction_in_a_versioned_bucket_removes_every_version(
    factory: sessionmaker[Session], moto_s3: MotoS3, settings: Settings, tmp_path: Path
) -> None:
    bucket = f"versioned-{uuid.uuid4().hex[:12]}"
    store = _store(moto_s3, bucket, object_lock=False)
    store.client.make_bucket(bucket)
    store.client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    document_id = _invoice(factory, store, tmp_path, date(2015, 1, 10))
    with session_scope(factory) as session:
        keys = keys_of(session, document_id)
        batch = disposal.collect(session)[BatchKind.destruction]
        review.approve(session, batch_id=batch.id, data=ApproveIn(), actor=ANNA)
    original = _original(factory, document_id)
    # A second version of the original (the same bytes put again, as a restore does) and a
    # thumbnail hidden behind a delete marker: both still hold bytes a plain check misses.
    _put(store, tmp_path, original.blob_key, b"".join(store.open(original.blob_key)))
    thumbnail = original.thumbnail_key
    assert thumbnail is not None
    store.client.remove_object(bucket, thumbnail)
    assert store.stat(thumbnail) is None
    store.refresh()  # what a destruction run and verify do first
    assert store.stat(thumbnail, any_version=True) is not None
    assert len(_versions(store, keys)) == len(keys) + 2

    report = disposal.destroy_batch(factory, store, settings, batch.id)

    assert (report.destroyed, report.refused) == (1, {})
    assert _versions(store, keys) == []
    with factory() as session:
        assert session.get(Tombstone, document_id) is not None


def test_a_bucket_without_object_lock_acts_as_if_disabled(
    factory: sessionmaker[Session],
    moto_s3: MotoS3,
    locking: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bucket = f"plain-{uuid.uuid4().hex[:12]}"
    _store(moto_s3, bucket, object_lock=False).ping()
    store = _store(moto_s3, bucket, object_lock=True)
    document_id = _invoice(factory, store, tmp_path, date.today())

    with caplog.at_level(logging.WARNING, logger="app.storage.s3"):
        reports = [object_lock.sync(factory, store, locking) for _ in range(2)]

    assert [r.active for r in reports] == [False, False]
    assert [r.message for r in caplog.records].count(
        f"S3 Object Lock is on, but bucket {bucket!r} has no Object Lock configuration: "
        "stored objects are not locked"
    ) == 1
    assert _recorded(factory, _original(factory, document_id).id) is None
    local = LocalBlobStore(tmp_path / "blobs")
    assert not object_lock.sync(factory, local, locking).active


def test_the_periodic_task_syncs(
    factory: sessionmaker[Session],
    engine: Engine,
    store: S3BlobStore,
    locking: Settings,
    tmp_path: Path,
) -> None:
    document_id = _invoice(factory, store, tmp_path, date.today())
    worker_runtime = runtime.configure(locking, engine=engine, store=store)
    assert locking.database_url is not None
    try:
        with connected(locking.database_url) as app:
            with app.open():
                app.configure_task("retention.sync_object_lock").defer(timestamp=0)
            app.run_worker(wait=False, queues=[MAINTENANCE_QUEUE], install_signal_handlers=False)
    finally:
        worker_runtime.reset_executor()

    version = _original(factory, document_id)
    (lock,) = store.lock_states(version.blob_key)
    assert lock.until == object_lock.lock_end(_retain_until(factory, document_id))


def test_cli_sync(
    monkeypatch: pytest.MonkeyPatch,
    factory: sessionmaker[Session],
    moto_s3: MotoS3,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = _store(moto_s3, object_lock=True)
    document_id = _invoice(factory, store, tmp_path, date.today())
    for name, value in {
        "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path / "var"), "BLOB_BACKEND": "s3",
        "S3_ENDPOINT": moto_s3.endpoint, "S3_BUCKET": store.bucket, "S3_ACCESS_KEY": "testing",
        "S3_SECRET_KEY": "testing", "S3_REGION": "us-east-1", "S3_OBJECT_LOCK": "true",
    }.items():  # fmt: skip
        monkeypatch.setenv(f"DOCARCHIVE_{name}", value)

    assert main(["object-lock", "sync"]) == 0

    assert "versions locked or extended: 1, legal holds set: 0" in capsys.readouterr().out
    recorded = _recorded(factory, _original(factory, document_id).id)
    assert recorded is not None
    assert recorded.locked_until == _retain_until(factory, document_id)
