"""Reading an e-mail message: its identity (Message-ID, sender, subject, date) and its attachments.

Parsing is lenient (the stdlib keeps going and records defects); a damaged structure or a
damaged attachment encoding is reported, never silently turned into a document.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import MessageError
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime

MESSAGE_ID_MAX = 500

# Defects that mean the message's structure could not be read as its sender meant it.
_STRUCTURAL_DEFECTS = frozenset(
    {
        "StartBoundaryNotFoundDefect",
        "CloseBoundaryNotFoundDefect",
        "NoBoundaryInMultipartDefect",
        "MultipartInvariantViolationDefect",
        "MissingHeaderBodySeparatorDefect",
        "InvalidMultipartContentTransferEncodingDefect",
    }
)
_ENCODING_DEFECTS = frozenset(
    {
        "InvalidBase64CharactersDefect",
        "InvalidBase64PaddingDefect",
        "InvalidBase64LengthDefect",
    }
)


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes | None
    problem: str | None = None


@dataclass(frozen=True)
class MailMessage:
    message_id: str
    sender: str
    subject: str
    sent_at: datetime | None
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    def metadata(self, mailbox: str) -> dict[str, str | None]:
        """What a document made from one of its attachments keeps about the message."""
        return {
            "mailbox": mailbox,
            "message_id": self.message_id,
            "from": self.sender,
            "subject": self.subject,
            "date": self.sent_at.isoformat() if self.sent_at else None,
        }


def parse_message(raw: bytes) -> MailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    defects = sorted(
        {type(d).__name__ for d in message.defects} & _STRUCTURAL_DEFECTS | _part_defects(message)
    )
    return MailMessage(
        message_id=_message_id(message, raw),
        sender=_header(message, "from", lambda v: parseaddr(v)[1].lower()),
        subject=_header(message, "subject", lambda v: " ".join(v.split())),
        sent_at=_sent_at(message),
        attachments=[_attachment(part, n) for n, part in enumerate(_attachment_parts(message), 1)],
        defects=defects,
    )


def unreadable_message(raw: bytes, error: Exception) -> MailMessage:
    """A message the parser gave up on: recorded by its hash with the error as its defect."""
    return MailMessage(
        message_id="sha256:" + hashlib.sha256(raw).hexdigest(),
        sender="",
        subject="",
        sent_at=None,
        defects=[f"unreadable ({type(error).__name__}: {error})"],
    )


PARSE_ERRORS: tuple[type[Exception], ...] = (ValueError, LookupError, TypeError, MessageError)


def _part_defects(message: EmailMessage) -> set[str]:
    return {
        type(d).__name__
        for part in message.walk()
        if part is not message
        for d in part.defects
        if type(d).__name__ in _STRUCTURAL_DEFECTS
    }


def _header(message: EmailMessage, name: str, clean: Callable[[str], str]) -> str:
    try:
        value = message.get(name)
    except (ValueError, LookupError, TypeError):
        return ""
    if value is None:
        return ""
    return clean(str(value))


def _message_id(message: EmailMessage, raw: bytes) -> str:
    """The Message-ID, or the message's own hash when it has none (still never taken twice)."""
    value = _header(message, "message-id", lambda v: v.strip())
    if not value:
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    if len(value) > MESSAGE_ID_MAX:
        return "sha256-id:" + hashlib.sha256(value.encode()).hexdigest()
    return value


def _sent_at(message: EmailMessage) -> datetime | None:
    raw = _header(message, "date", str)
    try:
        sent = parsedate_to_datetime(raw) if raw else None
    except (TypeError, ValueError, IndexError):
        return None
    if sent is not None and sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    return sent


def _attachment_parts(message: EmailMessage) -> list[EmailMessage]:
    """Parts sent as files: `attachment`, or named and not an inline image of the body."""
    parts = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() == "message":
            continue
        disposition = part.get_content_disposition()
        named = part.get_filename() is not None
        if disposition == "attachment" or (named and part.get("content-id") is None):
            parts.append(part)
    return parts


def _attachment(part: EmailMessage, number: int) -> Attachment:
    filename = _safe_filename(part.get_filename(), number)
    # Decoding records base64 damage as defects of the part; look at them afterwards.
    payload = part.get_payload(decode=True)
    broken = sorted({type(d).__name__ for d in part.defects} & _ENCODING_DEFECTS)
    if broken:
        return Attachment(
            filename, None, f"the attachment's encoding is damaged ({', '.join(broken)})"
        )
    if not isinstance(payload, bytes) or not payload:
        return Attachment(filename, None, "the attachment is empty")
    return Attachment(filename, payload)


def _safe_filename(name: str | None, number: int) -> str:
    cleaned = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    cleaned = "".join(ch for ch in cleaned if ch.isprintable())
    return cleaned[:255] or f"attachment-{number}"
