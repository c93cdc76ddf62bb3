"""Recording audit events. Callers pass the session of the change they are auditing.

Each event is linked to the one committed before it (`app.audit.chain`). Processes that write
events call `configure_audit` once at start, with the key derived from the server secret.
"""

from __future__ import annotations

import logging
import uuid
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, SessionTransaction

from app.audit.chain import GENESIS, ChainKey, content_of, derive_audit_key, link_hash
from app.audit.models import AuditEvent
from app.config import Settings
from app.db import utcnow
from app.locks import advisory_xact_lock

log = logging.getLogger(__name__)

# The details go through jsonb here so that the hash covers exactly what a reader gets back.
_HEAD_AND_DETAILS = (
    text(
        """
        SELECT head.id, head.hash, CAST(:details AS jsonb) AS details
        FROM (SELECT 1) AS one
        LEFT JOIN (SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1) AS head ON true
        """
    )
    .bindparams(bindparam("details", type_=JSONB))
    .columns(id=BigInteger, hash=String, details=JSONB)
)


@dataclass
class _Signing:
    """The process-wide chain key; set once at start, read by every `record`."""

    key: ChainKey | None = None
    configured: bool = False


_signing = _Signing()


def configure_audit(key: bytes | None) -> None:
    """Sign events with `key` (a `derive_audit_key` result).

    None chains events with plain SHA-256, which someone with database access can recompute.
    """
    _signing.key = None if key is None else ChainKey.of(key)
    _signing.configured = True


def configure_audit_from_settings(settings: Settings) -> None:
    """What the API, the worker and the CLI call at start: the key of the server secret."""
    configure_audit(derive_audit_key(settings.secret_key.get_secret_value()))


def signing_key() -> ChainKey | None:
    if not _signing.configured:
        log.warning("audit events are chained without a key: call configure_audit() at start")
        _signing.configured = True
    return _signing.key


@dataclass(frozen=True, slots=True)
class _Pending:
    transaction: SessionTransaction
    actor: str
    action: str
    document_id: uuid.UUID | None
    version_id: uuid.UUID | None
    details: dict[str, Any]


_PENDING = "docarchive.audit.pending"


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    document_id: uuid.UUID | None = None,
    version_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an event to the caller's transaction; it joins the chain when that transaction
    commits, and vanishes with it (or with the savepoint it was recorded in) on a rollback.

    The chain lock is taken only inside the commit: a request that records an event early and
    then waits for anything else (a thread, a lock, a slow query) does not hold up every other
    writer meanwhile.
    """
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    pending: list[_Pending] = session.info.setdefault(_PENDING, [])
    pending.append(
        _Pending(transaction, actor, action, document_id, version_id, deepcopy(details or {}))
    )


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's release: its events wait for the outer commit
    committing = session.get_transaction()
    pending = [
        p
        for p in session.info.pop(_PENDING, [])
        if committing is not None and _within(p.transaction, committing)
    ]
    if not pending:
        return
    advisory_xact_lock(session, "audit", "chain")
    key = signing_key()
    for item in pending:
        head_id, head_hash, stored_details = session.execute(
            _HEAD_AND_DETAILS, {"details": item.details}
        ).one()
        audit_event = AuditEvent(
            id=(head_id or 0) + 1,
            occurred_at=utcnow(),
            actor=item.actor,
            action=item.action,
            document_id=item.document_id,
            version_id=item.version_id,
            details=stored_details,
            key_id=None if key is None else key.key_id,
            prev_hash=head_hash or GENESIS,
        )
        audit_event.hash = link_hash(content_of(audit_event), key)
        session.add(audit_event)
        session.flush()


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Events recorded in the transaction or savepoint that rolled back never happened."""
    pending: list[_Pending] | None = session.info.get(_PENDING)
    if pending:
        pending[:] = [p for p in pending if not _within(p.transaction, previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _forget_ended(session: Session, transaction: SessionTransaction) -> None:
    """A transaction closed without a commit (a closed session) takes its events with it."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False
