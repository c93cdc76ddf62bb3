"""Extraction accuracy per field and per input kind on the generated ground-truth corpus.

The corpus (tests/corpus.py, seeded) is written to a temporary directory: born-digital PDFs,
clean 300 dpi scans (image PDF, PNG, multi-page TIFF, pages turned 90° and 180°) and noisy scans
(grain, blur, skew, JPEG quality 40). Every file goes through the production path:
workers.pages.read_pages (text layer, or tesseract pol+eng on a process pool sized to the
cores) and workers.extract.document.extract_document with no declared class. A field is right
when its value equals the ground truth exactly; a field expected absent (None) is right when it
was not extracted. The class counts as one more field, "document_class".

Issue targets: born-digital >= 98 %, clean scans >= 95 %, noisy scans >= 90 % of fields.

    .venv/bin/python -m bench.extraction                  # 30 / 20 / 20 documents
    .venv/bin/python -m bench.extraction --quick          # 6 / 3 / 3, a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.corpus import DEFAULT_SEED, INPUT_KINDS, CorpusItem, build_corpus, field_outcomes
from workers.extract.document import ExtractionResult, extract_document
from workers.ocr import ocr_pool
from workers.pages import PageText, read_pages

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGETS = {"born-digital": 98.0, "clean-scan": 95.0, "noisy-scan": 90.0}


@dataclass(frozen=True)
class Config:
    born_digital: int
    clean_scans: int
    noisy_scans: int
    workers: int
    seed: int
    results_dir: Path
    show_failures: bool


@dataclass
class Outcome:
    item: CorpusItem
    read_seconds: float
    pages: list[PageText]
    result: ExtractionResult
    fields: dict[str, bool] = field(default_factory=dict)


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--born-digital", type=int, default=30)
    parser.add_argument("--clean", type=int, default=20, help="clean scans (default 20)")
    parser.add_argument("--noisy", type=int, default=20, help="noisy scans (default 20)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="OCR processes")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--failures", action="store_true", help="print every wrong field")
    parser.add_argument("--quick", action="store_true", help="6 born-digital, 3 + 3 scans")
    args = parser.parse_args(argv)
    if args.quick:
        args.born_digital, args.clean, args.noisy = 6, 3, 3
    return Config(
        born_digital=args.born_digital,
        clean_scans=args.clean,
        noisy_scans=args.noisy,
        workers=max(1, args.workers),
        seed=args.seed,
        results_dir=args.results_dir,
        show_failures=args.failures,
    )


# --------------------------------------------------------------------------- running


def _process(item: CorpusItem, ocr: Executor) -> Outcome:
    started = time.perf_counter()
    pages = read_pages(item.path, item.media_type, executor=ocr)
    read_seconds = time.perf_counter() - started
    result = extract_document(pages, declared_class=None)
    outcome = Outcome(item, read_seconds, pages, result)
    outcome.fields = field_outcomes(item, result.document_class, result.fields)
    return outcome


def run(config: Config, directory: Path) -> list[Outcome]:
    items = build_corpus(
        directory,
        born_digital=config.born_digital,
        clean_scans=config.clean_scans,
        noisy_scans=config.noisy_scans,
        seed=config.seed,
    )
    # Threads only wait on the OCR processes; one document per worker keeps every core busy.
    with ocr_pool(config.workers) as ocr, ThreadPoolExecutor(config.workers) as threads:
        return list(threads.map(lambda item: _process(item, ocr), items))


# --------------------------------------------------------------------------- reporting


def _confidence(outcomes: Sequence[Outcome], right: bool) -> float | None:
    values = [
        found.confidence
        for outcome in outcomes
        for found in outcome.result.fields
        if outcome.fields.get(found.name) is right
    ]
    return round(statistics.fmean(values), 3) if values else None


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    kinds: dict[str, Any] = {}
    for kind in INPUT_KINDS:
        chosen = [o for o in outcomes if o.item.input_kind == kind]
        if chosen:
            kinds[kind] = _kind_summary(kind, chosen)
    return kinds


def _kind_summary(kind: str, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    per_field: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for outcome in outcomes:
        for name, right in outcome.fields.items():
            per_field[name][0] += int(right)
            per_field[name][1] += 1
    right_count = sum(c for c, _ in per_field.values())
    total = sum(t for _, t in per_field.values())
    ocr_pages = [p for o in outcomes for p in o.pages if p.source == "ocr"]
    return {
        "documents": len(outcomes),
        "pages": sum(len(o.pages) for o in outcomes),
        "fields": {name: {"right": c, "total": t} for name, (c, t) in sorted(per_field.items())},
        "right": right_count,
        "total": total,
        "accuracy_pct": round(100 * right_count / total, 2) if total else None,
        "target_pct": TARGETS[kind],
        "mean_confidence_right": _confidence(outcomes, True),
        "mean_confidence_wrong": _confidence(outcomes, False),
        "mean_ocr_confidence": round(statistics.fmean(p.confidence or 0 for p in ocr_pages), 3)
        if ocr_pages
        else None,
        "read_seconds_per_page": round(
            sum(o.read_seconds for o in outcomes) / max(1, sum(len(o.pages) for o in outcomes)), 2
        ),
    }


def failures(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    wrong = []
    for outcome in outcomes:
        found = {f.name: f for f in outcome.result.fields}
        for name, right in outcome.fields.items():
            if right:
                continue
            got = outcome.result.document_class if name == "document_class" else found.get(name)
            wrong.append(
                {
                    "document": outcome.item.name,
                    "variant": outcome.item.variant,
                    "field": name,
                    "expected": outcome.item.expected_class
                    if name == "document_class"
                    else outcome.item.expected.get(name),
                    "got": got if isinstance(got, str) or got is None else got.value,
                    "confidence": None if isinstance(got, str) or got is None else got.confidence,
                }
            )
    return wrong


def print_tables(kinds: dict[str, Any]) -> None:
    for kind, summary in kinds.items():
        print(f"\n{kind}: {summary['documents']} documents, {summary['pages']} pages")
        print(f"  {'field':<26} {'right/total':>12} {'%':>7}")
        for name, counts in summary["fields"].items():
            pct = 100 * counts["right"] / counts["total"]
            print(f"  {name:<26} {counts['right']:>5}/{counts['total']:<6} {pct:>7.1f}")
        verdict = "met" if summary["accuracy_pct"] >= summary["target_pct"] else "MISSED"
        print(
            f"  {'overall':<26} {summary['right']:>5}/{summary['total']:<6} "
            f"{summary['accuracy_pct']:>7.2f}   target {summary['target_pct']} %: {verdict}"
        )
        print(
            f"  mean confidence: right {summary['mean_confidence_right']}, "
            f"wrong {summary['mean_confidence_wrong']}; "
            f"read {summary['read_seconds_per_page']} s/page"
        )


def write_report(config: Config, outcomes: Sequence[Outcome], seconds: float) -> Path:
    kinds = summarise(outcomes)
    report = {
        "benchmark": "extraction",
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "-m", "bench.extraction", *sys.argv[1:]]),
        "config": {k: str(v) for k, v in vars(config).items()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "duration_seconds": round(seconds, 1),
        "kinds": kinds,
        "failures": failures(outcomes),
    }
    config.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = config.results_dir / f"extraction-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    print_tables(kinds)
    return path


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="docarchive-extraction-") as directory:
        outcomes = run(config, Path(directory))
    path = write_report(config, outcomes, time.perf_counter() - started)
    if config.show_failures:
        for failure in failures(outcomes):
            print(f"  {failure}")
    print(f"\n{len(outcomes)} documents in {time.perf_counter() - started:.0f} s; report {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
