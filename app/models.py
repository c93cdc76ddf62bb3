"""Every mapped model, imported once so metadata is complete (Alembic, the app)."""

from app.audit.models import AuditEvent
from app.circulation.models import (
    Absence,
    Circulation,
    CirculationEvent,
    CirculationStep,
    CirculationTask,
    Notification,
    Workflow,
)
from app.db import Base
from app.documents.models import (
    Document,
    DocumentClass,
    DocumentField,
    DocumentPage,
    DocumentVersion,
    IdempotentRequest,
)
from app.intake.models import IntakeItem, IntakeMessage
from app.reliability.models import FixityCheck, FixityRun
from app.retention.erasure_models import ErasureAnswer, ErasureRequest
from app.retention.models import (
    ClassRetention,
    DisposalBatch,
    DisposalItem,
    DocumentRetention,
    HeldDocument,
    LegalHold,
    RetentionClass,
    Tombstone,
)
from app.search.models import CounterpartyName, DocumentSearch, SavedSearch, SearchTerm
from app.security.models import (
    ApiToken,
    BrowserSession,
    ClassPermission,
    DocumentGrant,
    LoginAttempt,
    User,
)

__all__ = [
    "Absence",
    "ApiToken",
    "AuditEvent",
    "Base",
    "BrowserSession",
    "Circulation",
    "CirculationEvent",
    "CirculationStep",
    "CirculationTask",
    "ClassPermission",
    "ClassRetention",
    "CounterpartyName",
    "DisposalBatch",
    "DisposalItem",
    "Document",
    "DocumentClass",
    "DocumentField",
    "DocumentGrant",
    "DocumentPage",
    "DocumentRetention",
    "DocumentSearch",
    "DocumentVersion",
    "ErasureAnswer",
    "ErasureRequest",
    "FixityCheck",
    "FixityRun",
    "HeldDocument",
    "IdempotentRequest",
    "IntakeItem",
    "IntakeMessage",
    "LegalHold",
    "LoginAttempt",
    "Notification",
    "RetentionClass",
    "SavedSearch",
    "SearchTerm",
    "Tombstone",
    "User",
    "Workflow",
]
