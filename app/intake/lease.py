"""One poller per hot folder or mailbox across processes and machines.

A session-level advisory lock held on a dedicated connection: it lasts while the poller lives
and PostgreSQL drops it when the process or its connection dies, so another one takes over.
"""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from app.locks import lock_key


class AdvisoryLease:
    def __init__(self, engine: Engine, namespace: str, name: str) -> None:
        self.engine = engine
        self.key = lock_key(namespace, name)
        self._connection: Connection | None = None

    def held(self) -> bool:
        """Take the lease if it is free; True while this process holds it."""
        if self._connection is not None:
            return True
        connection = self.engine.connect()
        acquired = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
        ).scalar_one()
        connection.commit()
        if not acquired:
            connection.close()
            return False
        self._connection = connection
        return True

    def release(self) -> None:
        """End the session (and with it the lock): a pooled connection would keep holding it."""
        if self._connection is not None:
            self._connection.invalidate()
            self._connection.close()
            self._connection = None
