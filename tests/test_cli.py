"""The `docarchive` command: bulk import, and `serve` on the embedded defaults."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy.engine import Engine

from app.cli import main
from tests import samples
from tests.conftest import free_port, row_count


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Path:
    monkeypatch.setenv("DOCARCHIVE_DATABASE_URL", database_url)
    monkeypatch.setenv("DOCARCHIVE_DATA_DIR", str(tmp_path / "var"))
    return tmp_path


def test_import_reports_accepted_duplicates_and_refusals(
    cli_env: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    inbox = cli_env / "inbox"
    (inbox / "2026" / "03").mkdir(parents=True)
    first = samples.pdf("one")
    (inbox / "a.pdf").write_bytes(first)
    (inbox / "2026" / "03" / "b.tiff").write_bytes(samples.tiff("two"))
    (inbox / "2026" / "03" / "copy-of-a.pdf").write_bytes(first)
    (inbox / "notes.txt").write_text("not a document")
    (inbox / "empty.pdf").write_bytes(b"")
    (inbox / "FA3.xml").write_bytes(samples.ksef_fa3())

    code = main(["import", str(inbox), "--class", "invoice", "--tag", "skan"])

    err = capsys.readouterr().err
    assert code == 1
    assert "accepted: 3, duplicates skipped: 1, refused: 2" in err
    assert "notes.txt" in err
    assert "plain text" in err
    assert "the file is empty" in err
    assert row_count(engine, "documents") == 3
    assert list((cli_env / "var" / "tmp").iterdir()) == []


def test_import_of_only_good_files_exits_zero(cli_env: Path, engine: Engine) -> None:
    path = cli_env / "scan.png"
    path.write_bytes(samples.png("ok"))
    assert main(["import", str(path)]) == 0
    assert main(["import", str(path)]) == 0  # a duplicate is skipped, not a failure
    assert row_count(engine, "documents") == 1


def test_production_refuses_the_development_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCARCHIVE_ENVIRONMENT", "production")
    assert main(["migrate"]) == 2
    assert "DOCARCHIVE_SECRET_KEY must be set" in capsys.readouterr().err


def _postgres_processes(pgdata: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] == "postgres" and str(pgdata) in cmdline:
            found.append(proc)
    return found


class Serve:
    """`docarchive serve` in a subprocess with no database configured."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCARCHIVE_")}
        env.pop("DATABASE_URL", None)
        self.env = env
        self.log = workdir / f"serve-{self.port}.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
                cwd=workdir,
                env=env,
                stdout=log,
                stderr=subprocess.DEVNULL,
            )
        self._wait_ready()

    def first_admin_password(self) -> str:
        """The one-time password the first start prints under its announcement."""
        lines = self.log.read_text().splitlines()
        start = next(i for i, line in enumerate(lines) if "created the account 'admin'" in line)
        return lines[start + 1].strip()

    def api_token(self, password: str) -> str:
        """Log in as admin in a browser session, then make an API token with it."""
        with httpx.Client(base_url=self.url + "/api/v1") as browser:
            login = browser.post("/auth/login", json={"username": "admin", "password": password})
            assert login.status_code == 200, login.text
            csrf = login.json()["csrf_token"]
            created = browser.post(
                "/me/tokens",
                json={"name": "cli test", "scopes": ["read", "write"]},
                headers={"X-CSRF-Token": csrf},
            )
            assert created.status_code == 201, created.text
            token: str = created.json()["token"]
            return token

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("serve did not become ready")

    def stop(self, sig: int) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


def _workers_of(workdir: Path) -> list[psutil.Process]:
    return [
        proc
        for proc in psutil.process_iter(["cmdline", "cwd"])
        if "worker" in (proc.info["cmdline"] or []) and proc.info["cwd"] == str(workdir)
    ]


def _wait_gone(pgdata: Path, seconds: float = 30) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    while _postgres_processes(pgdata) and time.monotonic() < deadline:
        time.sleep(0.2)
    return _postgres_processes(pgdata)


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    from app.embedded import stop_server

    stop_server(tmp_path / "var" / "postgres")


def test_serve_on_embedded_defaults_round_trip_and_clean_stops(workdir: Path) -> None:
    pgdata = workdir / "var" / "postgres"
    content = samples.pdf("embedded")

    serve = Serve(workdir)
    password = serve.first_admin_password()
    auth = {"Authorization": f"Bearer {serve.api_token(password)}"}
    anonymous = httpx.post(serve.url + "/api/v1/documents", files={"file": ("scan.pdf", content)})
    assert anonymous.status_code == 401
    accepted = httpx.post(
        serve.url + "/api/v1/documents", files={"file": ("scan.pdf", content)}, headers=auth
    )
    assert accepted.status_code == 202
    document_id = accepted.json()["id"]
    download = httpx.get(f"{serve.url}/api/v1/documents/{document_id}/content", headers=auth)
    assert download.content == content
    assert (workdir / "var" / "blobs" / "sha256").is_dir()
    assert _postgres_processes(pgdata)
    invoice = httpx.post(
        serve.url + "/api/v1/documents",
        files={"file": ("fa3.xml", samples.ksef_fa3("FV/3/26"))},
        headers=auth,
    ).json()
    deadline = time.monotonic() + 60
    invoice_url = f"{serve.url}/api/v1/documents/{invoice['id']}"
    while httpx.get(invoice_url, headers=auth).json()["status"] != "processed":
        assert time.monotonic() < deadline, "the embedded worker did not process the upload"
        time.sleep(0.3)
    (workdir / "inbox.png").write_bytes(samples.png("shared"))
    imported = subprocess.run(
        [sys.executable, "-m", "app.cli", "import", "inbox.png"],
        cwd=workdir,
        env=serve.env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    assert httpx.get(serve.url + "/readyz").status_code == 200, "import stopped serve's database"
    assert serve.stop(signal.SIGTERM) == 0
    assert _wait_gone(pgdata, seconds=1) == []
    assert _workers_of(workdir) == []

    killed = Serve(workdir)
    killed.stop(signal.SIGKILL)
    assert _wait_gone(pgdata) == [], "a SIGKILLed serve left postgres running"
    deadline = time.monotonic() + 30
    while _workers_of(workdir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _workers_of(workdir) == [], "a SIGKILLed serve left its worker running"

    again = Serve(workdir)
    assert "created the account" not in again.log.read_text(), "a second admin was made"
    listed = httpx.get(again.url + "/api/v1/documents", headers=auth).json()["items"]
    assert len(listed) == 3  # the upload, the invoice and the imported scan
    assert {document_id, invoice["id"]} <= {d["id"] for d in listed}
    assert again.stop(signal.SIGINT) == 0
    assert _wait_gone(pgdata, seconds=1) == []
