"""Cost of the audit hash chain: concurrent writers with and without chaining, and verification.

Each writer thread runs transactions that record one audit event and commit:

* plain: an INSERT into a copy of the table as it was before 0005 (identity id, no lock, no
  hash): what `record` cost before the chain;
* chained: `app.audit.service.record` without a key (SHA-256), then with a key (HMAC-SHA256).

`--work-ms` adds a server-side sleep before `record` in every transaction, standing for the
rest of a request's work: the chain lock is taken only after it, so it is not serialised.
Modes alternate over `--rounds` rounds; the median round is reported. Verification is timed
on `--verify-events` events. It runs in a database of its own, created and dropped here.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/audit_chain.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.audit.chain import derive_audit_key
from app.audit.service import configure_audit, record
from app.audit.verify import verify_chain
from app.db import build_engine, build_sessionmaker, normalise_url, session_scope
from app.migrate import upgrade

PLAIN_TABLE = """
CREATE TABLE bench_plain_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor varchar(200) NOT NULL,
    action varchar(64) NOT NULL,
    document_id uuid,
    version_id uuid,
    details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ON bench_plain_events (document_id, id);
"""
PLAIN_INSERT = text(
    "INSERT INTO bench_plain_events (actor, action, document_id, details) "
    "VALUES (:actor, :action, :document_id, CAST(:details AS jsonb))"
)
DETAILS = {"sha256": "ab" * 32, "size": 123456, "media_type": "application/pdf", "version": 1}


@dataclass
class Round:
    mode: str
    events: int
    seconds: float
    events_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


@contextmanager
def scratch_database(base_url: str) -> Iterator[str]:
    name = f"docarchive_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(normalise_url(base_url)).set(drivername="postgresql")
    admin_dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(normalise_url(base_url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def plain_event(session: Session, writer: int) -> None:
    session.execute(
        PLAIN_INSERT,
        {
            "actor": f"bench{writer}",
            "action": "document.uploaded",
            "document_id": uuid.uuid4(),
            "details": json.dumps(DETAILS),
        },
    )


def chained_event(session: Session, writer: int) -> None:
    record(
        session,
        actor=f"bench{writer}",
        action="document.uploaded",
        document_id=uuid.uuid4(),
        details=DETAILS,
    )


def run_round(
    factory: sessionmaker[Session],
    mode: str,
    write: Callable[[Session, int], None],
    *,
    threads: int,
    transactions: int,
    work_ms: float,
) -> Round:
    start = threading.Barrier(threads + 1)

    def writer(index: int) -> list[float]:
        latencies = []
        start.wait()
        for _ in range(transactions):
            began = time.perf_counter()
            with session_scope(factory) as session:
                if work_ms:
                    session.execute(text("SELECT pg_sleep(:s)"), {"s": work_ms / 1000})
                write(session, index)
            latencies.append(time.perf_counter() - began)
        return latencies

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(writer, i) for i in range(threads)]
        start.wait()
        began = time.perf_counter()
        latencies = sorted(x for f in futures for x in f.result())
        seconds = time.perf_counter() - began
    events = threads * transactions
    return Round(
        mode=mode,
        events=events,
        seconds=round(seconds, 3),
        events_per_second=round(events / seconds, 1),
        p50_ms=_ms(latencies, 0.50),
        p95_ms=_ms(latencies, 0.95),
        p99_ms=_ms(latencies, 0.99),
    )


def _ms(sorted_seconds: list[float], quantile: float) -> float:
    return round(sorted_seconds[int(quantile * (len(sorted_seconds) - 1))] * 1000, 2)


def time_verification(factory: sessionmaker[Session], key: bytes, events: int) -> dict[str, float]:
    configure_audit(key)
    for _ in range(events // 1000):
        with session_scope(factory) as session:
            for n in range(1000):
                chained_event(session, n)
    with session_scope(factory) as session:
        began = time.perf_counter()
        report = verify_chain(session, key=key)
        seconds = time.perf_counter() - began
    assert report.intact, report.first_break
    return {
        "events": report.events,
        "seconds": round(seconds, 2),
        "events_per_second": round(report.events / seconds),
    }


def server_settings(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        names = ("server_version", "fsync", "synchronous_commit", "wal_sync_method")
        return {n: str(conn.execute(text(f"SHOW {n}")).scalar_one()) for n in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--transactions", type=int, default=200, help="per thread and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work-ms", type=float, default=0.0)
    parser.add_argument("--verify-events", type=int, default=50_000)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL")
    if not base:
        raise SystemExit("set DATABASE_URL to a PostgreSQL server (a scratch database is made)")
    key = derive_audit_key("bench-secret-0123456789abcdef0123456789")
    with scratch_database(base) as url:
        upgrade(url)
        engine = build_engine(url, pool_size=args.threads)
        factory = build_sessionmaker(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql(PLAIN_TABLE)
        rounds: list[Round] = []
        for _ in range(args.rounds):
            for mode, write, mode_key in [
                ("plain", plain_event, None),
                ("chained-sha256", chained_event, None),
                ("chained-hmac", chained_event, key),
            ]:
                configure_audit(mode_key)
                rounds.append(
                    run_round(
                        factory,
                        mode,
                        write,
                        threads=args.threads,
                        transactions=args.transactions,
                        work_ms=args.work_ms,
                    )
                )
                print(json.dumps(asdict(rounds[-1])), flush=True)
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_events"))
        verification = time_verification(factory, key, args.verify_events)
        settings = server_settings(engine)
        engine.dispose()
    print(json.dumps(summary(rounds, verification, settings, vars(args)), indent=2))


def summary(
    rounds: list[Round],
    verification: dict[str, float],
    settings: dict[str, str],
    options: dict[str, object],
) -> dict[str, object]:
    medians = {
        mode: _median_round([r for r in rounds if r.mode == mode])
        for mode in dict.fromkeys(r.mode for r in rounds)
    }
    plain = medians["plain"].events_per_second
    return {
        "options": options,
        "server": settings,
        "median_round": {mode: asdict(r) for mode, r in medians.items()},
        "relative_to_plain": {
            mode: round(r.events_per_second / plain, 3) for mode, r in medians.items()
        },
        "verify": verification,
    }


def _median_round(rounds: list[Round]) -> Round:
    ordered = sorted(rounds, key=lambda r: r.events_per_second)
    return ordered[(len(ordered) - 1) // 2]


if __name__ == "__main__":
    main()
