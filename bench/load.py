"""Load: concurrent clients upload, search and approve against the real service for minutes,
then every accepted upload is checked (present once, byte-identical, processed) and
`docarchive verify` runs.

One run starts, as separate processes on a scratch database (a new database on the server
named by DATABASE_URL, dropped afterwards; without DATABASE_URL an embedded PostgreSQL in the
temporary directory) with a local blob store in a temporary directory:

* `docarchive serve` (API only, DOCARCHIVE_RUN_WORKER=false);
* `--workers` x `docarchive worker` (OCR, extraction, classification, auto-started circulation).

Users and tokens are made with `docarchive user create` / `docarchive user token`: clerks who
upload, approvers (clerk, approver, accountant, cfo, head_of_unit: every role the cost invoice
asks for) and a reader who searches. Then `--clients` threads (httpx) run for `--seconds`:

* uploaders (most): unique documents of three kinds, generated on the fly: one-page text PDFs
  (invoices, contracts, letters in Polish), PNG scans of a few printed lines (OCR), KSeF FA(3)
  invoices; and on purpose, a few duplicates of accepted content (409 expected), refusals (a
  text file: 415; an empty file: 422) and accepted-but-bad files (a corrupt PDF, an encrypted
  PDF: processing must fail with a reason);
* searchers: GET /api/v1/search with Polish words, phrases, prefixes and exclusions;
* approvers: GET /api/v1/me/tasks, then POST /api/v1/tasks/{id}/actions approve on one task
  (invoices start the cost-invoice workflow when processed; 403 segregation of duties and 409
  someone-was-first are expected answers).

A sampler records the RSS of the API and worker processes (and the load average and the
queue) every `--sample-seconds`. At the end: the queue is drained (bounded by
`--drain-seconds`), every 202 is checked against the database (present, one version, same
SHA-256, no other document holds it) and downloaded through the API by its uploader (SHA-256
compared), its status must be `processed` (`failed` only for the deliberately bad ones),
and `docarchive verify` runs on the live system. MB means 10**6 bytes.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/load.py --clients 50 --seconds 600 --workers 2
    .venv/bin/python bench/load.py --clients 10 --seconds 60      # smoke run, embedded database
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.db import normalise_url  # noqa: E402
from bench.audit_chain import scratch_database  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS_DIR = REPO / "bench" / "results"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # Debian: fonts-dejavu-core
KSEF_TEMPLATE = REPO / "tests" / "data" / "ksef" / "fa3" / "fa3_multi_rate.xml"
MB = 1_000_000
APPROVER_ROLES = ("clerk", "approver", "accountant", "cfo", "head_of_unit")
SEARCHES = (
    "faktura",
    "faktury",
    "zapłata",
    "zaplata przelew",
    '"termin płatności"',
    "umowa najmu",
    "umowy",
    "usługi OR dostawa",
    "faktura -korekta",
    "wynagrodzenie",
    "kaw*",
    "magazyn",
    "Warszawa",
    "sprzedawca nabywca",
    "pismo",
    "zamówienie",
)
WORDS = (
    "dostawa",
    "usługa",
    "serwis",
    "magazyn",
    "transport",
    "szkolenie",
    "licencja",
    "najem",
    "konsultacja",
    "materiały",
    "biurowe",
    "papier",
    "paliwo",
    "energia",
    "woda",
    "ochrona",
    "sprzątanie",
)
CITIES = ("Warszawa", "Kraków", "Gdańsk", "Łódź", "Poznań", "Wrocław", "Lublin", "Radom")


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    clients: int
    seconds: float
    workers: int
    worker_concurrency: int
    documents: int
    searchers: int
    approvers: int
    drain_seconds: float
    sample_seconds: float
    download_threads: int
    seed: int
    results_dir: Path
    work_dir: Path | None
    api_thread_tokens: int | None

    @property
    def uploaders(self) -> int:
        return self.clients - self.searchers - self.approvers


def parse_args(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50, help="client threads (default 50)")
    parser.add_argument("--seconds", type=float, default=600, help="duration (default 600)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--worker-concurrency", type=int, default=1, help="documents per worker (default 1)"
    )
    parser.add_argument(
        "--documents", type=int, default=20_000, help="cap on accepted uploads (default 20000)"
    )
    parser.add_argument(
        "--searchers", type=int, help="searching clients (default 15%% of --clients, at least 1)"
    )
    parser.add_argument(
        "--approvers", type=int, help="approving clients (default 15%% of --clients, at least 1)"
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=1800,
        help="longest wait for the queue to drain after the clients stop (default 1800)",
    )
    parser.add_argument("--sample-seconds", type=float, default=5, help="RSS sampling period")
    parser.add_argument(
        "--download-threads", type=int, default=8, help="threads for the final download check"
    )
    parser.add_argument(
        "--api-thread-tokens",
        type=int,
        help="the API's thread pool for blocking requests (DOCARCHIVE_API_THREADS; the\n"
        "service's default when not given)",
    )
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--work-dir", type=Path, help="parent of the temporary directory")
    args = parser.parse_args(argv)
    searchers = args.searchers if args.searchers is not None else max(1, args.clients * 15 // 100)
    approvers = args.approvers if args.approvers is not None else max(1, args.clients * 15 // 100)
    if args.clients - searchers - approvers < 1:
        parser.error("--clients must leave at least one uploader besides searchers and approvers")
    if args.workers < 1 or args.documents < 1 or args.seconds <= 0:
        parser.error("--workers, --documents and --seconds must be positive")
    return Config(
        clients=args.clients,
        seconds=args.seconds,
        workers=args.workers,
        worker_concurrency=args.worker_concurrency,
        documents=args.documents,
        searchers=searchers,
        approvers=approvers,
        drain_seconds=args.drain_seconds,
        sample_seconds=args.sample_seconds,
        download_threads=args.download_threads,
        seed=args.seed,
        results_dir=args.results_dir,
        work_dir=args.work_dir,
        api_thread_tokens=args.api_thread_tokens,
    )


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class Upload:
    kind: str
    filename: str
    media_type: str
    data: bytes
    expect: int  # the status the upload should get
    bad: bool = False  # accepted, but processing must fail

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _font() -> str:
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", FONT))
    return "DejaVuSans"


def _amount(rng: random.Random) -> tuple[str, str, str]:
    net = rng.choice((120, 860, 1450, 3900, 4700, 7300, 18_000, 64_000)) + rng.randint(0, 99) / 100
    vat = round(net * 0.23, 2)
    return f"{net:.2f}", f"{vat:.2f}", f"{net + vat:.2f}"


def _nip(rng: random.Random) -> str:
    weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(8)]
        check = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)


def invoice_lines(rng: random.Random, tag: str) -> list[str]:
    net, vat, gross = _amount(rng)
    issued = date(2026, 1, 1) + timedelta(days=rng.randint(0, 300))
    item = rng.choice(WORDS)
    return [
        f"Faktura VAT nr FV/{tag}/2026",
        f"Data wystawienia: {issued:%d.%m.%Y}   Miejsce: {rng.choice(CITIES)}",
        f"Sprzedawca: Firma {item.capitalize()} sp. z o.o.   NIP {_nip(rng)}",
        f"Nabywca: Biuro Rachunkowe Nowak S.A.   NIP {_nip(rng)}",
        f"Pozycja: {item} {rng.choice(WORDS)}, ilość {rng.randint(1, 40)}",
        f"Razem netto {net} PLN   VAT 23% {vat} PLN",
        f"Do zapłaty: {gross} PLN",
        f"Termin płatności: {issued + timedelta(days=14):%d.%m.%Y}, przelew",
    ]


def contract_lines(rng: random.Random, tag: str) -> list[str]:
    signed = date(2025, 1, 1) + timedelta(days=rng.randint(0, 600))
    return [
        f"Umowa najmu nr {tag}/{signed.year}",
        f"zawarta w dniu {signed:%d.%m.%Y} w {rng.choice(CITIES)}",
        f"pomiędzy Wynajmującym: {rng.choice(WORDS).capitalize()} Sp. z o.o., NIP {_nip(rng)}",
        "a Najemcą: Biuro Rachunkowe Nowak S.A.",
        f"Przedmiot umowy: lokal użytkowy, {rng.randint(20, 400)} m2, magazyn",
        f"Czynsz miesięczny: {rng.randint(1000, 20000)},00 zł netto",
        "Okres wypowiedzenia: 3 miesiące",
    ]


def letter_lines(rng: random.Random, tag: str) -> list[str]:
    return [
        f"Pismo nr {tag}",
        f"{rng.choice(CITIES)}, dnia {rng.randint(1, 28)}.{rng.randint(1, 12):02d}.2026",
        "Szanowni Państwo,",
        f"w nawiązaniu do zamówienia dotyczącego: {rng.choice(WORDS)} i {rng.choice(WORDS)}",
        "uprzejmie informujemy o zmianie harmonogramu dostaw.",
        "Z poważaniem, Dział Obsługi Klienta",
    ]


# reportlab keeps a registered font's subsets in the font object: two threads saving PDFs at
# once corrupted them once (an IndexError in makeSubset killed an uploader thread, run E).
_PDF_LOCK = threading.Lock()


def text_pdf(lines: list[str], *, encrypt: str | None = None) -> bytes:
    out = io.BytesIO()
    with _PDF_LOCK:
        pdf = canvas.Canvas(out, pagesize=A4, invariant=True, encrypt=encrypt)
        pdf.setFont(_font(), 11)
        for row, line in enumerate(lines):
            pdf.drawString(60, 780 - 18 * row, line)
        pdf.showPage()
        pdf.save()
    return out.getvalue()


_SCAN_FONT: list[ImageFont.FreeTypeFont] = []


def scan_png(lines: list[str]) -> bytes:
    """A clean 300 dpi scan of a few printed lines (read by OCR)."""
    if not _SCAN_FONT:
        _SCAN_FONT.append(ImageFont.truetype(FONT, 40))
    image = Image.new("L", (1900, 100 + 70 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((70, 50 + 70 * row), line, font=_SCAN_FONT[0], fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(300, 300))
    return out.getvalue()


def ksef_xml(template: str, rng: random.Random, tag: str) -> bytes:
    issued = date(2026, 1, 1) + timedelta(days=rng.randint(0, 300))
    return (
        template.replace("FV/2026/02/0131", f"FV/{tag}")
        .replace("ZAM/77/2026", f"ZAM/{tag}")
        .replace("<P_1>2026-02-16</P_1>", f"<P_1>{issued.isoformat()}</P_1>")
        .encode()
    )


class Generator:
    """Makes each client's next upload: mostly unique documents, a few deliberate others."""

    def __init__(self, seed: int, client: int, accepted: AcceptedLog, template: str) -> None:
        self.rng = random.Random(seed * 1000 + client)
        self.client = client
        self.count = 0
        self.accepted = accepted
        self.template = template

    def next(self) -> Upload:
        self.count += 1
        tag = f"{self.client:02d}-{self.count:05d}-{self.rng.randrange(10**6):06d}"
        roll = self.rng.random()
        if roll < 0.01:
            return self._refusal(tag)
        if roll < 0.02:
            duplicate = self.accepted.random_sample(self.rng)
            if duplicate is not None and duplicate.data is not None:
                return Upload("duplicate", "kopia.pdf", duplicate.media_type, duplicate.data, 409)
        if roll < 0.03:
            return self._bad(tag)
        if roll < 0.48:
            return Upload(
                "ksef-xml",
                f"FA3-{tag}.xml",
                "application/xml",
                ksef_xml(self.template, self.rng, tag),
                202,
            )
        if roll < 0.88:
            lines = self.rng.choice((invoice_lines, contract_lines, letter_lines))(self.rng, tag)
            return Upload(
                "text-pdf", f"dokument-{tag}.pdf", "application/pdf", text_pdf(lines), 202
            )
        lines = self.rng.choice((invoice_lines, letter_lines))(self.rng, tag)[:5]
        return Upload("png-scan", f"skan-{tag}.png", "image/png", scan_png(lines), 202)

    def _refusal(self, tag: str) -> Upload:
        if self.rng.random() < 0.5:
            return Upload(
                "refused-text", f"{tag}.txt", "text/plain", f"notatka {tag}\n".encode(), 415
            )
        return Upload("refused-empty", f"{tag}.pdf", "application/pdf", b"", 422)

    def _bad(self, tag: str) -> Upload:
        if self.rng.random() < 0.5:
            body = b"%PDF-1.7\n" + f"% corrupt {tag}\n".encode() + self.rng.randbytes(2000)
            return Upload(
                "bad-corrupt-pdf", f"uszkodzony-{tag}.pdf", "application/pdf", body, 202, True
            )
        data = text_pdf(letter_lines(self.rng, tag), encrypt=f"haslo-{tag}")
        return Upload("bad-encrypted-pdf", f"poufne-{tag}.pdf", "application/pdf", data, 202, True)


# --------------------------------------------------------------------------- bookkeeping


@dataclass(frozen=True)
class Accepted:
    id: str
    sha256: str
    kind: str
    bad: bool
    token: str
    media_type: str
    data: bytes | None  # kept only for a small sample (duplicates)


class AcceptedLog:
    """Every 202, and a bounded sample of accepted bytes to re-send as duplicates."""

    def __init__(self, cap: int) -> None:
        self.items: list[Accepted] = []
        self.sample: list[Accepted] = []
        self.cap = cap
        self.lock = threading.Lock()

    def add(self, item: Accepted) -> None:
        with self.lock:
            self.items.append(item)
            if item.data is not None:
                self.sample.append(item)

    def full(self) -> bool:
        return len(self.items) >= self.cap

    def random_sample(self, rng: random.Random) -> Accepted | None:
        with self.lock:
            return rng.choice(self.sample) if self.sample else None


@dataclass
class Tally:
    """Latencies and answers per operation; `unexpected` counts answers that are errors."""

    latency_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    unexpected: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_kind: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, op: str, status: str, ms: float, *, expected: bool) -> None:
        with self.lock:
            self.latency_ms[op].append(ms)
            self.statuses[op][status] += 1
            if not expected:
                self.unexpected[op][status] += 1


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Site:
    database_url: str
    work: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCARCHIVE_")}
        env |= {
            "DOCARCHIVE_DATABASE_URL": self.database_url,
            "DOCARCHIVE_DATA_DIR": str(self.work / "data"),
            "DOCARCHIVE_BLOB_BACKEND": "local",
            "DOCARCHIVE_RUN_WORKER": "false",
            "DOCARCHIVE_DB_POOL_SIZE": "20",
            "DOCARCHIVE_LOG_LEVEL": "WARNING",
            "OMP_THREAD_LIMIT": "1",
        }
        return env

    def cli(self, *args: str, timeout: float = 600) -> str:
        result = subprocess.run(
            [str(BIN / "docarchive"), *args],
            env=self.env(),
            cwd=self.work,  # a developer's .env in the checkout must not leak in
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode not in (0, 1):
            raise RuntimeError(f"docarchive {' '.join(args)}: {result.stderr[-2000:]}")
        return result.stdout


@contextlib.contextmanager
def database(work: Path) -> Iterator[str]:
    """A scratch database on DATABASE_URL's server, else an embedded one under `work`."""
    base = os.environ.get("DATABASE_URL")
    if base:
        with scratch_database(base) as url:
            yield url
        return
    from app.embedded import embedded_postgres

    with embedded_postgres(work / "postgres") as url:
        yield url


@contextlib.contextmanager
def process(
    site: Site, name: str, *args: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    log = (site.work / f"{name}.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "docarchive"), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env or site.env(),
        cwd=site.work,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def api_env(cfg: Config, site: Site) -> dict[str, str]:
    env = site.env()
    if cfg.api_thread_tokens is not None:
        env["DOCARCHIVE_API_THREADS"] = str(cfg.api_thread_tokens)
    return env


def wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API exited:\n{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError("the API did not start within 180 s")


@dataclass(frozen=True)
class People:
    clerks: list[str]
    approvers: list[str]
    reader: str
    admin: str


def make_people(site: Site, cfg: Config) -> People:
    """Accounts and tokens with the CLI (a few in parallel: each is a Python start-up)."""
    clerks = [f"clerk{n:02d}" for n in range(min(cfg.uploaders, 10))]
    approvers = [f"approver{n:02d}" for n in range(min(cfg.approvers, 8))]
    plans: list[tuple[str, list[str], list[str]]] = [
        *((name, ["--role", "clerk"], ["read", "write"]) for name in clerks),
        *(
            (name, [a for r in APPROVER_ROLES for a in ("--role", r)], ["read", "write"])
            for name in approvers
        ),
        ("reader", ["--role", "approver"], ["read"]),
    ]

    def make(plan: tuple[str, list[str], list[str]]) -> str:
        name, roles, scopes = plan
        site.cli("user", "create", name, *roles)
        return token(site, name, scopes)

    with ThreadPoolExecutor(3) as pool:
        tokens = list(pool.map(make, plans))
    admin = token(site, "admin", ["read", "write", "admin", "audit"])
    return People(
        clerks=tokens[: len(clerks)],
        approvers=tokens[len(clerks) : len(clerks) + len(approvers)],
        reader=tokens[-1],
        admin=admin,
    )


def token(site: Site, name: str, scopes: list[str]) -> str:
    out = site.cli("user", "token", name, *(a for s in scopes for a in ("--scope", s)))
    return out.strip().splitlines()[-1]


# --------------------------------------------------------------------------- clients


def client(base: str, secret: str) -> httpx.Client:
    return httpx.Client(
        base_url=base + "/api/v1", headers={"Authorization": f"Bearer {secret}"}, timeout=120
    )


def timed(
    tally: Tally, op: str, call: Callable[[], httpx.Response], ok: set[int]
) -> httpx.Response | None:
    began = time.perf_counter()
    try:
        answer = call()
    except httpx.HTTPError as exc:
        tally.record(op, type(exc).__name__, (time.perf_counter() - began) * 1000, expected=False)
        return None
    status = answer.status_code
    tally.record(op, str(status), (time.perf_counter() - began) * 1000, expected=status in ok)
    return answer


def uploader(
    base: str, secret: str, gen: Generator, until: float, log: AcceptedLog, tally: Tally
) -> None:
    with client(base, secret) as http:
        while time.monotonic() < until and not log.full():
            item = gen.next()
            answer = timed(
                tally,
                "upload",
                partial(
                    http.post,
                    "/documents",
                    files={"file": (item.filename, item.data, item.media_type)},
                ),
                {item.expect},
            )
            status = str(answer.status_code) if answer is not None else "error"
            with tally.lock:
                tally.by_kind[item.kind][status] += 1
            if answer is not None and answer.status_code == 202:
                body = answer.json()
                keep = item.data if len(log.sample) < 200 else None
                log.add(
                    Accepted(
                        id=body["id"],
                        sha256=item.sha256,
                        kind=item.kind,
                        bad=item.bad,
                        token=secret,
                        media_type=item.media_type,
                        data=keep,
                    )
                )
                if body.get("sha256") != item.sha256:
                    with tally.lock:
                        tally.unexpected["upload"]["sha256 in answer differs"] += 1


def searcher(base: str, secret: str, until: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    with client(base, secret) as http:
        while time.monotonic() < until:
            query = rng.choice(SEARCHES)
            timed(
                tally,
                "search",
                partial(http.get, "/search", params={"q": query, "limit": 20}),
                {200},
            )
            time.sleep(rng.uniform(0, 0.2))


def approver(base: str, secret: str, until: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    with client(base, secret) as http:
        while time.monotonic() < until:
            page = timed(
                tally, "inbox", partial(http.get, "/me/tasks", params={"limit": 50}), {200}
            )
            items = page.json()["items"] if page is not None and page.status_code == 200 else []
            if not items:
                time.sleep(1.0)
                continue
            task = rng.choice(items)["id"]
            timed(
                tally,
                "approve",
                partial(http.post, f"/tasks/{task}/actions", json={"action": "approve"}),
                {200, 403, 409},
            )


# --------------------------------------------------------------------------- sampling


@dataclass
class Sample:
    t: float
    api_rss: int
    workers_rss: list[int]
    workers_tree_rss: list[int]
    load1: float
    pending: int
    processed: int
    failed: int
    accepted: int


def rss_tree(pid: int) -> tuple[int, int]:
    """RSS of the process, and of it with its children (OCR helpers)."""
    try:
        proc = psutil.Process(pid)
        own = proc.memory_info().rss
        children = 0
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                children += child.memory_info().rss
        return own, own + children
    except psutil.Error:
        return 0, 0


def document_counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT status, count(*) FROM documents GROUP BY status").fetchall()
    return {status: int(count) for status, count in rows}


class Sampler(threading.Thread):
    def __init__(
        self, api: int, workers: list[int], dsn: str, period: float, log: AcceptedLog
    ) -> None:
        super().__init__(name="sampler", daemon=True)
        self.api, self.workers, self.dsn, self.period, self.log = api, workers, dsn, period, log
        self.samples: list[Sample] = []
        self.began = time.monotonic()
        self.stopping = threading.Event()

    def take(self) -> Sample:
        workers = [rss_tree(pid) for pid in self.workers]
        try:
            counts = document_counts(self.dsn)
        except psycopg.Error:
            counts = {}
        sample = Sample(
            t=round(time.monotonic() - self.began, 1),
            api_rss=rss_tree(self.api)[0],
            workers_rss=[own for own, _ in workers],
            workers_tree_rss=[tree for _, tree in workers],
            load1=os.getloadavg()[0],
            pending=counts.get("pending", 0) + counts.get("processing", 0),
            processed=counts.get("processed", 0),
            failed=counts.get("failed", 0),
            accepted=len(self.log.items),
        )
        self.samples.append(sample)
        return sample

    def run(self) -> None:
        while not self.stopping.wait(self.period):
            self.take()

    def stop(self) -> None:
        self.stopping.set()
        self.join()
        self.take()


# --------------------------------------------------------------------------- the checks


@dataclass
class Check:
    accepted: int = 0
    missing: list[str] = field(default_factory=list)
    wrong_versions: list[str] = field(default_factory=list)
    wrong_sha: list[str] = field(default_factory=list)
    shared_sha: int = 0
    unaccounted_documents: int = 0
    download_mismatch: list[str] = field(default_factory=list)
    download_errors: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    good_failed: list[str] = field(default_factory=list)
    bad_processed: list[str] = field(default_factory=list)
    unprocessed: list[str] = field(default_factory=list)
    failure_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not (
            self.missing
            or self.wrong_versions
            or self.wrong_sha
            or self.shared_sha
            or self.unaccounted_documents
            or self.download_mismatch
            or self.download_errors
            or self.good_failed
            or self.unprocessed
        )


def check_database(dsn: str, log: AcceptedLog, check: Check) -> None:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT d.id::text, d.status, coalesce(d.status_reason, ''), "
            "count(v.id), min(v.sha256) "
            "FROM documents d LEFT JOIN document_versions v ON v.document_id = d.id "
            "GROUP BY d.id"
        ).fetchall()
        shared = conn.execute(
            "SELECT count(*) FROM (SELECT sha256 FROM document_versions "
            "GROUP BY sha256 HAVING count(*) > 1) AS x"
        ).fetchone()
        check.shared_sha = int(shared[0]) if shared else 0
    found = {row[0]: row for row in rows}
    ids = {item.id for item in log.items}
    check.accepted = len(log.items)
    check.unaccounted_documents = len(set(found) - ids)
    for item in log.items:
        row = found.get(item.id)
        if row is None:
            check.missing.append(item.id)
            continue
        _, status, reason, versions, sha = row
        if versions != 1:
            check.wrong_versions.append(item.id)
        if sha != item.sha256:
            check.wrong_sha.append(item.id)
        check.statuses[f"{item.kind}: {status}"] += 1
        if status in ("pending", "processing"):
            check.unprocessed.append(item.id)
        elif status == "failed":
            check.failure_reasons[reason[:80]] += 1
            if not item.bad:
                check.good_failed.append(f"{item.id} ({item.kind}): {reason}")
        elif item.bad:
            check.bad_processed.append(f"{item.id} ({item.kind})")


def check_downloads(base: str, cfg: Config, log: AcceptedLog, check: Check, tally: Tally) -> None:
    clients: dict[str, httpx.Client] = {}
    lock = threading.Lock()

    def http_for(secret: str) -> httpx.Client:
        key = f"{threading.get_ident()}:{secret}"
        with lock:
            if key not in clients:
                clients[key] = client(base, secret)
            return clients[key]

    def one(item: Accepted) -> None:
        http = http_for(item.token)
        began = time.perf_counter()
        digest = hashlib.sha256()
        try:
            with http.stream("GET", f"/documents/{item.id}/content") as answer:
                for chunk in answer.iter_bytes():
                    digest.update(chunk)
                status = answer.status_code
        except httpx.HTTPError as exc:
            with lock:
                check.download_errors[type(exc).__name__] += 1
            return
        ms = (time.perf_counter() - began) * 1000
        tally.record("download", str(status), ms, expected=status == 200)
        if status != 200:
            with lock:
                check.download_errors[str(status)] += 1
        elif digest.hexdigest() != item.sha256:
            with lock:
                check.download_mismatch.append(item.id)

    with ThreadPoolExecutor(cfg.download_threads) as pool:
        list(pool.map(one, log.items))
    for http in clients.values():
        http.close()


def drain(dsn: str, limit: float) -> tuple[float, int]:
    """Wait until no document is pending or processing; returns (seconds, still pending)."""
    began = time.monotonic()
    while True:
        counts = document_counts(dsn)
        pending = counts.get("pending", 0) + counts.get("processing", 0)
        waited = time.monotonic() - began
        if pending == 0 or waited > limit:
            return waited, pending
        time.sleep(2)


# --------------------------------------------------------------------------- report


def pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def memory_summary(samples: list[Sample], load_end: float) -> dict[str, Any]:
    """First, max and last RSS per process, and the growth over the second half of the load."""
    series: dict[str, list[tuple[float, int]]] = {"api": [(s.t, s.api_rss) for s in samples]}
    for n in range(len(samples[0].workers_rss)):
        series[f"worker{n + 1}"] = [(s.t, s.workers_rss[n]) for s in samples]
        series[f"worker{n + 1}+children"] = [(s.t, s.workers_tree_rss[n]) for s in samples]
    out: dict[str, Any] = {}
    for name, points in series.items():
        values = [v for _, v in points if v]
        half = [(t, v) for t, v in points if load_end / 2 <= t <= load_end and v]
        later = [v for t, v in points if t >= 60 and v]
        out[name] = {
            "first_mb": values[0] / MB if values else None,
            "after_1_min_mb": later[0] / MB if later else None,
            "max_mb": max(values) / MB if values else None,
            "last_mb": values[-1] / MB if values else None,
            "second_half_slope_mb_per_min": slope(half) * 60 / MB if len(half) > 2 else None,
        }
    return out


def slope(points: list[tuple[float, int]]) -> float:
    xs = [t for t, _ in points]
    ys = [float(v) for _, v in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mean_x) ** 2 for x in xs)
    return (
        sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0
    )


def print_report(report: dict[str, Any]) -> None:
    run = report["run"]
    print(
        f"\n{run['clients']} clients ({run['uploaders']} uploading, {run['searchers']} searching, "
        f"{run['approvers']} approving) for {run['load_seconds']:.0f} s; {run['workers']} workers"
    )
    print(
        f"load average (1 min) during the load: mean {run['load1_mean']:.1f}, "
        f"max {run['load1_max']:.1f} (the machine has {os.cpu_count()} cores)"
    )
    print("\noperation  count  per s   p50 ms   p95 ms   p99 ms  errors  answers (unexpected)")
    for op, row in report["operations"].items():
        print(
            f"{op:9} {row['count']:6d} {row['per_second']:6.1f} {row['p50_ms']:8.0f} "
            f"{row['p95_ms']:8.0f} {row['p99_ms']:8.0f} {row['error_rate']:6.1%}  "
            f"{row['statuses']} ({row['unexpected']})"
        )
    print("\nuploads by kind:", json.dumps(report["uploads_by_kind"], ensure_ascii=False))
    print(
        "\nmemory (RSS, MB): first / after 1 min / max / last, "
        "slope over the second half of the load"
    )
    for name, row in report["memory"].items():
        if row["first_mb"] is None:
            continue
        slope_text = (
            f"{row['second_half_slope_mb_per_min']:+.2f} MB/min"
            if row["second_half_slope_mb_per_min"] is not None
            else "-"
        )
        print(
            f"  {name:20} {row['first_mb']:7.1f} / {row['after_1_min_mb'] or 0:7.1f} / "
            f"{row['max_mb']:7.1f} / {row['last_mb']:7.1f}"
            f"   {slope_text}"
        )
    print("\nover time (t s: api MB, workers MB, load1, accepted, pending, processed):")
    for row in report["timeline"]:
        print(f"  {row}")
    q = report["queue"]
    print(
        f"\nqueue: {q['pending_at_end_of_load']} pending when the clients stopped; drained in "
        f"{q['drain_seconds']:.0f} s ({q['still_pending']} still pending); processing rate over "
        f"the whole run {q['processed_per_second']:.2f} documents/s"
    )
    c = report["check"]
    print("\ncheck of every accepted upload:")
    for key, value in c.items():
        print(f"  {key}: {value}")
    print("\ndocarchive verify:")
    print("  " + report["verify"]["output"].strip().replace("\n", "\n  "))
    print(f"  exit code {report['verify']['exit_code']}")
    print(f"\nunexpected answers (errors) in all operations: {report['unexpected_answers']}")


def operations(tally: Tally, seconds: float) -> dict[str, Any]:
    out = {}
    for op in ("upload", "search", "inbox", "approve", "download"):
        values = tally.latency_ms.get(op, [])
        out[op] = {
            "count": len(values),
            "per_second": len(values) / seconds if op != "download" else float("nan"),
            "p50_ms": pct(values, 50),
            "p95_ms": pct(values, 95),
            "p99_ms": pct(values, 99),
            "statuses": dict(tally.statuses.get(op, {})),
            "unexpected": dict(tally.unexpected.get(op, {})),
            "error_rate": sum(tally.unexpected.get(op, {}).values()) / len(values)
            if values
            else 0.0,
        }
    return out


def timeline(samples: list[Sample], every: float) -> list[str]:
    rows, next_t = [], 0.0
    for s in samples:
        if s.t + 1e-6 >= next_t or s is samples[-1]:
            workers = "+".join(f"{v / MB:.0f}" for v in s.workers_tree_rss)
            rows.append(
                f"{s.t:6.0f}: api {s.api_rss / MB:.0f}, workers {workers}, load {s.load1:.1f}, "
                f"accepted {s.accepted}, pending {s.pending}, processed {s.processed}, "
                f"failed {s.failed}"
            )
            next_t = s.t + every
    return rows


# --------------------------------------------------------------------------- the run


def run(cfg: Config) -> dict[str, Any]:
    template = KSEF_TEMPLATE.read_text()
    started = datetime.now(UTC)
    with (
        tempfile.TemporaryDirectory(prefix="docarchive-load-", dir=cfg.work_dir) as tmp,
        database(Path(tmp)) as url,
    ):
        work = Path(tmp)
        site = Site(database_url=url, work=work)
        dsn = normalise_url(url).replace("postgresql+psycopg://", "postgresql://")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with process(site, "api", "serve", "--port", str(port), env=api_env(cfg, site)) as api:
            wait_healthy(base, api, work / "api.log")
            with contextlib.ExitStack() as stack:
                # Workers first: they are warm (imported, connected) when the load begins.
                workers = [
                    stack.enter_context(
                        process(
                            site,
                            f"worker{n + 1}",
                            "worker",
                            "--concurrency",
                            str(cfg.worker_concurrency),
                        )
                    )
                    for n in range(cfg.workers)
                ]
                began = time.monotonic()
                people = make_people(site, cfg)
                print(
                    f"users and tokens made with the CLI in {time.monotonic() - began:.0f} s",
                    flush=True,
                )
                return load_and_check(cfg, site, base, dsn, people, api, workers, template, started)
    raise AssertionError("unreachable")


def load_and_check(
    cfg: Config,
    site: Site,
    base: str,
    dsn: str,
    people: People,
    api: subprocess.Popen[bytes],
    workers: list[subprocess.Popen[bytes]],
    template: str,
    started: datetime,
) -> dict[str, Any]:
    log = AcceptedLog(cfg.documents)
    tally = Tally()
    sampler = Sampler(api.pid, [w.pid for w in workers], dsn, cfg.sample_seconds, log)
    sampler.take()
    sampler.start()
    me = psutil.Process()
    cpu_before = me.cpu_times()
    began = time.monotonic()
    until = began + cfg.seconds
    threads = [
        threading.Thread(
            target=uploader,
            args=(
                base,
                people.clerks[n % len(people.clerks)],
                Generator(cfg.seed, n, log, template),
                until,
                log,
                tally,
            ),
        )
        for n in range(cfg.uploaders)
    ]
    threads += [
        threading.Thread(target=searcher, args=(base, people.reader, until, tally, cfg.seed + n))
        for n in range(cfg.searchers)
    ]
    threads += [
        threading.Thread(
            target=approver,
            args=(
                base,
                people.approvers[n % len(people.approvers)],
                until,
                tally,
                cfg.seed + 100 + n,
            ),
        )
        for n in range(cfg.approvers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load_seconds = time.monotonic() - began
    cpu_after = me.cpu_times()
    print(
        f"load phase over after {load_seconds:.0f} s; {len(log.items)} uploads accepted", flush=True
    )
    at_end = sampler.take()
    drain_seconds, still_pending = drain(dsn, cfg.drain_seconds)
    print(f"queue drained in {drain_seconds:.0f} s ({still_pending} still pending)", flush=True)
    sampler.stop()
    for proc, name in [(api, "api"), *((w, f"worker{n + 1}") for n, w in enumerate(workers))]:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}; see {site.work}/{name}.log")
    check = Check()
    check_database(dsn, log, check)
    check_began = time.monotonic()
    check_downloads(base, cfg, log, check, tally)
    download_seconds = time.monotonic() - check_began
    verify_began = time.monotonic()
    verify = subprocess.run(
        [str(BIN / "docarchive"), "verify"],
        env=site.env(),
        cwd=site.work,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    verify_seconds = time.monotonic() - verify_began
    samples = sampler.samples
    load_samples = [s for s in samples if s.t <= load_seconds + cfg.sample_seconds]
    processed_total = samples[-1].processed + samples[-1].failed
    report: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "git_head": _git_head(),
        "run": {
            "clients": cfg.clients,
            "uploaders": cfg.uploaders,
            "searchers": cfg.searchers,
            "approvers": cfg.approvers,
            "workers": cfg.workers,
            "worker_concurrency": cfg.worker_concurrency,
            "documents_cap": cfg.documents,
            "api_threads": cfg.api_thread_tokens or "the service default (DOCARCHIVE_API_THREADS)",
            "load_seconds": load_seconds,
            "load1_mean": statistics.fmean(s.load1 for s in load_samples),
            "load1_max": max(s.load1 for s in load_samples),
            "client_cpu_seconds": (cpu_after.user + cpu_after.system)
            - (cpu_before.user + cpu_before.system),
            "database": "DATABASE_URL scratch" if os.environ.get("DATABASE_URL") else "embedded",
        },
        "operations": operations(tally, load_seconds),
        "uploads_by_kind": {k: dict(v) for k, v in sorted(tally.by_kind.items())},
        "memory": memory_summary(samples, load_seconds),
        "timeline": timeline(samples, max(60.0, cfg.seconds / 10)),
        "queue": {
            "pending_at_end_of_load": at_end.pending,
            "processed_during_load": at_end.processed + at_end.failed,
            "drain_seconds": drain_seconds,
            "still_pending": still_pending,
            "processed_per_second": processed_total / (load_seconds + drain_seconds),
        },
        "check": {
            "accepted uploads (202)": check.accepted,
            "missing": len(check.missing),
            "with other than one version": len(check.wrong_versions),
            "stored SHA-256 differs": len(check.wrong_sha),
            "SHA-256 held by more than one version": check.shared_sha,
            "documents in the database without a 202": check.unaccounted_documents,
            "downloads with other bytes": len(check.download_mismatch),
            "download errors": dict(check.download_errors),
            "downloads took (s)": round(download_seconds, 1),
            "status by kind": dict(sorted(check.statuses.items())),
            "failed although not deliberately bad": check.good_failed[:20],
            "deliberately bad but processed": check.bad_processed[:20],
            "not processed (pending) after the drain": len(check.unprocessed),
            "failure reasons": dict(check.failure_reasons.most_common(10)),
            "ALL CHECKS": "passed" if check.ok else "FAILED",
        },
        "verify": {
            "exit_code": verify.returncode,
            "seconds": verify_seconds,
            "output": verify.stdout + verify.stderr[-2000:],
        },
        "samples": [s.__dict__ for s in samples],
    }
    errors = sum(sum(c.values()) for c in tally.unexpected.values())
    report["unexpected_answers"] = errors
    # Exit 1 on lost or altered data, on a failed verify, and on any error answer (5xx...).
    report["ok"] = check.ok and verify.returncode == 0 and errors == 0
    return report


def _git_head() -> str:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            check=True,
            text=True,
        ).stdout.strip()
    return "unknown"


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    report = run(cfg)
    print_report(report)
    cfg.results_dir.mkdir(parents=True, exist_ok=True)
    path = cfg.results_dir / f"load-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str))
    print(f"\nresults: {path}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
