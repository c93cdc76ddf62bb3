"""IMAP intake against a real dovecot on loopback: attachments become documents, each message
exactly once, malformed messages and attachments are reported and the mailbox goes on."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.engine import Engine

from app.cli import main
from app.config import Settings
from app.db import build_sessionmaker, session_scope
from app.documents.models import Document, DocumentVersion
from app.intake import imap
from app.intake.models import IntakeItem, IntakeMessage
from app.intake.rules import load_rules
from app.storage.local import LocalBlobStore
from schemas.intake import ImapMailbox
from tests import samples
from tests.dovecot import PASSWORD, Dovecot
from workers import runtime
from workers.app import MAINTENANCE_QUEUE, connected

RULES = """
[[mail]]
sender = "*@dostawca.pl"
subject = "faktur"
class = "invoice"
tags = ["dostawca"]
"""


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailbox_user(dovecot: Dovecot) -> str:
    return dovecot.new_user()


def _mailbox(dovecot: Dovecot, user: str, **options: object) -> ImapMailbox:
    return ImapMailbox.model_validate(
        {
            "name": "faktury",
            "host": "127.0.0.1",
            "port": dovecot.port,
            "ssl": False,
            "username": user,
            "password": PASSWORD,
            "tags": ["e-mail"],
            **options,
        }
    )


@pytest.fixture
def intake_settings(settings: Settings, tmp_path: Path) -> Settings:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    return settings.model_copy(update={"intake_rules_file": rules})


def _context(settings: Settings, engine: Engine) -> imap.IntakeContext:
    return imap.IntakeContext(
        settings=settings,
        factory=build_sessionmaker(engine),
        store=LocalBlobStore(settings.data_dir / "blobs"),
        rules=load_rules(settings.intake_rules_file),
    )


def message(
    subject: str,
    *attachments: tuple[str, bytes, str],
    sender: str = "ksiegowosc@dostawca.pl",
    inline_logo: bool = False,
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"Dział księgowości <{sender}>"
    mail["To"] = "faktury@firma.pl"
    mail["Subject"] = subject
    mail["Date"] = "Mon, 02 Mar 2026 10:15:00 +0100"
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@dostawca.pl>"
    mail.set_content("W załączeniu dokument.")
    if inline_logo:
        # An HTML body with an embedded image (Content-ID): part of the body, not a document.
        mail.add_alternative('<p>Faktura</p><img src="cid:logo@dostawca">', subtype="html")
        html = mail.get_payload()[1]
        html.add_related(
            samples.png("logo"), maintype="image", subtype="png", cid="<logo@dostawca>"
        )
    for filename, content, media_type in attachments:
        maintype, subtype = media_type.split("/")
        mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return mail


BROKEN_STRUCTURE = (
    b"From: someone@example.com\r\nTo: faktury@firma.pl\r\nSubject: broken\r\n"
    b"Message-ID: <broken-structure@example.com>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\nthe boundary never comes\r\n'
)

DAMAGED_BASE64 = (
    b"From: someone@example.com\r\nTo: faktury@firma.pl\r\nSubject: damaged\r\n"
    b"Message-ID: <damaged-attachment@example.com>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
    b"--XYZ\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    b"--XYZ\r\nContent-Type: application/pdf\r\n"
    b'Content-Disposition: attachment; filename="broken.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK!!!*&^%$#abc=\r\n--XYZ--\r\n"
)


def _messages(engine: Engine) -> dict[str, IntakeMessage]:
    with session_scope(build_sessionmaker(engine)) as session:
        return {m.message_id: m for m in session.scalars(select(IntakeMessage))}


def _items(engine: Engine) -> list[IntakeItem]:
    with session_scope(build_sessionmaker(engine)) as session:
        return list(session.scalars(select(IntakeItem).order_by(IntakeItem.created_at)))


def _document(engine: Engine, document_id: uuid.UUID) -> tuple[Document, DocumentVersion]:
    with session_scope(build_sessionmaker(engine)) as session:
        document = session.get(Document, document_id)
        assert document is not None
        version = session.get(DocumentVersion, document.current_version_id)
        assert version is not None
        return document, version


def test_a_mailbox_with_good_malformed_and_duplicate_messages(
    dovecot: Dovecot, mailbox_user: str, intake_settings: Settings, engine: Engine
) -> None:
    invoice_pdf = samples.pdf("FV/2026/03/1")
    invoice = message(
        "Faktura FV/2026/03/1",
        ("FV-2026-03-1.pdf", invoice_pdf, "application/pdf"),
        inline_logo=True,
    )
    mixed = message(
        "Umowa i skan",
        ("skan.tiff", samples.tiff("umowa"), "image/tiff"),
        ("umowa.docx", b"PK\x03\x04 not really a document", "application/octet-stream"),
        sender="biuro@kancelaria.pl",
    )
    resent_content = message(
        "Faktura FV/2026/03/1 (ponownie)",
        ("kopia.pdf", invoice_pdf, "application/pdf"),
    )
    no_attachment = message("Pytanie o termin płatności")
    for mail in (invoice, mixed, BROKEN_STRUCTURE, DAMAGED_BASE64, resent_content, no_attachment):
        dovecot.deliver(mailbox_user, mail)
    dovecot.deliver(mailbox_user, invoice)  # the same message (same Message-ID) once more

    mailbox = _mailbox(dovecot, mailbox_user)
    report = imap.poll_mailbox(_context(intake_settings, engine), mailbox)

    assert report.error is None
    assert report.messages == 6
    assert report.already_processed == 1
    assert len(report.documents) == 2  # the invoice PDF and the scan
    assert report.duplicates == 1  # the PDF sent again in another message
    assert report.refused == 2  # the .docx and the damaged base64 attachment
    assert report.malformed == 1

    messages = _messages(engine)
    assert messages[str(invoice["Message-ID"])].outcome == "processed"
    assert messages["<broken-structure@example.com>"].outcome == "malformed"
    assert "StartBoundaryNotFoundDefect" in (
        messages["<broken-structure@example.com>"].detail or ""
    )
    assert messages[str(no_attachment["Message-ID"])].outcome == "no_attachments"

    items = {item.filename: item for item in _items(engine)}
    assert items["FV-2026-03-1.pdf"].outcome == "ingested"
    assert items["kopia.pdf"].outcome == "duplicate"
    assert items["kopia.pdf"].document_id == items["FV-2026-03-1.pdf"].document_id
    assert items["umowa.docx"].outcome == "refused"
    assert "accepted are PDF" in (items["umowa.docx"].reason or "")
    assert items["broken.pdf"].outcome == "refused"
    assert "encoding is damaged" in (items["broken.pdf"].reason or "")
    assert "logo" not in " ".join(items)

    document_id = items["FV-2026-03-1.pdf"].document_id
    assert document_id is not None
    document, version = _document(engine, document_id)
    assert version.original_filename == "FV-2026-03-1.pdf"
    assert version.uploaded_by == "imap"
    assert document.document_class == "invoice"
    assert document.tags == ["e-mail", "dostawca"]
    email_meta = document.custom_fields["email"]
    assert email_meta["from"] == "ksiegowosc@dostawca.pl"
    assert email_meta["subject"] == "Faktura FV/2026/03/1"
    assert email_meta["message_id"] == str(invoice["Message-ID"])
    assert email_meta["date"] == "2026-03-02T10:15:00+01:00"

    scan_id = items["skan.tiff"].document_id
    assert scan_id is not None
    scan, _ = _document(engine, scan_id)
    assert scan.document_class is None  # no rule for this sender
    assert scan.tags == ["e-mail"]

    flags = dovecot.flags(mailbox_user)
    assert len(flags) == 7
    assert all(imap.PROCESSED_KEYWORD in line for line in flags), flags
    assert all("\\Seen" not in line for line in flags), "fetching must not mark mail as read"

    again = imap.poll_mailbox(_context(intake_settings, engine), mailbox)
    assert (again.messages, again.already_processed, again.documents) == (0, 0, [])


def test_a_message_recorded_but_not_flagged_is_not_taken_twice(
    dovecot: Dovecot, mailbox_user: str, intake_settings: Settings, engine: Engine
) -> None:
    mail = message("Faktura", ("f.pdf", samples.pdf("restart"), "application/pdf"))
    dovecot.deliver(mailbox_user, mail)
    mailbox = _mailbox(dovecot, mailbox_user)
    first = imap.poll_mailbox(_context(intake_settings, engine), mailbox)
    assert len(first.documents) == 1
    # As if the poller died after its commit, before the flag reached the server.
    connection = dovecot.connect(mailbox_user)
    connection.select("INBOX")
    connection.uid("STORE", "1", "-FLAGS", f"({imap.PROCESSED_KEYWORD})")
    connection.logout()

    second = imap.poll_mailbox(_context(intake_settings, engine), mailbox)

    assert second.already_processed == 1
    assert second.documents == []
    assert len(_items(engine)) == 1
    assert imap.PROCESSED_KEYWORD in dovecot.flags(mailbox_user)[0]


def test_processed_messages_move_to_the_processed_folder(
    dovecot: Dovecot, mailbox_user: str, intake_settings: Settings, engine: Engine
) -> None:
    for label in ("a", "b"):
        dovecot.deliver(
            mailbox_user, message(label, (f"{label}.png", samples.png(label), "image/png"))
        )
    mailbox = _mailbox(dovecot, mailbox_user, processed_folder="Archiwum")

    report = imap.poll_mailbox(_context(intake_settings, engine), mailbox)

    assert len(report.documents) == 2
    assert dovecot.count(mailbox_user, "INBOX") == 0
    assert dovecot.count(mailbox_user, "Archiwum") == 2


def test_an_unreachable_mailbox_does_not_stop_the_others(
    dovecot: Dovecot, mailbox_user: str, intake_settings: Settings, engine: Engine
) -> None:
    dovecot.deliver(mailbox_user, message("x", ("x.jpg", samples.jpeg("x"), "image/jpeg")))
    wrong_password = _mailbox(dovecot, mailbox_user).model_copy(
        update={"name": "zle-haslo", "password": SecretStr("wrong")}
    )
    settings = intake_settings.model_copy(
        update={"imap_mailboxes": [wrong_password, _mailbox(dovecot, mailbox_user)]}
    )

    reports = imap.poll_mailboxes(_context(settings, engine), engine)

    assert reports[0].error is not None
    assert "AUTHENTICATIONFAILED" in reports[0].error or "failed" in reports[0].error.lower()
    assert len(reports[1].documents) == 1


def test_the_periodic_task_polls_the_mailboxes(
    dovecot: Dovecot, mailbox_user: str, intake_settings: Settings, engine: Engine
) -> None:
    dovecot.deliver(
        mailbox_user, message("task", ("t.pdf", samples.pdf("task"), "application/pdf"))
    )
    settings = intake_settings.model_copy(
        update={"imap_mailboxes": [_mailbox(dovecot, mailbox_user)]}
    )
    worker_runtime = runtime.configure(
        settings, engine=engine, store=LocalBlobStore(settings.data_dir / "blobs")
    )
    assert settings.database_url is not None
    try:
        with connected(settings.database_url) as app:
            with app.open():
                app.configure_task("intake.poll_mailboxes").defer(timestamp=0)
            app.run_worker(wait=False, queues=[MAINTENANCE_QUEUE], install_signal_handlers=False)
    finally:
        worker_runtime.reset_executor()

    assert [item.outcome for item in _items(engine)] == ["ingested"]
    assert imap.PROCESSED_KEYWORD in dovecot.flags(mailbox_user)[0]


def test_the_imap_command_polls_once(
    dovecot: Dovecot,
    mailbox_user: str,
    intake_settings: Settings,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dovecot.deliver(mailbox_user, message("cli", ("c.pdf", samples.pdf("cli"), "application/pdf")))
    mailbox = _mailbox(dovecot, mailbox_user).model_dump(mode="json")
    mailbox["password"] = PASSWORD
    monkeypatch.setenv("DOCARCHIVE_DATABASE_URL", str(intake_settings.database_url))
    monkeypatch.setenv("DOCARCHIVE_DATA_DIR", str(intake_settings.data_dir))
    monkeypatch.setenv("DOCARCHIVE_IMAP_MAILBOXES", json.dumps([mailbox]))
    monkeypatch.setenv("DOCARCHIVE_LOG_FORMAT", "text")

    assert main(["imap"]) == 0

    out = capsys.readouterr().out
    assert "faktury: 1 message(s), 1 document(s)" in out
    assert PASSWORD not in out
    assert [item.outcome for item in _items(engine)] == ["ingested"]
