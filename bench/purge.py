"""Disposal at scale: N documents past their retention date, each with an original, a
thumbnail and a page preview in the blob store and its version, page, field, search and
retention rows; then

* the dry run (`docarchive purge --dry-run`: a whole batch built and rolled back),
* the real collection and the archivist's approval,
* the destruction of the batch (objects, rows, tombstones, one audit event per document,
  and the disposal protocol archived as a document): documents destroyed per second,
* `verify`'s retention checks over the tombstones.

Rows are loaded with COPY and blobs written straight into the store's layout: the set-up is
not what is measured. It runs in a database of its own, created and dropped here.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/purge.py
    ... bench/purge.py --store s3 --documents 2000     # moto's S3 server on loopback
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.audit.service import configure_audit
from app.config import Settings
from app.db import build_engine, build_sessionmaker, normalise_url, session_scope
from app.migrate import upgrade
from app.retention import disposal, purge, review
from app.retention.models import BatchKind, DisposalBatch
from app.retention.verify import retention_problems
from app.security.principal import system_actor
from app.storage import BlobStore
from app.storage.base import blob_key
from app.storage.local import LocalBlobStore
from app.storage.s3 import S3BlobStore
from schemas.retention import ApproveIn

UPLOADED = datetime(2011, 3, 1, tzinfo=UTC)


@contextmanager
def scratch_database(base_url: str) -> Iterator[str]:
    name = f"docarchive_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(normalise_url(base_url)).set(drivername="postgresql")
    admin_dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(normalise_url(base_url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Writer:
    """Objects written without the store's fsync (local) or through it (S3)."""

    def __init__(self, store: BlobStore, root: Path | None, tmp: Path) -> None:
        self.store, self.root, self.tmp = store, root, tmp

    def put(self, key: str, data: bytes) -> None:
        if self.root is not None:
            path = self.root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return
        staged = self.tmp / uuid.uuid4().hex
        staged.write_bytes(data)
        self.store.put(key, staged, size=len(data))
        staged.unlink()


def populate(url: str, writer: Writer, count: int) -> None:
    now = datetime.now(UTC)
    rows: dict[str, list[tuple[object, ...]]] = {
        t: [] for t in ("documents", "versions", "pages", "fields", "search", "retention")
    }
    for i in range(count):
        document_id, version_id = uuid.uuid4(), uuid.uuid4()
        data = b"%PDF-1.4 bench " + str(i).encode() + os.urandom(16)
        sha = hashlib.sha256(data).hexdigest()
        thumbnail, preview = f"derived/{version_id}/thumbnail-0", f"derived/{version_id}/page-1"
        writer.put(blob_key(sha), data)
        writer.put(thumbnail, b"webp thumbnail")
        writer.put(preview, b"webp preview")
        rows["documents"].append(
            (document_id, "processed", "invoice", f"Faktura {i}", 1, "bench", UPLOADED, now, now)
        )
        rows["versions"].append(
            (version_id, document_id, 1, sha, len(data), "application/pdf", f"f{i}.pdf",
             blob_key(sha), "bench", UPLOADED, 1, thumbnail)
        )  # fmt: skip
        rows["pages"].append(
            (uuid.uuid4(), version_id, 1, f"Faktura {i}", "text-layer", 0, preview)
        )
        rows["fields"].append(
            (uuid.uuid4(), document_id, version_id, "issue_date", json.dumps("2010-05-05"), 1.0,
             "manual", "confirmed", "bench", now)
        )  # fmt: skip
        rows["search"].append((document_id, f"'faktura':1 '{i}':2", "bench", now, UPLOADED))
        rows["retention"].append(
            (document_id, "dated", "vat_invoice", "B", "B5", date(2011, 4, 30),
             date(2016, 12, 31), date(2016, 12, 31), date(2016, 12, 31), False,
             "vat_invoice (B5): bench", "Ordynacja podatkowa art. 86 § 1", now)
        )  # fmt: skip
    _copy(url, rows)


_COPIES = {
    "documents": "COPY documents (id, status, document_class, title, revision, created_by, "
    "created_at, updated_at, status_changed_at) FROM STDIN",
    "versions": "COPY document_versions (id, document_id, number, sha256, size, media_type, "
    "original_filename, blob_key, uploaded_by, uploaded_at, page_count, thumbnail_key) "
    "FROM STDIN",
    "pages": "COPY document_pages (id, version_id, number, text, source, rotation, preview_key) "
    "FROM STDIN",
    "fields": "COPY document_fields (id, document_id, version_id, name, value, confidence, "
    "source, status, updated_by, updated_at) FROM STDIN",
    "search": "COPY document_search (document_id, terms, terms_version, indexed_at, uploaded_at) "
    "FROM STDIN",
    "retention": "COPY document_retention (document_id, status, retention_class, category, "
    "symbol, trigger_date, computed_until, retain_until, due_on, requalified_to_a, rule, basis, "
    "computed_at) FROM STDIN",
}


def _copy(url: str, rows: dict[str, list[tuple[object, ...]]]) -> None:
    with psycopg.connect(_libpq(url)) as conn, conn.cursor() as cursor:
        for table, statement in _COPIES.items():
            with cursor.copy(statement) as copy:
                for row in rows[table]:
                    copy.write_row(row)
        cursor.execute(
            "UPDATE documents d SET current_version_id = v.id FROM document_versions v "
            "WHERE v.document_id = d.id"
        )
        cursor.execute("ANALYZE")


def run(url: str, store: BlobStore, writer: Writer, count: int, data_dir: Path) -> dict[str, float]:
    started = time.perf_counter()
    populate(url, writer, count)
    figures: dict[str, float] = {"documents": count, "setup_s": time.perf_counter() - started}
    engine = build_engine(url, pool_size=2)
    factory = build_sessionmaker(engine)
    settings = Settings(database_url=url, data_dir=data_dir, max_upload_bytes=1 << 30)
    dry = purge.dry_run(factory)
    figures["dry_run_batch_s"] = dry.seconds
    assert dry.would_add == {"destruction": count}, dry.would_add
    started = time.perf_counter()
    with session_scope(factory) as session:
        batch = disposal.collect(session)[BatchKind.destruction]
        review.approve(
            session, batch_id=batch.id, data=ApproveIn(), actor=system_actor("bench-archivist")
        )
    figures["collect_and_approve_s"] = time.perf_counter() - started
    started = time.perf_counter()
    report = disposal.destroy_batch(factory, store, settings, batch.id)
    seconds = time.perf_counter() - started
    assert report.completed, report
    assert report.destroyed == count, report
    figures["destroy_s"] = seconds
    figures["destroyed_per_s"] = count / seconds
    figures["protocol_s"] = report.protocol_seconds
    figures["destroyed_per_s_without_protocol"] = count / (seconds - report.protocol_seconds)
    with factory() as session:
        finished = session.scalars(select(DisposalBatch).where(DisposalBatch.id == batch.id)).one()
        assert finished.protocol_document_id is not None
    started = time.perf_counter()
    problems = retention_problems(factory, store)
    figures["verify_retention_s"] = time.perf_counter() - started
    assert problems == [], problems[:5]
    engine.dispose()
    return figures


def _local(args: argparse.Namespace, url: str, tmp: Path) -> dict[str, float]:
    root = tmp / "blobs"
    store = LocalBlobStore(root)
    return run(url, store, Writer(store, root, tmp), args.documents, tmp / "var")


def _s3(args: argparse.Namespace, url: str, tmp: Path) -> dict[str, float]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.moto_port, verbose=False)
    server.start()
    try:
        store = S3BlobStore(
            endpoint=f"127.0.0.1:{args.moto_port}", bucket="bench", access_key="bench",
            secret_key="bench", secure=False, region="us-east-1",  # noqa: S106 (moto)
        )  # fmt: skip
        return run(url, store, Writer(store, None, tmp), args.documents, tmp / "var")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--store", choices=("local", "s3"), default="local")
    parser.add_argument("--moto-port", type=int, default=5123)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL")
    if not base:
        sys.exit("set DATABASE_URL to a PostgreSQL server (a database is created and dropped)")
    configure_audit(None)
    with scratch_database(base) as url, tempfile.TemporaryDirectory() as tmp:
        upgrade(url)
        figures = (_local if args.store == "local" else _s3)(args, url, Path(tmp))
    print(json.dumps({"store": args.store, **{k: round(v, 2) for k, v in figures.items()}}))


if __name__ == "__main__":
    main()
