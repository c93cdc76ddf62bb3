"""Page-reading benchmark: the OCR pipeline (workers.pages.read_pages over a process pool)
against the raw tesseract CLI on the same page images, text layers of born-digital PDFs, and
two ways of finding a page's orientation.

In one run, on generated A4 pages at 300 dpi (Polish invoice-like text, DejaVu Sans):

* scans: each round reads the same PNG pages twice, in alternating order: (raw) the
  `tesseract` CLI (`-l pol+eng --psm 3`, OMP_THREAD_LIMIT=1) from a thread pool of one thread
  per core, and (pipeline) `read_pages` on each PNG from as many threads sharing one
  `ocr_pool()`; the ratio is pipeline pages/s over raw pages/s;
* scanned PDF: the same pages embedded as images in one PDF, read with `read_pages`
  (rasterising at 300 dpi included);
* text layer: a born-digital PDF of 200 pages read with `read_pages` (no OCR);
* turned/degraded pages: pages turned by 0/90/180/270 degrees, half of them blurred and
  specked, through both paths (raw tesseract reads them wrongly: this is what the pipeline's
  orientation detection and psm retries cost);
* orientation: on those pages, tesseract OSD (`--psm 0`) against reading all four
  orientations (psm 3) and keeping the most confident.

    .venv/bin/python bench/ocr.py            # the documented run (about ten minutes on 2 cores)
    .venv/bin/python bench/ocr.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import pytesseract  # type: ignore[import-untyped]
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import scans
from workers import ocr
from workers.pages import PageLimits, read_pages

RESULTS_DIR = Path(__file__).resolve().parent / "results"
A4_PX = (2480, 3508)
A4_PT = (595.0, 842.0)
WORDS = [
    "faktura",
    "sprzedawca",
    "nabywca",
    "towar",
    "usługa",
    "ilość",
    "cena",
    "netto",
    "brutto",
    "stawka",
    "podatek",
    "zapłata",
    "termin",
    "przelew",
    "rachunek",
    "bankowy",
    "kwota",
    "razem",
    "wartość",
    "łącznie",
    "środki",
    "żółty",
    "źródło",
    "gęś",
    "ćma",
    "dostawa",
    "magazyn",
    "wydanie",
    "zamówienie",
    "rabat",
    "należność",
    "potrącenie",
    "korekta",
]


@dataclass
class Throughput:
    pages: int
    seconds: float
    cpu_seconds: float  # this process and all its descendants (pool, tesseract)

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds

    @property
    def cpu_per_page(self) -> float:
        return self.cpu_seconds / self.pages

    def __add__(self, other: Throughput) -> Throughput:
        return Throughput(
            self.pages + other.pages,
            self.seconds + other.seconds,
            self.cpu_seconds + other.cpu_seconds,
        )


def cpu_seconds() -> float:
    """CPU time of this process, its reaped children (raw tesseract runs) and its live
    descendants (fork server, pool processes, with the tesseract runs they reaped). Read
    between runs, when no tesseract is running."""
    own = os.times()
    total = own.user + own.system + own.children_user + own.children_system
    for process in psutil.Process().children(recursive=True):
        times = process.cpu_times()
        total += times.user + times.system + times.children_user + times.children_system
    return total


# ----------------------------------------------------------------------------------- corpus


def invoice_lines(rng: random.Random, count: int) -> list[str]:
    lines = list(scans.INVOICE_LINES)
    while len(lines) < count:
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 8)))
        lines.append(
            f"{len(lines) - 3}. {words} {rng.randint(1, 9999)},{rng.randint(0, 99):02d} zł"
        )
    return lines


def a4_page(rng: random.Random, lines: int = 45) -> Image.Image:
    text = scans.text_page(invoice_lines(rng, lines), width=A4_PX[0], points=10)
    page = Image.new("L", A4_PX, 255)
    page.paste(text.crop((0, 0, A4_PX[0], min(text.height, A4_PX[1]))), (0, 0))
    return page


def scanned_pdf(pages: Sequence[Image.Image]) -> bytes:
    from reportlab.lib.utils import ImageReader  # type: ignore[import-untyped]
    from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4_PT)
    for page in pages:
        pdf.drawImage(ImageReader(page.convert("RGB")), 0, 0, *A4_PT)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def born_digital_pdf(rng: random.Random, pages: int) -> bytes:
    return scans.text_pdf([invoice_lines(rng, 14) for _ in range(pages)])


# --------------------------------------------------------------------------------- the runs


def raw_tesseract(path: Path) -> str:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    command = ["tesseract", str(path), "stdout", "-l", ocr.LANGUAGES, "--psm", "3"]
    return subprocess.run(command, env=env, capture_output=True, check=True, text=True).stdout


def timed(work: Callable[[], object], pages: int) -> Throughput:
    cpu, start = cpu_seconds(), time.perf_counter()
    work()
    return Throughput(pages, time.perf_counter() - start, cpu_seconds() - cpu)


def run_raw(paths: Sequence[Path], threads: int) -> Throughput:
    with ThreadPoolExecutor(threads) as workers:
        return timed(lambda: list(workers.map(raw_tesseract, paths)), len(paths))


def run_pipeline(paths: Sequence[Path], threads: int, pool: Executor) -> Throughput:
    def read(path: Path) -> int:
        return len(read_pages(path, "image/png", executor=pool))

    with ThreadPoolExecutor(threads) as workers:
        return timed(lambda: list(workers.map(read, paths)), len(paths))


def run_scans(paths: Sequence[Path], rounds: int, pool: Executor) -> dict[str, Any]:
    """Batches of one page per core, raw and pipeline alternating batch by batch, so that the
    load of a shared machine falls on both sides alike."""
    threads = os.cpu_count() or 1
    batches = [paths[i : i + threads] for i in range(0, len(paths), threads)]
    raw = pipeline = Throughput(0, 0.0, 0.0)
    turn = 0
    for round_number in range(rounds):
        for batch in batches:
            if turn % 2 == 0:
                raw += run_raw(batch, threads)
                pipeline += run_pipeline(batch, threads, pool)
            else:
                pipeline += run_pipeline(batch, threads, pool)
                raw += run_raw(batch, threads)
            turn += 1
        print(
            f"after round {round_number + 1} ({raw.pages} pages a side): "
            f"raw {raw.pages_per_s:.3f} pages/s, pipeline {pipeline.pages_per_s:.3f} pages/s, "
            f"ratio {pipeline.pages_per_s / raw.pages_per_s:.3f}; CPU s/page raw "
            f"{raw.cpu_per_page:.2f}, pipeline {pipeline.cpu_per_page:.2f}",
            flush=True,
        )
    return {
        "threads": threads,
        "pages_per_side": raw.pages,
        "raw_pages_per_s": raw.pages_per_s,
        "pipeline_pages_per_s": pipeline.pages_per_s,
        "ratio": pipeline.pages_per_s / raw.pages_per_s,
        "raw_cpu_s_per_page": raw.cpu_per_page,
        "pipeline_cpu_s_per_page": pipeline.cpu_per_page,
        "cpu_ratio": raw.cpu_per_page / pipeline.cpu_per_page,
    }


def run_hard_pages(cases: Sequence[tuple[Path, int]], pool: Executor) -> dict[str, Any]:
    """Turned and degraded pages: what orientation detection and psm retries cost."""
    threads = os.cpu_count() or 1
    paths = [path for path, _ in cases]
    raw = run_raw(paths, threads)
    pipeline = run_pipeline(paths, threads, pool)
    return {
        "pages": len(paths),
        "raw_pages_per_s": raw.pages_per_s,
        "pipeline_pages_per_s": pipeline.pages_per_s,
        "ratio": pipeline.pages_per_s / raw.pages_per_s,
        "raw_cpu_s_per_page": raw.cpu_per_page,
        "pipeline_cpu_s_per_page": pipeline.cpu_per_page,
    }


def run_scanned_pdf(path: Path, pages: int, pool: Executor) -> dict[str, Any]:
    result = timed(lambda: read_pages(path, "application/pdf", executor=pool), pages)
    return {"pages": pages, "seconds": result.seconds, "pages_per_s": result.pages_per_s}


def run_text_layer(path: Path, pages: int, repeats: int) -> dict[str, Any]:
    runs = [timed(lambda: read_pages(path, "application/pdf"), pages) for _ in range(repeats)]
    rates = [run.pages_per_s for run in runs]
    sources = {page.source for page in read_pages(path, "application/pdf")}
    return {
        "pages": pages,
        "median_pages_per_s": statistics.median(rates),
        "runs_pages_per_s": rates,
        "sources": sorted(sources),
    }


# ------------------------------------------------------------------------------ orientation


def mean_confidence(path: Path) -> float:
    tsv = pytesseract.image_to_data(str(path), lang=ocr.LANGUAGES, config="--psm 3 --dpi 300")
    words = ocr.parse_tsv(str(tsv))
    return sum(w.confidence for w in words) / len(words) if words else 0.0


def osd(path: Path) -> int:
    try:
        text = str(pytesseract.image_to_osd(str(path), config="--dpi 300"))
    except pytesseract.TesseractError:
        return 0
    return int(text.split("Rotate: ")[1].split()[0])


def by_trial(path: Path, scratch: Path) -> int:
    """Read the page in all four orientations and keep the most confident."""
    best, best_confidence = 0, -1.0
    with Image.open(path) as image:
        for clockwise in (0, 90, 180, 270):
            turned = image.rotate(-clockwise, expand=True)
            candidate = scratch / f"{path.stem}-{clockwise}.pgm"
            turned.save(candidate, format="PPM")
            confidence = mean_confidence(candidate)
            if confidence > best_confidence:
                best, best_confidence = clockwise, confidence
    return best


def run_orientation(cases: Sequence[tuple[Path, int]], scratch: Path) -> dict[str, Any]:
    threads = os.cpu_count() or 1
    methods: dict[str, Callable[[Path], int]] = {
        "osd": osd,
        "four_readings": lambda path: by_trial(path, scratch),
    }
    report: dict[str, Any] = {}
    for name, detect in methods.items():
        with ThreadPoolExecutor(threads) as workers:
            start = time.perf_counter()
            found = list(workers.map(detect, [path for path, _ in cases]))
            seconds = time.perf_counter() - start
        correct = sum(f == want for f, (_, want) in zip(found, cases, strict=True))
        report[name] = {
            "pages": len(cases),
            "correct": correct,
            "seconds_per_page": seconds * threads / len(cases),
            "found": found,
            "expected": [want for _, want in cases],
        }
        print(f"orientation by {name}: {correct}/{len(cases)} correct", flush=True)
    return report


def orientation_cases(pages: Sequence[Image.Image], folder: Path) -> list[tuple[Path, int]]:
    """Each page turned 0/90/180/270 degrees, half of them degraded; with the clockwise turn
    that makes them upright."""
    cases = []
    for index, page in enumerate(pages):
        turn = (0, 90, 180, 270)[index % 4]
        image = scans.turned(page, turn)
        if index % 2:
            image = scans.degraded(image, blur=1.2, specks=0.02, seed=index)
        path = folder / f"turned-{index}.png"
        image.save(path, dpi=(300, 300))
        cases.append((path, (360 - turn) % 360))
    return cases


# ------------------------------------------------------------------------------------ main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=8, help="scanned A4 pages per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--text-pages", type=int, default=200)
    parser.add_argument("--orientation-pages", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="tiny corpus, one round")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.quick:
        args.pages, args.rounds, args.text_pages, args.orientation_pages = 2, 1, 50, 4
    return args


def print_summary(report: dict[str, Any]) -> None:
    scan, pdf, text = report["scans"], report["scanned_pdf"], report["text_layer"]
    print()
    print(f"ocr: {report['machine']['nproc']} CPUs, A4 pages at 300 dpi, pol+eng")
    print(f"{'':42}{'pages/s':>10}")
    print(f"{'raw tesseract CLI (psm 3, PNG)':42}{scan['raw_pages_per_s']:>10.3f}")
    print(f"{'read_pages on the same PNGs (pool)':42}{scan['pipeline_pages_per_s']:>10.3f}")
    print(f"{'  ratio pipeline / raw (target >= 0.9)':42}{scan['ratio']:>10.3f}")
    print(
        f"  CPU s per page: raw {scan['raw_cpu_s_per_page']:.2f}, pipeline "
        f"{scan['pipeline_cpu_s_per_page']:.2f} (ratio raw/pipeline {scan['cpu_ratio']:.3f})"
    )
    print(f"{'read_pages on a scanned PDF (pool)':42}{pdf['pages_per_s']:>10.3f}")
    hard = report["hard_pages"]
    print(f"{'turned/degraded pages: raw tesseract CLI':42}{hard['raw_pages_per_s']:>10.3f}")
    print(f"{'turned/degraded pages: read_pages (pool)':42}{hard['pipeline_pages_per_s']:>10.3f}")
    print(f"{'  ratio pipeline / raw':42}{hard['ratio']:>10.3f}")
    label = f"read_pages text layer, {text['pages']}-page PDF"
    print(f"{label:42}{text['median_pages_per_s']:>10.1f}")
    for name, fig in report["orientation"].items():
        print(
            f"orientation by {name}: {fig['correct']}/{fig['pages']} correct, "
            f"{fig['seconds_per_page']:.2f} s per page (one core)"
        )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    ocr.limit_tesseract_threads()  # for the orientation runs in this process
    rng = random.Random(2026)
    pages = [a4_page(rng) for _ in range(max(args.pages, args.orientation_pages))]
    with tempfile.TemporaryDirectory(prefix="bench-ocr-") as scratch_name:
        scratch = Path(scratch_name)
        paths = []
        for index, page in enumerate(pages[: args.pages]):
            paths.append(scratch / f"page-{index}.png")
            page.save(paths[-1], dpi=(300, 300))
        scanned = scratch / "scanned.pdf"
        scanned.write_bytes(scanned_pdf(pages[: args.pages]))
        digital = scratch / "digital.pdf"
        digital.write_bytes(born_digital_pdf(rng, args.text_pages))
        cases = orientation_cases(pages[: args.orientation_pages], scratch)
        with ocr.ocr_pool() as pool:
            read_pages(paths[0], "image/png", executor=pool)  # warm: fork server, caches
            raw_tesseract(paths[0])
            report: dict[str, Any] = {
                "scans": run_scans(paths, args.rounds, pool),
                "scanned_pdf": run_scanned_pdf(scanned, args.pages, pool),
                "hard_pages": run_hard_pages(cases, pool),
            }
        report["text_layer"] = run_text_layer(digital, args.text_pages, repeats=5)
        report["orientation"] = run_orientation(cases, scratch)
    report["machine"] = {"nproc": os.cpu_count(), "python": platform.python_version()}
    report["config"] = {**vars(args), "results_dir": str(args.results_dir)}
    report["limits"] = asdict(PageLimits())
    print_summary(report)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.results_dir / f"ocr-{stamp}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
