"""PostgreSQL advisory locks keyed by a namespace and a string: transaction-scoped ones, and
`only_one` for a job that must not run twice at once across processes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker


def lock_key(namespace: str, value: str) -> int:
    digest = hashlib.blake2b(f"{namespace}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def advisory_xact_lock(session: Session, namespace: str, value: str) -> None:
    """Block until the lock is ours; PostgreSQL releases it when the transaction ends."""
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(namespace, value)})


def lock_blob(session: Session, sha256: str) -> None:
    """Serialises everything that writes or collects one content: uploads and the GC."""
    advisory_xact_lock(session, "blob", sha256)


@contextmanager
def only_one(factory: sessionmaker[Session], namespace: str, value: str) -> Iterator[bool]:
    """Whether nobody else holds this lock: a session-level advisory lock on a connection of its
    own, released at the end (or with the connection, when the process dies)."""
    key = lock_key(namespace, value)
    engine: Engine = factory.kw["bind"]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if not connection.scalar(select(func.pg_try_advisory_lock(key))):
            yield False
            return
        try:
            yield True
        finally:
            connection.scalar(select(func.pg_advisory_unlock(key)))
