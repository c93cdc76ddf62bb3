"""HTTP endpoints of documents: parse, call the service, shape the response."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.audit.service import record
from app.cursors import decode_dated_cursor, encode_cursor
from app.db import session_scope
from app.deps import ActorDep, SessionDep, SettingsDep, StoreDep
from app.documents import repository, service
from app.documents.content import ByteRange, content_disposition, etag, open_verified, parse_range
from app.documents.fields import field_out, fields_of
from app.documents.idempotency import fingerprint, run_once
from app.documents.models import Document, DocumentPage, DocumentStatus, DocumentVersion
from app.documents.sniff import JPEG, PDF, PNG, TIFF, sniff
from app.documents.upload import ReceivedForm, receive_form
from app.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PreconditionRequired,
    StorageUnavailable,
    Unprocessable,
    problem_responses,
)
from app.reliability.fixity import integrity_problems
from app.security.permissions import sees_pesel
from app.security.principal import Actor
from app.security.sensitive import mask_pesels
from app.storage import BlobMissing, BlobStore, BlobStoreUnavailable
from schemas.documents import (
    DocumentList,
    DocumentOut,
    DocumentPatch,
    FieldsPatch,
    PageOut,
    UploadAccepted,
    UploadFields,
    VersionOut,
)

router = APIRouter(prefix="/documents", tags=["documents"])
INT4_MAX = 2**31 - 1
"""Page and version numbers are PostgreSQL integers: larger ones are refused, not looked up."""

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "class": {"type": "string", "description": "Document class code."},
                        "title": {"type": "string"},
                        "tags": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "Repeat the field or separate with commas.",
                        },
                        "external_reference": {"type": "string"},
                        "metadata": {"type": "string", "description": "A JSON object."},
                    },
                }
            }
        },
    }
}
_VERSION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}
_UPLOAD_ERRORS = problem_responses(400, 403, 409, 413, 415, 422, 503)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retries with the same key get the first answer and store nothing new.",
    ),
]


async def _receive(request: Request, settings: SettingsDep) -> ReceivedForm:
    return await receive_form(
        request, tmp_dir=settings.tmp_dir, max_bytes=settings.max_upload_bytes
    )


def _upload_fields(form: ReceivedForm) -> UploadFields:
    try:
        return UploadFields.from_form(form.fields)
    except (ValueError, ValidationError) as exc:
        raise Unprocessable(_reason(exc)) from exc


def _reason(exc: ValueError | ValidationError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}" for e in exc.errors()
        )
    return str(exc)


def _accepted(body: dict[str, Any], replayed: bool) -> JSONResponse:
    headers = {"Location": f"/api/v1/documents/{body['id']}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body, status_code=202, headers=headers)


@router.post(
    "",
    status_code=202,
    response_model=UploadAccepted,
    responses=_UPLOAD_ERRORS,
    openapi_extra=_UPLOAD_BODY,
    summary="Upload a new document",
)
async def upload_document(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Store a file (PDF, TIFF, PNG, JPEG, KSeF XML) as a new document pending processing.

    Identical bytes are stored once: uploading content the archive already holds answers 409
    with the document that holds it.
    """
    form = await _receive(request, settings)
    try:
        fields = _upload_fields(form)
        body, replayed = await run_in_threadpool(
            run_once,
            session,
            actor=actor.name,
            key=idempotency_key,
            request_fingerprint=fingerprint(
                sha256=form.file.sha256, fields=fields.model_dump(mode="json")
            ),
            status_code=202,
            action=lambda: service.ingest_document(
                session, store=store, upload=form.file, fields=fields, actor=actor
            ),
        )
    finally:
        form.file.path.unlink(missing_ok=True)
    return _accepted(body, replayed)


@router.post(
    "/{document_id}/versions",
    status_code=202,
    response_model=UploadAccepted,
    responses={**_UPLOAD_ERRORS, **problem_responses(404)},
    openapi_extra=_VERSION_BODY,
    summary="Add a new file version to a document",
)
async def add_version(
    document_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    # Refuse an unknown document before reading a possibly large body, in a session of its
    # own: the request's session must not sit idle in a transaction while the body arrives.
    await run_in_threadpool(_require_editable, request, document_id, actor)
    form = await _receive(request, settings)
    try:
        if form.fields:
            raise Unprocessable("only the field 'file' is accepted; edit metadata with PATCH")
        body, replayed = await run_in_threadpool(
            run_once,
            session,
            actor=actor.name,
            key=idempotency_key,
            request_fingerprint=fingerprint(document=str(document_id), sha256=form.file.sha256),
            status_code=202,
            action=lambda: service.add_version(
                session, store=store, document_id=document_id, upload=form.file, actor=actor
            ),
        )
    finally:
        form.file.path.unlink(missing_ok=True)
    return _accepted(body, replayed)


def _require_editable(request: Request, document_id: uuid.UUID, actor: Actor) -> None:
    with session_scope(request.app.state.sessionmaker) as session:
        service.require_editable(session, document_id, actor)


@router.get("", response_model=DocumentList, responses=problem_responses(400, 422))
def list_documents(
    session: SessionDep,
    actor: ActorDep,
    document_class: Annotated[str | None, Query(alias="class")] = None,
    status: DocumentStatus | None = None,
    uploaded_after: datetime | None = None,
    uploaded_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> DocumentList:
    """Newest first; follow `next_cursor` for the next page."""
    query = repository.filtered_documents(
        actor,
        document_class=document_class,
        status=status,
        uploaded_after=uploaded_after,
        uploaded_before=uploaded_before,
    )
    if cursor is not None:
        created_at, last_id = decode_dated_cursor(cursor)
        query = query.where(
            (Document.created_at < created_at)
            | ((Document.created_at == created_at) & (Document.id < last_id))
        )
    query = query.order_by(Document.created_at.desc(), Document.id.desc()).limit(limit + 1)
    documents = list(session.scalars(query))
    page, more = documents[:limit], len(documents) > limit
    return DocumentList(
        items=[service.document_out(d) for d in page],
        next_cursor=encode_cursor(page[-1].created_at, page[-1].id) if more else None,
    )


def _document_response(session: Session, document: Document, actor: Actor) -> JSONResponse:
    unmask = sees_pesel(actor)
    fields = [field_out(f, unmask=unmask) for f in fields_of(session, document.id)]
    out = service.document_out(document, fields)
    out.integrity_problems = integrity_problems(session, document.id)
    body = out.model_dump(mode="json")
    return JSONResponse(body, headers={"ETag": f'"r{document.revision}"'})


@router.get("/{document_id}", response_model=DocumentOut, responses=problem_responses(404))
def get_document(document_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> JSONResponse:
    """Metadata, processing status and extracted fields; the `ETag` carries the revision."""
    document = service.get_document(session, document_id, actor)
    record(session, actor=actor.name, action="document.viewed", document_id=document.id)
    return _document_response(session, document, actor)


@router.post(
    "/{document_id}/reprocess",
    status_code=202,
    response_model=DocumentOut,
    responses=problem_responses(403, 404, 409),
)
def reprocess_document(document_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    """Process the current version again (after a failure or a better extractor).

    Fields corrected by hand are kept.
    """
    document = service.request_reprocessing(session, document_id=document_id, actor=actor)
    response = _document_response(session, document, actor)
    response.status_code = 202
    return response


@router.patch(
    "/{document_id}/fields",
    response_model=DocumentOut,
    responses=problem_responses(400, 403, 404, 409, 412, 422, 428),
)
def correct_fields(
    document_id: uuid.UUID,
    patch: FieldsPatch,
    session: SessionDep,
    actor: ActorDep,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> JSONResponse:
    """Correct extracted fields by hand (source `manual`); reprocessing never overwrites them."""
    expected, via_if_match = _edit_precondition(
        session, document_id, if_match, patch.revision, actor
    )
    document = service.correct_fields(
        session,
        document_id=document_id,
        values=patch.fields,
        expected_revision=expected,
        actor=actor,
        stale_is_conflict=not via_if_match,
    )
    return _document_response(session, document, actor)


@router.get("/{document_id}/pages", response_model=list[PageOut], responses=problem_responses(404))
def list_pages(
    document_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    version: Annotated[int | None, Query(ge=1, le=INT4_MAX)] = None,
) -> list[PageOut]:
    """Text of each page with its source (xml, text-layer, ocr) and OCR confidence.

    PESEL numbers are masked unless your role may see them."""
    stored = service.find_version(session, document_id, version, actor)
    shown = (lambda text: text) if sees_pesel(actor) else mask_pesels
    record(
        session,
        actor=actor.name,
        action="document.text_read",
        document_id=document_id,
        version_id=stored.id,
    )
    return [
        PageOut(
            number=p.number,
            source=p.source,
            ocr_confidence=p.ocr_confidence,
            rotation=p.rotation,
            text=shown(p.text),
            has_preview=p.preview_key is not None,
        )
        for p in session.scalars(repository.pages_of(stored.id))
    ]


_IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
    **problem_responses(404, 503),
}


@router.get("/{document_id}/thumbnail", response_class=Response, responses=_IMAGE_RESPONSES)
def thumbnail(
    document_id: uuid.UUID, session: SessionDep, store: StoreDep, actor: ActorDep
) -> Response:
    """A small image of the first page (after processing)."""
    stored = service.find_version(session, document_id, None, actor)
    return _derived_image(store, stored.thumbnail_key, f"document {document_id} has no thumbnail")


@router.get(
    "/{document_id}/pages/{number}/preview", response_class=Response, responses=_IMAGE_RESPONSES
)
def page_preview(
    document_id: uuid.UUID,
    number: Annotated[int, Path(ge=1, le=INT4_MAX)],
    session: SessionDep,
    store: StoreDep,
    actor: ActorDep,
    version: Annotated[int | None, Query(ge=1, le=INT4_MAX)] = None,
) -> Response:
    """A screen-sized image of one page."""
    stored = service.find_version(session, document_id, version, actor)
    page = session.scalars(
        repository.pages_of(stored.id).where(DocumentPage.number == number)
    ).one_or_none()
    key = page.preview_key if page is not None else None
    return _derived_image(store, key, f"page {number} of document {document_id} has no preview")


def _derived_image(store: BlobStore, key: str | None, missing: str) -> Response:
    if key is None:
        raise NotFound(missing)
    try:
        data = b"".join(store.open(key))
    except BlobMissing as exc:
        raise NotFound(missing) from exc
    except BlobStoreUnavailable as exc:
        raise StorageUnavailable(str(exc)) from exc
    return Response(
        data,
        media_type=sniff(data[:64]).media_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.get(
    "/{document_id}/versions", response_model=list[VersionOut], responses=problem_responses(404)
)
def list_versions(document_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[VersionOut]:
    service.get_document(session, document_id, actor)
    versions = session.scalars(repository.versions_of(document_id))
    return [VersionOut.model_validate(v) for v in versions]


def _edit_precondition(
    session: Session,
    document_id: uuid.UUID,
    if_match: str | None,
    body_revision: int | None,
    actor: Actor,
) -> tuple[int, bool]:
    """The revision an edit was made against, from If-Match or the body; 428 without either."""
    current = service.get_document(session, document_id, actor).revision
    return _expected_revision(if_match, body_revision, current)


def _expected_revision(
    if_match: str | None, body_revision: int | None, current: int
) -> tuple[int, bool]:
    """(revision the client edited, whether it came from If-Match)."""
    if if_match is not None:
        tag = if_match.strip()
        if tag == "*":
            return current, True
        if tag.startswith('"r') and tag.endswith('"') and tag[2:-1].isdigit():
            return int(tag[2:-1]), True
        raise BadRequest(f'If-Match must be an ETag of this document such as "r{current}"')
    if body_revision is not None:
        return body_revision, False
    raise PreconditionRequired(
        "send If-Match with the document's ETag, or the revision you edited, so that "
        "concurrent edits cannot overwrite each other",
        current_revision=current,
    )


@router.patch(
    "/{document_id}",
    response_model=DocumentOut,
    responses=problem_responses(400, 403, 404, 409, 412, 422, 428),
)
def update_document(
    document_id: uuid.UUID,
    patch: DocumentPatch,
    session: SessionDep,
    actor: ActorDep,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> JSONResponse:
    """Edit title, tags, class, external reference or custom fields against a known revision."""
    expected, via_if_match = _edit_precondition(
        session, document_id, if_match, patch.revision, actor
    )
    document = service.update_metadata(
        session,
        document_id=document_id,
        patch=patch,
        expected_revision=expected,
        actor=actor,
        stale_is_conflict=not via_if_match,
    )
    return _document_response(session, document, actor)


@router.delete(
    "/{document_id}", status_code=405, responses=problem_responses(405), summary="Not allowed"
)
def delete_document(document_id: uuid.UUID) -> None:
    """Documents are never deleted through the API; the retention engine destroys them."""
    raise MethodNotAllowed(
        "documents cannot be deleted through the API: destruction is done by the retention "
        "engine, through an approved disposal batch that leaves a disposal record",
        headers={"Allow": "GET, PATCH"},
    )


_ORIGINAL_CONTENT = {
    media_type: {"schema": {"type": "string", "format": "binary"}}
    for media_type in (PDF, TIFF, PNG, JPEG, "application/xml")
}


@router.get(
    "/{document_id}/content",
    response_class=StreamingResponse,
    responses={
        200: {"content": _ORIGINAL_CONTENT, "description": "The original bytes"},
        206: {"content": _ORIGINAL_CONTENT, "description": "The requested byte range"},
        304: {"description": "Not modified (If-None-Match)"},
        **problem_responses(404, 416, 500, 503),
    },
)
def download_content(
    document_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: ActorDep,
    version: Annotated[
        int | None, Query(ge=1, le=INT4_MAX, description="Version number; default current.")
    ] = None,
    disposition: Literal["attachment", "inline"] = "attachment",
) -> Response:
    """The original bytes exactly as uploaded, verified against their SHA-256."""
    stored = service.find_version(session, document_id, version, actor)
    headers = {
        "ETag": etag(stored),
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
        # Originals are untrusted: opened in a browser they may run no script. (PDFs get no
        # sandbox: browsers refuse to show a PDF in a sandboxed document, and their viewers
        # confine PDF scripts themselves.)
        **({} if stored.media_type == PDF else {"Content-Security-Policy": "sandbox"}),
        "Content-Disposition": content_disposition(
            stored.original_filename,
            inline=disposition == "inline" and not stored.media_type.endswith("xml"),
        ),
    }
    if _matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    byte_range = _range_for(request, stored.size, headers["ETag"])
    if byte_range is None or byte_range.start == 0:
        # A viewer fetching a file in ranges downloads it once, not once per range.
        _audit_download(session, actor, stored)
    chunks = open_verified(
        store, stored, byte_range, verify_before_send_bytes=settings.verify_before_send_bytes
    )
    if byte_range is None:
        headers["Content-Length"] = str(stored.size)
        return StreamingResponse(
            chunks, media_type=_served_type(stored.media_type), headers=headers
        )
    headers["Content-Length"] = str(byte_range.length)
    headers["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{stored.size}"
    return StreamingResponse(
        chunks, status_code=206, media_type=_served_type(stored.media_type), headers=headers
    )


def _audit_download(session: Session, actor: Actor, stored: DocumentVersion) -> None:
    record(
        session,
        actor=actor.name,
        action="document.downloaded",
        document_id=stored.document_id,
        version_id=stored.id,
        details={"version": stored.number},
    )


def _served_type(media_type: str) -> str:
    return "application/xml" if media_type.endswith("+xml") else media_type


def _matches(header: str | None, tag: str) -> bool:
    if header is None:
        return False
    candidates = {c.strip().removeprefix("W/") for c in header.split(",")}
    return "*" in candidates or tag in candidates


def _range_for(request: Request, size: int, tag: str) -> ByteRange | None:
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != tag:
        return None
    return parse_range(request.headers.get("range"), size)
