"""Transaction-scoped PostgreSQL advisory locks keyed by a namespace and a string."""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.orm import Session


def lock_key(namespace: str, value: str) -> int:
    digest = hashlib.blake2b(f"{namespace}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def advisory_xact_lock(session: Session, namespace: str, value: str) -> None:
    """Block until the lock is ours; PostgreSQL releases it when the transaction ends."""
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(namespace, value)})


def lock_blob(session: Session, sha256: str) -> None:
    """Serialises everything that writes or collects one content: uploads and the GC."""
    advisory_xact_lock(session, "blob", sha256)
