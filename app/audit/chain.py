"""The audit hash chain: canonical form of an event, its link hash, and the signing key.

Pure functions: `record`, `verify_chain` and the 0005 backfill all hash through `link_hash`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FORMAT = "docarchive.audit.v1"
GENESIS = "0" * 64
"""`prev_hash` of the first event of a chain."""

_KEY_LABEL = b"docarchive/audit-chain/v1"
_KEY_ID_LABEL = b"docarchive/audit-chain/key-id"


@dataclass(frozen=True, slots=True)
class ChainKey:
    """An HMAC key and its public id; the id is stored in each event it signs."""

    secret: bytes
    key_id: str

    @classmethod
    def of(cls, secret: bytes) -> ChainKey:
        digest = hmac.new(secret, _KEY_ID_LABEL, hashlib.sha256).hexdigest()
        return cls(secret=secret, key_id=digest[:16])


def derive_audit_key(server_secret: str | bytes) -> bytes:
    """The chain key, derived from the server secret with a fixed label (stable across runs).

    A separate key means the audit chain never shares a MAC key with sessions or tokens.
    """
    secret = server_secret.encode() if isinstance(server_secret, str) else server_secret
    return hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class EventContent:
    """What the hash covers, as the database gives it back."""

    id: int
    occurred_at: datetime
    actor: str
    action: str
    document_id: uuid.UUID | None
    version_id: uuid.UUID | None
    details: dict[str, Any]
    key_id: str | None
    prev_hash: str


def content_of(event: Any) -> EventContent:
    """The hashed part of an `AuditEvent` or of a row with the same column names."""
    return EventContent(
        id=event.id,
        occurred_at=event.occurred_at,
        actor=event.actor,
        action=event.action,
        document_id=event.document_id,
        version_id=event.version_id,
        details=event.details,
        key_id=event.key_id,
        prev_hash=event.prev_hash,
    )


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def canonical_message(event: EventContent) -> bytes:
    """A JSON array, so no field can spill into the next one."""
    return canonical_json(
        [
            FORMAT,
            event.id,
            event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            event.actor,
            event.action,
            None if event.document_id is None else str(event.document_id),
            None if event.version_id is None else str(event.version_id),
            event.details,
            event.key_id,
            event.prev_hash,
        ]
    ).encode()


def link_hash(event: EventContent, key: ChainKey | None) -> str:
    """HMAC-SHA256 with the key whose id the event carries; plain SHA-256 for unkeyed events."""
    message = canonical_message(event)
    if key is None:
        return hashlib.sha256(message).hexdigest()
    if event.key_id != key.key_id:
        raise ValueError(f"event {event.id} names key {event.key_id}, not {key.key_id}")
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()
