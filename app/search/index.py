"""Writing a document's search row, in the transaction that changes what it describes: the
terms, a keyed hash per PESEL, the typed columns filters and sorts use, and new words into the
vocabulary of the fuzzy fallback."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Text, bindparam, cast, func, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG, insert
from sqlalchemy.orm import Session

from app.documents.models import Document, DocumentField, DocumentPage, DocumentVersion
from app.search.models import DocumentSearch
from app.search.pesel import pesel_lexeme, pesels_in
from app.search.polish import fold, index_terms, terms_version
from workers.extract.identifiers import normalise_nip

# Personal data stays out of the plain-text index (polish.py also drops PESEL-shaped numbers);
# a PESEL field is indexed as its keyed hash only.
_UNINDEXED_FIELDS = frozenset({"pesel"})
_FILENAME_SEPARATORS = re.compile(r"[._\-]+")
_ALNUM = re.compile(r"[^\W_]+")
_WORD = re.compile(r"[a-z]{3,64}")
_MAX_FILTER_TEXT = 200

_ADD_VOCABULARY = text(
    """
    INSERT INTO search_terms (term)
    SELECT word FROM unnest(:words) AS word
    WHERE NOT EXISTS (SELECT 1 FROM search_terms WHERE term = word)
    ON CONFLICT DO NOTHING
    """
).bindparams(bindparam("words", type_=ARRAY(Text)))


_ADD_NAMES = text(
    """
    INSERT INTO counterparty_names (name, folded)
    SELECT name, folded FROM unnest(:names, :folded) AS new (name, folded)
    WHERE NOT EXISTS (SELECT 1 FROM counterparty_names AS old WHERE old.name = new.name)
    ON CONFLICT DO NOTHING
    """
).bindparams(bindparam("names", type_=ARRAY(Text)), bindparam("folded", type_=ARRAY(Text)))


def index_document(session: Session, document_id: uuid.UUID) -> None:
    """Compute the document's search row from its current state and store it (insert or
    replace)."""
    document = session.get(Document, document_id)
    if document is None:
        return
    fields = _fields(session, document_id)
    texts = list(_searchable_texts(session, document, fields))
    terms = index_terms("\n".join(texts))
    pesels = pesels_in([*texts, *_scalars(fields.get("pesel"))])
    columns = filter_columns(fields)
    lexemes = terms + [pesel_lexeme(pesel) for pesel in sorted(pesels)]
    lexemes += filter_lexemes(document.document_class, document.tags, columns)
    vector = func.to_tsvector(cast(literal("simple"), REGCONFIG), " ".join(lexemes))
    values = {
        "terms": vector,
        "terms_version": terms_version(),
        "tags": list(document.tags),
        "uploaded_at": document.created_at,
        **columns,
    }
    statement = insert(DocumentSearch).values(document_id=document_id, **values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[DocumentSearch.document_id],
            set_={name: statement.excluded[name] for name in values} | {"indexed_at": func.now()},
        )
    )
    add_vocabulary(session, terms)
    add_counterparty_names(session, values["counterparties"])


def add_counterparty_names(session: Session, names: list[str]) -> None:
    """New counterparty names into the table the fuzzy filter searches (sorted, as words)."""
    if names:
        session.execute(
            _ADD_NAMES, {"names": sorted(names), "folded": [fold_name(n) for n in sorted(names)]}
        )


def add_vocabulary(session: Session, terms: list[str]) -> None:
    """Words (letters only) into the vocabulary. Sorted, so two transactions adding the same
    new words wait for each other in one order instead of deadlocking."""
    words = sorted({term for term in terms if _WORD.fullmatch(term)})
    if words:
        session.execute(_ADD_VOCABULARY, {"words": words})


def filter_columns(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The typed copies of extracted fields that filters and sorts use. A contract's signing
    date stands in for an issue date and its value for a gross amount."""
    names = [*_party_names(fields)]
    return {
        "issue_date": _date(fields.get("issue_date")) or _date(fields.get("signing_date")),
        "due_date": _date(fields.get("due_date")),
        "gross_amount": _amount(fields.get("gross_total")) or _amount(fields.get("contract_value")),
        "currency": _currency(fields.get("currency")),
        "seller_nip": _nip(fields.get("seller_nip")),
        "buyer_nip": _nip(fields.get("buyer_nip")),
        "invoice_number": compact_number(fields.get("invoice_number")),
        "ksef_number": compact_ksef(fields.get("ksef_number")),
        "counterparties": list(dict.fromkeys(names)),
    }


# Prefixes of the filter lexemes: class, tag, currency, seller NIP, buyer NIP.
CLASS, TAG, CURRENCY, SELLER, BUYER = "xk", "xt", "xc", "xs", "xb"


def filter_lexeme(prefix: str, value: str) -> str:
    """A filter value as a lexeme of the vector, so that text plus filters is one GIN
    intersection rather than a text match filtered row by row (or a lossy bitmap AND)."""
    return prefix + "".join(_ALNUM.findall(fold(value)))


def filter_lexemes(
    document_class: str | None, tags: list[str], columns: Mapping[str, Any]
) -> list[str]:
    values = [(CLASS, document_class), (CURRENCY, columns["currency"])]
    values += [(SELLER, columns["seller_nip"]), (BUYER, columns["buyer_nip"])]
    values += [(TAG, tag) for tag in tags]
    return [filter_lexeme(prefix, value) for prefix, value in values if value]


def compact_number(value: Any) -> str | None:
    """An invoice number as people type it however written: `FV/1/2026`, `fv 1 2026`."""
    if not isinstance(value, str):
        return None
    return "/".join(_ALNUM.findall(fold(value)))[:_MAX_FILTER_TEXT] or None


def compact_ksef(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return re.sub(r"\s+", "", value).upper()[:64] or None


def fold_name(name: str) -> str:
    return " ".join(_ALNUM.findall(fold(name)))


def _fields(session: Session, document_id: uuid.UUID) -> dict[str, Any]:
    rows = session.execute(
        select(DocumentField.name, DocumentField.value).where(
            DocumentField.document_id == document_id
        )
    )
    return {name: value for name, value in rows if value is not None}


def _party_names(fields: Mapping[str, Any]) -> Iterator[str]:
    for name in ("seller_name", "buyer_name"):
        if isinstance(fields.get(name), str) and fields[name].strip():
            yield fields[name].strip()[:_MAX_FILTER_TEXT]
    parties = fields.get("parties")
    if isinstance(parties, list):
        for party in parties:
            party_name = party.get("name") if isinstance(party, dict) else None
            if isinstance(party_name, str) and party_name.strip():
                yield party_name.strip()[:_MAX_FILTER_TEXT]


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _amount(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value)) if isinstance(value, str | int | float) else None
    except InvalidOperation:
        return None
    if amount is None or not amount.is_finite() or abs(amount) >= Decimal(10) ** 16:
        return None
    return amount.quantize(Decimal("0.01"))


def _currency(value: Any) -> str | None:
    code = value.strip().upper() if isinstance(value, str) else ""
    return code if re.fullmatch(r"[A-Z]{3}", code) else None


def _nip(value: Any) -> str | None:
    return normalise_nip(value) if isinstance(value, str) else None


def _searchable_texts(
    session: Session, document: Document, fields: Mapping[str, Any]
) -> Iterator[str]:
    yield from filter(None, (document.title, document.external_reference))
    yield from document.tags
    if document.current_version_id is not None:
        version = session.get(DocumentVersion, document.current_version_id)
        if version is not None:
            yield version.original_filename
            yield _FILENAME_SEPARATORS.sub(" ", version.original_filename)
    for name in sorted(fields):
        if name not in _UNINDEXED_FIELDS:
            yield from _scalars(fields[name])
    if document.current_version_id is not None:
        yield from session.scalars(
            select(DocumentPage.text)
            .where(DocumentPage.version_id == document.current_version_id)
            .order_by(DocumentPage.number)
        )


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
