"""Accounts and credentials: logins and their throttling, browser sessions with CSRF, API tokens
(scopes, expiry, immediate revocation), user management, the first admin."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.security.authentication import CSRF_COOKIE, SESSION_COOKIE
from app.storage import BlobStore
from app.storage.local import LocalBlobStore
from tests import samples
from tests.conftest import TEST_PASSWORD, LiveServer, LoginAs, create_user, row_count, upload


def login(server: LiveServer, username: str, password: str = TEST_PASSWORD) -> httpx.Response:
    with server.client(anonymous=True) as anonymous:
        return anonymous.post("/auth/login", json={"username": username, "password": password})


@contextmanager
def browser(server: LiveServer, username: str) -> Iterator[tuple[httpx.Client, str]]:
    """A client holding a session cookie, and the CSRF token of that session."""
    with server.client(anonymous=True) as client:
        response = client.post(
            "/auth/login", json={"username": username, "password": TEST_PASSWORD}
        )
        assert response.status_code == 200, response.text
        yield client, response.json()["csrf_token"]


def audit_actions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT action FROM audit_events ORDER BY id")).scalars())


def test_everything_but_health_needs_credentials(server: LiveServer) -> None:
    with server.client(anonymous=True) as anonymous:
        for method, path in [
            ("GET", "/documents"),
            ("POST", "/documents"),
            ("GET", "/search"),
            ("GET", "/me"),
            ("GET", "/users"),
            ("GET", "/document-classes"),
        ]:
            response = anonymous.request(method, path)
            assert response.status_code == 401, (method, path)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert anonymous.get(server.url + "/readyz").status_code == 200
        bad = anonymous.get("/documents", headers={"Authorization": "Bearer dat_not-a-token"})
        assert bad.status_code == 401
        assert "unknown, expired or revoked" in bad.json()["detail"]


def test_login_opens_an_httponly_session_and_logout_ends_it(
    server: LiveServer, engine: Engine
) -> None:
    create_user(engine, "ewa", "accountant")
    response = login(server, "EWA")  # usernames are case-insensitive
    assert response.status_code == 200, response.text
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie
    assert any(c.startswith(CSRF_COOKIE + "=") for c in cookies)
    assert response.json()["user"]["roles"] == ["accountant"]
    with browser(server, "ewa") as (client, csrf):
        assert client.get("/me").json()["username"] == "ewa"
        assert client.post("/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert client.get("/me").status_code == 401
    assert {"auth.login", "auth.logout"} <= set(audit_actions(engine))


def test_a_cookie_request_that_changes_something_needs_the_csrf_token(
    server: LiveServer, engine: Engine
) -> None:
    create_user(engine, "ewa", "accountant")
    with browser(server, "ewa") as (client, csrf):
        content = samples.pdf("csrf")
        files = {"file": ("fv.pdf", content)}
        refused = client.post("/documents", files=files, data={"class": "invoice"})
        assert refused.status_code == 403
        assert "X-CSRF-Token" in refused.json()["detail"]
        forged = client.post(
            "/documents",
            files=files,
            data={"class": "invoice"},
            headers={"X-CSRF-Token": "guessed"},
        )
        assert forged.status_code == 403
        assert row_count(engine, "documents") == 0
        accepted = client.post(
            "/documents", files=files, data={"class": "invoice"}, headers={"X-CSRF-Token": csrf}
        )
        assert accepted.status_code == 202, accepted.text
        assert client.get("/documents").status_code == 200  # reading needs no token


def test_wrong_passwords_are_throttled_per_account_with_backoff(
    server: LiveServer, engine: Engine
) -> None:
    create_user(engine, "olek", "clerk")
    allowed = server.settings.login_failures_per_account
    for _ in range(allowed):
        wrong = login(server, "olek", "not the password")
        assert wrong.status_code == 401
        assert wrong.json()["detail"] == "wrong username or password"
    throttled = login(server, "olek", "not the password")
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    # Even the right password waits: the attacker learns nothing during the backoff.
    assert login(server, "olek").status_code == 429
    # Other accounts are not affected by one account's lockout.
    create_user(engine, "ula", "clerk")
    assert login(server, "ula").status_code == 200
    actions = audit_actions(engine)
    assert actions.count("auth.login_failed") == allowed
    assert actions.count("auth.login_throttled") == 2


def test_unknown_accounts_fail_like_wrong_passwords_and_addresses_are_throttled(
    server: LiveServer, engine: Engine
) -> None:
    unknown = login(server, "nobody", "whatever-password")
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "wrong username or password"
    create_user(engine, "ula", "clerk")
    per_address = server.settings.login_failures_per_address
    # A password spray: one attempt per account name, all from this address.
    for n in range(per_address - 2):
        assert login(server, f"spray{n}", "Summer2026!").status_code == 401
    assert login(server, "ula").status_code == 200
    assert login(server, "spray-last", "Summer2026!").status_code in (401, 429)
    assert login(server, "ula").status_code == 429


def test_token_scopes_limit_what_a_token_may_do(login_as: LoginAs, engine: Engine) -> None:
    reader = login_as("ala", "accountant", scopes=("read",))
    assert reader.get("/documents").status_code == 200
    refused = reader.post(
        "/documents", files={"file": ("fv.pdf", samples.pdf("scope"))}, data={"class": "invoice"}
    )
    assert refused.status_code == 403
    assert "'write' scope" in refused.json()["detail"]
    assert row_count(engine, "documents") == 0
    wider = reader.post("/me/tokens", json={"name": "more", "scopes": ["read", "write"]})
    assert wider.status_code == 403  # a read-only token cannot change anything, itself included


def test_tokens_are_shown_once_stored_hashed_and_revoked_at_once(
    login_as: LoginAs, server: LiveServer, engine: Engine
) -> None:
    ala = login_as("ala", "accountant")
    created = ala.post("/me/tokens", json={"name": "scanner", "scopes": ["read", "write"]})
    assert created.status_code == 201, created.text
    secret = created.json()["token"]
    assert secret.startswith("dat_")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash, prefix FROM api_tokens")).all()
    assert all(secret not in (token_hash, prefix) for token_hash, prefix in stored)
    listed = ala.get("/me/tokens").json()
    assert "token" not in listed[0]
    with server.client(secret) as scanner:
        assert scanner.get("/documents").status_code == 200
        revoked = ala.delete(f"/tokens/{created.json()['id']}")
        assert revoked.status_code == 204
        gone = scanner.get("/documents")
        assert gone.status_code == 401
    assert {"token.created", "token.revoked"} <= set(audit_actions(engine))


def test_expired_tokens_and_deactivated_users_are_refused(
    login_as: LoginAs, server: LiveServer, engine: Engine
) -> None:
    ala = login_as("ala", "accountant")
    assert ala.get("/me").status_code == 200
    with engine.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET expires_at = now() - interval '1 second'"))
    assert ala.get("/me").status_code == 401

    ola = login_as("ola", "accountant")
    admin = login_as("root", "admin")
    ola_id = ola.get("/me").json()["id"]
    assert admin.patch(f"/users/{ola_id}", json={"active": False}).status_code == 200
    assert ola.get("/me").status_code == 401
    assert login(server, "ola").status_code == 401


def test_token_lifetime_and_scope_requests_are_checked(login_as: LoginAs) -> None:
    ala = login_as("ala", "accountant")
    too_long = ala.post("/me/tokens", json={"name": "x", "scopes": ["read"], "days": 3650})
    assert too_long.status_code == 422
    unknown = ala.post("/me/tokens", json={"name": "x", "scopes": ["root"]})
    assert unknown.status_code == 422


def test_only_admins_manage_users_and_roles(
    login_as: LoginAs, server: LiveServer, engine: Engine
) -> None:
    admin = login_as("root", "admin")
    for role in ("archivist", "accountant", "approver", "hr", "clerk", "auditor"):
        other = login_as(f"user-{role}", role)
        refused = other.post("/users", json={"username": "x", "roles": ["admin"]})
        assert refused.status_code == 403, role
        assert other.get("/users").status_code == 403, role
    made = admin.post(
        "/users",
        json={"username": "nowa", "password": "a-long-enough-secret", "roles": ["hr"]},
    )
    assert made.status_code == 201, made.text
    assert login(server, "nowa", "a-long-enough-secret").status_code == 200
    again = admin.post("/users", json={"username": "NOWA", "roles": []})
    assert again.status_code == 409
    weak = admin.post("/users", json={"username": "weak", "password": "short", "roles": []})
    assert weak.status_code == 422
    bad_role = admin.post("/users", json={"username": "x", "roles": ["superuser"]})
    assert bad_role.status_code == 422
    changed = admin.patch(f"/users/{made.json()['id']}", json={"roles": ["hr", "approver"]})
    assert changed.json()["roles"] == ["approver", "hr"]
    assert "user.permissions_changed" in audit_actions(engine)


def test_changing_a_password_needs_the_current_one_and_ends_sessions(
    server: LiveServer, engine: Engine
) -> None:
    create_user(engine, "ewa", "accountant")
    with browser(server, "ewa") as (client, csrf):
        headers = {"X-CSRF-Token": csrf}
        wrong = client.post(
            "/me/password",
            json={"new_password": "another-long-password", "current_password": "nope"},
            headers=headers,
        )
        assert wrong.status_code == 422
        changed = client.post(
            "/me/password",
            json={"new_password": "another-long-password", "current_password": TEST_PASSWORD},
            headers=headers,
        )
        assert changed.status_code == 204
        assert client.get("/me").status_code == 401
    assert login(server, "ewa").status_code == 401
    assert login(server, "ewa", "another-long-password").status_code == 200


def test_passwords_are_stored_as_argon2id(engine: Engine) -> None:
    create_user(engine, "ewa", "accountant")
    with engine.connect() as conn:
        stored: Any = conn.execute(text("SELECT password_hash FROM users")).scalar_one()
    assert stored.startswith("$argon2id$")
    assert TEST_PASSWORD not in stored


def test_upload_rights_follow_the_class(login_as: LoginAs, engine: Engine) -> None:
    clerk = login_as("kasia", "clerk")
    hr_file = clerk.post(
        "/documents", files={"file": ("akta.pdf", samples.pdf("hr"))}, data={"class": "hr_record"}
    )
    assert hr_file.status_code == 403
    assert "hr_record" in hr_file.json()["detail"]
    invoice_id = upload(clerk, samples.pdf("own"), "fv.pdf", **{"class": "invoice"})
    # A clerk sees what they uploaded, and nothing else.
    assert clerk.get(f"/documents/{invoice_id}").status_code == 200
    other = login_as("marek", "clerk")
    assert other.get(f"/documents/{invoice_id}").status_code == 404
    assert row_count(engine, "documents") == 1


@pytest.mark.parametrize("role", ["admin", "archivist", "accountant", "approver", "auditor"])
def test_hr_records_are_invisible_to_every_role_but_hr(login_as: LoginAs, role: str) -> None:
    hr = login_as("hania", "hr")
    document_id = upload(hr, samples.pdf("akta"), "akta.pdf", **{"class": "hr_record"})
    assert hr.get(f"/documents/{document_id}").status_code == 200
    other = login_as(f"someone-{role}", role)
    assert other.get(f"/documents/{document_id}").status_code == 404
    assert other.get("/documents").json()["items"] == []


@pytest.fixture
def blob_store(tmp_path: Path) -> BlobStore:
    """Credentials do not depend on the blob store: the local one is enough here."""
    return LocalBlobStore(tmp_path / "var" / "blobs")


def test_cli_creates_users_and_tokens(
    server: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli import main

    monkeypatch.setenv("DOCARCHIVE_DATABASE_URL", str(server.settings.database_url))
    assert main(["user", "create", "anna", "--role", "accountant", "--role", "approver"]) == 0
    created = capsys.readouterr().out
    assert "roles accountant, approver" in created
    password = created.strip().splitlines()[-1].removeprefix("password (shown once): ")
    assert login(server, "anna", password).status_code == 200
    assert main(["user", "create", "anna"]) == 1
    assert "exists already" in capsys.readouterr().err
    assert main(["user", "create", "boss", "--admin", "--role", "nobody"]) == 1
    assert "unknown roles" in capsys.readouterr().err

    assert main(["user", "token", "anna", "--scope", "read", "--days", "7"]) == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    with server.client(secret) as anna:
        me = anna.get("/me").json()
    assert (me["username"], me["scopes"]) == ("anna", ["read"])
    assert main(["user", "token", "ghost"]) == 1


def _example_path(template: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.endswith("id"):
            return str(uuid.uuid4())
        return "1" if name in {"number", "version"} else "invoice"

    return re.sub(r"\{([^}]+)\}", value, template)


def test_every_api_operation_refuses_a_caller_without_credentials(server: LiveServer) -> None:
    """Walks the OpenAPI document: nothing under /api/v1 but the login answers anonymously."""
    public = {
        ("post", "/api/v1/auth/login"),
        ("delete", "/api/v1/documents/{document_id}"),  # 405 for everyone: nothing is deleted
    }
    operations = [
        (method, path)
        for path, item in server.app.openapi()["paths"].items()
        if path.startswith("/api/v1/")
        for method in item
        if (method, path) not in public
    ]
    assert len(operations) > 40
    with server.client(anonymous=True) as anonymous:
        for method, path in operations:
            response = anonymous.request(
                method.upper(), _example_path(path).removeprefix("/api/v1")
            )
            assert response.status_code == 401, (method, path, response.status_code)
