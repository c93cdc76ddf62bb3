"""Request and response models of the documents API."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_TAGS = 50
MAX_TAG_LENGTH = 100


def normalise_tags(tags: list[str]) -> list[str]:
    """Trim, drop empties and repeats (keeping the first spelling), bound count and length."""
    seen: dict[str, str] = {}
    for raw in tags:
        tag = " ".join(raw.split())
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"a tag is longer than {MAX_TAG_LENGTH} characters: {tag[:20]}...")
        seen.setdefault(tag.casefold(), tag)
    if len(seen) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return list(seen.values())


class MetadataFields(BaseModel):
    """Descriptive fields a user may set at upload and edit later."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(None, max_length=500)
    document_class: str | None = Field(None, max_length=64, description="Code of a document class.")
    tags: list[str] = Field(default_factory=list)
    external_reference: str | None = Field(None, max_length=200)
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Custom fields, any JSON object."
    )

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return normalise_tags(value)


class UploadFields(MetadataFields):
    """Form fields accepted beside the file in `POST /documents`."""

    @classmethod
    def from_form(cls, fields: dict[str, list[str]]) -> UploadFields:
        unknown = set(fields) - {
            "title",
            "class",
            "document_class",
            "tags",
            "external_reference",
            "metadata",
        }
        if unknown:
            raise ValueError(f"unknown form fields: {', '.join(sorted(unknown))}")
        tags = [tag for value in fields.get("tags", []) for tag in value.split(",")]
        classes = fields.get("class", []) + fields.get("document_class", [])
        return cls.model_validate(
            {
                "title": _single(fields, "title"),
                "document_class": classes[0] if classes else None,
                "tags": tags,
                "external_reference": _single(fields, "external_reference"),
                "metadata": _json_object(_single(fields, "metadata")),
            }
        )


def _single(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name, [])
    if len(values) > 1:
        raise ValueError(f"the field {name!r} was sent more than once")
    return values[0] if values and values[0].strip() else None


def _json_object(raw: str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"metadata is not valid JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(value, dict):
        raise ValueError("metadata must be a JSON object")
    return value


class DocumentPatch(BaseModel):
    """A metadata edit. Fields left out stay as they are; `null` clears a field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(None, max_length=500)
    document_class: str | None = Field(None, max_length=64)
    tags: list[str] | None = None
    external_reference: str | None = Field(None, max_length=200)
    metadata: dict[str, Any] | None = None
    revision: int | None = Field(
        None, ge=1, description="The revision you edited; required unless If-Match is sent."
    )

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else normalise_tags(value)


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: int
    sha256: str
    size: int
    media_type: str
    original_filename: str
    uploaded_by: str
    uploaded_at: datetime
    page_count: int | None = None
    schema_valid: bool | None = Field(
        None, description="KSeF XML only: whether it validates against the official XSD."
    )
    schema_errors: list[str] | None = None


class FieldOut(BaseModel):
    """An extracted or corrected field, with its evidence."""

    name: str
    value: Any
    confidence: float
    source: str = Field(description="xml, text-layer, ocr or manual")
    page: int | None
    status: str = Field(description="confirmed, or candidate when it failed validation")
    reason: str | None
    needs_review: bool
    updated_by: str
    updated_at: datetime


class FieldsPatch(BaseModel):
    """Corrections: field name → value (`null` clears). They are never overwritten."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, Any] = Field(min_length=1)
    revision: int | None = Field(None, ge=1)


class PageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    source: str
    ocr_confidence: float | None
    rotation: int
    text: str
    has_preview: bool


class DocumentOut(BaseModel):
    id: uuid.UUID
    status: str
    document_class: str | None
    title: str | None
    tags: list[str]
    external_reference: str | None
    metadata: dict[str, Any]
    revision: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    status_reason: str | None = Field(None, description="Why it failed, or what it waits for.")
    status_changed_at: datetime
    processing_attempts: int
    detected_class: str | None = Field(None, description="The class the classifier proposed.")
    class_confidence: float | None
    current_version: VersionOut | None
    fields: list[FieldOut] = Field(default_factory=list)
    needs_review: list[str] = Field(
        default_factory=list, description="Fields below the confidence threshold or unconfirmed."
    )
    integrity_problems: list[str] = Field(
        default_factory=list,
        description="Versions whose stored bytes the fixity job found missing or altered "
        "(restore them from a backup); empty when every check passed.",
    )


class DocumentList(BaseModel):
    items: list[DocumentOut]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; absent on the last page."
    )


class UploadAccepted(BaseModel):
    """The answer to an accepted upload: the document waits for processing."""

    id: uuid.UUID = Field(description="Document id.")
    version: int
    version_id: uuid.UUID
    sha256: str
    size: int
    media_type: str
    status: str


class DocumentClassIn(BaseModel):
    """A kind of document; workflows and retention rules attach to it in later releases."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$", description="e.g. purchase_order")
    name_en: str = Field(min_length=1, max_length=200)
    name_pl: str = Field(min_length=1, max_length=200)


class DocumentClassOut(DocumentClassIn):
    model_config = ConfigDict(from_attributes=True)
