"""The audit trail is a hash chain: every edit, deletion, insertion or reordering made directly in
the database is found by `verify_chain`, at the right event; the table refuses UPDATE and DELETE."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.audit.chain import GENESIS, ChainKey, EventContent, derive_audit_key, link_hash
from app.audit.service import (
    configure_audit,
    configure_audit_from_settings,
    record,
    signing_key,
)
from app.audit.verify import (
    BreakKind,
    ChainBreak,
    ChainHead,
    ChainReport,
    current_head,
    verify_chain,
)
from app.config import Settings
from app.db import build_sessionmaker, normalise_url, session_scope
from app.migrate import upgrade

SECRET = "audit-test-secret-0123456789abcdef"
KEY = derive_audit_key(SECRET)
OTHER_KEY = derive_audit_key("another-server-secret-0123456789abcdef")
KEY_ID = "08f3c3075c770ad7"
DOCUMENT = uuid.UUID("0b7e4c52-5a0e-4b0f-9f5e-2d8a8c3f1e11")


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return build_sessionmaker(engine)


@pytest.fixture
def keyed() -> Iterator[None]:
    configure_audit(KEY)
    yield
    configure_audit(None)


def record_events(factory: sessionmaker[Session], count: int) -> None:
    for n in range(count):
        with session_scope(factory) as session:
            record(
                session,
                actor=f"user{n}",
                action="document.metadata_changed",
                document_id=DOCUMENT,
                details={"revision": n + 2, "changes": {"title": ["Faktura", "Faktura VAT"]}},
            )


def verify(
    factory: sessionmaker[Session],
    *,
    key: bytes | None = KEY,
    retired_keys: Sequence[bytes] = (),
    anchor: ChainHead | None = None,
    batch_size: int = 4,
) -> ChainReport:
    with session_scope(factory) as session:
        return verify_chain(
            session, key=key, retired_keys=retired_keys, anchor=anchor, batch_size=batch_size
        )


def tamper(engine: Engine, *statements: str, **params: object) -> None:
    """What an attacker with DDL rights does: the trigger is off only inside this transaction."""
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        for statement in statements:
            conn.execute(text(statement), params)
        conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))


def stored_hash(engine: Engine, event_id: int) -> str:
    with engine.connect() as conn:
        query = text("SELECT hash FROM audit_events WHERE id = :id")
        return str(conn.execute(query, {"id": event_id}).scalar_one())


def forge(engine: Engine, event_id: int, prev_hash: str, key: ChainKey | None) -> None:
    """Insert an event hashed correctly, but with whatever key the attacker has."""
    event = EventContent(
        id=event_id,
        occurred_at=datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
        actor="admin",
        action="document.disposed",
        document_id=DOCUMENT,
        version_id=None,
        details={"protocol": "forged"},
        key_id=None if key is None else key.key_id,
        prev_hash=prev_hash,
    )
    tamper(
        engine,
        "INSERT INTO audit_events (id, occurred_at, actor, action, document_id, details, key_id, "
        "prev_hash, hash) VALUES (:id, :at, 'admin', 'document.disposed', :doc, "
        '\'{"protocol": "forged"}\', :key_id, :prev, :hash)',
        id=event_id,
        at=event.occurred_at,
        doc=DOCUMENT,
        key_id=event.key_id,
        prev=prev_hash,
        hash=link_hash(event, key),
    )


def test_key_derivation_is_pinned() -> None:
    # Changing it would make every chain signed so far unverifiable.
    assert KEY.hex() == "ffadde74ad2c2512ff6c1b14df53076086414f16015a04b3ed7eb13960f2fe8d"
    assert ChainKey.of(KEY).key_id == KEY_ID


def test_settings_configure_the_key_of_the_server_secret() -> None:
    configure_audit_from_settings(Settings(secret_key=SecretStr(SECRET)))
    try:
        assert signing_key() == ChainKey(secret=KEY, key_id=KEY_ID)
    finally:
        configure_audit(None)


@pytest.mark.usefixtures("keyed")
def test_events_link_in_order_with_the_documented_hash(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    details = {"amount": 1e16, "ratio": 0.1, "name": "Zażółć gęślą jaźń", "pages": (1, 2)}
    with session_scope(factory) as session:
        record(session, actor="anna", action="document.uploaded", document_id=DOCUMENT)
        record(session, actor="anna", action="document.metadata_changed", details=details)
    record_events(factory, 1)

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_events ORDER BY id")).all()
    assert [r.id for r in rows] == [1, 2, 3]
    assert [r.prev_hash for r in rows] == [GENESIS, rows[0].hash, rows[1].hash]
    assert {r.key_id for r in rows} == {KEY_ID}
    second = rows[1]
    assert second.details == {
        "amount": 10000000000000000,
        "ratio": 0.1,
        "name": "Zażółć gęślą jaźń",
        "pages": [1, 2],
    }
    message = [
        "docarchive.audit.v1",
        2,
        second.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
        "anna",
        "document.metadata_changed",
        None,
        None,
        second.details,
        KEY_ID,
        rows[0].hash,
    ]
    canonical = json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert second.hash == hmac.new(KEY, canonical.encode(), hashlib.sha256).hexdigest()
    report = verify(factory)
    assert (report.intact, report.events, report.keyed, report.unkeyed) == (True, 3, 3, 0)
    assert report.head == ChainHead(id=3, hash=rows[2].hash)


@pytest.mark.usefixtures("keyed")
def test_concurrent_writers_make_one_gapless_chain(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    writers, rounds = 8, 25
    start = threading.Barrier(writers)

    def write(writer: int) -> None:
        start.wait()
        for n in range(rounds):
            try:
                with session_scope(factory) as session:
                    record(session, actor=f"w{writer}", action="test.write", details={"n": n})
                    if n % 5 == 0:
                        record(session, actor=f"w{writer}", action="test.second", details={})
                    if n % 7 == 3:
                        raise _RolledBack
            except _RolledBack:
                pass

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))

    committed_per_writer = sum(1 + (n % 5 == 0) for n in range(rounds) if n % 7 != 3)
    expected = writers * committed_per_writer
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM audit_events ORDER BY id")).scalars().all()
    assert ids == list(range(1, expected + 1))
    report = verify(factory, batch_size=50)
    assert (report.intact, report.events, report.broken) == (True, expected, 0)


@pytest.mark.usefixtures("keyed")
def test_an_open_transaction_with_an_event_does_not_hold_up_other_writers(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    """The chain lock is taken inside the commit, not when the event is recorded: a request
    that records early and then waits (for a thread, a lock) blocks nobody meanwhile."""
    with session_scope(factory) as slow:
        record(slow, actor="slow", action="test.first_recorded")
        with session_scope(factory) as quick:
            quick.execute(text("SET LOCAL lock_timeout = '2s'"))
            record(quick, actor="quick", action="test.first_committed")
    with engine.connect() as conn:
        actors = conn.execute(text("SELECT actor FROM audit_events ORDER BY id")).scalars().all()
    assert actors == ["quick", "slow"]
    assert verify(factory).intact


@pytest.mark.usefixtures("keyed")
def test_events_of_a_rolled_back_savepoint_or_closed_session_are_not_chained(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    with session_scope(factory) as session:
        record(session, actor="anna", action="test.kept_before")
        try:
            with session.begin_nested():
                record(session, actor="anna", action="test.undone")
                raise _RolledBack
        except _RolledBack:
            pass
        with session.begin_nested():
            record(session, actor="anna", action="test.kept_in_savepoint")
        record(session, actor="anna", action="test.kept_after")
    with factory() as abandoned:
        record(abandoned, actor="anna", action="test.never_committed")
    with session_scope(factory) as later:
        record(later, actor="anna", action="test.later")

    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_events ORDER BY id")).scalars().all()
    assert actions == [
        "test.kept_before",
        "test.kept_in_savepoint",
        "test.kept_after",
        "test.later",
    ]
    assert verify(factory).intact


class _RolledBack(Exception):
    pass


TAMPERING = {
    "details edited": (
        ["UPDATE audit_events SET details = '{\"revision\": 99}' WHERE id = 5"],
        ChainBreak(BreakKind.altered, 5, 5, "event 5 does not match its hash"),
    ),
    "occurred_at moved": (
        ["UPDATE audit_events SET occurred_at = occurred_at - interval '1 day' WHERE id = 4"],
        ChainBreak(BreakKind.altered, 4, 4, "event 4 does not match its hash"),
    ),
    "actor replaced": (
        ["UPDATE audit_events SET actor = 'someone-else' WHERE id = 9"],
        ChainBreak(BreakKind.altered, 9, 9, "event 9 does not match its hash"),
    ),
    "middle event deleted": (
        ["DELETE FROM audit_events WHERE id = 5"],
        ChainBreak(BreakKind.missing, 5, 6, "events 5 to 5 are missing"),
    ),
    "two events deleted": (
        ["DELETE FROM audit_events WHERE id IN (4, 5)"],
        ChainBreak(BreakKind.missing, 4, 6, "events 4 to 5 are missing"),
    ),
    "first events deleted": (
        ["DELETE FROM audit_events WHERE id <= 2"],
        ChainBreak(BreakKind.missing, 1, 3, "events 1 to 2 are missing"),
    ),
    "two events swapped": (
        [
            "UPDATE audit_events SET id = CASE id WHEN 6 THEN -7 ELSE -6 END WHERE id IN (6, 7)",
            "UPDATE audit_events SET id = -id WHERE id < 0",
        ],
        ChainBreak(BreakKind.altered, 6, 6, "event 6 does not match its hash"),
    ),
    "hash replaced without the key": (
        [
            "UPDATE audit_events SET details = '{}', "
            "hash = encode(sha256(convert_to('forged', 'UTF8')), 'hex') WHERE id = 3"
        ],
        ChainBreak(BreakKind.altered, 3, 3, "event 3 does not match its hash"),
    ),
}


@pytest.mark.usefixtures("keyed")
@pytest.mark.parametrize(("statements", "expected"), TAMPERING.values(), ids=TAMPERING.keys())
def test_tampering_is_found_at_its_event(
    factory: sessionmaker[Session], engine: Engine, statements: list[str], expected: ChainBreak
) -> None:
    record_events(factory, 10)
    assert verify(factory).intact

    tamper(engine, *statements)

    report = verify(factory)
    assert report.first_break == expected
    assert not report.intact


@pytest.mark.usefixtures("keyed")
def test_forged_event_in_the_middle_is_found(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    record_events(factory, 8)
    tamper(
        engine,
        "UPDATE audit_events SET id = -id WHERE id >= 5",
        "UPDATE audit_events SET id = 1 - id WHERE id < 0",
    )
    # Linked correctly to event 4 and claiming the real key id, but signed without the key.
    forge(engine, 5, stored_hash(engine, 4), ChainKey(secret=OTHER_KEY, key_id=KEY_ID))

    report = verify(factory)

    assert report.first_break == ChainBreak(
        BreakKind.altered, 5, 5, "event 5 does not match its hash"
    )
    # Every renumbered event after it fails too: ids are part of the hash.
    assert (report.events, report.broken) == (9, 5)


@pytest.mark.usefixtures("keyed")
def test_forged_events_appended_at_the_end_are_found(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    record_events(factory, 6)
    forge(engine, 7, stored_hash(engine, 6), None)

    unkeyed = verify(factory).first_break
    assert unkeyed == ChainBreak(BreakKind.unkeyed, 7, 7, "event 7 is unkeyed after keyed events")

    with engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_events"))
    record_events(factory, 6)
    forge(engine, 7, stored_hash(engine, 6), ChainKey.of(OTHER_KEY))
    assert verify(factory).first_break == ChainBreak(
        BreakKind.unknown_key,
        7,
        7,
        f"event 7 is signed by key {ChainKey.of(OTHER_KEY).key_id}, which was not given",
    )


def test_the_table_refuses_update_and_delete(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    record_events(factory, 2)
    for statement, verb in [
        ("UPDATE audit_events SET actor = 'x' WHERE id = 2", "UPDATE"),
        ("DELETE FROM audit_events WHERE id = 1", "DELETE"),
    ]:
        with pytest.raises(IntegrityError) as refused, engine.begin() as conn:
            conn.execute(text(statement))
        assert f"audit_events is append-only: {verb} of event" in str(refused.value)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
    assert count == 2


def test_unkeyed_events_are_accepted_only_before_keyed_ones(
    factory: sessionmaker[Session],
) -> None:
    configure_audit(None)
    record_events(factory, 3)
    plain = verify(factory, key=None)
    assert (plain.intact, plain.unkeyed, plain.keyed) == (True, 3, 0)

    configure_audit(KEY)
    try:
        record_events(factory, 3)
        assert (verify(factory).intact, verify(factory).keyed) == (True, 3)
        assert verify(factory, key=None).first_break == ChainBreak(
            BreakKind.unknown_key, 4, 4, f"event 4 is signed by key {KEY_ID}, which was not given"
        )
    finally:
        configure_audit(None)
    record_events(factory, 1)
    assert verify(factory).first_break == ChainBreak(
        BreakKind.unkeyed, 7, 7, "event 7 is unkeyed after keyed events"
    )


def test_a_rotated_key_verifies_with_the_retired_one(factory: sessionmaker[Session]) -> None:
    configure_audit(KEY)
    try:
        record_events(factory, 3)
        configure_audit(OTHER_KEY)
        record_events(factory, 3)
    finally:
        configure_audit(None)

    rotated = verify(factory, key=OTHER_KEY, retired_keys=[KEY])
    assert (rotated.intact, rotated.keyed) == (True, 6)
    assert verify(factory, key=OTHER_KEY).first_break is not None


@pytest.mark.usefixtures("keyed")
def test_an_anchor_catches_a_cut_end(factory: sessionmaker[Session], engine: Engine) -> None:
    record_events(factory, 5)
    with session_scope(factory) as session:
        anchor = current_head(session)
    assert anchor == ChainHead(id=5, hash=stored_hash(engine, 5))
    record_events(factory, 2)
    tamper(engine, "DELETE FROM audit_events WHERE id >= 6")
    # Cutting events after the anchor cannot be seen: the chain alone has no end marker.
    assert verify(factory, anchor=anchor).intact

    tamper(engine, "DELETE FROM audit_events WHERE id >= 4")

    assert verify(factory).intact
    assert verify(factory, anchor=anchor).first_break == ChainBreak(
        BreakKind.anchor, 5, None, "the chain ends at 3, before the anchored event 5"
    )


LEGACY_EVENTS = """
INSERT INTO audit_events (occurred_at, actor, action, document_id, details) VALUES
  ('2026-11-01 08:00:00.123456+01', 'anna', 'document.uploaded', :doc, '{"size": 10}'),
  ('2026-11-01 09:00:00+01', 'worker', 'document.processed', :doc, '{"pages": 2, "r": 0.25}'),
  ('2026-11-02 10:30:00.5+01', 'jan', 'document.metadata_changed', :doc,
   '{"changes": {"title": ["Umowa", "Umowa najmu – aneks"]}, "big": 1e20}')
"""


def test_migration_links_existing_events(request: pytest.FixtureRequest) -> None:
    url: str = request.getfixturevalue("scratch_database")
    upgrade(url, "0004")
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        conn.execute(text(LEGACY_EVENTS), {"doc": DOCUMENT})
        conn.execute(text("DELETE FROM audit_events WHERE id = 2"))  # a gap, as a rollback leaves
        conn.execute(text(LEGACY_EVENTS), {"doc": DOCUMENT})

    upgrade(url)

    factory = build_sessionmaker(engine)
    legacy = verify(factory, key=None)
    assert (legacy.intact, legacy.events, legacy.unkeyed) == (True, 5, 5)
    assert legacy.head is not None
    assert legacy.head.id == 6
    configure_audit(KEY)
    try:
        record_events(factory, 2)
    finally:
        configure_audit(None)
    both = verify(factory)
    assert (both.intact, both.unkeyed, both.keyed) == (True, 5, 2)
    assert both.head is not None
    assert both.head.id == 8
    engine.dispose()
