"""Writing a document's search vector, in the transaction that changes what it describes."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import cast, func, literal, select
from sqlalchemy.dialects.postgresql import REGCONFIG, insert
from sqlalchemy.orm import Session

from app.documents.models import Document, DocumentField, DocumentPage, DocumentVersion
from app.search.models import DocumentSearch
from app.search.polish import terms_version, to_tsvector_text

# Personal data stays out of the plain-text index (polish.py also drops PESEL-shaped numbers).
_UNINDEXED_FIELDS = frozenset({"pesel"})
_FILENAME_SEPARATORS = re.compile(r"[._\-]+")


def index_document(session: Session, document_id: uuid.UUID) -> None:
    """Compute the document's terms from its current state and store them (insert or replace)."""
    document = session.get(Document, document_id)
    if document is None:
        return
    terms = to_tsvector_text("\n".join(_searchable_texts(session, document)))
    vector = func.to_tsvector(cast(literal("simple"), REGCONFIG), terms)
    statement = insert(DocumentSearch).values(
        document_id=document_id, terms=vector, terms_version=terms_version()
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[DocumentSearch.document_id],
            set_={
                "terms": statement.excluded.terms,
                "terms_version": statement.excluded.terms_version,
                "indexed_at": func.now(),
            },
        )
    )


def _searchable_texts(session: Session, document: Document) -> Iterator[str]:
    yield from filter(None, (document.title, document.external_reference))
    yield from document.tags
    if document.current_version_id is not None:
        version = session.get(DocumentVersion, document.current_version_id)
        if version is not None:
            yield version.original_filename
            yield _FILENAME_SEPARATORS.sub(" ", version.original_filename)
    yield from _field_texts(session, document.id)
    if document.current_version_id is not None:
        yield from session.scalars(
            select(DocumentPage.text)
            .where(DocumentPage.version_id == document.current_version_id)
            .order_by(DocumentPage.number)
        )


def _field_texts(session: Session, document_id: uuid.UUID) -> Iterator[str]:
    fields = session.execute(
        select(DocumentField.name, DocumentField.value)
        .where(DocumentField.document_id == document_id)
        .order_by(DocumentField.name)
    )
    for name, value in fields:
        if name not in _UNINDEXED_FIELDS:
            yield from _scalars(value)


def _scalars(value: Any) -> Iterator[str]:
    """The leaves of a JSON field value as text (a value may be a party: name, NIP...)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _scalars(item)
    elif isinstance(value, list):
        for item in value:
            yield from _scalars(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)
