"""Retention: classes (seeded Polish defaults) mapped to document classes, per-document
retention dates, legal holds, disposal batches and tombstones; three document classes
(payroll, annual statement, disposal protocol) with their permissions.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "disposal_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("second_approved_by", sa.String(length=200), nullable=True),
        sa.Column("second_approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("protocol_document_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('destruction', 'expert_review', 'transfer')",
            name=op.f("ck_disposal_batches_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'awaiting_second_approval', 'approved', 'completed')",
            name=op.f("ck_disposal_batches_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_batches")),
        sa.UniqueConstraint("number", name="uq_disposal_batches_number"),
    )
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("case_reference", sa.String(length=200), nullable=True),
        sa.Column("search", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("saved_search_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_table(
        "retention_classes",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("category", sa.String(length=2), nullable=False),
        sa.Column("period_years", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column(
            "round_to_year_end", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
        sa.Column("condition", sa.String(length=48), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "category IN ('A', 'B', 'BE', 'Bc')", name=op.f("ck_retention_classes_category_known")
        ),
        sa.CheckConstraint(
            "period_years >= 0", name=op.f("ck_retention_classes_period_not_negative")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_retention_classes")),
    )
    op.create_table(
        "class_retention",
        sa.Column("document_class", sa.String(length=64), nullable=False),
        sa.Column("retention_class", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_class"],
            ["document_classes.code"],
            name=op.f("fk_class_retention_document_class_document_classes"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["retention_class"],
            ["retention_classes.code"],
            name=op.f("fk_class_retention_retention_class_retention_classes"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "document_class", "retention_class", name=op.f("pk_class_retention")
        ),
    )
    op.create_table(
        "disposal_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("document_class", sa.String(length=64), nullable=True),
        sa.Column("retention_class", sa.String(length=64), nullable=True),
        sa.Column("symbol", sa.String(length=8), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=True),
        sa.Column("date_to", sa.Date(), nullable=True),
        sa.Column("retain_until", sa.Date(), nullable=True),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'excluded', 'requalified', 'destroying', 'destroyed', 'skipped', 'refused')",
            name=op.f("ck_disposal_items_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["disposal_batches.id"],
            name=op.f("fk_disposal_items_batch_id_disposal_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_items")),
        sa.UniqueConstraint("batch_id", "ordinal", name="uq_disposal_items_batch_ordinal"),
    )
    op.create_index(
        "ix_disposal_items_batch_state", "disposal_items", ["batch_id", "state"], unique=False
    )
    op.create_index(
        "ix_disposal_items_document_id", "disposal_items", ["document_id"], unique=False
    )
    op.create_table(
        "disposal_tombstones",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("document_class", sa.String(length=64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("retention_class", sa.String(length=64), nullable=True),
        sa.Column("symbol", sa.String(length=8), nullable=True),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retain_until", sa.Date(), nullable=True),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sha256s", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("approvers", postgresql.ARRAY(sa.String(length=200)), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["disposal_batches.id"],
            name=op.f("fk_disposal_tombstones_batch_id_disposal_batches"),
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_disposal_tombstones")),
    )
    op.create_table(
        "document_retention",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("retention_class", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=2), nullable=True),
        sa.Column("symbol", sa.String(length=8), nullable=True),
        sa.Column("trigger_date", sa.Date(), nullable=True),
        sa.Column("computed_until", sa.Date(), nullable=True),
        sa.Column("retain_until", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("extended_until", sa.Date(), nullable=True),
        sa.Column(
            "requalified_to_a", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("circulation_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('dated', 'permanent', 'unknown_trigger')",
            name=op.f("ck_document_retention_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_retention_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_document_retention")),
    )
    op.create_index(
        "ix_document_retention_due", "document_retention", ["category", "due_on"], unique=False
    )
    op.create_table(
        "legal_hold_documents",
        sa.Column("hold_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('explicit', 'search')", name=op.f("ck_legal_hold_documents_source_known")
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["legal_holds.id"],
            name=op.f("fk_legal_hold_documents_hold_id_legal_holds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("hold_id", "document_id", name=op.f("pk_legal_hold_documents")),
    )
    op.create_index(
        "ix_legal_hold_documents_document_id", "legal_hold_documents", ["document_id"], unique=False
    )
    # destruction deletes versions and documents: the rows referencing them need indexes
    op.create_index("ix_documents_current_version_id", "documents", ["current_version_id"])
    op.create_index("ix_document_fields_version_id", "document_fields", ["version_id"])
    op.create_index("ix_intake_items_document_id", "intake_items", ["document_id"])
    _seed()


# A frozen copy of app.retention.policies (tests/test_retention_rules.py keeps them equal).
_UOR = "ustawa o rachunkowości"
_CLASSES = [
    # code, name, category, period, trigger, condition, basis, is_default
    ("accounting_voucher", "Accounting vouchers, purchase and sales invoices (dowody księgowe)",
     "B", 5, "financial_year_end", None, f"{_UOR} art. 74 ust. 2 pkt 8", False),
    ("vat_invoice", "Tax records and VAT invoices (dokumentacja podatkowa)",
     "B", 5, "tax_payment_deadline", None,
     "Ordynacja podatkowa art. 86 § 1 w zw. z art. 70 § 1", False),
    ("contract_settlement", "Commercial contracts and loans, from final settlement (umowy handlowe)",
     "B", 5, "contract_end", None, f"{_UOR} art. 74 ust. 2 pkt 4", False),
    ("contract_claims", "Contracts, limitation of civil claims (przedawnienie roszczeń)",
     "B", 6, "contract_end", None, "Kodeks cywilny art. 118", False),
    ("hr_file_before_2019", "Employee files, hired before 2019 (akta osobowe)",
     "B", 50, "employment_end", "hired_before_2019",
     "ustawa z 10 stycznia 2018 r. o zmianie niektórych ustaw (Dz.U. 2018 poz. 357) art. 7",
     False),
    ("hr_file_1999_2018_reported",
     "Employee files, hired 1999-2018 with ZUS OSW + RIA filed (akta osobowe)",
     "B", 10, "employment_end", "hired_1999_2018_reported",
     "ustawa z 10 stycznia 2018 r. art. 7 ust. 2 (raporty ZUS OSW i RIA)", False),
    ("hr_file_from_2019", "Employee files, hired on or after 2019-01-01 (akta osobowe)",
     "B", 10, "employment_end", "hired_from_2019", "Kodeks pracy art. 94 pkt 9b", False),
    ("payroll", "Payroll cards and payroll lists (karty i listy płac)",
     "B", 10, "financial_year_end", None, f"{_UOR} art. 74 ust. 2 pkt 2", False),
    ("annual_statement",
     "Annual financial statements (sprawozdania finansowe), kept permanently",
     "A", 5, "financial_year_end", None, f"{_UOR} art. 74 ust. 1", False),
    ("pro_forma", "Pro-forma invoices (faktury pro forma)",
     "Bc", 1, "issue_date", None, "not an accounting voucher: kept while in use", False),
    ("disposal_protocol",
     "Disposal protocols and lists of destroyed records (protokoły brakowania)",
     "A", 0, "upload", None,
     "ustawa o narodowym zasobie archiwalnym i archiwach art. 5 ust. 2", False),
    ("default", "Everything else (configurable default)",
     "BE", 10, "upload", None,
     "default for documents no other class covers; an expert reviews them", True),
]  # fmt: skip
_MAPPING = {
    "invoice": ("accounting_voucher", "vat_invoice"),
    "correction": ("accounting_voucher", "vat_invoice"),
    "receipt": ("accounting_voucher", "vat_invoice"),
    "proforma": ("pro_forma",),
    "contract": ("contract_settlement", "contract_claims"),
    "annex": ("contract_settlement", "contract_claims"),
    "hr_record": ("hr_file_before_2019", "hr_file_1999_2018_reported", "hr_file_from_2019"),
    "payroll": ("payroll",),
    "annual_statement": ("annual_statement",),
    "disposal_protocol": ("disposal_protocol",),
}
_NEW_DOCUMENT_CLASSES = [
    {"code": "payroll", "name_en": "Payroll", "name_pl": "Listy płac"},
    {"code": "annual_statement", "name_en": "Annual financial statement",
     "name_pl": "Sprawozdanie finansowe"},
    {"code": "disposal_protocol", "name_en": "Disposal protocol", "name_pl": "Protokół brakowania"},
]  # fmt: skip
# (class, role): (view, upload, edit). Payroll is personal data: hr and accounting only.
_PERMISSIONS = {
    ("payroll", "hr"): (True, True, True),
    ("payroll", "accountant"): (True, True, True),
    ("payroll", "auditor"): (True, False, False),
    ("annual_statement", "admin"): (True, True, True),
    ("annual_statement", "archivist"): (True, True, True),
    ("annual_statement", "accountant"): (True, True, True),
    ("annual_statement", "approver"): (True, False, False),
    ("annual_statement", "auditor"): (True, False, False),
    ("disposal_protocol", "admin"): (True, False, False),
    ("disposal_protocol", "archivist"): (True, False, False),
    ("disposal_protocol", "auditor"): (True, False, False),
}


def _seed() -> None:
    classes = sa.table(
        "retention_classes",
        *(sa.column(name) for name in ("code", "name", "category", "period_years", "trigger")),
        *(sa.column(name) for name in ("condition", "legal_basis", "is_default", "updated_at")),
    )
    columns = ("code", "name", "category", "period_years", "trigger", "condition")
    op.bulk_insert(
        classes,
        [
            {
                **dict(zip(columns, row[:6], strict=True)),
                "legal_basis": row[6],
                "is_default": row[7],
                "updated_at": datetime.now(UTC),
            }
            for row in _CLASSES
        ],
    )
    op.bulk_insert(
        sa.table("document_classes", sa.column("code"), sa.column("name_en"), sa.column("name_pl")),
        _NEW_DOCUMENT_CLASSES,
    )
    mapping = sa.table("class_retention", sa.column("document_class"), sa.column("retention_class"))
    op.bulk_insert(
        mapping,
        [
            {"document_class": document_class, "retention_class": code}
            for document_class, codes in _MAPPING.items()
            for code in codes
        ],
    )
    permissions = sa.table(
        "class_permissions",
        *(sa.column(name) for name in ("document_class", "role", "can_view")),
        *(sa.column(name) for name in ("can_upload", "can_edit")),
    )
    op.bulk_insert(
        permissions,
        [
            {"document_class": c, "role": r, "can_view": v, "can_upload": u, "can_edit": e}
            for (c, r), (v, u, e) in _PERMISSIONS.items()
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_intake_items_document_id", table_name="intake_items")
    op.drop_index("ix_document_fields_version_id", table_name="document_fields")
    op.drop_index("ix_documents_current_version_id", table_name="documents")
    op.drop_index("ix_legal_hold_documents_document_id", table_name="legal_hold_documents")
    op.drop_table("legal_hold_documents")
    op.drop_index("ix_document_retention_due", table_name="document_retention")
    op.drop_table("document_retention")
    op.drop_table("disposal_tombstones")
    op.drop_index("ix_disposal_items_document_id", table_name="disposal_items")
    op.drop_index("ix_disposal_items_batch_state", table_name="disposal_items")
    op.drop_table("disposal_items")
    op.drop_table("class_retention")
    op.drop_table("retention_classes")
    op.drop_table("legal_holds")
    op.drop_table("disposal_batches")
    codes = [row["code"] for row in _NEW_DOCUMENT_CLASSES]
    documents = sa.table("documents", sa.column("document_class"))
    op.execute(
        documents.update().where(documents.c.document_class.in_(codes)).values(document_class=None)
    )
    permissions = sa.table("class_permissions", sa.column("document_class"))
    op.execute(permissions.delete().where(permissions.c.document_class.in_(codes)))
    classes = sa.table("document_classes", sa.column("code"))
    op.execute(classes.delete().where(classes.c.code.in_(codes)))
