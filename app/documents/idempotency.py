"""`Idempotency-Key` on uploads: a retried request gets the first answer and stores nothing new."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.documents.models import IdempotentRequest
from app.errors import BadRequest, Unprocessable
from app.locks import advisory_xact_lock

MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status_code: int
    body: dict[str, Any]


def fingerprint(**request_parts: Any) -> str:
    canonical = json.dumps(request_parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters")
    return key


def replay(
    session: Session, *, actor: str, key: str, request_fingerprint: str
) -> StoredAnswer | None:
    """The stored answer for this key, waiting for a concurrent first attempt to finish."""
    advisory_xact_lock(session, "idempotency", f"{actor}\x00{key}")
    stored = session.get(IdempotentRequest, (actor, key))
    if stored is None:
        return None
    if stored.fingerprint != request_fingerprint:
        raise Unprocessable(
            "this Idempotency-Key was already used for a different request; "
            "use a new key for a new upload"
        )
    return StoredAnswer(status_code=stored.status_code, body=stored.response)


def remember(
    session: Session,
    *,
    actor: str,
    key: str,
    request_fingerprint: str,
    answer: StoredAnswer,
) -> None:
    session.add(
        IdempotentRequest(
            actor=actor,
            key=key,
            fingerprint=request_fingerprint,
            status_code=answer.status_code,
            response=answer.body,
        )
    )
    session.flush()


def run_once(
    session: Session,
    *,
    actor: str,
    key: str | None,
    request_fingerprint: str,
    status_code: int,
    action: Callable[[], BaseModel],
) -> tuple[dict[str, Any], bool]:
    """Run `action` unless this key already has an answer; returns (body, replayed)."""
    if key is None:
        return action().model_dump(mode="json"), False
    check_key(key)
    stored = replay(session, actor=actor, key=key, request_fingerprint=request_fingerprint)
    if stored is not None:
        return stored.body, True
    body = action().model_dump(mode="json")
    remember(
        session,
        actor=actor,
        key=key,
        request_fingerprint=request_fingerprint,
        answer=StoredAnswer(status_code=status_code, body=body),
    )
    return body, False
