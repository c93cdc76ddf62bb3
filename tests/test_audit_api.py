"""The audit trail as auditors read it (API, CSV) and `docarchive audit verify` from the command
line: views and downloads are recorded, hidden documents stay hidden, tampering is named."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from app.cli import main
from app.storage import BlobStore
from app.storage.local import LocalBlobStore
from tests import samples
from tests.conftest import LiveServer, LoginAs, upload
from tests.test_audit import tamper


@pytest.fixture
def blob_store(tmp_path: Path) -> BlobStore:
    return LocalBlobStore(tmp_path / "var" / "blobs")


def actions_of(body: dict[str, list[dict[str, str]]]) -> list[str]:
    return [event["action"] for event in body["items"]]


def test_views_downloads_and_edits_are_in_the_trail_for_auditors(login_as: LoginAs) -> None:
    accountant = login_as("ksiegowa", "accountant")
    auditor = login_as("audytor", "auditor")
    invoice = upload(accountant, samples.pdf("fv"), "fv.pdf", **{"class": "invoice"})
    accountant.get(f"/documents/{invoice}")
    accountant.get(f"/documents/{invoice}/content")
    accountant.patch(f"/documents/{invoice}", json={"title": "FV 1"}, headers={"If-Match": "*"})

    trail = auditor.get("/audit", params={"document_id": invoice})
    assert trail.status_code == 200, trail.text
    assert actions_of(trail.json()) == [
        "document.metadata_changed",
        "document.downloaded",
        "document.viewed",
        "document.uploaded",
    ]
    assert {e["actor"] for e in trail.json()["items"]} == {"ksiegowa"}
    only_downloads = auditor.get("/audit", params={"action": "document.downloaded"}).json()
    assert actions_of(only_downloads) == ["document.downloaded"]
    by_prefix = auditor.get("/audit", params={"action": "document.", "actor": "ksiegowa"})
    assert len(by_prefix.json()["items"]) == 4


def test_pages_of_the_trail_follow_the_cursor(login_as: LoginAs) -> None:
    auditor = login_as("audytor", "auditor")
    for n in range(5):
        login_as(f"user{n}", "clerk")  # each adds user.created and token.created
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = auditor.get("/audit", params=params).json()
        seen += [event["id"] for event in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) >= 12
    assert auditor.get("/audit", params={"cursor": "x"}).status_code == 400


def test_events_of_hidden_documents_are_left_out(login_as: LoginAs) -> None:
    hr = login_as("kadry", "hr")
    auditor = login_as("audytor", "auditor")
    hr_file = upload(hr, samples.pdf("akta"), "akta.pdf", **{"class": "hr_record"})
    hr.get(f"/documents/{hr_file}")
    everything = auditor.get("/audit", params={"limit": 500}).json()["items"]
    assert all(event["document_id"] != hr_file for event in everything)
    assert auditor.get("/audit", params={"document_id": hr_file}).json()["items"] == []
    exported = auditor.get("/audit.csv")
    assert hr_file not in exported.text


def test_only_auditors_and_admins_with_the_audit_scope_read_the_trail(login_as: LoginAs) -> None:
    for role in ("archivist", "accountant", "approver", "hr", "clerk"):
        assert login_as(f"u-{role}", role).get("/audit").status_code == 403, role
        assert login_as(f"c-{role}", role).get("/audit.csv").status_code == 403, role
    assert login_as("admin1", "admin").get("/audit").status_code == 200
    no_scope = login_as("audytor2", "auditor", scopes=("read",))
    refused = no_scope.get("/audit")
    assert refused.status_code == 403
    assert "'audit' scope" in refused.json()["detail"]


def test_csv_export_is_complete_and_neutralises_formulas(
    login_as: LoginAs, server: LiveServer
) -> None:
    auditor = login_as("audytor", "auditor")
    with server.client(anonymous=True) as anonymous:
        anonymous.post("/auth/login", json={"username": "=HYPERLINK()", "password": "x"})
    exported = auditor.get("/audit.csv", params={"action": "auth.login_failed"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["actor"] for row in rows] == ["'=HYPERLINK()"]
    assert rows[0]["action"] == "auth.login_failed"
    after = auditor.get("/audit", params={"action": "audit.exported"}).json()["items"]
    assert after[0]["details"]["rows"] == 1


def test_audit_verify_names_the_first_altered_deleted_or_inserted_event(
    login_as: LoginAs,
    server: LiveServer,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for n in range(4):
        login_as(f"user{n}", "clerk")  # events 1..8
    monkeypatch.setenv("DOCARCHIVE_DATABASE_URL", str(server.settings.database_url))
    assert main(["audit", "verify"]) == 0
    assert "audit chain intact" in capsys.readouterr().out

    tamper(engine, "UPDATE audit_events SET actor = 'someone else' WHERE id = 3")
    assert main(["audit", "verify"]) == 1
    assert "FIRST BAD EVENT 3: altered" in capsys.readouterr().out

    tamper(engine, "UPDATE audit_events SET actor = 'tests' WHERE id = 3")  # put back
    assert main(["audit", "verify"]) == 0
    capsys.readouterr()
    tamper(engine, "DELETE FROM audit_events WHERE id = 5")
    assert main(["audit", "verify"]) == 1
    assert "FIRST BAD EVENT 5: missing" in capsys.readouterr().out


def test_audit_verify_finds_an_inserted_event(
    login_as: LoginAs,
    server: LiveServer,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for n in range(3):
        login_as(f"user{n}", "clerk")  # events 1..6
    tamper(
        engine,
        "UPDATE audit_events SET id = -id WHERE id >= 4",
        "UPDATE audit_events SET id = 1 - id WHERE id < 0",
        "INSERT INTO audit_events (id, occurred_at, actor, action, details, prev_hash, hash) "
        "SELECT 4, now(), 'intruder', 'user.created', '{}'::jsonb, hash, repeat('0', 64) "
        "FROM audit_events WHERE id = 3",
    )
    monkeypatch.setenv("DOCARCHIVE_DATABASE_URL", str(server.settings.database_url))
    assert main(["audit", "verify"]) == 1
    assert "FIRST BAD EVENT 4" in capsys.readouterr().out


def test_the_trail_cannot_be_read_anonymously(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url + "/api/v1") as anonymous:
        assert anonymous.get("/audit").status_code == 401
