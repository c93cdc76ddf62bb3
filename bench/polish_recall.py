"""Polish normalisers for full-text search compared: recall on inflected forms, false merges,
speed and memory, on the pairs in tests/data/polish_inflections.tsv.

For each candidate, in a fresh process of its own:

* recall: the share of (form, lemma) pairs where normalise(form) == normalise(lemma), that is
  where a query for one finds a document with the other; split into forms written with their
  diacritics and forms typed without them (`zaplacie` for `zapłacie`);
* false merges: pairs of different words (`podatek`/`podatnik`, `list`/`lista`) that must not
  get one term; and, reported apart, words that differ only by diacritics (`sąd`/`sad`), which a
  search where diacritics are optional merges by design;
* speed: words per second over the words of generated documents (the project's test corpus
  templates) in document order, and over each distinct word once with every cache cold;
* memory: the process's RSS growth from loading the candidate and normalising the pairs.

Candidates: fold only (lowercase, no diacritics), a crude suffix stripper written here,
simplemma, pystempel with both its tables, Morfeusz 2 on the word as written, and
app.search.polish (Morfeusz 2 with the diacritics a word may be missing restored), also without
its list of preferred back-office lemmas.

    .venv/bin/python bench/polish_recall.py              # the documented run (about half a minute)
    .venv/bin/python bench/polish_recall.py --failures   # also list each candidate's misses
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
PAIRS_FILE = ROOT / "tests" / "data" / "polish_inflections.tsv"
NO_DIACRITICS_NOTE = "query typed without diacritics"
WORD = re.compile(r"[^\W\d_]{2,}")

Normaliser = Callable[[str], str]


@dataclass(frozen=True)
class Pair:
    relation: str  # inflection, distinct or diacritic_homograph
    a: str
    b: str
    note: str


@dataclass(frozen=True)
class Score:
    hits: int
    total: int
    misses: tuple[tuple[str, str, str, str], ...]  # a, b, normalise(a), normalise(b)

    @property
    def share(self) -> float:
        return self.hits / self.total if self.total else 0.0


def read_pairs(path: Path = PAIRS_FILE) -> list[Pair]:
    """The pairs file: comment lines start with '#', then a header, then tab-separated rows."""
    lines = [line for line in path.read_text("utf-8").splitlines() if not line.startswith("#")]
    header, *rows = (line.split("\t") for line in lines if line.strip())
    assert header == ["relation", "a", "b", "note"], header
    return [Pair(*row) for row in rows]


def score(normalise: Normaliser, pairs: Iterable[Pair], *, merged: bool) -> Score:
    """How many pairs got one term (`merged=True`) or two different terms (`merged=False`)."""
    hits, total, misses = 0, 0, []
    for pair in pairs:
        a, b = normalise(pair.a), normalise(pair.b)
        total += 1
        if (a == b) == merged:
            hits += 1
        else:
            misses.append((pair.a, pair.b, a, b))
    return Score(hits, total, tuple(misses))


def inflections(
    pairs: Iterable[Pair], *, typed_without_diacritics: bool | None = None
) -> list[Pair]:
    return [
        pair
        for pair in pairs
        if pair.relation == "inflection"
        and (
            typed_without_diacritics is None
            or (pair.note == NO_DIACRITICS_NOTE) == typed_without_diacritics
        )
    ]


def related(pairs: Iterable[Pair], relation: str) -> list[Pair]:
    return [pair for pair in pairs if pair.relation == relation]


# --------------------------------------------------------------------------- candidates


def _fold() -> Normaliser:
    from app.search.polish import fold

    return fold


# Endings of Polish nouns, adjectives and verbs, folded, longest first: what a stemmer written
# in an afternoon would strip. Consonant alternations (kwota/kwocie) are beyond it by design.
_ENDINGS = """owania owanie owaniu owaniem ami ach om ow owi ego emu ymi imi ych ich iem em ie
    ia iu y i a e o u ej ym im ono ano ila il ili imy ic ac ec la li cie ce"""
_SUFFIXES = sorted(_ENDINGS.split(), key=len, reverse=True)


def _suffix_stripper() -> Normaliser:
    from app.search.polish import fold

    def strip(word: str) -> str:
        folded = fold(word)
        for suffix in _SUFFIXES:
            if folded.endswith(suffix) and len(folded) - len(suffix) >= 3:
                return folded[: -len(suffix)]
        return folded

    return strip


def _simplemma() -> Normaliser:
    import simplemma  # type: ignore[import-untyped, import-not-found, unused-ignore]

    from app.search.polish import fold

    return lambda word: fold(simplemma.lemmatize(word.lower(), lang="pl"))


def _pystempel(table: str) -> Callable[[], Normaliser]:
    def load() -> Normaliser:
        import warnings

        from pystempel import Stemmer  # type: ignore[import-untyped, import-not-found, unused-ignore]

        from app.search.polish import fold

        with warnings.catch_warnings():  # it loads its table through a deprecated importlib API
            warnings.simplefilter("ignore", DeprecationWarning)
            stemmer = Stemmer.polimorf() if table == "polimorf" else Stemmer.default()
        return lambda word: fold(stemmer(word.lower()) or word.lower())

    return load


def _morfeusz_as_written() -> Normaliser:
    import morfeusz2  # type: ignore[import-untyped, import-not-found, unused-ignore]

    from app.search.polish import fold

    analyser = morfeusz2.Morfeusz(analyse=True, generate=False)
    order = ("subst", "adj", "ger")  # same preference as app.search.polish, without restoring

    def rank(interp: tuple[Any, ...]) -> tuple[int, str]:
        pos = interp[2][2].split(":", 1)[0]
        return (order.index(pos) if pos in order else len(order), interp[2][1])

    def lemma(word: str) -> str:
        found = [i for i in analyser.analyse(word.lower()) if i[0] == 0 and i[2][2] != "ign"]
        return fold(min(found, key=rank)[2][1].split(":", 1)[0]) if found else fold(word)

    return lemma


def _chosen() -> Normaliser:
    from app.search.polish import normalise_word

    return normalise_word


def _chosen_without_preferences() -> Normaliser:
    """The same without its short list of back-office lemmas that win ties: some of them were
    added after misses on the pairs list, so this is the figure for words outside it."""
    from app.search import polish

    polish._PREFERRED_LEMMAS = frozenset()
    return polish.normalise_word


CANDIDATES: dict[str, Callable[[], Normaliser]] = {
    "fold only (lowercase, no diacritics)": _fold,
    "suffix stripper (written here)": _suffix_stripper,
    "simplemma 2.0.0": _simplemma,
    "pystempel 2.0.0, original table": _pystempel("original"),
    "pystempel 2.0.0, polimorf table": _pystempel("polimorf"),
    "morfeusz2 1.99.15, word as written": _morfeusz_as_written,
    "app.search.polish, no preferred lemmas": _chosen_without_preferences,
    "app.search.polish (morfeusz2 + restored diacritics)": _chosen,
}


def _clear_caches() -> None:
    from app.search import polish

    polish._lemma_term.cache_clear()


# --------------------------------------------------------------------------- measuring


def corpus_text(documents: int, seed: int) -> list[str]:
    """Texts of generated documents, from the same templates as the extraction corpus."""
    from tests.corpus import TEMPLATES

    rng = random.Random(seed)
    texts = []
    for index in range(documents):
        sheet = TEMPLATES[index % len(TEMPLATES)](rng).sheet
        texts.append("\n".join(cell.text for row in sheet.rows for cell in row.cells))
    return texts


def words_per_second(normalise: Normaliser, words: Sequence[str]) -> float:
    _clear_caches()
    started = time.perf_counter()
    for word in words:
        normalise(word)
    return len(words) / (time.perf_counter() - started)


def measure(name: str, documents: int, seed: int) -> dict[str, Any]:
    """One candidate, measured in this process (run once per process: RSS is per process)."""
    pairs = read_pairs()
    words = [word for text in corpus_text(documents, seed) for word in WORD.findall(text)]
    distinct_words = list(dict.fromkeys(words + [w for p in pairs for w in (p.a, p.b)]))
    import app.search.polish  # noqa: F401  (every candidate folds with it: not part of its cost)

    process = psutil.Process()
    rss_before = process.memory_info().rss
    started = time.perf_counter()
    try:
        normalise = CANDIDATES[name]()
    except ModuleNotFoundError as missing:  # simplemma and pystempel are only bench candidates
        return {"candidate": name, "unavailable": f"{missing.name} is not installed"}
    normalise("faktura")
    load_seconds = time.perf_counter() - started
    recall = score(normalise, inflections(pairs), merged=True)
    written = score(normalise, inflections(pairs, typed_without_diacritics=False), merged=True)
    typed_bare = score(normalise, inflections(pairs, typed_without_diacritics=True), merged=True)
    false_merges = score(normalise, related(pairs, "distinct"), merged=False)
    homographs = score(normalise, related(pairs, "diacritic_homograph"), merged=False)
    rss_after = process.memory_info().rss
    return {
        "candidate": name,
        "recall": round(recall.share, 4),
        "recall_pairs": [recall.hits, recall.total],
        "recall_with_diacritics": round(written.share, 4),
        "recall_typed_without_diacritics": round(typed_bare.share, 4),
        "false_merges": false_merges.total - false_merges.hits,
        "distinct_pairs": false_merges.total,
        "diacritic_homographs_merged": homographs.total - homographs.hits,
        "diacritic_homographs": homographs.total,
        "words_per_second_documents": round(words_per_second(normalise, words)),
        "words_per_second_cold": round(words_per_second(normalise, distinct_words)),
        "document_words": len(words),
        "distinct_words": len(distinct_words),
        "load_seconds": round(load_seconds, 3),
        "rss_growth_mib": round((rss_after - rss_before) / 2**20, 1),
        "rss_mib": round(rss_after / 2**20, 1),
        "missed": [list(miss) for miss in recall.misses],
        "merged": [list(miss) for miss in false_merges.misses],
    }


def index_speed(documents: int, seed: int) -> dict[str, Any]:
    """app.search.polish.index_terms over whole document texts: tokenising, identifiers, stop
    words and lemmas; cold (empty cache) and again warm."""
    from app.search.polish import index_terms

    texts = corpus_text(documents, seed)
    words = sum(len(text.split()) for text in texts)
    runs = {}
    for label in ("cold", "warm"):
        if label == "cold":
            _clear_caches()
        started = time.perf_counter()
        terms = sum(len(index_terms(text)) for text in texts)
        runs[label] = round(words / (time.perf_counter() - started))
    return {"documents": documents, "words": words, "terms": terms, "words_per_second": runs}


# --------------------------------------------------------------------------- reporting


def run_isolated(name: str, documents: int, seed: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", name, "--documents", str(documents)]
    command += ["--seed", str(seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def print_table(results: Sequence[dict[str, Any]]) -> None:
    header = (
        f"{'candidate':52} {'recall':>7} {'diacr.':>7} {'bare':>7} {'false':>6} {'homogr.':>8}"
        f" {'words/s doc':>12} {'words/s cold':>13} {'RSS MiB':>8} {'load s':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if "unavailable" in r:
            print(f"{r['candidate']:52} {r['unavailable']}")
            continue
        print(
            f"{r['candidate']:52} {r['recall']:7.1%} {r['recall_with_diacritics']:7.1%}"
            f" {r['recall_typed_without_diacritics']:7.1%}"
            f" {r['false_merges']:>3}/{r['distinct_pairs']:<2}"
            f" {r['diacritic_homographs_merged']:>4}/{r['diacritic_homographs']:<3}"
            f" {r['words_per_second_documents']:>12,} {r['words_per_second_cold']:>13,}"
            f" {r['rss_growth_mib']:>8} {r['load_seconds']:>7}"
        )


def print_failures(results: Sequence[dict[str, Any]]) -> None:
    for r in results:
        if "unavailable" in r:
            continue
        print(f"\n{r['candidate']}: missed {len(r['missed'])}, merged {len(r['merged'])}")
        for a, b, term_a, term_b in r["missed"]:
            print(f"  miss  {a} -> {term_a}   {b} -> {term_b}")
        for a, b, term_a, term_b in r["merged"]:
            print(f"  merge {a} -> {term_a}   {b} -> {term_b}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=280, help="generated documents")
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--failures", action="store_true", help="list each candidate's misses")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args.worker, args.documents, args.seed), ensure_ascii=False))
        return 0
    results = [run_isolated(name, args.documents, args.seed) for name in CANDIDATES]
    indexing = index_speed(args.documents, args.seed)
    print_table(results)
    print(
        f"\nindex_terms over {indexing['documents']} documents ({indexing['words']:,} words):"
        f" {indexing['words_per_second']['cold']:,} words/s cold,"
        f" {indexing['words_per_second']['warm']:,} words/s warm"
    )
    if args.failures:
        print_failures(results)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "pairs_file": str(PAIRS_FILE.relative_to(ROOT)),
        "candidates": results,
        "index_terms": indexing,
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"polish_recall-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
