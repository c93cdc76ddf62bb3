"""`docarchive verify` on a real archive: clean, then broken in each way it must notice."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.cli import main
from app.storage import blob_key
from tests import samples
from tests.conftest import LiveServer


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, server: LiveServer) -> LiveServer:
    monkeypatch.setenv("DOCARCHIVE_DATABASE_URL", str(server.settings.database_url))
    monkeypatch.setenv("DOCARCHIVE_DATA_DIR", str(server.settings.data_dir))
    monkeypatch.setenv("DOCARCHIVE_GC_GRACE_SECONDS", "0")
    return server


def _verify(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["verify"])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("blob_store", ["local"], indirect=True)
def test_verify_passes_then_names_each_problem(
    cli_env: LiveServer,
    client: httpx.Client,
    engine: Engine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kept = client.post("/documents", files={"file": ("a.pdf", samples.pdf("a"))}).json()
    bent = client.post("/documents", files={"file": ("b.png", samples.png("b"))}).json()
    gone = client.post("/documents", files={"file": ("c.png", samples.png("c"))}).json()

    code, out = _verify(capsys)
    assert code == 0, out
    assert "versions checked (sizes and SHA-256): 3" in out
    assert "archive OK" in out

    root = cli_env.settings.resolved_blob_dir
    bent_path = root / blob_key(bent["sha256"])
    data = bytearray(bent_path.read_bytes())
    data[100] ^= 0xFF
    bent_path.write_bytes(bytes(data))
    (root / blob_key(gone["sha256"])).unlink()
    orphan = tmp_path / "orphan"
    orphan.write_bytes(b"%PDF-1.4 nobody's")
    orphan_key = blob_key(hashlib.sha256(orphan.read_bytes()).hexdigest())
    cli_env.store.put(orphan_key, orphan, size=orphan.stat().st_size)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        conn.execute(
            text("UPDATE audit_events SET actor = 'mallory' WHERE document_id = :id"),
            {"id": kept["id"]},
        )
        conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))

    code, out = _verify(capsys)

    assert code == 1
    assert f"document {bent['id']} version 1" in out
    assert "no longer matches its SHA-256" in out
    assert f"document {gone['id']} version 1" in out
    assert "the blob is missing" in out
    assert f"ORPHAN  {orphan_key}" in out
    assert "audit chain broken at event" in out
    assert "archive NOT OK" in out
