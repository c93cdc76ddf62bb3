"""IMAP intake: attachments of new messages become documents, each message exactly once.

For every message not yet flagged `$DocarchiveProcessed`: fetch it (without marking it read),
record it by Message-ID together with the documents made from its attachments in one
transaction, then flag it (or move it to `processed_folder`). A message whose Message-ID is
already recorded (a crash before the flag, the same message in two mailboxes) is only flagged.
A malformed message or attachment is recorded and logged; the poll goes on with the next one.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import session_scope
from app.documents.upload import FileSpooler, SpooledFile
from app.errors import DomainError
from app.intake.lease import AdvisoryLease
from app.intake.mail import (
    PARSE_ERRORS,
    Attachment,
    MailMessage,
    parse_message,
    unreadable_message,
)
from app.intake.models import IntakeChannel, IntakeMessage, ItemOutcome, MessageOutcome
from app.intake.rules import IntakeRules
from app.intake.service import IntakeResult, IntakeSource, record_item, take_file
from app.observability.logs import log_context
from app.security.principal import system_actor
from app.storage import BlobStore
from schemas.documents import MetadataFields
from schemas.intake import ImapMailbox

log = logging.getLogger(__name__)

IMAP_ACTOR = system_actor("imap")
PROCESSED_KEYWORD = "$DocarchiveProcessed"
IMAP_TIMEOUT_SECONDS = 60.0
_UID = re.compile(rb"UID (\d+)")


class ImapError(Exception):
    """The mailbox could not be read (connection, login, folder): retried on the next poll."""


@dataclass
class MailboxReport:
    mailbox: str
    messages: int = 0
    already_processed: int = 0
    documents: list[uuid.UUID] = field(default_factory=list)
    duplicates: int = 0
    refused: int = 0
    malformed: int = 0
    error: str | None = None


@dataclass(frozen=True)
class IntakeContext:
    settings: Settings
    factory: sessionmaker[Session]
    store: BlobStore
    rules: IntakeRules


def poll_mailboxes(context: IntakeContext, engine: Engine) -> list[MailboxReport]:
    """Every configured mailbox, each by one poller at a time; one failing stops no other."""
    reports = []
    for mailbox in context.settings.imap_mailboxes:
        lease = AdvisoryLease(engine, "imap", mailbox.name)
        if not lease.held():
            log.info("mailbox %s is being polled elsewhere", mailbox.name)
            continue
        try:
            reports.append(poll_mailbox(context, mailbox))
        finally:
            lease.release()
    return reports


def poll_mailbox(context: IntakeContext, mailbox: ImapMailbox) -> MailboxReport:
    report = MailboxReport(mailbox.name)
    try:
        with _connected(mailbox) as imap:
            for uid in _unprocessed(imap):
                _take_message(context, mailbox, imap, uid, report)
    except (ImapError, imaplib.IMAP4.error, OSError) as exc:
        report.error = f"{type(exc).__name__}: {exc}"
        log.error("mailbox %s could not be polled: %s", mailbox.name, report.error)
    return report


@contextmanager
def _connected(mailbox: ImapMailbox) -> Iterator[imaplib.IMAP4]:
    imap = _open(mailbox)
    try:
        if mailbox.starttls:
            imap.starttls(ssl.create_default_context())
        imap.login(mailbox.username, mailbox.password.get_secret_value())
        status, _ = imap.select(_quoted(mailbox.folder))
        if status != "OK":
            raise ImapError(f"cannot open the folder {mailbox.folder!r}")
        yield imap
    finally:
        _close(imap)


def _open(mailbox: ImapMailbox) -> imaplib.IMAP4:
    if mailbox.ssl:
        return imaplib.IMAP4_SSL(
            mailbox.host,
            mailbox.port,
            ssl_context=ssl.create_default_context(),
            timeout=IMAP_TIMEOUT_SECONDS,
        )
    return imaplib.IMAP4(mailbox.host, mailbox.port, timeout=IMAP_TIMEOUT_SECONDS)


def _close(imap: imaplib.IMAP4) -> None:
    try:
        if imap.state == "SELECTED":
            imap.close()
        imap.logout()
    except (imaplib.IMAP4.error, OSError):
        log.debug("the IMAP connection was already gone at logout")


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unprocessed(imap: imaplib.IMAP4) -> list[str]:
    status, data = imap.uid("SEARCH", "UNDELETED", "UNKEYWORD", PROCESSED_KEYWORD)
    if status != "OK":
        raise ImapError(f"SEARCH failed: {data!r}")
    return [uid.decode() for uid in data[0].split()] if data and data[0] else []


def _fetch(imap: imaplib.IMAP4, uid: str) -> bytes:
    """The whole message; BODY.PEEK leaves it unread for the people sharing the mailbox."""
    status, data = imap.uid("FETCH", uid, "(BODY.PEEK[])")
    for item in data if status == "OK" else []:
        if isinstance(item, tuple) and _UID.search(item[0]):
            return bytes(item[1])
    raise ImapError(f"message {uid} could not be fetched: {status} {data!r}")


def _take_message(
    context: IntakeContext,
    mailbox: ImapMailbox,
    imap: imaplib.IMAP4,
    uid: str,
    report: MailboxReport,
) -> None:
    raw = _fetch(imap, uid)
    try:
        message = parse_message(raw)
    except PARSE_ERRORS as exc:
        message = unreadable_message(raw, exc)
    with log_context(request_id=f"imap-{uuid.uuid4().hex[:12]}", mailbox=mailbox.name, uid=uid):
        with session_scope(context.factory) as session:
            _record_message(context, session, mailbox, int(uid), message, report)
        _mark_processed(imap, uid, mailbox)


def _record_message(
    context: IntakeContext,
    session: Session,
    mailbox: ImapMailbox,
    uid: int,
    message: MailMessage,
    report: MailboxReport,
) -> None:
    if _seen(session, message.message_id):
        report.already_processed += 1
        log.info("message %s was processed before; flagging it only", message.message_id)
        return
    row = _message_row(mailbox, uid, message)
    session.add(row)
    session.flush()
    results = [
        _take_attachment(context, session, mailbox, message, row, a) for a in message.attachments
    ]
    _tally(report, results)
    report.messages += 1
    if row.outcome == MessageOutcome.malformed:
        report.malformed += 1
        log.warning("message %s is malformed: %s", message.message_id, row.detail)
    log.info(
        "message %s from %s: %s",
        message.message_id,
        message.sender,
        "; ".join(f"{r.outcome.value} {r.document_id or ''}".strip() for r in results)
        or row.outcome,
    )


def _seen(session: Session, message_id: str) -> bool:
    query = select(IntakeMessage.id).where(IntakeMessage.message_id == message_id)
    return session.scalars(query).first() is not None


def _message_row(mailbox: ImapMailbox, uid: int, message: MailMessage) -> IntakeMessage:
    if message.defects:
        outcome, detail = MessageOutcome.malformed, "defects: " + ", ".join(message.defects)
    elif not message.attachments:
        outcome, detail = MessageOutcome.no_attachments, "no attachment in the message"
    else:
        outcome, detail = MessageOutcome.processed, f"{len(message.attachments)} attachment(s)"
    return IntakeMessage(
        message_id=message.message_id,
        mailbox=mailbox.name,
        uid=uid,
        sender=message.sender[:500] or None,
        subject=message.subject or None,
        sent_at=message.sent_at,
        outcome=outcome,
        detail=detail,
    )


def _take_attachment(
    context: IntakeContext,
    session: Session,
    mailbox: ImapMailbox,
    message: MailMessage,
    row: IntakeMessage,
    attachment: Attachment,
) -> IntakeResult:
    origin = IntakeSource(
        IntakeChannel.imap, f"{mailbox.name}/{row.uid}", attachment.filename, row.id
    )
    try:
        fields = _fields(context.rules, mailbox, message)
        spooled = _spool(context.settings, attachment)
    except (DomainError, ValidationError) as exc:
        return record_item(
            session, origin=origin, result=IntakeResult(ItemOutcome.refused, _reason(exc))
        )
    try:
        return take_file(
            session,
            store=context.store,
            upload=spooled,
            fields=fields,
            actor=IMAP_ACTOR,
            origin=origin,
        )
    finally:
        spooled.path.unlink(missing_ok=True)


class AttachmentRefused(DomainError):
    """An attachment that cannot be read (damaged encoding, empty)."""


def _spool(settings: Settings, attachment: Attachment) -> SpooledFile:
    if attachment.content is None:
        raise AttachmentRefused(attachment.problem or "the attachment cannot be read")
    spooler = FileSpooler(
        settings.tmp_dir, max_bytes=settings.max_upload_bytes, filename=attachment.filename
    )
    try:
        spooler.write(attachment.content)
        return spooler.finish()
    except BaseException:
        spooler.discard()
        raise


def _fields(rules: IntakeRules, mailbox: ImapMailbox, message: MailMessage) -> MetadataFields:
    placement = rules.for_message(mailbox, sender=message.sender, subject=message.subject)
    return MetadataFields(
        document_class=placement.document_class,
        tags=list(placement.tags),
        metadata={"email": message.metadata(mailbox.name)},
    )


def _reason(exc: DomainError | ValidationError) -> str:
    if isinstance(exc, DomainError):
        return exc.detail
    return "; ".join(str(error["msg"]) for error in exc.errors())


def _tally(report: MailboxReport, results: list[IntakeResult]) -> None:
    for result in results:
        if result.outcome is ItemOutcome.ingested and result.document_id is not None:
            report.documents.append(result.document_id)
        elif result.outcome is ItemOutcome.duplicate:
            report.duplicates += 1
        elif result.outcome is ItemOutcome.refused:
            report.refused += 1


def _mark_processed(imap: imaplib.IMAP4, uid: str, mailbox: ImapMailbox) -> None:
    imap.uid("STORE", uid, "+FLAGS", f"({PROCESSED_KEYWORD})")
    if mailbox.processed_folder is None:
        return
    target = _quoted(mailbox.processed_folder)
    imap.create(target)  # answers NO when it exists already
    status, data = imap.uid("MOVE", uid, target)
    if status != "OK":
        log.warning("could not move message %s to %s: %s", uid, target, data)
