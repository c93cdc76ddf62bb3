"""Web-search syntax (words, "phrases", OR, -exclusion, prefix*) parsed into a tsquery string.

Words and phrases go through `polish.phrase_terms`, the normalisation of the index, so a query
term always has the spelling the index gave the same word. A prefix is folded, not lemmatised:
`fakt*` must not become the lemma of some word `fakt`. A valid PESEL becomes its keyed hash
(`app.search.pesel`) for those who may search by PESEL, and a lexeme matching nothing for the
others. The fuzzy fallback parses again with `expansions`: each term may also be any of its
vocabulary neighbours.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from app.errors import Unprocessable
from app.search.pesel import NO_MATCH_LEXEME
from app.search.polish import fold, phrase_terms
from workers.extract.identifiers import is_valid_pesel

_QUOTES = str.maketrans({"„": '"', "”": '"', "“": '"', "«": '"', "»": '"'})
_TOKEN = re.compile(r'(-?)"([^"]*)"|([^\s"]+)')
_ALNUM = re.compile(r"[^\W_]+")
_ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")
# Shorter prefixes match most of the vocabulary and make the GIN scan as slow as no index.
MIN_PREFIX = 2

PeselLexeme = Callable[[str], str]
"""How a PESEL in the query is looked up: its keyed hash, or `NO_MATCH_LEXEME`."""


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A tsquery for `to_tsquery('simple', ...)`, and what to highlight in snippets."""

    tsquery: str | None
    terms: frozenset[str]
    prefixes: tuple[str, ...]
    # the query's own terms (not negated) that a fuzzy rerun may widen
    words: tuple[str, ...] = ()
    # PESELs the query looks for (only for those allowed to), highlighted in masked snippets
    pesels: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class _Atom:
    tsquery: str
    terms: tuple[str, ...]
    prefix: str | None
    negated: bool
    pesels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Context:
    pesel: PeselLexeme | None
    expansions: Mapping[str, Sequence[str]]


def parse_query(
    query: str,
    *,
    pesel: PeselLexeme | None = None,
    expansions: Mapping[str, Sequence[str]] | None = None,
) -> ParsedQuery:
    """AND between atoms, OR binding tighter (`a OR b c` is `(a | b) & c`); 422 on a query that
    cannot mean anything (unbalanced quotes, nothing searchable)."""
    text = query.translate(_QUOTES)
    if text.count('"') % 2:
        raise Unprocessable('the query has an unbalanced quote ("); close the phrase')
    context = _Context(pesel, expansions or {})
    groups = _or_groups(text, context)
    atoms = [atom for group in groups for atom in group]
    if not atoms:
        if text.strip():
            raise Unprocessable("the query has no searchable words (only stop words or signs)")
        return ParsedQuery(None, frozenset(), ())
    positive = [atom for atom in atoms if not atom.negated]
    words = tuple(dict.fromkeys(t for a in positive for t in a.terms))
    return ParsedQuery(
        tsquery=" & ".join(_or_clause(group) for group in groups),
        terms=frozenset(words).union(*(context.expansions.get(t, ()) for t in words)),
        prefixes=tuple(a.prefix for a in positive if a.prefix),
        words=words,
        pesels=frozenset(p for a in positive for p in a.pesels if pesel is not None),
    )


def _or_groups(text: str, context: _Context) -> list[list[_Atom]]:
    groups: list[list[_Atom]] = []
    joining = False
    for match in _TOKEN.finditer(text):
        if match[3] == "OR":
            joining = bool(groups)
            continue
        atom = _atom(match, context)
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


def _atom(match: re.Match[str], context: _Context) -> _Atom | None:
    if match[3] is None:
        return _terms_atom(match[2], context, negated=bool(match[1]))
    word = match[3]
    negated = word.startswith("-") and len(word) > 1
    word = word[1:] if negated else word
    if word.endswith("*"):
        return _prefix_atom(word.rstrip("*"), negated=negated)
    return _terms_atom(word, context, negated=negated)


def _terms_atom(text: str, context: _Context, *, negated: bool) -> _Atom | None:
    pesels = tuple(p for p in _ELEVEN_DIGITS.findall(text) if is_valid_pesel(p))
    parts = [f"'{context.pesel(p) if context.pesel else NO_MATCH_LEXEME}'" for p in pesels]
    terms = phrase_terms(text)
    if terms:
        chain = _alternatives(terms[0][0], context)
        for (_, before), (term, position) in itertools.pairwise(terms):
            chain += f" <{position - before}> {_alternatives(term, context)}"
        parts.insert(0, chain)
    if not parts:
        return None
    tsquery = " & ".join(parts)
    return _Atom(_negate(tsquery, negated), tuple(t for t, _ in terms), None, negated, pesels)


def _alternatives(term: str, context: _Context) -> str:
    others = context.expansions.get(term, ())
    if not others:
        return f"'{term}'"
    return "(" + " | ".join(f"'{t}'" for t in (term, *others)) + ")"


def _prefix_atom(word: str, *, negated: bool) -> _Atom | None:
    prefix = "".join(_ALNUM.findall(fold(word)))
    if len(prefix) < MIN_PREFIX:
        if prefix:
            raise Unprocessable(f"a prefix needs at least {MIN_PREFIX} letters: {word}*")
        return None
    return _Atom(_negate(f"'{prefix}':*", negated), (), prefix, negated)


def _negate(tsquery: str, negated: bool) -> str:
    return f"!({tsquery})" if negated else f"({tsquery})"
