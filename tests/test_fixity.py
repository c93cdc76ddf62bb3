"""The fixity job on a real archive: shares that cover the store, flags for missing and altered
blobs (audit, verify, metrics, refused downloads), recovery, one run at a time."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.cli import main
from app.db import build_sessionmaker
from app.locks import lock_key
from app.reliability.fixity import FixityRunInProgress, run_fixity
from app.reliability.models import FixityCheck, FixityRun
from app.storage import BlobStore, blob_key
from app.storage.s3 import S3BlobStore
from tests import samples
from tests.conftest import LiveServer, upload
from workers import runtime
from workers.tasks import check_fixity

pytestmark = pytest.mark.parametrize("blob_store", ["local"], indirect=True)


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return build_sessionmaker(engine)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, server: LiveServer) -> LiveServer:
    monkeypatch.setenv("DOCARCHIVE_DATABASE_URL", str(server.settings.database_url))
    monkeypatch.setenv("DOCARCHIVE_DATA_DIR", str(server.settings.data_dir))
    return server


def _checks(factory: sessionmaker[Session]) -> dict[str, FixityCheck]:
    with factory() as session:
        return {str(c.document_id): c for c in session.scalars(select(FixityCheck))}


def _audit(engine: Engine, action: str) -> list[tuple[str | None, dict[str, object]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT document_id::text, details FROM audit_events WHERE action = :a ORDER BY id"
            ),
            {"a": action},
        )
        return [(row[0], row[1]) for row in rows]


def test_shares_cover_the_store_least_recently_checked_first(
    client: httpx.Client, server: LiveServer, factory: sessionmaker[Session], engine: Engine
) -> None:
    documents = [upload(client, samples.png(f"d{n}"), f"d{n}.png") for n in range(5)]

    first = run_fixity(factory, server.store, share=0.4, trigger="test")
    after_first = _checks(factory)
    second = run_fixity(factory, server.store, share=0.4, trigger="test")
    after_second = _checks(factory)
    third = run_fixity(factory, server.store, share=0.4, trigger="test")
    after_third = _checks(factory)

    assert (first.planned, first.checked, second.checked, third.checked) == (2, 2, 2, 2)
    assert len(after_first) == 2
    assert len(after_second) == 4
    assert set(after_first) <= set(after_second)
    assert set(after_third) == set(documents)  # covered in ceil(1 / 0.4) = 3 runs
    # The third run took the one never checked, then the least recently checked one.
    oldest = min(after_first.values(), key=lambda c: (c.checked_at, c.version_id))
    assert after_third[str(oldest.document_id)].checked_at > oldest.checked_at
    assert all(c.outcome == "ok" and c.failing_since is None for c in after_third.values())
    summaries = [details for _, details in _audit(engine, "fixity.run")]
    assert [s["checked"] for s in summaries] == [2, 2, 2]
    assert _audit(engine, "fixity.failed") == []


def _corrupt(store: BlobStore, sha256: str, tmp_path: Path) -> bytes:
    key = blob_key(sha256)
    original = b"".join(store.open(key))
    altered = tmp_path / "altered"
    altered.write_bytes(original[:200] + bytes([original[200] ^ 0x01]) + original[201:])
    store.delete(key)
    store.put(key, altered, size=altered.stat().st_size)
    return original


def test_missing_and_altered_blobs_flag_their_documents_until_put_back(
    cli_env: LiveServer,
    client: httpx.Client,
    factory: sessionmaker[Session],
    engine: Engine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = cli_env.store
    intact = client.post("/documents", files={"file": ("a.pdf", samples.pdf("a"))}).json()
    bent = client.post("/documents", files={"file": ("b.png", samples.png("b"))}).json()
    gone = client.post("/documents", files={"file": ("c.png", samples.png("c"))}).json()
    original = _corrupt(store, bent["sha256"], tmp_path)
    store.delete(blob_key(gone["sha256"]))

    assert main(["fixity", "--all"]) == 1
    out = capsys.readouterr().out
    assert "blobs re-hashed: 3 of 3 planned" in out
    assert f"FAILED  document {bent['id']} version 1" in out
    assert f"FAILED  document {gone['id']} version 1" in out
    checks = _checks(factory)
    assert {d: checks[d].outcome for d in checks} == {
        intact["id"]: "ok",
        bent["id"]: "corrupt",
        gone["id"]: "missing",
    }
    failed = _audit(engine, "fixity.failed")
    assert sorted(doc for doc, _ in failed) == sorted([bent["id"], gone["id"]])

    # verify lists the flags; downloads refuse instead of serving wrong bytes
    assert main(["verify", "--no-hash"]) == 1
    out = capsys.readouterr().out
    assert f"fixity: document {bent['id']} version 1: the blob no longer matches" in out
    assert f"fixity: document {gone['id']} version 1: the blob is missing" in out
    assert "(3 checked, 2 failed, 0 unreadable); 0 versions never checked" in out
    for document, word in ((bent, "no longer matches"), (gone, "missing")):
        refused = client.get(f"/documents/{document['id']}/content")
        assert refused.status_code == 500
        assert refused.json()["type"].endswith("/blob-integrity")
        assert word in refused.json()["detail"]
    problems = client.get(f"/documents/{gone['id']}").json()["integrity_problems"]
    assert len(problems) == 1
    assert problems[0].startswith("version 1: missing since ")
    assert client.get(f"/documents/{intact['id']}").json()["integrity_problems"] == []
    metrics = httpx.get(cli_env.url + "/metrics").text
    assert 'docarchive_fixity_failures{outcome="corrupt"} 1.0' in metrics
    assert 'docarchive_fixity_failures{outcome="missing"} 1.0' in metrics
    assert "docarchive_fixity_last_run_failed 2.0" in metrics
    assert "docarchive_fixity_blobs_checked_total 3.0" in metrics

    # the altered blob is put back from a backup: the next check clears its flag
    store.delete(blob_key(bent["sha256"]))
    restored = tmp_path / "restored"
    restored.write_bytes(original)
    store.put(blob_key(bent["sha256"]), restored, size=len(original))
    first_failure = checks[gone["id"]].failing_since
    report = run_fixity(factory, store, share=1, trigger="test")

    assert report.recovered == 1
    assert [f.document_id for f in report.failures] == [checks[gone["id"]].document_id]
    after = _checks(factory)
    assert after[bent["id"]].outcome == "ok"
    assert after[bent["id"]].failing_since is None
    assert after[gone["id"]].failing_since == first_failure  # still failing since the first
    assert [doc for doc, _ in _audit(engine, "fixity.recovered")] == [bent["id"]]
    assert client.get(f"/documents/{bent['id']}/content").content == original


def test_an_unreachable_store_is_no_verdict_on_the_blobs(
    client: httpx.Client, factory: sessionmaker[Session], engine: Engine
) -> None:
    upload(client, samples.png("x"), "x.png")
    upload(client, samples.png("y"), "y.png")
    unreachable = S3BlobStore(
        endpoint="127.0.0.1:1", bucket="nowhere", access_key="x", secret_key="y",
        secure=False, region="us-east-1", timeout_seconds=0.3,
    )  # fmt: skip

    report = run_fixity(factory, unreachable, share=1, trigger="test")

    assert (report.checked, len(report.unreadable), report.failures) == (0, 2, [])
    assert _checks(factory) == {}  # both come first again in the next run
    with factory() as session:
        run = session.scalars(select(FixityRun)).one()
    assert (run.planned, run.checked, run.unreadable) == (2, 0, 2)


def test_one_run_at_a_time_and_the_nightly_task_steps_aside(
    client: httpx.Client, server: LiveServer, factory: sessionmaker[Session], engine: Engine
) -> None:
    upload(client, samples.png("z"), "z.png")
    runtime.configure(server.settings, engine=engine, store=server.store)
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key("fixity", "run")})
        with pytest.raises(FixityRunInProgress):
            run_fixity(factory, server.store, share=1, trigger="test")
        assert check_fixity(0) == 0
        holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key("fixity", "run")})
        holder.commit()

    assert check_fixity(0) == 1  # the default share of one document is that document
    with factory() as session:
        assert session.scalars(select(FixityRun.trigger)).all() == ["schedule"]
