"""The pages in a real browser: Playwright driving Debian's chromium against the live server."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Engine

from app.config import Settings
from app.db import build_sessionmaker, session_scope
from app.storage import BlobStore
from app.storage.local import LocalBlobStore
from tests import samples
from tests.conftest import TEST_PASSWORD, LiveServer, RunWorker, create_user, upload
from tests.retention_docs import make_document

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Module-scoped: Playwright's event loop runs in this thread while it is open, and the
    worker of later test modules needs the thread without one."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail("chromium is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def blob_store(tmp_path: Path) -> BlobStore:
    return LocalBlobStore(tmp_path / "var" / "blobs")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The pages are tested as shipped: processing starts the class's workflow."""
    return settings.model_copy(update={"auto_circulation": True})


_csp_violations: list[str] = []


@pytest.fixture(autouse=True)
def _no_csp_violations() -> Iterator[None]:
    """The pages run under the HTML Content-Security-Policy: nothing they need may be blocked."""
    _csp_violations.clear()
    yield
    assert _csp_violations == []


def new_page(chromium: Browser, server: LiveServer, locale: str = "en-GB") -> Page:
    context = chromium.new_context(base_url=server.url, locale=locale)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            _csp_violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return page


def process_queue(run_worker: RunWorker) -> None:
    """The worker runs its own event loop: not in the thread where Playwright runs one."""
    failures: list[BaseException] = []

    def work() -> None:
        try:
            run_worker()
        except BaseException as exc:  # reported in the test's thread
            failures.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=300)
    assert not thread.is_alive(), "the worker did not finish"
    assert not failures, failures


def log_in(page: Page, username: str, password: str = TEST_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def accountant(chromium: Browser, server: LiveServer, engine: Engine) -> Iterator[Page]:
    create_user(engine, "ksiegowa", "accountant")
    page = new_page(chromium, server)
    log_in(page, "ksiegowa")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    yield page
    page.context.close()


def test_pages_need_a_login_and_a_wrong_password_says_so(
    chromium: Browser, server: LiveServer, engine: Engine
) -> None:
    create_user(engine, "ksiegowa", "accountant")
    page = new_page(chromium, server)
    page.goto("/search?q=faktura")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Username").fill("ksiegowa")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/search\?q=faktura$"))
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.context.close()


def test_upload_process_find_by_an_inflected_word_and_open(
    accountant: Page, run_worker: RunWorker
) -> None:
    page = accountant
    page.goto("/upload")
    page.get_by_label("Class").select_option("invoice")
    scan = samples.scan_png(["Faktura VAT nr FV/7/2026", "Sprzedawca: Hurtownia Papieru"])
    page.set_input_files(
        "#upload-files",
        files=[
            {"name": "skan.png", "mimeType": "image/png", "buffer": scan},
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"just text"},
        ],
    )
    rows = page.locator("#upload-list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator(".result")).to_contain_text("accepted")
    expect(rows.nth(1).locator(".result")).to_contain_text("refused")

    page.goto("/")
    expect(page.locator("#my-uploads")).to_contain_text("skan.png")
    process_queue(run_worker)
    # The dashboard polls while something is pending and shows the new status by itself.
    expect(page.locator("#my-uploads [data-status]").first).to_have_attribute(
        "data-status", "processed", timeout=20_000
    )

    page.goto("/search")
    page.get_by_label("Query").fill("faktury")  # the scan says "Faktura"
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#total")).to_have_text("1")
    expect(page.locator(".snippet mark").first).to_be_visible()
    page.locator(".hit-title").first.click()
    expect(page.locator("img.page").first).to_be_visible()
    expect(page.get_by_role("link", name="Download original")).to_be_visible()

    page.get_by_label("Title").fill("Papier biurowy, listopad")
    page.locator("#metadata").get_by_role("button", name="Save").click()
    expect(page.locator("#metadata .ok")).to_have_text("Saved.")
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Papier biurowy, listopad")


def test_an_hr_document_is_invisible_to_an_accountant(
    accountant: Page, server: LiveServer, engine: Engine, run_worker: RunWorker
) -> None:
    hr_token = create_user(engine, "kadry", "hr")
    with server.client(hr_token) as hr:
        hr_file = upload(
            hr,
            samples.text_pdf(["Umowa o pracę", "Pracownik: Anna Nowak"]),
            "umowa.pdf",
            **{"class": "hr_record"},
        )
    process_queue(run_worker)
    page = accountant
    page.goto("/search?q=umowa")
    expect(page.locator("#total")).to_have_text("0")
    response = page.goto(f"/documents/{hr_file}")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("does not exist")


def test_polish_when_the_browser_prefers_it_and_a_switch(
    chromium: Browser, server: LiveServer, engine: Engine
) -> None:
    create_user(engine, "ksiegowa", "accountant")
    page = new_page(chromium, server, locale="pl-PL")
    page.goto("/login")
    expect(page.get_by_role("heading", name="Zaloguj się")).to_be_visible()
    page.get_by_role("link", name="EN").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.context.close()


def test_an_invoice_goes_through_two_people_in_circulation(
    chromium: Browser, server: LiveServer, engine: Engine, run_worker: RunWorker
) -> None:
    create_user(engine, "kasia", "clerk")
    create_user(engine, "jan", "approver")
    clerk = new_page(chromium, server)
    log_in(clerk, "kasia")
    clerk.goto("/upload")
    clerk.get_by_label("Class").select_option("invoice")
    invoice = samples.text_pdf(["Faktura VAT nr FV/11/2026", "Razem do zapłaty: 1 845,00 PLN"])
    clerk.set_input_files(
        "#upload-files",
        files=[{"name": "fv.pdf", "mimeType": "application/pdf", "buffer": invoice}],
    )
    expect(clerk.locator("#upload-list .result a")).to_contain_text("accepted")
    process_queue(run_worker)
    clerk.locator("#upload-list .result a").click()
    # Processing started the invoice workflow: registration waits for a clerk.
    registration = clerk.locator("form.act")
    expect(registration).to_contain_text("Registration")
    registration.get_by_role("button", name="Approve").click()
    expect(clerk.locator("#circulation .ok")).to_contain_text("approve")
    document_url = clerk.url

    approver = new_page(chromium, server)
    log_in(approver, "jan")
    approver.goto("/inbox")
    approver.locator("table.tasks a").first.click()
    expect(approver).to_have_url(document_url + "#circulation")
    task = approver.locator("form.act")
    task.get_by_role("button", name="Reject").click()
    expect(approver.locator("#messages .error")).to_contain_text("needs a comment")
    task.get_by_label("Comment").fill("Opis: materiały biurowe, MPK 501")
    task.get_by_role("button", name="Approve").click()
    history = approver.locator("#circulation .events")
    expect(history).to_contain_text("kasia")
    expect(history).to_contain_text("jan")
    expect(approver.locator("#circulation .timeline")).to_contain_text("approved — jan")
    clerk.context.close()
    approver.context.close()


def test_admin_pages_users_permissions_and_the_workflow_editor(
    chromium: Browser, server: LiveServer, engine: Engine
) -> None:
    create_user(engine, "szef", "admin")
    page = new_page(chromium, server)
    log_in(page, "szef")
    page.get_by_role("link", name="Users").click()
    form = page.locator("form.new-user")
    form.get_by_label("Username").fill("nowak")
    form.get_by_label("Password").fill("a-long-enough-secret")
    form.get_by_label("accountant").check()
    form.get_by_role("button", name="Create").click()
    expect(page.locator("#users .ok")).to_contain_text("nowak")
    expect(page.locator("#users")).to_contain_text("nowak")

    page.get_by_role("link", name="Permissions").click()
    hr_view = page.get_by_label("hr_record auditor view")
    expect(hr_view).not_to_be_checked()
    try:
        hr_view.check()
        expect(page.locator("form.cell .ok")).to_be_visible()
        page.reload()
        expect(page.get_by_label("hr_record auditor view")).to_be_checked()
    finally:  # the seeded matrix outlives this test: put it back
        with engine.begin() as conn:
            conn.execute(
                sql_text(
                    "DELETE FROM class_permissions "
                    "WHERE document_class = 'hr_record' AND role = 'auditor'"
                )
            )

    page.get_by_role("link", name="Workflows").click()
    editor = page.locator("#workflow-hr_record")
    text = editor.locator("textarea").input_value()
    definition = json.loads(text)
    definition["steps"][0]["assignees"] = []
    editor.locator("textarea").fill(json.dumps(definition))
    editor.get_by_role("button", name="Save").click()
    problems = page.locator("#workflow-hr_record .problems")
    expect(problems).to_contain_text("hr_review")
    page.locator("#workflow-hr_record textarea").fill(text + "}")
    page.locator("#workflow-hr_record").get_by_role("button", name="Save").click()
    expect(problems).to_contain_text("JSON")
    page.locator("#workflow-hr_record textarea").fill(text.replace("HR review", "Kadry"))
    page.locator("#workflow-hr_record").get_by_role("button", name="Save").click()
    expect(page.locator("#workflow-hr_record .ok")).to_have_text("Saved.")
    expect(page.locator("#workflow-hr_record h2")).to_contain_text("v2")
    page.context.close()


def test_admin_pages_are_refused_to_other_roles(
    chromium: Browser, server: LiveServer, engine: Engine
) -> None:
    create_user(engine, "ksiegowa", "accountant")
    page = new_page(chromium, server)
    log_in(page, "ksiegowa")
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    for path in ("/admin/users", "/admin/permissions", "/admin/workflows"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 403, path
    page.context.close()


def test_an_absence_with_a_substitute_is_recorded_from_the_inbox(
    chromium: Browser, server: LiveServer, engine: Engine
) -> None:
    create_user(engine, "jan", "approver")
    create_user(engine, "ola", "approver")
    page = new_page(chromium, server)
    log_in(page, "jan")
    page.get_by_role("link", name="Inbox").click()
    page.get_by_label("Substitute").fill("ola")
    page.get_by_label("From", exact=True).fill("2026-12-21")
    page.get_by_label("To", exact=True).fill("2027-01-06")
    page.get_by_label("Reason").fill("urlop")
    page.get_by_role("button", name="Record absence").click()
    expect(page.locator("#absences .ok")).to_be_visible()
    expect(page.locator("#absences tbody tr")).to_contain_text("ola")
    page.get_by_label("Substitute").fill("nobody-like-this")
    page.get_by_role("button", name="Record absence").click()
    expect(page.locator("#messages .error")).to_be_visible()
    page.context.close()


def test_bulk_approval_from_the_inbox(
    chromium: Browser, server: LiveServer, engine: Engine, run_worker: RunWorker
) -> None:
    clerk_token = create_user(engine, "kasia", "clerk")
    with server.client(clerk_token) as api:
        for n in (1, 2):
            upload(
                api,
                samples.text_pdf([f"Faktura VAT nr FV/{n}/2026", "Do zapłaty 100,00 PLN"]),
                f"fv{n}.pdf",
                **{"class": "invoice", "title": f"Faktura {n}"},
            )
    process_queue(run_worker)
    page = new_page(chromium, server)
    log_in(page, "kasia")
    page.goto("/inbox")
    boxes = page.locator("#bulk input[name=task_ids]")
    expect(boxes).to_have_count(2)
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="Approve selected").click()
    expect(page.locator(".bulk-result li.ok")).to_have_count(2)
    expect(page.locator("#bulk input[name=task_ids]")).to_have_count(0)
    page.context.close()


def test_sharing_a_document_from_its_page(
    chromium: Browser, server: LiveServer, engine: Engine
) -> None:
    hr_token = create_user(engine, "kadry", "hr")
    create_user(engine, "jan", "approver")
    with server.client(hr_token) as hr:
        hr_file = upload(hr, samples.pdf("akta"), "akta.pdf", **{"class": "hr_record"})
    page = new_page(chromium, server)
    log_in(page, "kadry")
    page.goto(f"/documents/{hr_file}")
    page.get_by_label("User or role").fill("jan")
    page.get_by_role("button", name="Share").click()
    expect(page.locator("#grants .grants")).to_contain_text("jan")
    other = new_page(chromium, server)
    log_in(other, "jan")
    assert other.goto(f"/documents/{hr_file}").status == 200  # type: ignore[union-attr]
    page.locator("#grants").get_by_role("button", name="Revoke").click()
    expect(page.locator("#grants .grants")).to_have_count(0)
    assert other.goto(f"/documents/{hr_file}").status == 404  # type: ignore[union-attr]
    page.context.close()
    other.context.close()


def test_an_archivist_reviews_excludes_and_approves_a_disposal_batch(
    chromium: Browser, server: LiveServer, engine: Engine, tmp_path: Path
) -> None:
    create_user(engine, "ewa", "archivist")
    with session_scope(build_sessionmaker(engine)) as session:
        old = [
            make_document(
                session,
                server.store,
                tmp_path,
                document_class="invoice",
                fields={"issue_date": f"2015-0{n}-10"},
                title=f"Faktura 2015/{n}",
            )
            for n in (1, 2)
        ]
    page = new_page(chromium, server)
    log_in(page, "ewa")
    page.get_by_role("link", name="Archive", exact=True).click()
    page.get_by_role("button", name="Collect due records now").click()
    page.locator("#batches a").first.click()
    rows = page.locator("table.items tbody tr")
    expect(rows).to_have_count(2)
    first = rows.filter(has_text="Faktura 2015/1")
    first.get_by_role("button", name="Exclude").click()
    expect(page.locator("#messages .error")).to_be_visible()  # a reason is required
    first.get_by_placeholder("Reason to keep").fill("kontrola skarbowa w toku")
    first.get_by_role("button", name="Exclude").click()
    expect(page.locator('tr[data-state="excluded"]')).to_have_count(1)
    page.get_by_role("button", name="Approve the batch").click()
    expect(page.locator("#batch .ok")).to_have_text("Approved.")
    response = page.request.get(page.locator("#batch a", has_text="CSV").get_attribute("href"))
    assert response.status == 200
    assert "Faktura 2015/2" in response.text()
    assert len(old) == 2
    page.context.close()


def test_the_document_page_shows_the_retention_date(
    chromium: Browser, server: LiveServer, engine: Engine, run_worker: RunWorker
) -> None:
    token = create_user(engine, "ksiegowa", "accountant")
    with server.client(token) as api:
        invoice = upload(
            api,
            samples.ksef_fa3("FV/41/2026"),
            "fv.xml",
        )
    process_queue(run_worker)
    page = new_page(chromium, server)
    log_in(page, "ksiegowa")
    page.goto(f"/documents/{invoice}")
    retained = page.locator("#retention [data-retain-until]")
    expect(retained).to_have_attribute("data-retain-until", re.compile(r"^20\d\d-12-31$"))
    page.context.close()
