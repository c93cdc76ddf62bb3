"""Where an intake file goes: its document class and tags, from folder names or mail rules.

Rules live in one TOML file (`DOCARCHIVE_INTAKE_RULES_FILE`):

    [[folder]]                # DIR/faktury/... -> class invoice, tag "zakupy"
    path = "faktury"
    class = "invoice"
    tags = ["zakupy"]

    [[mail]]                  # every key but class/tags is optional; all given must match
    mailbox = "invoices"      # the mailbox `name` from DOCARCHIVE_IMAP_MAILBOXES
    sender = "*@supplier.pl"  # shell-style pattern, case-insensitive
    subject = "faktura|invoice"  # regular expression searched in the subject, case-insensitive
    class = "invoice"
    tags = ["supplier"]

Without a folder rule, the naming rule applies: the first subfolder names a class when one has
that code (`DIR/invoice/...`), and every other subfolder becomes a tag.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from schemas.intake import ImapMailbox


@dataclass(frozen=True, slots=True)
class Placement:
    """The class and tags an intake file is ingested with."""

    document_class: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FolderRule:
    path: PurePosixPath
    placement: Placement

    def matches(self, folder: PurePosixPath) -> bool:
        return folder == self.path or self.path in folder.parents


@dataclass(frozen=True, slots=True)
class MailRule:
    placement: Placement
    mailbox: str | None = None
    sender: str | None = None
    subject: re.Pattern[str] | None = None

    def matches(self, *, mailbox: str, sender: str, subject: str) -> bool:
        if self.mailbox is not None and self.mailbox != mailbox:
            return False
        if self.sender is not None and not fnmatch.fnmatch(sender.lower(), self.sender.lower()):
            return False
        return self.subject is None or self.subject.search(subject) is not None


@dataclass(frozen=True)
class IntakeRules:
    folders: list[FolderRule] = field(default_factory=list)
    mail: list[MailRule] = field(default_factory=list)

    def for_folder(self, folder: PurePosixPath, known_classes: set[str]) -> Placement:
        """Longest matching folder rule; otherwise the naming rule."""
        matching = [rule for rule in self.folders if rule.matches(folder)]
        if matching:
            return max(matching, key=lambda rule: len(rule.path.parts)).placement
        return _named_placement(folder.parts, known_classes)

    def for_message(self, mailbox: ImapMailbox, *, sender: str, subject: str) -> Placement:
        """First matching mail rule, with the mailbox's own tags; else the mailbox defaults."""
        for rule in self.mail:
            if rule.matches(mailbox=mailbox.name, sender=sender, subject=subject):
                return Placement(
                    rule.placement.document_class or mailbox.document_class,
                    (*mailbox.tags, *rule.placement.tags),
                )
        return Placement(mailbox.document_class, tuple(mailbox.tags))


def _named_placement(parts: tuple[str, ...], known_classes: set[str]) -> Placement:
    if parts and parts[0] in known_classes:
        return Placement(parts[0], tuple(parts[1:]))
    return Placement(None, tuple(parts))


def load_rules(path: Path | None) -> IntakeRules:
    """Read the rules file; a missing setting means no rules (the naming rule still applies)."""
    if path is None:
        return IntakeRules()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read the intake rules file {path}: {exc}") from exc
    return IntakeRules(
        folders=[_folder_rule(entry) for entry in raw.get("folder", [])],
        mail=[_mail_rule(entry) for entry in raw.get("mail", [])],
    )


def _placement(entry: dict[str, Any]) -> Placement:
    tags = entry.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValueError(f"intake rule {entry}: tags must be a list of strings")
    return Placement(entry.get("class"), tuple(tags))


def _folder_rule(entry: dict[str, Any]) -> FolderRule:
    if not isinstance(entry.get("path"), str):
        raise ValueError(f"folder rule {entry}: `path` (a relative folder) is required")
    return FolderRule(PurePosixPath(entry["path"].strip("/")), _placement(entry))


def _mail_rule(entry: dict[str, Any]) -> MailRule:
    subject = entry.get("subject")
    try:
        pattern = re.compile(subject, re.IGNORECASE) if subject is not None else None
    except re.error as exc:
        raise ValueError(
            f"mail rule {entry}: the subject is not a regular expression: {exc}"
        ) from exc
    return MailRule(
        placement=_placement(entry),
        mailbox=entry.get("mailbox"),
        sender=entry.get("sender"),
        subject=pattern,
    )
