"""The search index: one row of Polish-normalised terms per document."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class DocumentSearch(Base):
    """A document's search vector, in a table of its own rather than a column of `documents`:
    the vector is large (TOASTed) and rewritten on every index run, and keeping it apart keeps
    listing scans, row locks and status updates on `documents` from carrying it; a reindex
    after a `terms_version` change rewrites only this table."""

    __tablename__ = "document_search"
    __table_args__ = (Index("ix_document_search_terms", "terms", postgresql_using="gin"),)

    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    terms: Mapped[str] = mapped_column(TSVECTOR)
    # app.search.polish.terms_version() at index time: rows of another version need a reindex
    terms_version: Mapped[str] = mapped_column(String(64))
    indexed_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
