"""Start docarchive with demo data and capture its main pages in Debian's chromium.

    .venv/bin/python docs/screenshots/capture.py            # writes docs/screenshots/*.png

Uses the PostgreSQL server of DATABASE_URL (a scratch database is made and dropped) or else
the embedded one, a local blob store in a temporary directory, a worker in this process (real
OCR and extraction) and the real browser. The documents are rendered here (Polish invoices,
a contract, a personnel file, a scan); nothing is faked in the pages.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import uvicorn
from playwright.sync_api import Page, sync_playwright
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.db import build_engine, build_sessionmaker, normalise_url, session_scope  # noqa: E402
from app.main import create_app  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.security import service as accounts  # noqa: E402
from app.security.principal import system_actor  # noqa: E402
from app.storage.factory import build_blob_store  # noqa: E402
from tests import samples  # noqa: E402  (the demo documents are drawn like the tests' ones)
from tests.retention_docs import make_document  # noqa: E402
from workers import runtime  # noqa: E402
from workers.app import PROCESSING_QUEUE, connected  # noqa: E402

OUT = Path(__file__).resolve().parent
PASSWORD = "demo-password-2026"  # noqa: S105
PEOPLE = {
    "admin": ["admin"],
    "anna.ksiegowa": ["accountant"],
    "jan.kierownik": ["approver"],
    "kasia.sekretariat": ["clerk"],
    "hanna.kadry": ["hr"],
    "adam.audytor": ["auditor"],
    "ewa.archiwum": ["archivist"],
}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextlib.contextmanager
def database() -> Iterator[str]:
    base = os.environ.get("DATABASE_URL")
    if base is None:
        from app.embedded import embedded_postgres

        with tempfile.TemporaryDirectory() as pgdata, embedded_postgres(Path(pgdata)) as url:
            yield url
        return
    name = f"docarchive_screens_{uuid.uuid4().hex[:8]}"
    admin = make_url(normalise_url(base)).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield str(make_url(normalise_url(base)).set(database=name).render_as_string(False))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def serve(settings: Settings) -> tuple[uvicorn.Server, str]:
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="none")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def make_people(url: str) -> dict[str, str]:
    engine = build_engine(url, pool_size=1)
    tokens = {}
    with session_scope(build_sessionmaker(engine)) as session:
        for name, roles in PEOPLE.items():
            user = accounts.create_user(
                session, username=name, password=PASSWORD, roles=roles, actor=system_actor("demo")
            )
            _, tokens[name] = accounts.create_token(
                session,
                actor=accounts.actor_of(user),
                name="demo",
                scopes=["read", "write"],
                days=1,
                settings=Settings(),
            )
    engine.dispose()
    return tokens


def upload(api: httpx.Client, name: str, content: bytes, **data: str) -> str:
    response = api.post("/documents", files={"file": (name, content)}, data=data)
    response.raise_for_status()
    return str(response.json()["id"])


def demo_documents(base: str, tokens: dict[str, str]) -> dict[str, str]:
    def client(user: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {tokens[user]}"}
        return httpx.Client(base_url=base + "/api/v1", headers=headers, timeout=60)

    with client("kasia.sekretariat") as clerk, client("hanna.kadry") as hr:
        return {
            "scan": upload(
                clerk,
                "skan-faktura-0412.png",
                samples.scan_png(
                    [
                        "FAKTURA VAT nr FV/412/2026",
                        "Data wystawienia: 2026-11-12",
                        "Sprzedawca: Hurtownia Papieru Sp. z o.o.",
                        "NIP 525-000-12-34",
                        "Papier ksero A4, 40 ryz",
                        "Razem do zapłaty: 1 845,00 PLN",
                    ]
                ),
                **{"class": "invoice"},
            ),
            "ksef": upload(clerk, "FA3-FV-7-2026.xml", samples.ksef_fa3("FV/7/2026")),
            "contract": upload(
                clerk,
                "umowa-najmu.pdf",
                samples.text_pdf(
                    [
                        "Umowa najmu lokalu użytkowego nr 14/2026",
                        "zawarta w Krakowie dnia 2 stycznia 2026 r.",
                        "Czynsz miesięczny: 4 200,00 zł netto",
                    ]
                ),
                **{"class": "contract"},
            ),
            "hr": upload(
                hr,
                "umowa-o-prace.pdf",
                samples.text_pdf(["Umowa o pracę", "Pracownik: Anna Nowak, PESEL 44051401359"]),
                **{"class": "hr_record"},
            ),
        }


def process_queue(settings: Settings, url: str) -> None:
    engine = build_engine(url, pool_size=2)
    worker_runtime = runtime.configure(settings, engine=engine)
    try:
        with connected(url) as app:
            app.run_worker(wait=False, queues=[PROCESSING_QUEUE], install_signal_handlers=False)
    finally:
        worker_runtime.close()
        engine.dispose()


def circulate(base: str, tokens: dict[str, str], document_id: str) -> None:
    """Registration by the clerk, description by the approver: a timeline with two people.
    (Processing started the invoice workflow.)"""
    for user in ("kasia.sekretariat", "jan.kierownik"):
        headers = {"Authorization": f"Bearer {tokens[user]}"}
        with httpx.Client(base_url=base + "/api/v1", headers=headers, timeout=60) as api:
            tasks = api.get("/me/tasks").json()["items"]
            task = next(t for t in tasks if t["document_id"] == document_id)
            api.post(
                f"/tasks/{task['id']}/actions",
                json={"action": "approve", "comment": "Opis: materiały biurowe, MPK 501"},
            ).raise_for_status()


def old_records(url: str, settings: Settings, data_dir: Path) -> None:
    """Invoices of 2015 whose retention has ended: material for a disposal batch."""
    engine = build_engine(url, pool_size=1)
    store = build_blob_store(settings)
    with session_scope(build_sessionmaker(engine)) as session:
        for month, seller in ((3, "Biuro Rachunkowe Kowalski"), (7, "Drukarnia Nowak")):
            make_document(
                session,
                store,
                data_dir / "old",
                document_class="invoice",
                fields={"issue_date": f"2015-0{month}-15", "seller_name": seller},
                title=f"Faktura {month}/2015 — {seller}",
            )
    engine.dispose()


def log_in(page: Page, user: str) -> None:
    page.goto("/login")
    page.locator("#username").fill(user)
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/")


def shoot(page: Page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"  {name}.png")


def capture(base: str, ids: dict[str, str]) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS
        )
        context = browser.new_context(
            base_url=base, locale="pl-PL", viewport={"width": 1280, "height": 860}
        )
        page = context.new_page()
        page.goto("/login")
        shoot(page, "01-login")
        log_in(page, "jan.kierownik")
        shoot(page, "02-dashboard")
        page.goto("/search?q=faktury")
        shoot(page, "03-search")
        page.goto(f"/documents/{ids['scan']}")
        shoot(page, "04-document")
        page.goto("/inbox")
        shoot(page, "05-inbox")
        page.goto("/upload")
        page.set_input_files(
            "#upload-files",
            files=[
                {
                    "name": "faktura-korygujaca.pdf",
                    "mimeType": "application/pdf",
                    "buffer": samples.text_pdf(["Faktura korygująca KOR/3/2026"]),
                },
                {"name": "notatka.txt", "mimeType": "text/plain", "buffer": b"notatka"},
            ],
        )
        page.locator("#upload-list tbody tr .result:not(:empty)").nth(1).wait_for()
        shoot(page, "06-upload")
        context.clear_cookies()
        log_in(page, "admin")
        page.goto("/admin/permissions")
        shoot(page, "07-admin-permissions")
        page.goto("/admin/workflows")
        shoot(page, "08-admin-workflows")
        context.clear_cookies()
        log_in(page, "ewa.archiwum")
        page.goto("/archive/batches")
        page.locator("button[hx-post='/archive/batches/collect']").click()
        page.locator("#batches a").first.click()
        page.wait_for_url("**/archive/batches/*")
        shoot(page, "09-disposal-batch")
        page.goto("/archive/holds")
        shoot(page, "10-legal-holds")
        page.goto(f"/documents/{ids['ksef']}")
        shoot(page, "11-document-retention")
        browser.close()


def main() -> int:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    with database() as url, tempfile.TemporaryDirectory() as data_dir:
        upgrade(url)
        settings = Settings(database_url=url, data_dir=Path(data_dir))
        server, base = serve(settings)
        tokens = make_people(url)
        ids = demo_documents(base, tokens)
        process_queue(settings, url)
        circulate(base, tokens, ids["scan"])
        old_records(url, settings, Path(data_dir))
        print(f"capturing {base} into {OUT}")
        capture(base, ids)
        server.should_exit = True
    return 0


if __name__ == "__main__":
    sys.exit(main())
