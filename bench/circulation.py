"""Circulation under load: many invoices in circulation, concurrent approvers acting through
the API, the inbox query's latency, and a count of events against the decisions the clients
were told succeeded (none lost, none doubled).

Setup (not measured): a scratch database, migrations, `--approvers` users holding every role
the cost invoice needs, each with an API token; `--documents` invoices (gross amounts across
the three threshold bands) inserted in bulk and started with the service, in batches.

Measured: `docarchive serve` in its own process; each approver thread loops for `--seconds`:
GET /api/v1/me/tasks?limit=50 (timed), pick one task at random from the page, POST approve
(timed). Approvers compete for the same role tasks, so 409 (someone was first) is expected,
and 403 (segregation of duties: they registered, described or approved another level) too.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/circulation.py --documents 10000 --approvers 20 --seconds 120
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.audit.service import configure_audit
from app.circulation import repository, service
from app.config import Settings
from app.db import build_engine, build_sessionmaker, session_scope
from app.documents.models import Document, DocumentField
from app.migrate import upgrade
from app.security import service as security
from app.security.models import Scope
from app.security.principal import system_actor
from bench.audit_chain import scratch_database

ROLES = ("clerk", "approver", "accountant", "head_of_unit", "cfo")
BIN = Path(sys.executable).parent
SYSTEM = system_actor("bench")
PAGE = 50


@dataclass
class Tally:
    inbox_ms: list[float] = field(default_factory=list)
    action_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    approved: Counter[str] = field(default_factory=Counter)
    """task id -> 200 answers to approve (each must be one event)."""
    lock: threading.Lock = field(default_factory=threading.Lock)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--approvers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def create_people(url: str, count: int) -> list[str]:
    engine = build_engine(url, pool_size=2)
    tokens = []
    with session_scope(build_sessionmaker(engine)) as session:
        for n in range(count):
            user = security.create_user(
                session,
                username=f"approver{n:02d}",
                password=None,
                roles=list(ROLES),
                actor=SYSTEM,
            )
            _, secret = security.create_token(
                session,
                actor=security.actor_of(user),
                name="bench",
                scopes=list(Scope),
                days=1,
                settings=Settings(),
            )
            tokens.append(secret)
    engine.dispose()
    return tokens


def create_invoices(url: str, count: int, rng: random.Random) -> float:
    """Insert `count` invoices and start their circulations; returns the seconds it took."""
    engine = build_engine(url, pool_size=2)
    factory = build_sessionmaker(engine)
    began = time.perf_counter()
    for start in range(0, count, 500):
        with session_scope(factory) as session:
            documents = [_invoice(session, n, rng) for n in range(start, min(count, start + 500))]
            session.flush()
            for document in documents:
                service.start_circulation(session, document=document, actor=SYSTEM)
    engine.dispose()
    return time.perf_counter() - began


def _invoice(session: Any, n: int, rng: random.Random) -> Document:
    gross = rng.choice(("1200.00", "4999.99", "7300.00", "18000.00", "64000.00"))
    document = Document(
        id=uuid.uuid4(),
        status="processed",
        document_class="invoice",
        title=f"FV {n}/2026",
        created_by="import",
        custom_fields={"cost_centre": rng.choice(("IT", "HR", "OPS"))},
    )
    session.add(document)
    for name, value in (("gross_total", gross), ("currency", "PLN")):
        session.add(
            DocumentField(
                document_id=document.id,
                name=name,
                value=value,
                confidence=1.0,
                source="xml",
                updated_by="bench",
            )
        )
    return document


@contextmanager
def api(url: str, workdir: Path) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCARCHIVE_")}
    env |= {
        "DOCARCHIVE_DATABASE_URL": url,
        "DOCARCHIVE_DATA_DIR": str(workdir),
        "DOCARCHIVE_RUN_WORKER": "false",
        "DOCARCHIVE_DB_POOL_SIZE": "20",
    }
    log = (workdir / "api.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "docarchive"), "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, proc)
        yield base + "/api/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the API exited; see api.log")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the API did not start in 60 s")


def approver(base: str, token: str, until: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        while time.monotonic() < until:
            began = time.perf_counter()
            page = client.get("/me/tasks", params={"limit": PAGE})
            inbox_ms = (time.perf_counter() - began) * 1000
            items = page.json()["items"]
            if not items:
                break
            task = rng.choice(items)["id"]
            began = time.perf_counter()
            answer = client.post(f"/tasks/{task}/actions", json={"action": "approve"})
            action_ms = (time.perf_counter() - began) * 1000
            with tally.lock:
                tally.inbox_ms.append(inbox_ms)
                tally.action_ms.append(action_ms)
                tally.statuses[answer.status_code] += 1
                if answer.status_code == 200:
                    tally.approved[task] += 1


def inbox_query_ms(url: str, repeat: int = 50) -> list[float]:
    """The inbox query alone (first page, as the API asks for it), in this process."""
    engine = build_engine(url, pool_size=1)
    timings = []
    with session_scope(build_sessionmaker(engine)) as session:
        user = security.user_by_name(session, "approver00")
        assert user is not None
        actor = security.actor_of(user)
        for _ in range(repeat):
            began = time.perf_counter()
            session.execute(repository.inbox(actor).limit(PAGE + 1)).all()
            timings.append((time.perf_counter() - began) * 1000)
    engine.dispose()
    return timings


def verify(url: str, tally: Tally) -> dict[str, int]:
    engine = build_engine(url, pool_size=1)
    with engine.connect() as conn:
        events = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE action = 'approved' AND actor LIKE 'approver%'), "
                "count(DISTINCT task_id) FILTER (WHERE action = 'approved' "
                "AND actor LIKE 'approver%') FROM circulation_events"
            )
        ).one()
        tasks = conn.execute(
            text("SELECT count(*) FROM circulation_tasks WHERE state = 'approved'")
        ).scalar_one()
        overfull = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT s.id FROM circulation_steps s "
                "JOIN circulation_tasks t ON t.step_id = s.id AND t.state = 'approved' "
                "GROUP BY s.id, s.required HAVING count(*) > s.required) AS x"
            )
        ).scalar_one()
        finished = conn.execute(
            text("SELECT count(*) FROM circulations WHERE state <> 'running'")
        ).scalar_one()
    engine.dispose()
    return {
        "approvals answered 200": sum(tally.approved.values()),
        "distinct tasks answered 200": len(tally.approved),
        "approved events": int(events[0]),
        "distinct tasks with an approved event": int(events[1]),
        "approved tasks": int(tasks),
        "steps with more approvals than required": int(overfull),
        "circulations finished": int(finished),
    }


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> int:
    args = parse_args()
    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        print("set DATABASE_URL to a PostgreSQL server (a scratch database is made there)")
        return 2
    configure_audit(None)
    rng = random.Random(args.seed)
    with scratch_database(base_url) as url, tempfile.TemporaryDirectory() as work:
        upgrade(url)
        tokens = create_people(url, args.approvers)
        setup_s = create_invoices(url, args.documents, rng)
        print(f"{args.documents} invoices started in {setup_s:.1f} s (service, batches of 500)")
        tally = Tally()
        with api(url, Path(work)) as base:
            began = time.monotonic()
            until = began + args.seconds
            threads = [
                threading.Thread(target=approver, args=(base, token, until, tally, n))
                for n, token in enumerate(tokens)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - began
        report(args, tally, elapsed, verify(url, tally))
        query = inbox_query_ms(url)
        print(
            f"inbox query alone ({PAGE + 1} rows): p50 {pct(query, 50):.1f} ms, "
            f"p95 {pct(query, 95):.1f} ms (n={len(query)})"
        )
    return 0


def report(args: argparse.Namespace, tally: Tally, elapsed: float, counts: dict[str, int]) -> None:
    actions = sum(tally.statuses.values())
    print(f"{args.approvers} approvers for {elapsed:.1f} s over {args.documents} invoices")
    print(f"actions: {actions} ({actions / elapsed:.1f}/s); answers: {dict(tally.statuses)}")
    ok = tally.statuses[200]
    print(f"successful approvals: {ok} ({ok / elapsed:.1f}/s)")
    for label, values in (("inbox GET", tally.inbox_ms), ("action POST", tally.action_ms)):
        print(
            f"{label}: p50 {pct(values, 50):.1f} ms, p95 {pct(values, 95):.1f} ms, "
            f"p99 {pct(values, 99):.1f} ms (n={len(values)})"
        )
    for label, value in counts.items():
        print(f"{label}: {value}")
    lost_or_doubled = (
        counts["approved events"] != counts["approvals answered 200"]
        or counts["distinct tasks with an approved event"] != counts["approved events"]
        or counts["steps with more approvals than required"] != 0
    )
    print("events vs answers:", "MISMATCH" if lost_or_doubled else "exact (none lost or doubled)")


if __name__ == "__main__":
    sys.exit(main())
