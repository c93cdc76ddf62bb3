"""A batch as a list of records ("spis dokumentacji niearchiwalnej") and, once destroyed, as a
disposal protocol ("protokół brakowania"): CSV and PDF from the same rows.

PDF through reportlab with DejaVu Sans (Polish diacritics); where that font is not installed
the text is folded to ASCII with Helvetica rather than printed with missing glyphs.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path

from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from app.retention.models import BatchKind, DisposalBatch, DisposalItem, Tombstone

FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT = "DejaVuSans"
CSV_HEADER = (
    "ordinal", "document_id", "class_symbol", "category", "title", "date_from", "date_to",
    "retain_until", "state", "remarks", "decided_by", "sha256",
)  # fmt: skip
_TITLES = {
    BatchKind.destruction: "Spis dokumentacji niearchiwalnej przeznaczonej do brakowania",
    BatchKind.expert_review: "Spis dokumentacji BE do ekspertyzy archiwalnej",
    BatchKind.transfer: "Wykaz materiałów archiwalnych (kategoria A) do przekazania",
}
# Column x positions (points) on a landscape A4 page.
_COLUMNS = (30, 60, 210, 255, 510, 640, 720)
_ROW = 11.0


def title_of(batch: DisposalBatch, *, protocol: bool) -> str:
    if protocol and batch.kind == BatchKind.destruction:
        return f"Protokół brakowania nr {batch.number} (disposal protocol)"
    return f"{_TITLES[BatchKind(batch.kind)]} nr {batch.number}"


def _cell(value: object) -> str:
    """Spreadsheets run cells that start with these as formulas (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _sha256s(item: DisposalItem, tombstones: dict[uuid.UUID, Tombstone]) -> list[str]:
    tombstone = tombstones.get(item.document_id)
    if tombstone is not None:
        return list(tombstone.sha256s)
    versions = (item.content or {}).get("versions", [])
    return [str(v["sha256"]) for v in versions]


def items_csv(items: Sequence[DisposalItem], tombstones: Iterable[Tombstone] = ()) -> str:
    by_document = {t.document_id: t for t in tombstones}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for item in items:
        symbol = item.symbol or ""
        writer.writerow(
            [
                _cell(v)
                for v in (
                    item.ordinal, item.document_id, item.retention_class, symbol, item.title,
                    item.date_from, item.date_to, item.retain_until, item.state, item.remarks,
                    item.decided_by, " ".join(_sha256s(item, by_document)),
                )
            ]
        )  # fmt: skip
    return out.getvalue()


class _Pdf:
    """A header, then rows of cells; text goes through one text object per page (a
    `drawString` per cell costs ten times as much on a protocol of 100 000 records)."""

    def __init__(self, title: str) -> None:
        self.buffer = io.BytesIO()
        self.canvas = canvas.Canvas(self.buffer, pagesize=landscape(A4), invariant=True)
        self.canvas.setTitle(title)
        self.width, self.height = landscape(A4)
        self.font = _font()
        self.y = self.height - 40
        self.page = self.canvas.beginText()

    def row(self, cells: Iterable[tuple[float, str]], size: float = 8) -> None:
        self.room(size * 1.4)
        self.page.setFont(self.font, size)
        for x, value in cells:
            self.page.setTextOrigin(x, self.y)
            self.page.textOut(_printable(value, self.font))
        self.y -= size * 1.4

    def line(self, value: str, size: float = 8) -> None:
        self.row([(30, value)], size)

    def room(self, needed: float) -> None:
        if self.y - needed < 30:
            self.canvas.drawText(self.page)
            self.canvas.showPage()
            self.page = self.canvas.beginText()
            self.y = self.height - 40

    def finish(self) -> bytes:
        self.canvas.drawText(self.page)
        self.canvas.showPage()
        self.canvas.save()
        return self.buffer.getvalue()


def _font() -> str:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT
    if FONT_FILE.is_file():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE)))
        return FONT
    return "Helvetica"


def _printable(value: str, font: str) -> str:
    if font == FONT:
        return value
    folded = value.replace("ł", "l").replace("Ł", "L")
    return unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()


def _day(value: date | datetime | None) -> str:
    if value is None:
        return "-"
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else str(value)


def batch_pdf(
    batch: DisposalBatch,
    items: Sequence[DisposalItem],
    tombstones: Iterable[Tombstone] = (),
    *,
    protocol: bool,
) -> bytes:
    title = title_of(batch, protocol=protocol)
    pdf = _Pdf(title)
    _header(pdf, batch, items, title)
    by_document = {t.document_id: t for t in tombstones}
    for item in items:
        _item_rows(pdf, item, _sha256s(item, by_document))
    return pdf.finish()


def _header(pdf: _Pdf, batch: DisposalBatch, items: Sequence[DisposalItem], title: str) -> None:
    pdf.line(title, 13)
    pdf.line(f"Utworzono / created: {_day(batch.created_at)}   status: {batch.status}")
    approvers = ", ".join(a for a in (batch.approved_by, batch.second_approved_by) if a)
    pdf.line(
        f"Zatwierdzili / approved by: {approvers or '-'}   "
        f"({_day(batch.approved_at)}; {_day(batch.second_approved_at)})"
    )
    pdf.line(f"Zakończono / completed: {_day(batch.completed_at)}")
    counts: dict[str, int] = {}
    for item in items:
        counts[item.state] = counts.get(item.state, 0) + 1
    summary = ", ".join(f"{state}: {n}" for state, n in sorted(counts.items()))
    pdf.line(f"Pozycji / items: {len(items)} ({summary})")
    pdf.y -= 6
    headings = (
        "Lp.", "Symbol / klasa", "Kat.", "Tytuł / title", "Daty skrajne", "Do / until",
        "Uwagi / remarks",
    )  # fmt: skip
    pdf.row(zip(_COLUMNS, headings, strict=True))


def _item_rows(pdf: _Pdf, item: DisposalItem, sha256s: list[str]) -> None:
    pdf.room(_ROW * 2)
    dates = f"{_day(item.date_from)} – {_day(item.date_to)}"
    remarks = item.state + (f": {item.remarks}" if item.remarks else "")
    cells = (
        str(item.ordinal), item.retention_class or "-", item.symbol or "-", item.title[:60],
        dates, _day(item.retain_until), remarks[:60],
    )  # fmt: skip
    pdf.row(zip(_COLUMNS, cells, strict=True))
    evidence = f"id {item.document_id}" + "".join(f"  sha256 {sha}" for sha in sha256s)
    pdf.row([(60, evidence)], 5.5)
