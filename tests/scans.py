"""Page images and files for the page-reading tests: Polish text rendered with DejaVu Sans
(Debian package fonts-dejavu-core), rotated, degraded, and hostile or broken files."""

from __future__ import annotations

import difflib
import io
import random
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont
from reportlab.lib.utils import ImageReader  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]
from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DPI = 300
INVOICE_LINES = (
    "Faktura VAT nr FV/2026/03/117",
    "Sprzedawca: Przedsiębiorstwo Handlowe Żółw sp. z o.o.",
    "Zapłacono przelewem",
    "Razem do zapłaty: 1 234,56 zł",
)
INVOICE_TEXT = "\n".join(INVOICE_LINES)
A6_LANDSCAPE_PX = (1748, 1240)


def text_page(
    lines: Sequence[str] = INVOICE_LINES, *, width: int = A6_LANDSCAPE_PX[0], points: float = 11
) -> Image.Image:
    """A white grayscale page at 300 dpi, just tall enough for the lines."""
    size = round(points * DPI / 72)
    font = ImageFont.truetype(str(FONT), size)
    line_height = round(size * 1.6)
    margin = DPI // 4
    page = Image.new("L", (width, 2 * margin + line_height * len(lines)), 255)
    draw = ImageDraw.Draw(page)
    for row, line in enumerate(lines):
        draw.text((margin, margin + row * line_height), line, font=font, fill=0)
    return page


def turned(page: Image.Image, clockwise: int) -> Image.Image:
    """The page as a scanner would deliver it turned clockwise by 90, 180 or 270 degrees."""
    return page.rotate(-clockwise, expand=True)


def degraded(
    page: Image.Image, *, blur: float = 1.2, specks: float = 0.02, seed: int = 1
) -> Image.Image:
    """A blurred copy with salt-and-pepper noise on `specks` of the pixels."""
    noisy = page.filter(ImageFilter.GaussianBlur(blur))
    rng = random.Random(seed)
    pixels = noisy.load()
    assert pixels is not None
    for _ in range(int(noisy.width * noisy.height * specks)):
        pixels[rng.randrange(noisy.width), rng.randrange(noisy.height)] = rng.choice((0, 255))
    return noisy


def png(page: Image.Image) -> bytes:
    out = io.BytesIO()
    page.save(out, format="PNG", dpi=(DPI, DPI))
    return out.getvalue()


def jpeg_with_orientation(page: Image.Image, orientation: int = 6) -> bytes:
    """A JPEG whose pixels are stored turned; the EXIF Orientation tag says how to show it.
    Tag 6 means "rotate 90° clockwise to display", so the pixels are stored 90° anticlockwise."""
    stored = {1: page, 3: turned(page, 180), 6: turned(page, 270), 8: turned(page, 90)}
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    stored[orientation].save(out, format="JPEG", quality=92, exif=exif, dpi=(DPI, DPI))
    return out.getvalue()


def tiff(pages: Sequence[Image.Image]) -> bytes:
    out = io.BytesIO()
    first, *rest = pages
    first.save(
        out,
        format="TIFF",
        save_all=True,
        append_images=rest,
        compression="tiff_lzw",
        dpi=(DPI, DPI),
    )
    return out.getvalue()


def _dejavu() -> str:
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONT)))
    return "DejaVuSans"


def _write_lines(pdf: canvas.Canvas, lines: Sequence[str], height: float) -> None:
    pdf.setFont(_dejavu(), 11)
    for row, line in enumerate(lines):
        pdf.drawString(40, height - 60 - 18 * row, line)


def text_pdf(pages: Sequence[Sequence[str]], *, encrypt: str | None = None) -> bytes:
    """A born-digital PDF (real text layer with Polish diacritics), one page per list of lines."""
    out = io.BytesIO()
    width, height = 420.0, 298.0  # A6 landscape in points
    pdf = canvas.Canvas(out, pagesize=(width, height), encrypt=encrypt, invariant=True)
    for lines in pages:
        _write_lines(pdf, lines, height)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def mixed_pdf(text_lines: Sequence[str], scan: Image.Image, stamp: str = "") -> bytes:
    """Page 1 carries a text layer; page 2 is an embedded scan at 300 dpi, with only `stamp`
    as text over it (as a scanner or a numbering tool adds)."""
    out = io.BytesIO()
    scan_size = (scan.width * 72 / DPI, scan.height * 72 / DPI)
    pdf = canvas.Canvas(out, pagesize=scan_size, invariant=True)
    _write_lines(pdf, text_lines, scan_size[1])
    pdf.showPage()
    pdf.drawImage(ImageReader(scan.convert("RGB")), 0, 0, *scan_size)
    if stamp:
        pdf.setFont(_dejavu(), 5)
        pdf.drawString(4, 4, stamp)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def huge_page_pdf(width_pt: float, height_pt: float) -> bytes:
    """A one-page PDF whose page is far larger than any real paper (no text on it)."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(width_pt, height_pt), invariant=True)
    pdf.rect(10, 10, 100, 100)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width×height grey pixels (a decompression bomb's
    header: decoding it would allocate width×height bytes)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def tiff_claiming(width: int, height: int) -> bytes:
    """A tiny uncompressed greyscale TIFF whose IFD declares width×height pixels."""
    strip = b"\xff" * 16
    tags = [  # (tag, type, count, value): type 3 SHORT, 4 LONG
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 8),
        (277, 3, 1, 1),
        (278, 4, 1, height),
        (279, 4, 1, len(strip)),
    ]
    ifd_offset = 8 + len(strip)
    ifd = struct.pack("<H", len(tags))
    for tag, kind, count, value in tags:
        packed = struct.pack("<HI", value, 0)[:4] if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", ifd_offset) + strip + ifd


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


def similarity(expected: str, read: str) -> float:
    """How close OCR came to the rendered text, whitespace aside (difflib ratio, 0..1)."""
    return difflib.SequenceMatcher(None, " ".join(expected.split()), " ".join(read.split())).ratio()
