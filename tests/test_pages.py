"""Documents page by page (workers.pages) and their previews (workers.previews): text layers,
OCR of scanned pages and images, and the rejection of hostile or broken files."""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from tests import scans
from tests.scans import similarity
from workers.ocr import ocr_pool
from workers.pages import DocumentRejected, PageLimits, read_pages
from workers.previews import render_previews

PDF, TIFF, PNG, JPEG = "application/pdf", "image/tiff", "image/png", "image/jpeg"
DEFAULT_LIMITS = PageLimits()
SECOND_PAGE = ("Druga strona: gęślą jaźń", "Termin płatności: 14 dni", "Kwota: 987,65 zł")


@pytest.fixture(scope="module")
def page() -> Image.Image:
    return scans.text_page()


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    with ocr_pool(2) as executor:
        yield executor


def saved(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rejection(path: Path, media_type: str, limits: PageLimits = DEFAULT_LIMITS) -> str:
    with pytest.raises(DocumentRejected) as caught:
        read_pages(path, media_type, limits=limits)
    return caught.value.reason


# ------------------------------------------------------------------------------ reading pages


def test_born_digital_pdf_is_read_from_its_text_layer(tmp_path: Path) -> None:
    path = saved(tmp_path, "faktura.pdf", scans.text_pdf([scans.INVOICE_LINES, SECOND_PAGE]))
    pages = read_pages(path, PDF)
    assert [p.text for p in pages] == [scans.INVOICE_TEXT, "\n".join(SECOND_PAGE)]
    assert [(p.number, p.source, p.confidence, p.psm) for p in pages] == [
        (1, "text-layer", None, None),
        (2, "text-layer", None, None),
    ]
    assert (pages[0].width, pages[0].height) == (420, 298)  # points


def test_mixed_pdf_ocrs_only_its_scanned_page(tmp_path: Path, page: Image.Image) -> None:
    path = saved(tmp_path, "mixed.pdf", scans.mixed_pdf(SECOND_PAGE, page))
    first, second = read_pages(path, PDF)
    assert (first.source, first.text) == ("text-layer", "\n".join(SECOND_PAGE))
    assert (second.number, second.source, second.rotation) == (2, "ocr", 0)
    assert second.confidence is not None
    assert second.confidence > 0.9
    assert similarity(scans.INVOICE_TEXT, second.text) >= 0.95
    assert "Żółw" in second.text
    assert abs(second.width - page.width) <= 1
    assert abs(second.height - page.height) <= 1


def test_scan_under_a_short_stamp_text_is_still_ocrd(tmp_path: Path, page: Image.Image) -> None:
    stamp = "Skan 2026-03-17 strona 2 z 2, archiwum działu księgowości"
    path = saved(tmp_path, "stamped.pdf", scans.mixed_pdf(SECOND_PAGE, page, stamp=stamp))
    second = read_pages(path, PDF)[1]
    assert second.source == "ocr"
    assert "Przedsiębiorstwo Handlowe Żółw" in second.text


def test_png_page_turned_upside_down(tmp_path: Path, page: Image.Image) -> None:
    path = saved(tmp_path, "skan.png", scans.png(scans.turned(page, 180)))
    (read,) = read_pages(path, PNG)
    assert (read.number, read.source, read.rotation, read.psm) == (1, "ocr", 180, 3)
    assert similarity(scans.INVOICE_TEXT, read.text) >= 0.95


def test_jpeg_exif_orientation_is_honoured(tmp_path: Path, page: Image.Image) -> None:
    path = saved(tmp_path, "telefon.jpg", scans.jpeg_with_orientation(page, 6))
    with Image.open(path) as stored:
        assert stored.size == (page.height, page.width)  # stored on its side
    (read,) = read_pages(path, JPEG)
    assert read.rotation == 0  # EXIF put it upright; OCR had nothing left to turn
    assert (read.width, read.height) == page.size
    assert similarity(scans.INVOICE_TEXT, read.text) >= 0.95
    assert "Zapłacono przelewem" in read.text


def test_three_page_tiff_in_a_pool(
    tmp_path: Path, page: Image.Image, pool: ProcessPoolExecutor
) -> None:
    third = scans.text_page(SECOND_PAGE)
    path = saved(tmp_path, "skany.tif", scans.tiff([page, scans.turned(page, 90), third]))
    pages = read_pages(path, TIFF, executor=pool)
    assert [(p.number, p.source, p.rotation) for p in pages] == [
        (1, "ocr", 0),
        (2, "ocr", 270),
        (3, "ocr", 0),
    ]
    assert similarity(scans.INVOICE_TEXT, pages[1].text) >= 0.95
    assert similarity("\n".join(SECOND_PAGE), pages[2].text) >= 0.95
    assert "gęślą jaźń" in pages[2].text


def test_pool_started_for_one_call(tmp_path: Path) -> None:
    small = [scans.text_page(["Strona pierwsza: żółć"]), scans.text_page(["Strona druga: ćma"])]
    pages = read_pages(saved(tmp_path, "dwie.tif", scans.tiff(small)), TIFF)
    assert [p.text for p in pages] == ["Strona pierwsza: żółć", "Strona druga: ćma"]


def test_unknown_media_type_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="image/gif"):
        read_pages(saved(tmp_path, "a.gif", b"GIF89a"), "image/gif")


# ---------------------------------------------------------------------------------- rejections


def test_password_protected_pdf(tmp_path: Path) -> None:
    path = saved(tmp_path, "tajne.pdf", scans.text_pdf([scans.INVOICE_LINES], encrypt="pw"))
    assert rejection(path, PDF) == "the PDF is password-protected"


@pytest.mark.parametrize(
    ("name", "media_type", "data", "reason"),
    [
        (
            "bomb.png",
            PNG,
            scans.png_claiming(40_000, 40_000),
            "page 1 is 1600 megapixels, over the limit of 100 megapixels",
        ),
        (
            "bomb.tif",
            TIFF,
            scans.tiff_claiming(40_000, 40_000),
            "page 1 is 1600 megapixels, over the limit of 100 megapixels",
        ),
        (
            "big.png",
            PNG,
            scans.png_claiming(12_000, 10_000),
            "page 1 is 12000×10000 pixels, over the limit of 100 megapixels",
        ),
        (
            "poster.pdf",
            PDF,
            scans.huge_page_pdf(14_400, 14_400),
            "page 1 is 60000×60000 pixels at 300 dpi, over the limit of 100 megapixels",
        ),
    ],
)
def test_pages_over_the_pixel_limit_are_refused_before_decoding(
    tmp_path: Path, name: str, media_type: str, data: bytes, reason: str
) -> None:
    assert rejection(saved(tmp_path, name, data), media_type) == reason


def test_pixel_limit_applies_to_every_tiff_page(tmp_path: Path, page: Image.Image) -> None:
    small = page.resize((page.width // 4, page.height // 4))
    path = saved(tmp_path, "mix.tif", scans.tiff([small, page]))
    assert small.width * small.height < 100_000 < page.width * page.height
    assert rejection(path, TIFF, PageLimits(max_pixels=100_000)) == (
        f"page 2 is {page.width}×{page.height} pixels, over the limit of 0.1 megapixels"
    )


def test_too_many_pages(tmp_path: Path) -> None:
    pdf = saved(tmp_path, "long.pdf", scans.text_pdf([scans.INVOICE_LINES] * 3))
    assert rejection(pdf, PDF, PageLimits(max_pages=2)) == (
        "the document has 3 pages, over the limit of 2"
    )
    blank = Image.new("L", (50, 50), 255)
    tiff = saved(tmp_path, "long.tif", scans.tiff([blank] * 4))
    assert rejection(tiff, TIFF, PageLimits(max_pages=2)) == (
        "the document has more than 2 pages, over the limit of 2"
    )


@pytest.mark.parametrize(
    ("name", "media_type", "reason"),
    [
        ("cut.pdf", PDF, "the PDF is damaged or truncated"),
        ("cut.png", PNG, "the PNG image is damaged or truncated"),
        ("cut.jpg", JPEG, "the JPEG image is damaged or truncated"),
        ("cut.tif", TIFF, "page 2 of the TIFF is damaged"),
        ("junk.png", PNG, "the file is not a readable PNG image"),
        ("junk.pdf", PDF, "the PDF is damaged or truncated"),
    ],
)
def test_truncated_and_corrupt_files(
    tmp_path: Path, page: Image.Image, name: str, media_type: str, reason: str
) -> None:
    whole = {
        "cut.pdf": scans.mixed_pdf(SECOND_PAGE, page),
        "cut.png": scans.png(page),
        "cut.jpg": scans.jpeg_with_orientation(page, 1),
        "cut.tif": scans.tiff([page, page]),
        "junk.png": b"\x89PNG\r\n\x1a\n" + bytes(200),
        "junk.pdf": b"%PDF-1.7\n" + bytes(200),
    }[name]
    data = scans.truncated(whole) if name.startswith("cut") else whole
    assert rejection(saved(tmp_path, name, data), media_type) == reason


def test_declared_type_must_match_the_file(tmp_path: Path, page: Image.Image) -> None:
    path = saved(tmp_path, "really.jpg", scans.jpeg_with_orientation(page, 1))
    assert rejection(path, PNG) == "the file is not a readable PNG image"


def test_ocr_time_limit_names_the_page(
    tmp_path: Path, page: Image.Image, pool: ProcessPoolExecutor
) -> None:
    path = saved(tmp_path, "slow.tif", scans.tiff([page, page]))
    with pytest.raises(DocumentRejected) as caught:
        read_pages(path, TIFF, limits=PageLimits(page_timeout_s=0.01), executor=pool)
    assert caught.value.reason == "OCR of page 1 took longer than 0.01 s"


# ------------------------------------------------------------------------------------ previews


def webp(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "WEBP"
    return image


def test_pdf_previews_and_thumbnail(tmp_path: Path) -> None:
    path = saved(tmp_path, "faktura.pdf", scans.text_pdf([scans.INVOICE_LINES, SECOND_PAGE] * 2))
    thumbnail, previews = render_previews(path, PDF, limits=PageLimits(), max_pages=3)
    assert len(previews) == 3
    for preview in previews:  # A6 landscape, 420×298 pt: 1200×851.4 pixels
        width, height = webp(preview).size
        assert width == 1200
        assert abs(height - 851) <= 1
    assert webp(thumbnail).width == 300
    assert abs(webp(thumbnail).height - 213) <= 1
    assert all(len(p) < 100_000 for p in previews)


def test_previews_of_images_are_upright(tmp_path: Path, page: Image.Image) -> None:
    jpeg = saved(tmp_path, "telefon.jpg", scans.jpeg_with_orientation(page, 6))
    thumbnail, (preview,) = render_previews(jpeg, JPEG, limits=PageLimits())
    assert webp(preview).size == (1200, round(1200 * page.height / page.width))
    assert webp(thumbnail).width == 300
    tiff = saved(tmp_path, "skany.tif", scans.tiff([page, page, page]))
    assert len(render_previews(tiff, TIFF, limits=PageLimits())[1]) == 3


def test_previews_share_the_rejections(tmp_path: Path) -> None:
    locked = saved(tmp_path, "tajne.pdf", scans.text_pdf([scans.INVOICE_LINES], encrypt="pw"))
    with pytest.raises(DocumentRejected, match="password-protected"):
        render_previews(locked, PDF, limits=PageLimits())
    bomb = saved(tmp_path, "bomb.png", scans.png_claiming(40_000, 40_000))
    with pytest.raises(DocumentRejected, match="over the limit of 100 megapixels"):
        render_previews(bomb, PNG, limits=PageLimits())
