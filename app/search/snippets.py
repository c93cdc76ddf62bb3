"""Snippets: the page that matches best, with the words that match highlighted.

The index holds lemmas, so PostgreSQL's `ts_headline` cannot find the page's words; each word
is normalised here the way the index normalised it and compared with the query's terms. PESELs
are masked as the API masks the PESEL field (`*******1359`), whoever asks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.search.polish import fold, normalise_word
from app.search.query import ParsedQuery
from schemas.search import Highlight, Snippet
from workers.extract.identifiers import is_valid_pesel, mask_pesel

_WORD = re.compile(r"\S+")
_EDGE_PUNCTUATION = ".,;:!?()[]{}<>\"'`„”“‘’«»…–—-*•|/\\"
# a masked PESEL (*******1359) is highlighted whole
_HIGHLIGHT_EDGE = _EDGE_PUNCTUATION.replace("*", "")
_ALNUM = re.compile(r"[^\W_]+")
_ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")
_BEFORE = 8  # words of context before the first match
_WORDS = 36  # words in a snippet


@dataclass(frozen=True, slots=True)
class _Page:
    number: int
    words: list[str]
    matched: list[bool]

    @property
    def score(self) -> int:
        return sum(self.matched)


def best_snippet(pages: Iterable[tuple[int, str]], query: ParsedQuery) -> Snippet | None:
    """The snippet of the page (number, text) with the most matched words; None if none match."""
    scored = [_match_page(number, text, query) for number, text in pages]
    best = max(scored, key=lambda page: (page.score, -page.number), default=None)
    if best is None or best.score == 0:
        return None
    return _snippet(best)


def _match_page(number: int, text: str, query: ParsedQuery) -> _Page:
    words = _WORD.findall(text)
    matched = [_matches(word, query) for word in words]
    return _Page(number, [_masked(word) for word in words], matched)


def _masked(word: str) -> str:
    return _ELEVEN_DIGITS.sub(
        lambda found: mask_pesel(found[0]) if is_valid_pesel(found[0]) else found[0], word
    )


def _matches(word: str, query: ParsedQuery) -> bool:
    core = word.strip(_EDGE_PUNCTUATION)
    if len(core) < 2:
        return False
    if query.pesels and any(p in query.pesels for p in _ELEVEN_DIGITS.findall(core)):
        return True
    if query.prefixes:
        folded = "".join(_ALNUM.findall(fold(core)))
        if any(folded.startswith(prefix) for prefix in query.prefixes):
            return True
    return bool(query.terms) and normalise_word(core) in query.terms


def _snippet(page: _Page) -> Snippet:
    first = page.matched.index(True)
    start = max(0, first - _BEFORE)
    text, highlights = "", []
    for word, matched in zip(
        page.words[start : start + _WORDS], page.matched[start : start + _WORDS], strict=True
    ):
        text += " " if text else ""
        if matched:
            core = word.strip(_HIGHLIGHT_EDGE)
            offset = len(text) + word.index(core)
            highlights.append(Highlight(start=offset, end=offset + len(core)))
        text += word
    return Snippet(page=page.number, text=text, highlights=highlights)
