"""Intake configuration shapes: the IMAP mailboxes an operator lists in the settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class ImapMailbox(BaseModel):
    """One mailbox polled for attachments (`DOCARCHIVE_IMAP_MAILBOXES` is a JSON list of these)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, max_length=100, description="Short name used in rules and logs."
    )
    host: str
    port: int = Field(993, gt=0, lt=65536)
    ssl: bool = Field(True, description="IMAP over TLS (port 993); false: plain IMAP.")
    starttls: bool = Field(False, description="Upgrade a plain connection with STARTTLS.")
    username: str
    password: SecretStr
    folder: str = Field("INBOX", description="Folder read for new messages.")
    processed_folder: str | None = Field(
        None, description="Move processed messages here; unset: flag them and leave them."
    )
    document_class: str | None = Field(None, description="Class for attachments no rule matched.")
    tags: list[str] = Field(default_factory=list, description="Tags added to every attachment.")
