"""Every mapped model, imported once so metadata is complete (Alembic, the app)."""

from app.audit.models import AuditEvent
from app.db import Base
from app.documents.models import (
    Document,
    DocumentClass,
    DocumentField,
    DocumentPage,
    DocumentVersion,
    IdempotentRequest,
)
from app.search.models import DocumentSearch

__all__ = [
    "AuditEvent",
    "Base",
    "Document",
    "DocumentClass",
    "DocumentField",
    "DocumentPage",
    "DocumentSearch",
    "DocumentVersion",
    "IdempotentRequest",
]
