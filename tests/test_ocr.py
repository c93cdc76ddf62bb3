"""Tesseract page reading (workers.ocr) on rendered Polish pages: accuracy, orientation,
page segmentation retries, time limit and the process pool's environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest
from PIL import Image

from tests import scans
from tests.scans import similarity
from workers.ocr import OcrTimeout, ocr_pool, parse_tsv, read_image, words_to_text

KEY_WORDS = ("FV/2026/03/117", "Przedsiębiorstwo", "Żółw", "Zapłacono", "1 234,56 zł")


@pytest.fixture(scope="module")
def page() -> Image.Image:
    return scans.text_page()


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    with ocr_pool(1) as executor:
        yield executor


def test_clean_page_reads_in_one_pass(page: Image.Image) -> None:
    read = read_image(page, dpi=300)
    assert similarity(scans.INVOICE_TEXT, read.text) >= 0.95
    assert all(word in read.text for word in KEY_WORDS)
    assert read.text.splitlines()[0] == "Faktura VAT nr FV/2026/03/117"
    assert (read.rotation, read.psm) == (0, 3)
    assert read.confidence > 0.9
    assert (read.width, read.height) == page.size


@pytest.mark.parametrize(("turned", "rotation"), [(90, 270), (180, 180), (270, 90)])
def test_turned_page_is_detected_and_read_upright(
    page: Image.Image, turned: int, rotation: int
) -> None:
    read = read_image(scans.turned(page, turned), dpi=300)
    assert read.rotation == rotation  # degrees clockwise that make the page upright
    assert (read.width, read.height) == page.size
    assert similarity(scans.INVOICE_TEXT, read.text) >= 0.95
    assert "Żółw" in read.text


def test_noisy_blurred_page_keeps_the_key_facts(page: Image.Image) -> None:
    read = read_image(scans.degraded(page, blur=1.2, specks=0.02), dpi=300)
    assert similarity(scans.INVOICE_TEXT, read.text) >= 0.85
    assert "Faktura VAT nr FV/2026/03/117" in read.text
    assert "1 234,56 zł" in read.text
    assert read.rotation == 0
    assert 0.5 < read.confidence < 0.95


def test_poor_reading_is_retried_with_another_segmentation(page: Image.Image) -> None:
    # Heavy blur and noise: psm 3 reads at 0.59 mean confidence, psm 6 at 0.41, psm 11 at 0.73.
    read = read_image(scans.degraded(page, blur=1.8, specks=0.08, seed=2), dpi=300)
    assert read.psm == 11
    assert read.confidence > 0.7
    assert similarity(scans.INVOICE_TEXT, read.text) >= 0.85
    assert "Przedsiębiorstwo" in read.text
    assert "Żółw" in read.text


def test_blank_page_costs_one_pass_and_reads_nothing() -> None:
    read = read_image(Image.new("L", scans.A6_LANDSCAPE_PX, 255), dpi=300)
    assert (read.text, read.confidence, read.rotation, read.psm) == ("", 0.0, 0, 3)


def test_time_limit_kills_tesseract(page: Image.Image) -> None:
    with pytest.raises(OcrTimeout):
        read_image(page, dpi=300, timeout_s=0.01)


def test_pool_processes_limit_tesseract_threads(pool: ProcessPoolExecutor) -> None:
    assert pool.submit(os.getenv, "OMP_THREAD_LIMIT").result() == "1"


def test_tsv_words_become_lines_and_blocks() -> None:
    header = "\t".join(
        [
            "level",
            "page_num",
            "block_num",
            "par_num",
            "line_num",
            "word_num",
            "left",
            "top",
            "width",
            "height",
            "conf",
            "text",
        ]
    )
    rows = [
        "5\t1\t1\t1\t1\t1\t10\t10\t80\t20\t96.5\tFaktura",
        "5\t1\t1\t1\t1\t2\t95\t10\t40\t20\t91\tVAT",
        "4\t1\t1\t1\t2\t0\t10\t40\t300\t20\t-1\t",
        "5\t1\t1\t1\t2\t1\t10\t40\t120\t20\t88\tZapłacono",
        "5\t1\t2\t1\t1\t1\t10\t90\t60\t20\t70\tzł",
        "5\t1\t2\t1\t1\t2\t80\t90\t10\t20\t95\t ",
    ]
    words = parse_tsv("\n".join([header, *rows]))
    assert [word.text for word in words] == ["Faktura", "VAT", "Zapłacono", "zł"]
    assert words[0].confidence == pytest.approx(0.965)
    assert words_to_text(words) == "Faktura VAT\nZapłacono\n\nzł"
