"""Test documents made on the fly (each call yields different bytes) and the official KSeF
examples from ../shared/ksef."""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # Debian: fonts-dejavu-core
SHARED = Path(__file__).resolve().parents[2] / "shared"
KSEF_FA2_DIR = SHARED / "ksef" / "fa2"


def _page(label: str, size: tuple[int, int] = (620, 877)) -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 40), f"Faktura VAT {label}", fill="black")
    for row in range(8):
        draw.text((40, 100 + 30 * row), f"pozycja {row} {random.random():.12f}", fill="black")
    return image


def pdf(label: str = "", pages: int = 2) -> bytes:
    images = [_page(f"{label} p{n}") for n in range(pages)]
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=100)
    return out.getvalue()


def tiff(label: str = "", pages: int = 3) -> bytes:
    images = [_page(f"{label} p{n}").convert("L") for n in range(pages)]
    out = io.BytesIO()
    images[0].save(
        out, format="TIFF", save_all=True, append_images=images[1:], compression="tiff_lzw"
    )
    return out.getvalue()


def png(label: str = "") -> bytes:
    out = io.BytesIO()
    _page(label).save(out, format="PNG")
    return out.getvalue()


def jpeg(label: str = "") -> bytes:
    out = io.BytesIO()
    _page(label).save(out, format="JPEG", quality=85)
    return out.getvalue()


def ksef_fa2(name: str = "podstawowa__FA_2_Przyklad_4.xml") -> bytes:
    return (KSEF_FA2_DIR / name).read_bytes()


def ksef_fa3(invoice_number: str = "FV/1/2026") -> bytes:
    """A small FA(3) invoice written from the schema's element names."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/">
  <Naglowek>
    <KodFormularza kodSystemowy="FA (3)" wersjaSchemy="1-0E">FA</KodFormularza>
    <WariantFormularza>3</WariantFormularza>
    <DataWytworzeniaFa>2026-02-01T10:00:00Z</DataWytworzeniaFa>
  </Naglowek>
  <Podmiot1><DaneIdentyfikacyjne><NIP>5260250274</NIP><Nazwa>Sprzedawca sp. z o.o.</Nazwa>
  </DaneIdentyfikacyjne></Podmiot1>
  <Podmiot2><DaneIdentyfikacyjne><NIP>7251801126</NIP><Nazwa>Nabywca S.A.</Nazwa>
  </DaneIdentyfikacyjne></Podmiot2>
  <Fa><KodWaluty>PLN</KodWaluty><P_1>2026-02-01</P_1><P_2>{invoice_number}</P_2>
  <P_13_1>1000.00</P_13_1><P_14_1>230.00</P_14_1><P_15>1230.00</P_15>
  <RodzajFaktury>VAT</RodzajFaktury></Fa>
</Faktura>
""".encode()


def _registered_font() -> str:
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", FONT))
    return "DejaVuSans"


def text_pdf(lines: list[str], *, encrypt: str | None = None) -> bytes:
    """A born-digital PDF with a real text layer (Polish diacritics included)."""
    out = io.BytesIO()
    pdf_canvas = canvas.Canvas(out, pagesize=A4, encrypt=encrypt, invariant=True)
    pdf_canvas.setFont(_registered_font(), 12)
    for row, line in enumerate(lines):
        pdf_canvas.drawString(60, 780 - 20 * row, line)
    pdf_canvas.drawString(60, 100, f"ref {random.random():.12f}")
    pdf_canvas.showPage()
    pdf_canvas.save()
    return out.getvalue()


def encrypted_pdf() -> bytes:
    return text_pdf(["Poufne: lista płac"], encrypt="tajne-haslo")


def _scan_page(lines: list[str]) -> Image.Image:
    """A clean 300 dpi scan of a few lines of text."""
    font = ImageFont.truetype(FONT, 42)
    image = Image.new("L", (1800, 140 + 80 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((80, 60 + 80 * row), line, font=font, fill=0)
    return image


def scan_png(lines: list[str]) -> bytes:
    out = io.BytesIO()
    _scan_page(lines).save(out, format="PNG", dpi=(300, 300))
    return out.getvalue()


def scan_tiff(pages: list[list[str]]) -> bytes:
    images = [_scan_page(lines) for lines in pages]
    out = io.BytesIO()
    images[0].save(
        out,
        format="TIFF",
        save_all=True,
        append_images=images[1:],
        dpi=(300, 300),
        compression="tiff_lzw",
    )
    return out.getvalue()


SAMPLES = {
    "pdf": (pdf, "application/pdf", "faktura.pdf"),
    "tiff": (tiff, "image/tiff", "skan.tiff"),
    "png": (png, "image/png", "skan.png"),
    "jpeg": (jpeg, "image/jpeg", "zdjęcie paragonu.jpg"),
    "ksef-fa3": (
        lambda label="": ksef_fa3(f"FV/{label}/{random.random()}"),
        "application/vnd.ksef+xml",
        "FA3.xml",
    ),
}
