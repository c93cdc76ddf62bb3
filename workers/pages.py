"""The text of a document page by page: PDF text layers where they are usable, tesseract for
scanned pages and images, and the limits that turn hostile or broken files into a rejection."""

from __future__ import annotations

import os
import re
import struct
import threading
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pypdfium2  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]
from PIL import Image, ImageOps

from workers.ocr import OcrRead, OcrTimeout, map_pages, ocr_pool, read_image

PDF = "application/pdf"
IMAGE_FORMATS = {"image/tiff": "TIFF", "image/png": "PNG", "image/jpeg": "JPEG"}
MIN_TEXT_CHARS = 20  # letters and digits a text layer needs to stand for the page
FULL_TEXT_CHARS = 200  # with this much text a page is born-digital even over a background image
SCAN_COVER = 0.5  # an image over half the page with little text on it is a scan
MAX_JUNK = 0.1  # share of control / private-use characters of a text layer without ToUnicode
PLAUSIBLE_DPI = range(150, 1201)
# Errors Pillow raises while parsing or decoding a damaged file ("Missing dimensions" of a
# truncated TIFF IFD is a TypeError).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, TypeError, EOFError, struct.error)


@dataclass(frozen=True, slots=True)
class PageText:
    number: int  # 1-based
    text: str
    source: Literal["text-layer", "ocr"]
    confidence: float | None  # mean OCR word confidence 0..1; None for text-layer
    rotation: int  # 0/90/180/270 degrees clockwise applied before reading
    width: int  # pixels at the resolution read (text-layer pages: points)
    height: int
    psm: int | None = None  # tesseract page segmentation mode of the kept reading


@dataclass(frozen=True, slots=True)
class PageLimits:
    max_pages: int = 500
    max_pixels: int = 100_000_000
    page_timeout_s: float = 120.0
    dpi: int = 300


class DocumentRejected(Exception):
    """The document cannot be read; `reason` is short, in English, fit to show a user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_pages(
    path: Path,
    media_type: str,
    *,
    limits: PageLimits = PageLimits(),
    executor: Executor | None = None,
) -> list[PageText]:
    """The text of each page of a PDF, TIFF, PNG or JPEG file, in page order.

    Pages to OCR run on `executor`, which should be an `ocr_pool()` a worker keeps alive
    across documents; without one, a single scanned page is read in this process and several
    pages in a pool started for this call. Raises DocumentRejected for password-protected,
    damaged or truncated files and for files over `limits`. A pool process that dies (killed,
    out of memory, a crash in a decoder) raises BrokenProcessPool: that pool is unusable, so
    start a new one and retry the document.
    """
    if media_type == PDF:
        return _read_pdf(path, limits, executor)
    if media_type in IMAGE_FORMATS:
        return _read_image_file(path, media_type, limits, executor)
    raise ValueError(f"read_pages cannot read {media_type}")


# ------------------------------------------------------------------------------------- limits


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:g} megapixels"


def check_page_count(count: int, limits: PageLimits, *, counted_all: bool = True) -> None:
    """`counted_all` is False when counting stopped one page past the limit."""
    if count <= limits.max_pages:
        return
    pages = str(count) if counted_all else f"more than {limits.max_pages}"
    raise DocumentRejected(f"the document has {pages} pages, over the limit of {limits.max_pages}")


def check_page_pixels(number: int, size: tuple[int, int], limits: PageLimits, at: str = "") -> None:
    width, height = size
    if width * height > limits.max_pixels:
        raise DocumentRejected(
            f"page {number} is {width}×{height} pixels{at}, "
            f"over the limit of {_megapixels(limits.max_pixels)}"
        )


# ---------------------------------------------------------------------------------------- PDF


# PDFium is not thread-safe: in one process, one thread at a time uses it (a worker running
# several documents at once has several threads). Everything opened is closed inside the
# block, so no PDFium finalizer runs later in another thread.
_PDFIUM = threading.RLock()


@contextmanager
def open_pdf(path: Path) -> Iterator[Any]:
    """The pypdfium2 document, closed afterwards; a PDF that cannot be opened is rejected."""
    with _PDFIUM:
        try:
            pdf = pypdfium2.PdfDocument(path)
        except pypdfium2.PdfiumError as error:
            raise _pdf_rejection(error) from error
        try:
            yield pdf
        finally:
            pdf.close()


def _pdf_rejection(error: Any) -> Exception:
    code = error.err_code
    if code == pdfium_c.FPDF_ERR_FILE:
        return FileNotFoundError(str(error))  # our fault, not the document's
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return DocumentRejected("the PDF is password-protected")
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return DocumentRejected("the PDF uses an encryption that cannot be opened")
    return DocumentRejected("the PDF is damaged or truncated")


def pdf_page(pdf: Any, index: int) -> Any:
    try:
        return pdf[index]
    except pypdfium2.PdfiumError as error:
        raise DocumentRejected(f"page {index + 1} of the PDF is damaged") from error


def pdf_render_size(page: Any, dpi: float) -> tuple[int, int]:
    width, height = page.get_size()
    return round(width * dpi / 72), round(height * dpi / 72)


def _normalise(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def _is_junk(char: str) -> bool:
    return char == "\ufffd" or unicodedata.category(char) in {"Cc", "Co", "Cn", "Cs"}


def _largest_image_share(page: Any) -> float:
    width, height = page.get_size()
    largest: float = 0.0
    for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2):
        left, bottom, right, top = image.get_bounds()
        largest = max(largest, (right - left) * (top - bottom))
    return float(largest / max(width * height, 1.0))


def usable_text(text: str, page: Any) -> bool:
    """Whether a page's text layer stands for the page, so that it need not be OCR'd."""
    visible = [ch for ch in text if not ch.isspace()]
    chars = sum(ch.isalnum() for ch in visible)
    if chars < MIN_TEXT_CHARS or sum(map(_is_junk, visible)) > MAX_JUNK * len(visible):
        return False
    return chars >= FULL_TEXT_CHARS or _largest_image_share(page) < SCAN_COVER


def _text_layer(page: Any, number: int) -> PageText | None:
    textpage = page.get_textpage()
    try:
        text = _normalise(textpage.get_text_range())
    finally:
        textpage.close()
    if not usable_text(text, page):
        return None
    width, height = page.get_size()
    return PageText(number, text, "text-layer", None, 0, round(width), round(height))


def _read_pdf(path: Path, limits: PageLimits, executor: Executor | None) -> list[PageText]:
    pages: dict[int, PageText] = {}
    scans: list[int] = []
    with open_pdf(path) as pdf:
        check_page_count(len(pdf), limits)
        for index in range(len(pdf)):
            page = pdf_page(pdf, index)
            text = _text_layer(page, index + 1)
            if text is None:
                at = f" at {limits.dpi} dpi"
                check_page_pixels(index + 1, pdf_render_size(page, limits.dpi), limits, at)
                scans.append(index)
            else:
                pages[index] = text
            page.close()
    read = partial(_ocr_pdf_page, path, limits)
    pages.update(zip(scans, _read_scans(read, scans, executor), strict=True))
    return [pages[index] for index in sorted(pages)]


def rasterise(page: Any, *, dpi: float, grayscale: bool) -> Image.Image:
    bitmap = page.render(scale=dpi / 72, grayscale=grayscale)
    try:
        # A copy: `to_pil` shares the bitmap's buffer, which is freed right here.
        image: Image.Image = bitmap.to_pil().copy()
    finally:
        bitmap.close()
    return image


def _ocr_pdf_page(path: Path, limits: PageLimits, index: int) -> PageText:
    """Runs in a pool process: render one PDF page at `limits.dpi` and OCR it."""
    with open_pdf(path) as pdf:
        page = pdf_page(pdf, index)
        try:
            image = rasterise(page, dpi=limits.dpi, grayscale=True)
        except pypdfium2.PdfiumError as error:
            raise DocumentRejected(f"page {index + 1} of the PDF cannot be rendered") from error
        finally:
            page.close()
    return _ocr(image, index + 1, limits.dpi, limits)


# ------------------------------------------------------------------------------------- images


def _bomb_rejection(error: Image.DecompressionBombError, limits: PageLimits) -> DocumentRejected:
    pixels = re.search(r"\((\d+) pixels\)", str(error))
    size = f"{_megapixels(int(pixels.group(1)))}" if pixels else "too large"
    return DocumentRejected(f"page 1 is {size}, over the limit of {_megapixels(limits.max_pixels)}")


@contextmanager
def open_image(path: Path, media_type: str, limits: PageLimits) -> Iterator[Image.Image]:
    """The image with only its header parsed, in the declared format only; a file that is not
    one, or whose first page is over the pixel limit, is rejected before anything is decoded."""
    kind = IMAGE_FORMATS[media_type]
    Image.MAX_IMAGE_PIXELS = limits.max_pixels  # Pillow's own guard, at the same limit
    with path.open("rb") as file, warnings.catch_warnings():
        # Between the limit and twice it Pillow only warns: check_page_pixels rejects. Its
        # warnings on damaged metadata (corrupt EXIF) are no reason to refuse a readable page.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
        try:
            image = Image.open(file, formats=(kind,))
        except Image.DecompressionBombError as error:
            raise _bomb_rejection(error, limits) from error
        except DECODE_ERRORS as error:
            raise DocumentRejected(f"the file is not a readable {kind} image") from error
        with image:
            check_page_pixels(1, image.size, limits)
            yield image


def seek_frame(image: Image.Image, index: int, media_type: str) -> bool:
    """Go to page `index` of the image; False past the last one."""
    if index > 0 and media_type != "image/tiff":
        return False  # animated PNG frames and JPEG extras are not pages
    try:
        image.seek(index)
    except EOFError:
        return False
    except DECODE_ERRORS as error:
        raise DocumentRejected(f"page {index + 1} of the TIFF is damaged") from error
    return True


def count_frames(image: Image.Image, media_type: str, limits: PageLimits) -> int:
    """Pages of the image, each checked against the pixel limit (headers only)."""
    count = 0
    while seek_frame(image, count, media_type):
        check_page_pixels(count + 1, image.size, limits)
        count += 1
        check_page_count(count, limits, counted_all=False)
    return count


def decode_frame(image: Image.Image, number: int, media_type: str) -> Image.Image:
    """The current frame decoded and turned upright as its EXIF orientation says."""
    try:
        image.load()
        return ImageOps.exif_transpose(image)
    except DECODE_ERRORS as error:
        kind = IMAGE_FORMATS[media_type]
        where = f"page {number} of the TIFF" if number > 1 else f"the {kind} image"
        raise DocumentRejected(f"{where} is damaged or truncated") from error


def flatten(image: Image.Image, mode: Literal["L", "RGB"]) -> Image.Image:
    """The image in `mode`, transparency over white, 16-bit samples scaled (not clipped)."""
    if image.mode in {"I;16", "I;16B", "I;16L", "I"}:
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if "A" in image.getbands() or image.info.get("transparency") is not None:
        background = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert(mode)


def image_dpi(image: Image.Image) -> int | None:
    dpi = image.info.get("dpi")
    value = round(float(dpi[0])) if isinstance(dpi, tuple) and dpi else None
    return value if value in PLAUSIBLE_DPI else None


def _read_image_file(
    path: Path, media_type: str, limits: PageLimits, executor: Executor | None
) -> list[PageText]:
    with open_image(path, media_type, limits) as image:
        count = count_frames(image, media_type, limits)
    read = partial(_ocr_image_frame, path, media_type, limits)
    return _read_scans(read, list(range(count)), executor)


def _ocr_image_frame(path: Path, media_type: str, limits: PageLimits, index: int) -> PageText:
    """Runs in a pool process: decode one page of an image file and OCR it."""
    with open_image(path, media_type, limits) as image:
        seek_frame(image, index, media_type)
        check_page_pixels(index + 1, image.size, limits)
        dpi = image_dpi(image)
        gray = flatten(decode_frame(image, index + 1, media_type), "L")
    return _ocr(gray, index + 1, dpi, limits)


# ---------------------------------------------------------------------------------------- OCR


def _ocr(image: Image.Image, number: int, dpi: int | None, limits: PageLimits) -> PageText:
    try:
        read: OcrRead = read_image(image, dpi=dpi, timeout_s=limits.page_timeout_s)
    except OcrTimeout as error:
        raise DocumentRejected(
            f"OCR of page {number} took longer than {limits.page_timeout_s:g} s"
        ) from error
    return PageText(
        number=number,
        text=read.text,
        source="ocr",
        confidence=round(read.confidence, 4),
        rotation=read.rotation,
        width=read.width,
        height=read.height,
        psm=read.psm,
    )


def _read_scans(
    read_page: Callable[[int], PageText], indexes: list[int], executor: Executor | None
) -> list[PageText]:
    if executor is not None:
        return map_pages(read_page, indexes, executor)
    if len(indexes) <= 1:
        return [read_page(index) for index in indexes]
    with ocr_pool(min(len(indexes), os.cpu_count() or 1)) as pool:
        return map_pages(read_page, indexes, pool)
