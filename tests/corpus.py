"""A seeded ground-truth corpus for extraction: born-digital PDFs and scans made from them.

`build_corpus(directory)` writes the files and returns one `CorpusItem` per file with the class
and field values (in the formats of workers/extract/fields.py) a perfect reader would extract.
A field expected as None must not be extracted at all (e.g. no KSeF number on the page).

Scans are the born-digital pages rasterised at 300 dpi with pypdfium2:
clean (image-only PDF, PNG, a multi-page TIFF, pages turned 90° and 180°) and noisy (gaussian
noise, a slight blur and skew, JPEG artefacts at quality 40).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium  # type: ignore[import-untyped]
from PIL import Image, ImageChops, ImageFilter

from tests.corpus_contracts import annex, contract
from tests.corpus_hr import employment_certificate, employment_contract, leave_request
from tests.corpus_invoices import vat_invoice
from tests.corpus_layout import Doc, render_pdf
from tests.corpus_special import correction, eur_invoice, proforma, receipt
from workers.extract.fields import ExtractedField

DPI = 300
DEFAULT_SEED = 20260301
BORN_DIGITAL, CLEAN_SCAN, NOISY_SCAN = "born-digital", "clean-scan", "noisy-scan"
INPUT_KINDS = (BORN_DIGITAL, CLEAN_SCAN, NOISY_SCAN)

TEMPLATES: tuple[Callable[[random.Random], Doc], ...] = (
    lambda rng: vat_invoice(rng, multi_rate=False),
    lambda rng: contract(rng, "najem"),
    lambda rng: vat_invoice(rng, multi_rate=True),
    employment_contract,
    correction,
    lambda rng: contract(rng, "uslugi"),
    eur_invoice,
    employment_certificate,
    proforma,
    lambda rng: contract(rng, "sprzedaz"),
    receipt,
    leave_request,
    lambda rng: vat_invoice(rng, multi_rate=False),
    annex,
)
CLEAN_VARIANTS = ("pdf", "png", "tiff", "rot90", "rot180")
NOISY_VARIANTS = ("jpeg", "pdf")
MEDIA_TYPES = {
    "text-layer": "application/pdf",
    "pdf": "application/pdf",
    "png": "image/png",
    "tiff": "image/tiff",
    "rot90": "image/png",
    "rot180": "application/pdf",
    "jpeg": "image/jpeg",
}
SUFFIXES = {
    "image/png": ".png",
    "image/tiff": ".tiff",
    "image/jpeg": ".jpg",
    "application/pdf": ".pdf",
}


@dataclass(frozen=True)
class CorpusItem:
    name: str
    path: Path
    media_type: str
    input_kind: str  # born-digital | clean-scan | noisy-scan
    variant: str  # text-layer | pdf | png | tiff | rot90 | rot180 | jpeg
    template: str
    pages: int
    expected_class: str
    expected: dict[str, Any]


def field_outcomes(
    item: CorpusItem, document_class: str, fields: Iterable[ExtractedField]
) -> dict[str, bool]:
    """Per expected field, whether extraction got it exactly; a field expected as None counts as
    right only when it was not extracted. The class is scored as "document_class"."""
    found = {field.name: field.value for field in fields}
    outcomes = {"document_class": document_class == item.expected_class}
    for name, expected in item.expected.items():
        outcomes[name] = found.get(name) == expected
    return outcomes


def build_corpus(
    directory: Path,
    *,
    born_digital: int = 30,
    clean_scans: int = 20,
    noisy_scans: int = 20,
    seed: int = DEFAULT_SEED,
) -> list[CorpusItem]:
    """Write the corpus into `directory`; the same arguments always give the same documents."""
    counts = {BORN_DIGITAL: born_digital, CLEAN_SCAN: clean_scans, NOISY_SCAN: noisy_scans}
    return [
        make_item(directory, kind, index, seed)
        for kind, count in counts.items()
        for index in range(count)
    ]


def make_item(directory: Path, kind: str, index: int, seed: int = DEFAULT_SEED) -> CorpusItem:
    """The index-th document of one input kind; templates rotate so every kind sees them all."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}/{kind}/{index}")
    offset = INPUT_KINDS.index(kind) * 5
    doc = TEMPLATES[(index + offset) % len(TEMPLATES)](rng)
    name = f"{kind}-{index:03d}-{doc.template}"
    pdf_path = directory / f"{name}.pdf"
    pages = render_pdf(doc.sheet, pdf_path, title=name)
    variant = _variant(kind, index, pages)
    path = pdf_path if kind == BORN_DIGITAL else _scan(pdf_path, kind, variant, rng)
    return CorpusItem(
        name=name,
        path=path,
        media_type=MEDIA_TYPES[variant],
        input_kind=kind,
        variant=variant,
        template=doc.template,
        pages=pages,
        expected_class=doc.expected_class,
        expected=doc.expected,
    )


def _variant(kind: str, index: int, pages: int) -> str:
    if kind == BORN_DIGITAL:
        return "text-layer"
    if kind == CLEAN_SCAN and pages > 1:
        return "tiff"  # multi-page scans usually arrive as one TIFF
    variants = CLEAN_VARIANTS if kind == CLEAN_SCAN else NOISY_VARIANTS
    return variants[index % len(variants)]


# --------------------------------------------------------------------------- scanning


def rasterise(pdf_path: Path, dpi: int = DPI) -> list[Image.Image]:
    document = pdfium.PdfDocument(pdf_path)
    try:
        return [
            page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L") for page in document
        ]
    finally:
        document.close()


def _scan(pdf_path: Path, kind: str, variant: str, rng: random.Random) -> Path:
    images = rasterise(pdf_path)
    pdf_path.unlink()
    if kind == NOISY_SCAN:
        images = [degrade(image, rng) for image in images]
    if variant == "rot90":
        images = [image.rotate(90, expand=True, fillcolor=255) for image in images]
    if variant == "rot180":
        images = [image.rotate(180, expand=True) for image in images]
    path = pdf_path.with_suffix(SUFFIXES[MEDIA_TYPES[variant]])
    _save(images, path, variant)
    return path


def _save(images: list[Image.Image], path: Path, variant: str) -> None:
    first, rest = images[0], images[1:]
    if variant in ("pdf", "rot180"):
        first.save(path, format="PDF", save_all=True, append_images=rest, resolution=DPI)
    elif variant == "tiff":
        first.save(
            path,
            format="TIFF",
            save_all=True,
            append_images=rest,
            compression="tiff_lzw",
            dpi=(DPI, DPI),
        )
    elif variant == "jpeg":
        first.save(path, format="JPEG", quality=40, dpi=(DPI, DPI))
    else:
        first.save(path, format="PNG", dpi=(DPI, DPI))


def degrade(image: Image.Image, rng: random.Random) -> Image.Image:
    """Scanner noise: gaussian grain, a slight skew and blur; JPEG artefacts come on saving."""
    noisy = ImageChops.add(image, _noise(image.size, rng, sigma=rng.uniform(18, 30)), 1.0, -128)
    skewed = noisy.rotate(rng.uniform(-0.6, 0.6), resample=Image.Resampling.BICUBIC, fillcolor=255)
    return skewed.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.0)))


def _noise(
    size: tuple[int, int], rng: random.Random, *, sigma: float, tile: int = 384
) -> Image.Image:
    """Seeded gaussian noise around 128, tiled (PIL's own noise generator cannot be seeded)."""
    values = bytes(max(0, min(255, round(rng.gauss(128, sigma)))) for _ in range(tile * tile))
    patch = Image.frombytes("L", (tile, tile), values)
    canvas = Image.new("L", size)
    for top in range(0, size[1], tile):
        for left in range(0, size[0], tile):
            canvas.paste(patch, (left, top))
    return canvas
