"""A back office for circulation tests: users with roles, invoices with fields, and one
transaction per call (as one request would have), against the real database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.audit.service import configure_audit
from app.circulation import service, workflows
from app.circulation.models import (
    Circulation,
    CirculationEvent,
    CirculationTask,
    TaskState,
)
from app.circulation.seeds import COST_INVOICE
from app.db import build_sessionmaker, session_scope
from app.documents.models import Document, DocumentField
from app.security.models import User
from app.security.principal import Actor, system_actor
from schemas.circulation import ActionName, CirculationOut, TaskAction, WorkflowDefinition

ADMIN = system_actor("tests")


class Office:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.factory: sessionmaker[Session] = build_sessionmaker(engine)
        self.people: dict[str, Actor] = {}

    def session(self) -> Any:
        return session_scope(self.factory)

    # --- people and documents --------------------------------------------------------------

    def user(self, username: str, *roles: str) -> Actor:
        with self.session() as session:
            user = User(id=uuid.uuid4(), username=username, roles=sorted(roles))
            session.add(user)
        actor = Actor(name=username, user_id=user.id, roles=frozenset(roles))
        self.people[username] = actor
        return actor

    def staff(self) -> None:
        """The cast of the cost-invoice tests."""
        self.user("rita", "clerk")
        self.user("olga", "approver")  # owner of cost centre IT
        self.user("anna", "approver")
        self.user("bob", "approver")
        self.user("celina", "cfo")
        self.user("kasia", "accountant")
        self.user("henryk", "head_of_unit")
        self.user("uploader", "clerk")

    def document(
        self,
        document_class: str = "invoice",
        *,
        created_by: str = "uploader",
        fields: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        title: str = "FV 1/2026",
    ) -> uuid.UUID:
        with self.session() as session:
            document = Document(
                id=uuid.uuid4(),
                status="processed",
                document_class=document_class,
                title=title,
                created_by=created_by,
                custom_fields=metadata or {},
            )
            session.add(document)
            session.flush()
            for name, value in (fields or {}).items():
                session.add(
                    DocumentField(
                        document_id=document.id,
                        name=name,
                        value=value,
                        confidence=1.0,
                        source="xml",
                        updated_by="tests",
                    )
                )
        return document.id

    def invoice(
        self,
        gross: str | None,
        *,
        currency: str = "PLN",
        cost_centre: str = "IT",
        created_by: str = "uploader",
    ) -> uuid.UUID:
        fields: dict[str, Any] = {"currency": currency, "seller_nip": "5250001009"}
        if gross is not None:
            fields["gross_total"] = gross
        return self.document(
            fields=fields, metadata={"cost_centre": cost_centre}, created_by=created_by
        )

    # --- workflows ---------------------------------------------------------------------------

    def cost_invoice_workflow(self, **changes: Any) -> None:
        """The seeded cost invoice with cost centre IT owned by olga, as a new version."""
        definition = dict(COST_INVOICE) | changes
        definition["mappings"] = {
            "cost_centre_owners": {"entries": {"IT": "olga"}, "fallback": {"role": "approver"}}
        }
        self.save_workflow("invoice", definition)

    def save_workflow(self, document_class: str, definition: dict[str, Any]) -> int:
        with self.session() as session:
            workflow = workflows.replace(
                session,
                document_class=document_class,
                definition=WorkflowDefinition.model_validate(definition),
                actor=ADMIN,
            )
            return workflow.version

    # --- circulation ---------------------------------------------------------------------------

    def start(self, document_id: uuid.UUID, *, now: datetime | None = None) -> uuid.UUID:
        with self.session() as session:
            document = session.get(Document, document_id)
            assert document is not None
            circulation = service.start_circulation(
                session, document=document, actor=ADMIN, now=now
            )
            return circulation.id

    def act(
        self,
        who: str,
        task_id: uuid.UUID,
        action: str = "approve",
        *,
        now: datetime | None = None,
        **options: Any,
    ) -> CirculationOut:
        request = TaskAction(action=ActionName(action), **options)
        with self.session() as session:
            return service.act(
                session, task_id=task_id, request=request, actor=self.people[who], now=now
            )

    def open_tasks(self, document_id: uuid.UUID) -> list[CirculationTask]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(CirculationTask)
                    .join(Circulation, Circulation.id == CirculationTask.circulation_id)
                    .where(
                        Circulation.document_id == document_id,
                        CirculationTask.state.in_([TaskState.open, TaskState.claimed]),
                    )
                    .order_by(CirculationTask.created_at, CirculationTask.id)
                )
            )

    def task(self, document_id: uuid.UUID, step: str) -> uuid.UUID:
        tasks = [t for t in self.open_tasks(document_id) if t.step_key == step]
        assert len(tasks) == 1, f"expected one open {step} task, got {self.steps_now(document_id)}"
        return tasks[0].id

    def steps_now(self, document_id: uuid.UUID) -> list[str]:
        return [t.step_key for t in self.open_tasks(document_id)]

    def pass_step(self, document_id: uuid.UUID, step: str, who: str, **options: Any) -> None:
        self.act(who, self.task(document_id, step), "approve", **options)

    def circulation(self, document_id: uuid.UUID) -> Circulation:
        with self.session() as session:
            circulation = session.scalars(
                select(Circulation)
                .where(Circulation.document_id == document_id)
                .order_by(Circulation.started_at.desc())
            ).first()
            assert circulation is not None
            return circulation

    def events(self, document_id: uuid.UUID) -> list[CirculationEvent]:
        circulation = self.circulation(document_id)
        with self.session() as session:
            return list(
                session.scalars(
                    select(CirculationEvent)
                    .where(CirculationEvent.circulation_id == circulation.id)
                    .order_by(CirculationEvent.id)
                )
            )

    def actions(self, document_id: uuid.UUID) -> list[tuple[str, str | None, str]]:
        return [(e.action, e.step_key, e.actor) for e in self.events(document_id)]

    def walk_invoice_to_approval(self, document_id: uuid.UUID) -> None:
        self.start(document_id)
        self.pass_step(document_id, "registration", "rita")
        self.pass_step(document_id, "description", "olga")


def money(value: str) -> Decimal:
    return Decimal(value)


def reset_workflows(engine: Engine) -> None:
    """Circulations go with their documents; workflow versions tests added go too."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE circulations CASCADE"))
        conn.execute(text("DELETE FROM circulation_workflows WHERE created_by <> 'migration'"))
        conn.execute(text("UPDATE circulation_workflows SET active = true"))


@pytest.fixture
def office(engine: Engine) -> Iterator[Office]:
    configure_audit(None)
    yield Office(engine)
    reset_workflows(engine)
