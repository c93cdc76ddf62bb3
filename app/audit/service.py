"""Recording audit events. Callers pass the session of the change they are auditing.

Each event is linked to the one committed before it (`app.audit.chain`). Processes that write
events call `configure_audit` once at start, with the key derived from the server secret.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

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


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    document_id: uuid.UUID | None = None,
    version_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event to the chain, in the caller's transaction.

    Takes the chain lock, held until the transaction ends: call it after the change's own row
    locks, near the end of the transaction, so that writers queue only for the commit.
    """
    advisory_xact_lock(session, "audit", "chain")
    head_id, head_hash, stored_details = session.execute(
        _HEAD_AND_DETAILS, {"details": details or {}}
    ).one()
    key = signing_key()
    event = AuditEvent(
        id=(head_id or 0) + 1,
        occurred_at=utcnow(),
        actor=actor,
        action=action,
        document_id=document_id,
        version_id=version_id,
        details=stored_details,
        key_id=None if key is None else key.key_id,
        prev_hash=head_hash or GENESIS,
    )
    event.hash = link_hash(content_of(event), key)
    session.add(event)
    session.flush()
    return event
