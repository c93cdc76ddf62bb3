"""The erasure requests page in a real browser: a lawyer files a request by PESEL, sees the
answers at once, and finds the request again in the list (PESEL masked: no hr role)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect
from sqlalchemy.engine import Engine

from app.db import build_sessionmaker, session_scope
from tests import test_web
from tests.conftest import LiveServer, create_user
from tests.retention_docs import make_document

# the browser tests' fixtures: one chromium per module, the local store, no CSP violation
chromium = test_web.chromium
blob_store = test_web.blob_store
_no_csp_violations = test_web._no_csp_violations

PESEL = "44051401359"


def test_a_lawyer_files_an_erasure_request_and_reads_the_answers(
    chromium: Browser,
    server: LiveServer,
    engine: Engine,
    tmp_path: Path,
) -> None:
    create_user(engine, "lex", "legal")
    with session_scope(build_sessionmaker(engine)) as session:
        for year in (2012, 2024):
            make_document(
                session, server.store, tmp_path, document_class="invoice",
                fields={"pesel": PESEL, "issue_date": f"{year}-01-10"}, title=f"Faktura {year}",
            )  # fmt: skip
    page = test_web.new_page(chromium, server)
    test_web.log_in(page, "lex")
    page.get_by_role("link", name="Erasure requests").click()
    page.get_by_label("Identified by").select_option("pesel")
    page.get_by_label("PESEL, NIP or name").fill("4405140135")
    page.get_by_role("button", name="File the request").click()
    expect(page.locator("#messages .error")).to_contain_text("11 digits")
    page.get_by_label("PESEL, NIP or name").fill(PESEL)
    page.get_by_label("Case reference").fill("wniosek 7/2026")
    page.get_by_role("button", name="File the request").click()
    expect(page.locator("#erasure-answers .ok")).to_have_text("Recorded.")
    kept = page.locator('tr[data-outcome="retained"]')
    expect(kept).to_contain_text("Faktura 2024")
    expect(kept).to_contain_text("retained until 2030-12-31 under Ordynacja podatkowa")
    expect(page.locator('tr[data-outcome="scheduled"]')).to_contain_text("Faktura 2012")
    page.reload()
    listed = page.locator("table.erasure-requests tbody tr")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("*******1359")
    expect(listed).not_to_contain_text(PESEL)
    listed.get_by_role("link").click()
    expect(page.locator("table.answers tbody tr")).to_have_count(2)
    page.context.close()
