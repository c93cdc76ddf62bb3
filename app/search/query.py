"""Web-search syntax (words, "phrases", OR, -exclusion, prefix*) parsed into a tsquery string.

Words and phrases go through `polish.phrase_terms`, the normalisation of the index, so a query
term always has the spelling the index gave the same word. A prefix is folded, not lemmatised:
`fakt*` must not become the lemma of some word `fakt`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from app.errors import Unprocessable
from app.search.polish import fold, phrase_terms
from workers.extract.identifiers import is_valid_pesel

_QUOTES = str.maketrans({"„": '"', "”": '"', "“": '"', "«": '"', "»": '"'})
_TOKEN = re.compile(r'(-?)"([^"]*)"|([^\s"]+)')
_ALNUM = re.compile(r"[^\W_]+")
# Shorter prefixes match most of the vocabulary and make the GIN scan as slow as no index.
MIN_PREFIX = 2


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A tsquery for `to_tsquery('simple', ...)`, and what to highlight in snippets."""

    tsquery: str | None
    terms: frozenset[str]
    prefixes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Atom:
    tsquery: str
    terms: tuple[str, ...]
    prefix: str | None
    negated: bool


def parse_query(query: str) -> ParsedQuery:
    """AND between atoms, OR binding tighter (`a OR b c` is `(a | b) & c`); 422 on a query that
    cannot mean anything (unbalanced quotes, nothing searchable)."""
    text = query.translate(_QUOTES)
    if text.count('"') % 2:
        raise Unprocessable('the query has an unbalanced quote ("); close the phrase')
    _refuse_pesel(text)
    groups = _or_groups(text)
    atoms = [atom for group in groups for atom in group]
    if not atoms:
        if text.strip():
            raise Unprocessable("the query has no searchable words (only stop words or signs)")
        return ParsedQuery(None, frozenset(), ())
    return ParsedQuery(
        tsquery=" & ".join(_or_clause(group) for group in groups),
        terms=frozenset(t for a in atoms if not a.negated for t in a.terms),
        prefixes=tuple(a.prefix for a in atoms if a.prefix and not a.negated),
    )


def _refuse_pesel(text: str) -> None:
    # Dropping it silently would answer for the other words as if the PESEL had matched.
    if any(is_valid_pesel(run) for run in _ALNUM.findall(text)):
        raise Unprocessable(
            "a PESEL is personal data kept out of the text index and cannot be searched as text"
        )


def _or_groups(text: str) -> list[list[_Atom]]:
    groups: list[list[_Atom]] = []
    joining = False
    for match in _TOKEN.finditer(text):
        if match[3] == "OR":
            joining = bool(groups)
            continue
        atom = _atom(match)
        if atom is None:
            continue
        if joining:
            groups[-1].append(atom)
        else:
            groups.append([atom])
        joining = False
    return groups


def _or_clause(group: list[_Atom]) -> str:
    if len(group) == 1:
        return group[0].tsquery
    return "(" + " | ".join(atom.tsquery for atom in group) + ")"


def _atom(match: re.Match[str]) -> _Atom | None:
    if match[3] is None:
        return _terms_atom(match[2], negated=bool(match[1]))
    word = match[3]
    negated = word.startswith("-") and len(word) > 1
    word = word[1:] if negated else word
    if word.endswith("*"):
        return _prefix_atom(word.rstrip("*"), negated=negated)
    return _terms_atom(word, negated=negated)


def _terms_atom(text: str, *, negated: bool) -> _Atom | None:
    terms = phrase_terms(text)
    if not terms:
        return None
    chain = f"'{terms[0][0]}'"
    for (_, before), (term, position) in itertools.pairwise(terms):
        chain += f" <{position - before}> '{term}'"
    return _Atom(_negate(chain, negated), tuple(t for t, _ in terms), None, negated)


def _prefix_atom(word: str, *, negated: bool) -> _Atom | None:
    prefix = "".join(_ALNUM.findall(fold(word)))
    if len(prefix) < MIN_PREFIX:
        if prefix:
            raise Unprocessable(f"a prefix needs at least {MIN_PREFIX} letters: {word}*")
        return None
    return _Atom(_negate(f"'{prefix}':*", negated), (), prefix, negated)


def _negate(tsquery: str, negated: bool) -> str:
    return f"!({tsquery})" if negated else f"({tsquery})"
