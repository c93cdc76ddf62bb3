"""Storage and database failures: clear errors, nothing half-recorded, nothing wrong served."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.config import Settings
from app.db import build_engine, build_sessionmaker
from app.documents.gc import collect_garbage
from app.storage import BlobStore, blob_key
from app.storage.local import LocalBlobStore
from tests import samples
from tests.chaos import CuttingProxy
from tests.conftest import LiveServer, MotoS3, row_count


def temp_files(settings: Settings) -> list[Path]:
    return list(settings.tmp_dir.iterdir()) if settings.tmp_dir.exists() else []


@pytest.fixture
def own_moto() -> Iterator[MotoS3]:
    moto = MotoS3()
    moto.start()
    yield moto
    moto.stop()


def test_s3_down_answers_503_and_records_nothing(
    own_moto: MotoS3, settings: Settings, engine: Engine
) -> None:
    store = own_moto.store()
    with LiveServer(settings, engine, store) as server, server.client() as client:
        kept = client.post("/documents", files={"file": ("a.pdf", samples.pdf("before"))})
        assert kept.status_code == 202
        own_moto.stop()

        refused = client.post("/documents", files={"file": ("b.pdf", samples.pdf("during"))})
        ready = httpx.get(server.url + "/readyz")

        assert refused.status_code == 503, refused.text
        assert refused.json()["type"].endswith("/storage-unavailable")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "ok"
        assert row_count(engine, "documents") == 1
        assert row_count(engine, "document_versions") == 1
        assert temp_files(settings) == []

        own_moto.server = type(own_moto.server)(ip_address="127.0.0.1", port=own_moto.port)
        own_moto.start()
        again = client.post("/documents", files={"file": ("b.pdf", samples.pdf("after"))})
        assert again.status_code == 202, again.text
        assert client.get(f"/documents/{kept.json()['id']}/content").status_code == 200


def test_s3_connection_cut_mid_upload_answers_503(
    moto_s3: MotoS3, settings: Settings, engine: Engine
) -> None:
    proxy = CuttingProxy(moto_s3.port, cut_after=6 * 1024 * 1024)
    store = moto_s3.store(endpoint=proxy.endpoint)
    content = samples.pdf("big") + os.urandom(7 * 1024 * 1024)  # two multipart parts
    try:
        with LiveServer(settings, engine, store) as server, server.client() as client:
            response = client.post("/documents", files={"file": ("big.pdf", content)})
    finally:
        proxy.close()
    assert proxy.forwarded > 5 * 1024 * 1024, "the cut must come after the first part"
    assert response.status_code == 503, response.text
    assert row_count(engine, "documents") == 0
    assert list(moto_s3.store(store.bucket).iter_blobs()) == []
    assert temp_files(settings) == []


def test_local_store_failure_answers_503(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    root = tmp_path / "blobs"
    root.mkdir()
    (root / "sha256").write_text("a file where the key directories should be")
    with LiveServer(settings, engine, LocalBlobStore(root)) as server, server.client() as c:
        response = c.post("/documents", files={"file": ("a.pdf", samples.pdf())})
    assert response.status_code == 503
    assert row_count(engine, "documents") == 0
    assert temp_files(settings) == []


def test_database_down_answers_503_and_writes_no_blob(settings: Settings, tmp_path: Path) -> None:
    dead = build_engine("postgresql://postgres@127.0.0.1:1/nothing", pool_size=1)
    store = LocalBlobStore(tmp_path / "blobs")
    # No user can be made in a database that is down: the request is refused before its
    # credentials are even checked.
    with LiveServer(settings, dead, store) as server, server.client("dat_any") as client:
        response = client.post("/documents", files={"file": ("a.pdf", samples.pdf())})
        ready = httpx.get(server.url + "/readyz")
    assert response.status_code == 503
    assert response.json()["type"].endswith("/database-unavailable")
    assert ready.status_code == 503
    assert list(store.iter_blobs()) == []
    assert temp_files(settings) == []


@pytest.fixture
def failing_commit(engine: Engine) -> Iterator[None]:
    """A deferred trigger that makes COMMIT fail for documents titled 'fail at commit'."""
    with engine.begin() as conn:
        conn.execute(
            text("""
            CREATE FUNCTION test_fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.title = 'fail at commit' THEN RAISE EXCEPTION 'injected commit failure';
              END IF;
              RETURN NEW;
            END $$;
            CREATE CONSTRAINT TRIGGER test_fail_at_commit AFTER INSERT ON documents
              DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_fail_at_commit();
        """)
        )
    yield
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER test_fail_at_commit ON documents"))
        conn.execute(text("DROP FUNCTION test_fail_at_commit()"))


@pytest.mark.usefixtures("failing_commit")
def test_failed_commit_leaves_an_orphan_blob_that_gc_collects(
    server: LiveServer, client: httpx.Client, engine: Engine
) -> None:
    kept = client.post("/documents", files={"file": ("k.pdf", samples.pdf("kept"))}).json()
    failed = client.post(
        "/documents",
        files={"file": ("f.pdf", samples.pdf("lost"))},
        data={"title": "fail at commit"},
    )

    assert failed.status_code == 500
    assert failed.headers["content-type"] == "application/problem+json"
    assert row_count(engine, "documents") == 1
    assert len(list(server.store.iter_blobs())) == 2  # the orphan waits for the GC

    report = collect_garbage(
        build_sessionmaker(engine), server.store, tmp_dirs=[], grace=timedelta(0)
    )

    assert len(report.blobs_removed) == 1
    assert [b.key for b in server.store.iter_blobs()] == [blob_key(kept["sha256"])]
    assert client.get(f"/documents/{kept['id']}/content").status_code == 200


def test_gc_spares_young_orphans_and_stale_temp_files_go(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    orphan = tmp_path / "orphan"
    orphan.write_bytes(b"%PDF-1.4 orphan")
    key = blob_key(hashlib.sha256(orphan.read_bytes()).hexdigest())
    store.put(key, orphan, size=orphan.stat().st_size)
    settings.tmp_dir.mkdir(parents=True)
    stale = settings.tmp_dir / "upload-dead.part"
    stale.write_bytes(b"half an upload")
    old = time.time() - 7200
    os.utime(stale, (old, old))

    young = collect_garbage(
        build_sessionmaker(engine), store, tmp_dirs=[settings.tmp_dir], grace=timedelta(hours=1)
    )

    assert young.blobs_removed == []
    assert young.temp_files_removed == 1
    assert store.stat(key) is not None


def test_gc_expires_day_old_idempotency_records(
    client: httpx.Client, server: LiveServer, engine: Engine
) -> None:
    headers = {"Idempotency-Key": "old"}
    client.post("/documents", files={"file": ("a.pdf", samples.pdf())}, headers=headers)
    client.post(
        "/documents", files={"file": ("b.pdf", samples.pdf())}, headers={"Idempotency-Key": "fresh"}
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE idempotent_requests SET created_at = now() - interval '25 hours'"
                " WHERE key = 'old'"
            )
        )

    report = collect_garbage(
        build_sessionmaker(engine), server.store, tmp_dirs=[], grace=timedelta(hours=1)
    )

    assert report.idempotency_records_removed == 1
    assert row_count(engine, "idempotent_requests") == 1


def _corrupt(store: BlobStore, sha256: str, tmp_path: Path) -> None:
    key = blob_key(sha256)
    replacement = tmp_path / "evil"
    original = b"".join(store.open(key))
    replacement.write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))
    store.delete(key)
    store.put(key, replacement, size=replacement.stat().st_size)


def test_corrupted_blob_is_refused_not_served(
    client: httpx.Client, server: LiveServer, tmp_path: Path
) -> None:
    document = client.post("/documents", files={"file": ("a.png", samples.png("x"))}).json()
    _corrupt(server.store, document["sha256"], tmp_path)

    response = client.get(f"/documents/{document['id']}/content")

    assert response.status_code == 500
    assert response.json()["type"].endswith("/blob-integrity")
    assert "no longer matches" in response.json()["detail"]


def test_missing_blob_is_refused(client: httpx.Client, server: LiveServer) -> None:
    document = client.post("/documents", files={"file": ("a.png", samples.png("y"))}).json()
    server.store.delete(blob_key(document["sha256"]))
    response = client.get(f"/documents/{document['id']}/content")
    assert response.status_code == 500
    assert "missing" in response.json()["detail"]


def test_large_corrupted_blob_aborts_the_transfer(
    client: httpx.Client, server: LiveServer, tmp_path: Path
) -> None:
    content = samples.pdf("big") + os.urandom(2 * 1024 * 1024)
    assert len(content) > server.settings.verify_before_send_bytes
    document = client.post("/documents", files={"file": ("big.tiff", content)}).json()
    _corrupt(server.store, document["sha256"], tmp_path)

    with pytest.raises(httpx.RemoteProtocolError):
        client.get(f"/documents/{document['id']}/content")
