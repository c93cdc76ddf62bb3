"""Processing one document: read its pages, classify, extract fields, store the results once.

Three short transactions: claim (status `processing`), the slow work outside any transaction,
then save (pages, fields, status `processed`) or fail (status `failed` with the reason). Every
step can be killed and run again: the claim is repeatable, the save replaces what an earlier
run left, and a version replaced meanwhile is left to the job queued for the new one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import DBAPIError, OperationalError

from app.db import session_scope
from app.documents.models import Document, DocumentStatus, DocumentVersion
from app.documents.service import set_status
from app.storage import BlobMissing, BlobStoreUnavailable, verified_chunks
from app.storage.base import BlobCorrupt
from workers import results
from workers.readers import Outcome, ReadRejected, read_document
from workers.runtime import Runtime

log = logging.getLogger(__name__)

# Worth another attempt later: the store or the database were away.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (BlobStoreUnavailable, OperationalError)


@dataclass(frozen=True, slots=True)
class Claim:
    document_id: uuid.UUID
    version_id: uuid.UUID
    blob_key: str
    sha256: str
    size: int
    media_type: str
    declared_class: str | None


def process(runtime: Runtime, document_id: uuid.UUID, *, final_attempt: bool) -> None:
    claim = _claim(runtime, document_id)
    if claim is None:
        return
    try:
        outcome = _read(runtime, claim)
        results.save(runtime, claim.document_id, claim.version_id, outcome)
    except ReadRejected as exc:
        _fail(runtime, claim, exc.reason)
    except TRANSIENT_ERRORS as exc:
        _transient(runtime, claim, exc, final_attempt=final_attempt)
        raise
    except BrokenProcessPool:
        runtime.reset_executor()
        _fail(runtime, claim, "the page reader crashed on this file")
    except BaseException as exc:
        # A bug must not leave the document `processing` for ever: record it, then let
        # procrastinate record the job as failed too.
        log.exception("processing document %s failed unexpectedly", claim.document_id)
        _fail(runtime, claim, f"internal error while processing: {type(exc).__name__}")
        raise


def _claim(runtime: Runtime, document_id: uuid.UUID) -> Claim | None:
    with session_scope(runtime.sessionmaker) as session:
        document = session.get(Document, document_id, with_for_update=True)
        if document is None or document.current_version_id is None:
            return None
        if document.status == DocumentStatus.processed:
            return None  # done by an earlier run of this job
        version = session.get(DocumentVersion, document.current_version_id)
        assert version is not None
        set_status(document, DocumentStatus.processing)
        document.processing_attempts += 1
        return Claim(
            document_id=document.id,
            version_id=version.id,
            blob_key=version.blob_key,
            sha256=version.sha256,
            size=version.size,
            media_type=version.media_type,
            declared_class=document.document_class,
        )


def _read(runtime: Runtime, claim: Claim) -> Outcome:
    with _fetched(runtime, claim) as path:
        return read_document(
            path,
            claim.media_type,
            declared_class=claim.declared_class,
            settings=runtime.settings,
            executor=runtime.executor,
        )


@contextmanager
def _fetched(runtime: Runtime, claim: Claim) -> Iterator[Path]:
    """The version's bytes in a temporary file, verified against their hash."""
    tmp_dir = runtime.settings.tmp_dir
    tmp_dir.mkdir(parents=True, exist_ok=True)
    path = tmp_dir / f"process-{claim.version_id}-{uuid.uuid4().hex[:8]}.part"
    try:
        chunks = verified_chunks(
            runtime.store.open(claim.blob_key), sha256=claim.sha256, size=claim.size
        )
        with path.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        yield path
    except BlobMissing as exc:
        raise ReadRejected("the stored original is missing from the blob store") from exc
    except BlobCorrupt as exc:
        raise ReadRejected("the stored original no longer matches its SHA-256") from exc
    finally:
        path.unlink(missing_ok=True)


def _transient(runtime: Runtime, claim: Claim, exc: Exception, *, final_attempt: bool) -> None:
    reason = _describe(exc)
    if final_attempt:
        _fail(runtime, claim, f"gave up after repeated failures: {reason}")
        return
    try:
        with session_scope(runtime.sessionmaker) as session:
            document = session.get(Document, claim.document_id, with_for_update=True)
            if document is not None and document.status == DocumentStatus.processing:
                set_status(document, DocumentStatus.pending, f"will retry: {reason}")
    except DBAPIError:
        log.warning("could not record the retry of document %s", claim.document_id)


def _fail(runtime: Runtime, claim: Claim, reason: str) -> None:
    results.fail(runtime, claim.document_id, claim.version_id, reason)


def _describe(exc: Exception) -> str:
    if isinstance(exc, OperationalError):
        return "the database was unavailable"
    return str(exc) or type(exc).__name__
