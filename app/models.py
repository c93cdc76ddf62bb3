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
from app.security.models import (
    ApiToken,
    BrowserSession,
    ClassPermission,
    DocumentGrant,
    LoginAttempt,
    User,
)

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "BrowserSession",
    "ClassPermission",
    "Document",
    "DocumentClass",
    "DocumentField",
    "DocumentGrant",
    "DocumentPage",
    "DocumentSearch",
    "DocumentVersion",
    "IdempotentRequest",
    "LoginAttempt",
    "User",
]
