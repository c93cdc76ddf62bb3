"""A tiny page-layout model for the corpus: rows of positioned text cells, rendered to PDF with
reportlab in DejaVu Sans so Polish diacritics are real text in the text layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.lib.utils import simpleSplit  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
REGULAR, BOLD = "DejaVuSans", "DejaVuSans-Bold"
LEFT = 18.0
TOP_MARGIN, BOTTOM_MARGIN = 18.0, 16.0


def _register_fonts() -> None:
    for name in (REGULAR, BOLD):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / f"{name}.ttf")))


@dataclass(frozen=True)
class Cell:
    x: float  # millimetres from the left edge
    text: str
    bold: bool = False
    size: float = 9.5

    @property
    def font(self) -> str:
        return BOLD if self.bold else REGULAR


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]
    space_before: float  # millimetres above the baseline gap
    page_break: bool = False

    @property
    def height(self) -> float:
        return max((cell.size for cell in self.cells), default=9.5) * 0.45 + self.space_before


@dataclass
class Sheet:
    """A document as rows of cells, top to bottom, flowed onto as many pages as it needs."""

    width: float = 210.0  # millimetres
    height: float = 297.0
    text_size: float = 9.5  # points, for lines and paragraphs that do not say otherwise
    rows: list[Row] = field(default_factory=list)

    def row(self, *cells: Cell, space: float = 0.0) -> None:
        self.rows.append(Row(tuple(cells), space))

    def line(
        self, text: str, *, x: float = LEFT, bold: bool = False, size: float | None = None
    ) -> None:
        self.row(Cell(x, text, bold, size or self.text_size))

    def gap(self, millimetres: float = 4.0) -> None:
        self.rows.append(Row((), millimetres))

    def para(
        self, text: str, *, x: float = LEFT, size: float | None = None, bold: bool = False
    ) -> None:
        """Wrapped running text; lines break where a word processor would."""
        _register_fonts()
        size = size or self.text_size
        width = (self.width - x - LEFT) * mm
        for piece in simpleSplit(text, BOLD if bold else REGULAR, size, width):
            self.line(piece, x=x, bold=bold, size=size)

    def centred(self, text: str, *, bold: bool = True, size: float = 13.0) -> None:
        _register_fonts()
        width = pdfmetrics.stringWidth(text, BOLD if bold else REGULAR, size) / mm
        self.line(text, x=(self.width - width) / 2, bold=bold, size=size)

    def page_break(self) -> None:
        self.rows.append(Row((), 0.0, page_break=True))


@dataclass(frozen=True)
class Doc:
    """One generated document: what it looks like and what a perfect reader would extract."""

    template: str
    expected_class: str
    expected: dict[str, Any]
    sheet: Sheet


def render_pdf(sheet: Sheet, path: Path, *, title: str) -> int:
    """Write the sheet as a born-digital PDF; return the number of pages."""
    _register_fonts()
    canvas = Canvas(str(path), pagesize=(sheet.width * mm, sheet.height * mm), invariant=True)
    canvas.setTitle(title)
    pages, y = 1, sheet.height - TOP_MARGIN
    for row in sheet.rows:
        y -= row.height
        if row.page_break or y < BOTTOM_MARGIN:
            canvas.showPage()
            pages, y = pages + 1, sheet.height - TOP_MARGIN - (0 if row.page_break else row.height)
        for cell in row.cells:
            canvas.setFont(cell.font, cell.size)
            canvas.drawString(cell.x * mm, y * mm, cell.text)
    canvas.showPage()
    canvas.save()
    return pages
