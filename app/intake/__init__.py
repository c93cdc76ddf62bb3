"""Intake channels: a watched folder and IMAP mailboxes, both feeding `ingest_document`."""
