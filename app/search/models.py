"""The search index: one row of Polish-normalised terms and typed filter columns per document,
the vocabulary of indexed words (for the fuzzy fallback) and users' saved searches."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, new_id, utcnow


class DocumentSearch(Base):
    """A document's search vector and the fields filters and sorts use, in a table of its own
    rather than columns of `documents`: the vector is large (TOASTed) and rewritten on every
    index run, and keeping it apart keeps listing scans, row locks and status updates on
    `documents` from carrying it; a reindex after a `terms_version` change rewrites only this
    table. The typed columns are copies of extracted fields (`document_fields`), written by
    `app.search.index.index_document` in the same transaction, so filters can use indexes."""

    __tablename__ = "document_search"
    __table_args__ = (
        Index("ix_document_search_terms", "terms", postgresql_using="gin"),
        # sorts put documents without the value last when descending (first when ascending),
        # and walk these indexes in either direction. A search's window (its newest matches)
        # is read from one index alone where it can be: the upload time is in every filter's
        # index, and a range of dates with amounts (or amounts with dates) is one scan
        Index(
            "ix_document_search_issue_date",
            text("issue_date DESC NULLS LAST"),
            text("document_id DESC"),
            postgresql_include=["uploaded_at", "gross_amount"],
        ),
        Index(
            "ix_document_search_gross_amount",
            text("gross_amount DESC NULLS LAST"),
            text("document_id DESC"),
            postgresql_include=["uploaded_at", "issue_date"],
        ),
        Index(
            "ix_document_search_due_date",
            "due_date",
            postgresql_include=["uploaded_at"],
            postgresql_where=text("due_date IS NOT NULL"),
        ),
        # newest first; filters on tags, names and currency are checked in the index itself
        Index(
            "ix_document_search_uploaded_at",
            "uploaded_at",
            "document_id",
            postgresql_include=["tags", "counterparties", "currency"],
        ),
        # a NIP's documents newest first, straight from the index
        Index(
            "ix_document_search_seller_nip",
            "seller_nip",
            "uploaded_at",
            "document_id",
            postgresql_where=text("seller_nip IS NOT NULL"),
        ),
        Index(
            "ix_document_search_buyer_nip",
            "buyer_nip",
            "uploaded_at",
            "document_id",
            postgresql_where=text("buyer_nip IS NOT NULL"),
        ),
        Index("ix_document_search_invoice_number", "invoice_number"),
        Index("ix_document_search_ksef_number", "ksef_number"),
        Index("ix_document_search_tags", "tags", postgresql_using="gin"),
        Index("ix_document_search_counterparties", "counterparties", postgresql_using="gin"),
    )

    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    terms: Mapped[str] = mapped_column(TSVECTOR)
    # app.search.polish.terms_version() at index time: rows of another version need a reindex
    terms_version: Mapped[str] = mapped_column(String(64))
    indexed_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # documents.created_at (never changes): a text search walks this table's own index
    # newest first, reading `documents` only for the matches
    uploaded_at: Mapped[datetime]
    issue_date: Mapped[date | None]
    due_date: Mapped[date | None]
    gross_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    seller_nip: Mapped[str | None] = mapped_column(String(10))
    buyer_nip: Mapped[str | None] = mapped_column(String(10))
    # folded (lowercase, no diacritics, letters and digits only): how people type them
    invoice_number: Mapped[str | None] = mapped_column(String(200))
    ksef_number: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=text("'{}'::text[]")
    )
    # seller, buyer and contract parties as written: the facet, and what the counterparty
    # filter matches once `CounterpartyName` has turned a typed name into the names it means
    counterparties: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=text("'{}'::text[]")
    )


class SearchTerm(Base):
    """The vocabulary of words in the index, added to at index time (never shrunk: a stale term
    only costs a correction that finds nothing). The fuzzy fallback matches query words against
    it with pg_trgm, a table of tens of thousands of short words instead of every text."""

    __tablename__ = "search_terms"
    __table_args__ = (
        Index(
            "ix_search_terms_trgm",
            "term",
            postgresql_using="gin",
            postgresql_ops={"term": "gin_trgm_ops"},
        ),
    )

    term: Mapped[str] = mapped_column(String(64), primary_key=True)


class CounterpartyName(Base):
    """Every counterparty name in the index, folded for pg_trgm: the fuzzy counterparty filter
    matches the typed name against these few thousand names, then the documents holding the
    names found, instead of computing similarity over a column of every document."""

    __tablename__ = "counterparty_names"
    __table_args__ = (
        Index(
            "ix_counterparty_names_folded",
            "folded",
            postgresql_using="gin",
            postgresql_ops={"folded": "gin_trgm_ops"},
        ),
    )

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    folded: Mapped[str] = mapped_column(Text)


class SavedSearch(Base):
    """A search a user named to run again (the UI, legal holds): owner-only."""

    __tablename__ = "saved_searches"
    __table_args__ = (UniqueConstraint("owner", "name", name="uq_saved_searches_owner_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # the actor's name (username); user_id too when the owner is a user
    owner: Mapped[str] = mapped_column(String(200))
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    query: Mapped[str] = mapped_column(Text)
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
