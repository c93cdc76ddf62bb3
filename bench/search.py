"""Search latency over synthetic Polish documents: load in bulk, then a fixed mix of queries.

Documents (invoices, contracts, HR records; title and 1–3 pages of text as one body) are
normalised with `app.search.polish` in this process, loaded with COPY, and the GIN index is
built after the load. Each query type runs `app.search.service.search` (results, exact total
and facets, as the API does) `--repeat` times; p50/p95/p99 are printed, with a naive ILIKE
baseline over the raw text. Pages are not loaded, so snippets are not part of the figures.

    .venv/bin/python bench/search.py --documents 20000
(DATABASE_URL for a server, where a scratch database is made; otherwise the embedded one.)
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.db import build_engine, build_sessionmaker, normalise_url
from app.migrate import upgrade
from app.search.polish import terms_version, to_tsvector_text
from app.search.service import search
from bench.audit_chain import scratch_database
from schemas.search import SearchRequest

SUPPLIERS = [f"{a} {b}" for a in ("Polmex", "Budrex", "Transbud", "Elkom", "Agromax", "Medicus")
             for b in ("sp. z o.o.", "S.A.", "sp.j.", "Serwis", "Logistyka")]  # fmt: skip
INVOICE = [
    "Faktura VAT nr FV/{n}/2026 z dnia {day}.03.2026",
    "Sprzedawca: {supplier} NIP {nip}",
    "Pozycja: usługi transportowe, kwota netto {net},00 zł, VAT 23%",
    "Zapłata przelewem w terminie 14 dni na rachunek bankowy",
]
CONTRACT = [
    "Umowa najmu lokalu użytkowego nr {n}/2026",
    "zawarta pomiędzy {supplier} a Nabywca S.A.",
    "Wynajmujący oddaje Najemcy lokal w Warszawie przy ulicy Kwiatowej",
    "Czynsz miesięczny wynosi {net},00 zł płatny do dziesiątego dnia miesiąca",
]
HR = [
    "Świadectwo pracy pracownika {n}",
    "Pracownik był zatrudniony na stanowisku specjalisty do spraw kadr",
    "Wymiar urlopu wypoczynkowego wykorzystany w roku 2026",
]
KINDS = (("invoice", INVOICE), ("contract", CONTRACT), ("hr_record", HR))
QUERIES: dict[str, dict[str, str]] = {
    "rare term": {"q": "FV/777/2026"},
    "common term": {"q": "faktury"},
    "phrase": {"q": '"umowa najmu"'},
    "prefix": {"q": "transp*"},
    "filter only": {"class": "contract"},
    "filter + text": {"q": "pracownika", "class": "hr_record"},
    "or + exclusion": {"q": "Polmex OR Elkom -najmu"},
}


def nip(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(0, 9) for _ in range(9)]
        check = sum(w * d for w, d in zip((6, 5, 7, 2, 3, 4, 5, 6, 7), digits, strict=True)) % 11
        if check < 10:
            raw = "".join(map(str, digits)) + str(check)
            return f"{raw[:3]}-{raw[3:6]}-{raw[6:8]}-{raw[8:]}"


def documents(count: int, seed: int = 7) -> Iterator[tuple[uuid.UUID, str, str, datetime]]:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(count):
        kind, lines = KINDS[n % len(KINDS)]
        values = {"n": n, "day": rng.randint(10, 28), "supplier": rng.choice(SUPPLIERS),
                  "nip": nip(rng), "net": rng.randint(100, 99_000)}  # fmt: skip
        pages = rng.randint(1, 3)
        body = "\n".join(line.format(**values) for line in lines * pages)
        created = start + timedelta(minutes=n)
        yield uuid.uuid4(), kind, body, created


def load(url: str, count: int) -> dict[str, float]:
    version = terms_version()
    dsn = make_url(normalise_url(url)).set(drivername="postgresql")
    started = time.perf_counter()
    with psycopg.connect(dsn.render_as_string(hide_password=False)) as conn:
        conn.execute("DROP INDEX ix_document_search_terms")
        conn.execute("CREATE TEMP TABLE raw_text (document_id uuid, body text, terms text)")
        rows = [
            (document_id, kind, body, to_tsvector_text(body), created)
            for document_id, kind, body, created in documents(count)
        ]
        # one COPY at a time: a connection runs one COPY, a second one would wait for it
        with conn.cursor().copy(
            "COPY documents (id, status, document_class, title, revision, created_by, "
            "created_at, updated_at, status_changed_at) FROM STDIN"
        ) as copy:
            for document_id, kind, body, _, created in rows:
                title = body.split("\n", 1)[0]
                copy.write_row(
                    (document_id, "processed", kind, title, 1, "bench", created, created, created)
                )
        with conn.cursor().copy("COPY raw_text FROM STDIN") as copy:
            for document_id, _, body, terms, _ in rows:
                copy.write_row((document_id, body, terms))
        loaded = time.perf_counter()
        conn.execute(
            "INSERT INTO document_search (document_id, terms, terms_version, indexed_at) "
            "SELECT document_id, to_tsvector('simple', terms), %s, now() FROM raw_text",
            (version,),
        )
        vectors = time.perf_counter()
        conn.execute("CREATE INDEX ix_document_search_terms ON document_search USING gin (terms)")
        indexed = time.perf_counter()
        conn.execute("CREATE TABLE bench_raw AS SELECT document_id, body FROM raw_text")
        conn.execute("ANALYZE")
        size = conn.execute("SELECT pg_relation_size('ix_document_search_terms')").fetchone()
    return {
        "normalise + COPY s": loaded - started,
        "tsvector s": vectors - loaded,
        "GIN build s": indexed - vectors,
        "GIN MB": (size[0] if size else 0) / 1e6,
    }


def timed(run: Callable[[], object], repeat: int) -> list[float]:
    run()  # warm caches once
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)
    return times


def percentiles(times: list[float]) -> str:
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return f"p50 {cuts[49]:8.1f}  p95 {cuts[94]:8.1f}  p99 {cuts[98]:8.1f} ms"


def measure(url: str, repeat: int) -> None:
    engine = build_engine(url, pool_size=2)
    factory = build_sessionmaker(engine)
    with factory() as session:
        for name, params in QUERIES.items():
            request = SearchRequest.model_validate(params)
            total = search(session, request=request).total
            times = timed(functools.partial(search, session, request=request), repeat)
            print(f"{name:16} {percentiles(times)}  ({total} matches)")
        print(
            f"{'ILIKE baseline':16} {percentiles(timed(functools.partial(ilike, session), repeat))}"
        )
    engine.dispose()


def ilike(session: Session) -> object:
    return session.execute(
        text("SELECT count(*) FROM bench_raw WHERE body ILIKE '%usługi transportowe%'")
    ).scalar()


@contextmanager
def database() -> Iterator[str]:
    base = os.environ.get("DATABASE_URL")
    if base:
        with scratch_database(base) as url:
            yield url
        return
    from app.embedded import embedded_postgres

    with (
        tempfile.TemporaryDirectory(prefix="search-bench-") as scratch,
        embedded_postgres(Path(scratch) / "postgres") as url,
    ):
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    with database() as url:
        upgrade(url)
        for name, value in load(url, args.documents).items():
            print(f"{name:20} {value:8.1f}")
        measure(url, args.repeat)


if __name__ == "__main__":
    main()
