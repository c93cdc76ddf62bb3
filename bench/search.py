"""Search latency over synthetic Polish documents: load in bulk, then a fixed mix of queries.

Documents (invoices, contracts, HR records; a title and 1–3 pages of text as one body, with
the typed fields filters use: issue and due dates, gross amount, currency, NIPs, counterparty
names, tags) are normalised with `app.search.polish` in this process and loaded with COPY; the
indexes the models declare are built after the load (build time and size reported). Each query
type runs `app.search.service.search` as the API does (first page, bounded total, facets)
`--repeat` times, with p50/p95/p99, and a naive ILIKE baseline over the raw text when `--ilike`;
as the system, or as a user with `--roles` (their visibility predicate in every query). Pages
are not loaded, so snippets are not part of the figures.

    .venv/bin/python bench/search.py --documents 100000 --ilike
    .venv/bin/python bench/search.py --documents 1000000 --keep   # prints the database URL
    .venv/bin/python bench/search.py --url postgresql://...       # measure a kept database
    .venv/bin/python bench/search.py --url postgresql://... --roles hr,accountant --only NIP
(DATABASE_URL for a server, where a scratch database is made; otherwise the embedded one.)
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.db import build_engine, build_sessionmaker, normalise_url
from app.migrate import upgrade
from app.search.index import filter_lexemes, fold_name
from app.search.models import DocumentSearch
from app.search.pesel import pesel_lexeme
from app.search.polish import index_terms, terms_version
from app.search.service import search
from app.security.principal import Actor, system_actor
from bench.audit_chain import scratch_database
from schemas.search import SearchRequest

SUPPLIERS = [f"{a} {b}" for a in ("Polmex", "Budrex", "Transbud", "Elkom", "Agromax", "Medicus")
             for b in ("sp. z o.o.", "S.A.", "sp.j.", "Serwis", "Logistyka")]  # fmt: skip
BUYER = ("Nabywca S.A.", "7251801126")
TAGS = ("pilne", "kwartał", "archiwum", "do-zapłaty", "skan")
INVOICE = [
    "Faktura VAT nr {number} z dnia {issued}",
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
    "Świadectwo pracy pracownika {n}, PESEL {pesel}",
    "Pracownik był zatrudniony na stanowisku specjalisty do spraw kadr",
    "Wymiar urlopu wypoczynkowego wykorzystany w roku 2026",
]
KINDS = (("invoice", INVOICE), ("contract", CONTRACT), ("hr_record", HR))
RARE_PESEL = "44051401359"


def nip(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(0, 9) for _ in range(9)]
        check = sum(w * d for w, d in zip((6, 5, 7, 2, 3, 4, 5, 6, 7), digits, strict=True)) % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)


def pesel(rng: random.Random) -> str:
    born = date(1960, 1, 1) + timedelta(days=rng.randint(0, 15000))
    month = born.month + (20 if born.year >= 2000 else 0)
    digits = f"{born.year % 100:02d}{month:02d}{born.day:02d}{rng.randint(0, 9999):04d}"
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    check = (10 - sum(w * int(d) for w, d in zip(weights, digits, strict=True)) % 10) % 10
    return digits + str(check)


SUPPLIER_NIPS = {name: nip(random.Random(name)) for name in SUPPLIERS}
QUERIES: dict[str, dict[str, Any]] = {
    "rare term": {"q": "FV/777/2026"},
    "common term (1/3)": {"q": "faktury"},
    "phrase": {"q": '"umowa najmu"'},
    "prefix": {"q": "transp*"},
    "fuzzy (typo)": {"q": "swiadectwoo urlopu"},
    "or + exclusion": {"q": "Polmex OR Elkom -najmu"},
    "rare + date sort": {"q": "FV/777/2026", "sort": "issue_date"},
    "common + date sort": {"q": "faktura", "sort": "issue_date"},
    "common + amount sort": {"q": "faktura", "sort": "amount", "direction": "asc"},
    "filter only: class": {"class": "contract"},
    "filter only: NIP": {"seller_nip": SUPPLIER_NIPS["Elkom S.A."]},
    "filter: amount+dates": {
        "amount_min": "50000",
        "issued_from": "2025-06-01",
        "issued_to": "2025-06-30",
    },
    "filter: counterparty": {"counterparty": "Budreks Logistyka"},
    "filter: tags": {"tags_all": ["pilne", "do-zapłaty"]},
    "filter + text": {"q": "pracownika", "class": "hr_record"},
    "text + filters": {"q": "transportowe", "currency": "EUR", "tags_any": ["pilne"]},
    "PESEL (hr)": {"q": RARE_PESEL},
}


def documents(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(count):
        kind, lines = KINDS[n % len(KINDS)]
        supplier = rng.choice(SUPPLIERS)
        issued = date(2024, 1, 1) + timedelta(days=rng.randint(0, 900))
        values = {"n": n, "number": f"FV/{n}/2026", "issued": issued.strftime("%d.%m.%Y"),
                  "supplier": supplier, "nip": SUPPLIER_NIPS[supplier],
                  "net": rng.randint(100, 99_000),
                  "pesel": RARE_PESEL if n == 5 else pesel(rng)}  # fmt: skip
        body = "\n".join(line.format(**values) for line in lines * rng.randint(1, 3))
        identifier = uuid.UUID(int=rng.getrandbits(128), version=4)
        document = {"id": identifier, "kind": kind, "body": body,
                    "created": start + timedelta(minutes=n),
                    "tags": rng.sample(TAGS, rng.randint(0, 2))}  # fmt: skip
        if kind != "hr_record":
            gross = Decimal(values["net"]) * Decimal("1.23") if kind == "invoice" else None
            document |= {"issued": issued, "gross": gross or Decimal(values["net"]),
                         "parties": [supplier, BUYER[0]]}  # fmt: skip
        if kind == "invoice":
            document |= {"due": issued + timedelta(days=14), "seller_nip": values["nip"],
                         "buyer_nip": BUYER[1], "number": f"fv/{n}/2026",
                         "currency": "EUR" if rng.random() < 0.1 else "PLN"}  # fmt: skip
        else:
            document["pesel"] = values["pesel"] if kind == "hr_record" else None
        yield document


SEARCH_COLUMNS = (
    "document_id, terms_text, issue_date, due_date, gross_amount, currency, seller_nip, "
    "buyer_nip, invoice_number, tags, counterparties, uploaded_at"
)
# built after the load, as the models declare them (and the migrations create them)
INDEXES = {
    index.name: str(CreateIndex(index).compile(dialect=postgresql.dialect()))
    for index in sorted(DocumentSearch.__table__.indexes, key=lambda index: str(index.name))
}


def load(url: str, count: int, *, raw: bool) -> dict[str, float]:
    version = terms_version()
    dsn = make_url(normalise_url(url)).set(drivername="postgresql")
    started = time.perf_counter()
    vocabulary: set[str] = set()
    with psycopg.connect(dsn.render_as_string(hide_password=False)) as conn:
        for name in INDEXES:
            conn.execute(f"DROP INDEX {name}")
        conn.execute(
            "CREATE UNLOGGED TABLE bench_search (document_id uuid, terms_text text, "
            "issue_date date, due_date date, gross_amount numeric(18,2), currency text, "
            "seller_nip text, buyer_nip text, invoice_number text, tags text[], "
            "counterparties text[], uploaded_at timestamptz)"
        )
        conn.execute("CREATE UNLOGGED TABLE bench_raw (document_id uuid, body text)")
        with (
            conn.cursor().copy(
                "COPY documents (id, status, document_class, title, revision, created_by, "
                "created_at, updated_at, status_changed_at) FROM STDIN"
            ) as documents_copy,
        ):
            for document in documents(count):
                created = document["created"]
                documents_copy.write_row(
                    (document["id"], "processed", document["kind"],
                     document["body"].split("\n", 1)[0], 1, "bench", created, created, created)
                )  # fmt: skip
        with conn.cursor().copy(f"COPY bench_search ({SEARCH_COLUMNS}) FROM STDIN") as copy:
            for document in documents(count):
                terms = index_terms(document["body"] + "\n" + " ".join(document["tags"]))
                vocabulary.update(t for t in terms if t.isascii() and t.isalpha() and len(t) >= 3)
                if document.get("pesel"):
                    terms.append(pesel_lexeme(document["pesel"]))
                columns = {"currency": document.get("currency"),
                           "seller_nip": document.get("seller_nip"),
                           "buyer_nip": document.get("buyer_nip")}  # fmt: skip
                terms += filter_lexemes(document["kind"], document["tags"], columns)
                parties = document.get("parties", [])
                copy.write_row(
                    (document["id"], " ".join(terms), document.get("issued"),
                     document.get("due"), document.get("gross"), document.get("currency"),
                     document.get("seller_nip"), document.get("buyer_nip"),
                     document.get("number"), document["tags"], parties,
                     document["created"])
                )  # fmt: skip
        if raw:
            with conn.cursor().copy("COPY bench_raw FROM STDIN") as copy:
                for document in documents(count):
                    copy.write_row((document["id"], document["body"]))
        with conn.cursor().copy("COPY search_terms (term) FROM STDIN") as copy:
            for term in sorted(vocabulary):
                copy.write_row((term,))
        with conn.cursor().copy("COPY counterparty_names (name, folded) FROM STDIN") as copy:
            for name in sorted({*SUPPLIERS, BUYER[0]}):
                copy.write_row((name, fold_name(name)))
        loaded = time.perf_counter()
        target = SEARCH_COLUMNS.replace("terms_text", "terms")
        source = SEARCH_COLUMNS.replace("terms_text", "to_tsvector('simple', terms_text)")
        conn.execute(
            f"INSERT INTO document_search ({target}, terms_version, indexed_at) "  # noqa: S608
            f"SELECT {source}, %s, now() FROM bench_search",
            (version,),
        )
        conn.execute("DROP TABLE bench_search")
        conn.commit()
        vectors = time.perf_counter()
        figures = {"normalise + COPY s": loaded - started, "tsvector s": vectors - loaded}
        for name, statement in INDEXES.items():
            began = time.perf_counter()
            conn.execute(statement)
            conn.commit()
            if name == "ix_document_search_terms":
                figures[f"{name} build s"] = time.perf_counter() - began
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        figures["all search indexes build s"] = time.perf_counter() - vectors
        for name, relation in (("GIN terms", "ix_document_search_terms"),
                               ("search table + TOAST", "document_search"),
                               ("all search indexes", None)):  # fmt: skip
            if relation is None:
                size = conn.execute(
                    "SELECT sum(pg_relation_size(indexrelid)) FROM pg_index "
                    "WHERE indrelid = 'document_search'::regclass"
                ).fetchone()
            else:
                # the table with its TOAST, without its indexes (counted on their own)
                size = conn.execute("SELECT pg_table_size(%s)", (relation,)).fetchone()
            figures[f"{name} MB"] = float(size[0] if size else 0) / 1e6
    return figures


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
    return f"p50 {cuts[49]:7.1f}  p95 {cuts[94]:7.1f}  p99 {cuts[98]:7.1f} ms"


def measure(
    url: str,
    repeat: int,
    *,
    ilike: bool,
    only: str | None,
    roles: str | None = None,
    freeze: bool = False,
) -> None:
    if freeze:  # what a server can do once started: its objects out of the collector's sweeps
        gc.collect()
        gc.freeze()
    engine = build_engine(url, pool_size=2)
    factory = build_sessionmaker(engine)
    actor = system_actor("bench")
    if roles:  # a user: their visibility predicate on every query; not "bench", the loader,
        # or every document would be one of their own uploads
        roles_given = frozenset(roles.split(","))
        actor = Actor(name="reader", user_id=uuid.uuid4(), roles=roles_given)
    with factory() as session:
        for name, params in QUERIES.items():
            if only and only not in name:
                continue
            request = SearchRequest.model_validate(params)
            run = functools.partial(search, session, request=request, actor=actor)
            result = run()
            times = timed(run, repeat)
            total = f"{result.total}{'' if result.total_exact else '~'}"
            fuzzy = " fuzzy" if result.fuzzy else ""
            print(f"{name:22} {percentiles(times)}  ({total} matches{fuzzy})", flush=True)
        if ilike:
            baseline = functools.partial(ilike_count, session)
            print(f"{'ILIKE baseline':22} {percentiles(timed(baseline, repeat))}")
    engine.dispose()


def ilike_count(session: Session) -> object:
    return session.execute(
        text("SELECT count(*) FROM bench_raw WHERE body ILIKE '%usługi transportowe%'")
    ).scalar()


@contextmanager
def database(keep: bool) -> Iterator[str]:
    base = os.environ.get("DATABASE_URL")
    if base and keep:
        name = f"docarchive_bench_{uuid.uuid4().hex[:8]}"
        admin = make_url(normalise_url(base)).set(drivername="postgresql")
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        url = make_url(normalise_url(base)).set(database=name)
        yield url.render_as_string(hide_password=False)
        return
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


def measure_as_asked(url: str, args: argparse.Namespace) -> None:
    measure(
        url, args.repeat, ilike=args.ilike, only=args.only, roles=args.roles, freeze=args.freeze_gc
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--ilike", action="store_true", help="also time a naive ILIKE scan")
    parser.add_argument("--keep", action="store_true", help="keep the database (DATABASE_URL)")
    parser.add_argument("--url", help="measure an existing (kept) database, no load")
    parser.add_argument("--only", help="run only the query types whose name contains this")
    parser.add_argument(
        "--roles", help="search as a user with these roles (comma-separated), not the system"
    )
    parser.add_argument(
        "--freeze-gc",
        action="store_true",
        help="gc.freeze() before measuring: no full collections over the loaded modules",
    )
    args = parser.parse_args()
    if args.url:
        measure_as_asked(args.url, args)
        return
    with database(args.keep) as url:
        upgrade(url)
        if args.keep:
            print(f"database: {url}", flush=True)
        for name, value in load(url, args.documents, raw=args.ilike).items():
            print(f"{name:32} {value:8.1f}", flush=True)
        measure_as_asked(url, args)


if __name__ == "__main__":
    main()
