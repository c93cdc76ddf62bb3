"""Walk the audit chain in id order, in batches, and report the first broken link."""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from app.audit.chain import GENESIS, ChainKey, EventContent, content_of, link_hash
from app.audit.repository import chain_batch, chain_head


class BreakKind(StrEnum):
    altered = "altered"
    """The event does not match its hash: edited, moved to another id, or forged without the key."""
    missing = "missing"
    """Ids jump and the link is broken: events were deleted."""
    unlinked = "unlinked"
    """`prev_hash` does not name the event before: an event was inserted, replaced or moved."""
    unknown_key = "unknown_key"
    """Signed by a key the verifier was not given."""
    unkeyed = "unkeyed"
    """An unkeyed event after keyed ones: anyone with database access can write those."""
    anchor = "anchor"
    """The anchored event is gone or different: the chain was cut short or rewritten."""


@dataclass(frozen=True, slots=True)
class ChainBreak:
    kind: BreakKind
    id: int
    """The tampered event: for `missing`, the first missing id."""
    found_at: int | None
    """The event where the break shows (None: past the end of the chain)."""
    detail: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last event's id and hash; kept outside the database it proves the chain's end."""

    id: int
    hash: str


@dataclass(slots=True)
class ChainReport:
    events: int = 0
    keyed: int = 0
    unkeyed: int = 0
    broken: int = 0
    """Events at which a break shows; the walk resumes from each one's stored hash."""
    first_break: ChainBreak | None = None
    head: ChainHead | None = None

    @property
    def intact(self) -> bool:
        return self.first_break is None


def verify_chain(
    session: Session,
    *,
    key: bytes | None,
    retired_keys: Sequence[bytes] = (),
    anchor: ChainHead | None = None,
    batch_size: int = 5000,
) -> ChainReport:
    """Check every event against its hash and its predecessor, in constant memory.

    `key` is the current chain key (`derive_audit_key`), `retired_keys` those of earlier server
    secrets; `anchor` a head recorded earlier outside the database, which must still be there.
    """
    walk = _Walk(keys=_known_keys(key, retired_keys))
    for event, stored_hash in _stream(session, batch_size):
        walk.step(event, stored_hash)
        walk.check_anchor(anchor, event.id, stored_hash)
    walk.check_anchor_reached(anchor)
    return walk.report


def _known_keys(key: bytes | None, retired_keys: Sequence[bytes]) -> dict[str, ChainKey]:
    secrets = [*retired_keys] if key is None else [*retired_keys, key]
    return {k.key_id: k for k in map(ChainKey.of, secrets)}


def _stream(session: Session, batch_size: int) -> Iterator[tuple[EventContent, str]]:
    after: int | None = None
    while True:
        rows: list[Any] = list(session.execute(chain_batch(after_id=after, limit=batch_size)))
        for row in rows:
            yield content_of(row), row.hash
        if len(rows) < batch_size:
            return
        after = rows[-1].id


@dataclass
class _Walk:
    keys: dict[str, ChainKey]
    report: ChainReport = field(default_factory=ChainReport)
    prev_id: int = 0
    prev_hash: str = GENESIS

    def step(self, event: EventContent, stored_hash: str) -> None:
        self._count(event)
        problem = (
            self._key_problem(event)
            or self._content_problem(event, stored_hash)
            or self._link_problem(event)
        )
        if problem is not None:
            self._broken(problem)
        self.prev_id, self.prev_hash = event.id, stored_hash
        self.report.head = ChainHead(id=event.id, hash=stored_hash)

    def check_anchor(self, anchor: ChainHead | None, event_id: int, stored_hash: str) -> None:
        if anchor is not None and event_id == anchor.id and stored_hash != anchor.hash:
            detail = f"event {anchor.id} is not the anchored one: the chain was rewritten"
            self._broken(ChainBreak(BreakKind.anchor, anchor.id, event_id, detail))

    def check_anchor_reached(self, anchor: ChainHead | None) -> None:
        if anchor is not None and self.prev_id < anchor.id:
            detail = f"the chain ends at {self.prev_id}, before the anchored event {anchor.id}"
            self._broken(ChainBreak(BreakKind.anchor, anchor.id, None, detail))

    def _count(self, event: EventContent) -> None:
        self.report.events += 1
        if event.key_id is None:
            self.report.unkeyed += 1
        else:
            self.report.keyed += 1

    def _broken(self, problem: ChainBreak) -> None:
        self.report.broken += 1
        if self.report.first_break is None:
            self.report.first_break = problem

    def _key_problem(self, event: EventContent) -> ChainBreak | None:
        if event.key_id is None and self.report.keyed > 0:
            detail = f"event {event.id} is unkeyed after keyed events"
            return ChainBreak(BreakKind.unkeyed, event.id, event.id, detail)
        if event.key_id is not None and event.key_id not in self.keys:
            detail = f"event {event.id} is signed by key {event.key_id}, which was not given"
            return ChainBreak(BreakKind.unknown_key, event.id, event.id, detail)
        return None

    def _content_problem(self, event: EventContent, stored_hash: str) -> ChainBreak | None:
        key = None if event.key_id is None else self.keys[event.key_id]
        if hmac.compare_digest(link_hash(event, key), stored_hash):
            return None
        detail = f"event {event.id} does not match its hash"
        return ChainBreak(BreakKind.altered, event.id, event.id, detail)

    def _link_problem(self, event: EventContent) -> ChainBreak | None:
        if event.prev_hash == self.prev_hash:
            return None
        if event.id > self.prev_id + 1:
            detail = f"events {self.prev_id + 1} to {event.id - 1} are missing"
            return ChainBreak(BreakKind.missing, self.prev_id + 1, event.id, detail)
        detail = f"event {event.id} does not follow event {self.prev_id}"
        return ChainBreak(BreakKind.unlinked, event.id, event.id, detail)


def current_head(session: Session) -> ChainHead | None:
    """The chain's last event, to be kept outside the database as a later `anchor`."""
    row = session.execute(chain_head()).first()
    return None if row is None else ChainHead(id=row.id, hash=row.hash)
