"""Polish text to full-text search terms: Morfeusz 2 (SGJP) lemmas, lowercased, without diacritics.

Documents and queries go through the same functions, so `zaplata` finds `zapłacie`, and
`FV/2026/03/117`, `525-000-12-34`, `15.03.2026` or `1 234,56` find themselves however typed.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any, NamedTuple

import morfeusz2  # type: ignore[import-untyped]

from workers.extract.identifiers import is_valid_pesel

__all__ = [
    "fold",
    "index_terms",
    "normalise_word",
    "phrase_terms",
    "query_terms",
    "terms_version",
    "to_tsvector_text",
]

# Bumped whenever a change here (or in what app.search.index stores) may give a text other
# terms: 2 added PESEL hashes, a PESEL inside a longer identifier, the filter columns; 3 the
# filter lexemes; 4 names: read capitalised when no common word reads them, first names
# before surnames and places, the singular before the plural.
_RULES_VERSION = 4

_POLISH_FOLD = str.maketrans("ąćęłńóśźż", "acelnoszz")
_DIACRITICS = {"a": "ą", "c": "ć", "e": "ę", "l": "ł", "n": "ń", "o": "ó", "s": "ś", "z": "źż"}
_VOWELS = frozenset("aeiouy")
# Diacritics restored at most into one folded word: Polish words rarely carry more than three,
# and each one multiplies the lookups; one fewer in a word with many letters that could take one.
_MAX_RESTORED = 3
_MANY_SLOTS = 14
_LONGEST_WORD = 40
_CACHE_SIZE = 1 << 16

# Part-of-speech classes, best first, for choosing one lemma among a form's readings: a search
# for "wynagrodzenia" means the noun, not the gerund of "wynagrodzić"; "kosztów" are costs, not
# the village of Kosztowo.
# A name in the plural ("Michał" typed as "michal" is also the genitive plural of "Michala")
# after every name in the singular.
_NOUN, _ADJECTIVE, _PROPER_NOUN, _PROPER_PLURAL, _GERUND, _VERB, _OTHER = range(7)
# Among names of one number: first names, then surnames, then places and the rest ("Jana" is
# Jan's genitive before the surname Jana; "Katarzyna" the name before the village Katarzyn).
_NAME_KINDS = {"imię": 0, "nazwisko": 1}
_WORD_KINDS = frozenset({_NOUN, _ADJECTIVE, _GERUND, _VERB})
_POS_CLASSES = {"subst": _NOUN, "depr": _NOUN, "ger": _GERUND}
_POS_CLASSES |= dict.fromkeys(("adj", "adja", "adjp", "adjc"), _ADJECTIVE)
_POS_CLASSES |= dict.fromkeys(
    ("fin", "bedzie", "praet", "impt", "imps", "inf", "pcon", "pant", "ppas", "pact", "winien"),
    _VERB,
)
_RARE_LABELS = frozenset({"daw.", "przest.", "rzad.", "gwar.", "arch."})
_SKIPPED_TAGS = frozenset({"aglt", "interp"})
# Between two nouns of one form, neither of them in its dictionary form: a personal masculine
# plural ("pracownicy", "dłużnicy") over the feminine singular of "pracownica", a feminine noun
# ("opłaty") over a rare masculine one ("opląt").
_GENDERS = {"m1": 0, "f": 1, "n": 2, "m2": 3, "m3": 4}

# Where one form belongs to two common nouns, the back-office sense wins: "lat" are years rather
# than summers, "odsetek" is the genitive of interest rather than a percentage; "stawek",
# "opłat", "kar" and "sum" are the genitives of rates, fees, penalties and sums rather than rare
# nouns of their own (which would otherwise win as words in their dictionary form).
# "maja" and "września" are the months rather than an illusion and a town.
_PREFERRED_LEMMAS = frozenset(
    {"rok", "odsetki", "stawka", "oplata", "kara", "suma", "maj", "wrzesien"}
)

_STOP_WORDS = """a aby ale albo ani bez bo by być był była było były byli będzie będą chociaż co czy
    dla do gdy gdyż go i ich im iż ja jak jako je jego jej jest jestem jeśli jeżeli już
    która które którego której którym których który którzy lecz lub ma mają może mogą mu na
    nad nam nas natomiast nie niech nich niej nim niż o od on ona one oni ono oraz po pod
    ponieważ poprzez przed przez przy również się sobie swoje swój swoich swojej swoim są ta
    tak także te tego tej temu ten tę też to tu tych tym tylko u w we więc wraz z za ze że
    został została zostało zostały zostali zostanie zostaną"""
_STOP_FORMS = frozenset(_STOP_WORDS.split())
# Folded stop forms that are words in their own right: "sa" is S.A., "maja" the month of May.
_STOP = _STOP_FORMS | (
    frozenset(form.translate(_POLISH_FOLD) for form in _STOP_FORMS) - {"sa", "maja"}
)

_ALNUM = re.compile(r"[^\W_]+")
_ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")
_LETTERS_THEN_DIGITS = re.compile(r"([^\W\d_]+)(\d+)|(\d+)([^\W\d_]+)")
_EDGE_PUNCTUATION = ".,;:!?()[]{}<>\"'`„”“‘’«»…–—-*•|/\\"
_GROUP = r"[ \u00a0\u202f]"
_SPECIAL = re.compile(
    # a date: 15.03.2026, 15-03-2026, 15/03/2026 or 2026-03-15
    r"(?<![\d.,/-])(?:(?P<day>\d{1,2})(?P<sep>[./-])(?P<month>\d{1,2})(?P=sep)(?P<year>\d{4})"
    r"|(?P<iso_year>\d{4})-(?P<iso_month>\d{2})-(?P<iso_day>\d{2}))(?![\d]|[./-]\d)"
    # a decimal: 1 234,56 or 1.234,56 or 2,5; 1,234.56 or 1234.56 (1.234 is a thousand)
    rf"|(?<![\d.,])(?P<units>\d{{1,3}}(?:(?:{_GROUP}|\.)\d{{3}})+|\d+),(?P<fraction>\d{{1,4}})"
    r"(?![\d,]|\.\d)"
    rf"|(?<![\d.,])(?P<en_units>\d{{1,3}}(?:(?:{_GROUP}|,)\d{{3}})+|\d+)\.(?P<en_fraction>\d{{1,2}})"
    r"(?![\d.]|,\d)"
    # a number written in groups: NIP 525 000 12 34, account PL61 1090 1014 0000 0712 1981 2874
    rf"|(?<![\w-])(?P<spaced>(?:[Pp][Ll]{_GROUP}?)?\d{{2,4}}(?:{_GROUP}\d{{2,4}}){{2,}})(?![\w-])"
)
# Lengths of identifiers printed in groups: REGON, NIP or KRS, long REGON, NRB account number.
_GROUPED_LENGTHS = frozenset({9, 10, 14, 26})


class _Term(NamedTuple):
    """A search term; `canonical` ones are what a query asks for, the rest only widen the index."""

    text: str
    canonical: bool


class _Class(NamedTuple):
    """What ranks a reading, from its tag, name and labels alone."""

    kind: int
    detail: int
    # "usługi", "dane", "rachunki" are also nouns used only in the plural; the plural of the
    # singular noun is meant more often
    plural_only: bool
    # a name does not win as a word in its dictionary form: "Jana" is Jan's genitive first
    proper: bool


class _Reading(NamedTuple):
    """One Morfeusz reading of a spelling, ordered so that the best reading is the smallest."""

    kind: int  # part of speech, rare readings last
    dispreferred: bool
    restored: int  # diacritics the spelling adds to the word as written
    inflected: bool  # the spelling is not the lemma itself (or the lemma is a name)
    detail: int  # readings with a qualifier (a domain, a register) last, then by gender
    term: str


def fold(text: str) -> str:
    """Lowercase without diacritics (ł has no Unicode decomposition, so Polish goes by table)."""
    lowered = text.lower().translate(_POLISH_FOLD)
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def normalise_word(word: str) -> str:
    """The search term of one word: its lemma, lowercased, without diacritics.

    Diacritics may be missing from the word ("zaplacie" gives "zaplata" like "zapłacie"); a word
    Morfeusz does not know is only folded. Identifiers keep their letters and digits only.
    """
    folded = fold(word)
    if folded.isascii() and folded.isalpha() and len(folded) <= _LONGEST_WORD:
        return _lemma_term(folded)
    return "".join(_ALNUM.findall(folded))


def index_terms(text: str) -> list[str]:
    """Every term of a document's text, in order: words as lemmas (stop words dropped), and
    numbers and identifiers both whole and split into their parts."""
    return [term.text for term in _terms(text)]


def query_terms(text: str) -> list[str]:
    """The terms a query must find, each once: the same normalisation as `index_terms`, keeping
    only the whole form of an identifier, so that every query term is among the index terms of
    the same text however the identifier was written there."""
    return list(dict.fromkeys(term.text for term in _terms(text) if term.canonical))


def phrase_terms(text: str) -> list[tuple[str, int]]:
    """The terms a query must find with their positions among the text's index terms: a phrase
    asks for the same distances, as an identifier or an amount also indexes its parts."""
    return [(term.text, position) for position, term in enumerate(_terms(text)) if term.canonical]


def to_tsvector_text(text: str) -> str:
    """The document's terms as one string for `to_tsvector('simple', ...)`: every term is made of
    letters and digits (or is a decimal amount), which the 'simple' parser keeps whole."""
    return " ".join(index_terms(text))


def terms_version() -> str:
    """Names the rules and the dictionary: a search vector stored under another version may
    hold terms that queries no longer produce, and must be computed again."""
    return f"{_RULES_VERSION}/{_analyser()[0].getDictID()}"


def _terms(text: str) -> Iterator[_Term]:
    position = 0
    for match in _SPECIAL.finditer(text):
        special = list(_special_terms(match))
        if special:
            yield from _plain_terms(text[position : match.start()])
            yield from special
            position = match.end()
    yield from _plain_terms(text[position:])


def _special_terms(match: re.Match[str]) -> Iterator[_Term]:
    if match["year"] or match["iso_year"]:
        yield from _date_terms(match)
    elif match["spaced"]:
        yield from _grouped_number_terms(match["spaced"])
    else:
        units = match["units"] or match["en_units"]
        fraction = match["fraction"] or match["en_fraction"]
        yield from _decimal_terms(re.sub(r"\D", "", units), fraction)


def _date_terms(match: re.Match[str]) -> Iterator[_Term]:
    year = match["year"] or match["iso_year"]
    month = match["month"] or match["iso_month"]
    day = match["day"] or match["iso_day"]
    try:
        written = date(int(year), int(month), int(day))
    except ValueError:
        return
    yield _Term(written.strftime("%Y%m%d"), canonical=True)
    yield _Term(year, canonical=False)


def _decimal_terms(units: str, fraction: str) -> Iterator[_Term]:
    # one spelling for 99,5 and 99.50, as amounts are written with two decimals
    units = units.lstrip("0") or "0"
    yield _Term(f"{units}.{fraction.rstrip('0').ljust(2, '0')}", canonical=True)
    yield _Term(units, canonical=False)


def _grouped_number_terms(written: str) -> Iterator[_Term]:
    digits = re.sub(r"\D", "", written)
    if len(digits) not in _GROUPED_LENGTHS:
        return
    yield _Term(digits, canonical=True)
    yield from (_Term(group, canonical=False) for group in re.findall(r"\d+", written))


def _plain_terms(text: str) -> Iterator[_Term]:
    for chunk in text.split():
        core = chunk.strip(_EDGE_PUNCTUATION)
        runs = _ALNUM.findall(core)
        if any(char.isdigit() for char in core):
            yield from _identifier_terms(runs)
        elif len(runs) > 1 and "-" not in core and all(len(run) <= 3 for run in runs):
            yield from _abbreviation_terms(runs)
        else:
            yield from (_Term(term, True) for run in runs if (term := _word_term(run)))


def _word_term(word: str) -> str:
    if len(word) < 2 or word.lower() in _STOP:
        return ""
    return normalise_word(word)


def _abbreviation_terms(runs: Sequence[str]) -> Iterator[_Term]:
    # "S.A.", "Wn/Ma", "o.o.": the letters together are what people type
    yield _Term(fold("".join(runs)), canonical=True)
    yield from (_Term(fold(run), canonical=False) for run in runs if len(run) > 1)


def _identifier_terms(runs: Sequence[str]) -> Iterator[_Term]:
    if any(is_valid_pesel(digits) for run in runs for digits in _ELEVEN_DIGITS.findall(run)):
        # PESEL stays out of the plain-text index; it is found through its keyed hash
        yield from (
            _Term(term, True) for run in runs if run.isalpha() and (term := _word_term(run))
        )
        return
    whole = fold("".join(runs))
    if re.fullmatch(r"pl(\d{10}|\d{26})", whole):
        # a NIP as an EU VAT number, an IBAN: people also type them without the country
        yield _Term(whole[2:], canonical=True)
        yield _Term(whole, canonical=False)
    else:
        yield _Term(whole, canonical=True)
    if len(runs) > 1 or _LETTERS_THEN_DIGITS.fullmatch(whole):
        yield from (_Term(part, canonical=False) for part in _identifier_parts(runs))


def _identifier_parts(runs: Sequence[str]) -> Iterator[str]:
    for run in runs:
        folded = fold(run)
        split = _LETTERS_THEN_DIGITS.fullmatch(folded)
        yield from ([group for group in split.groups() if group] if split else [folded])


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _lemma_term(folded: str) -> str:
    spellings = _spellings(folded)
    readings = _readings(spellings)
    if not readings or min(readings).kind not in _WORD_KINDS:
        # Words arrive lowercased, and a lowercase entry hides the names spelled alike: "jan"
        # is only an abbreviation until it is read as "Jan". Asked only when no common word
        # reads the spelling, so "zawarta" stays a form of "zawrzeć".
        titled = [spelling.capitalize() for spelling in spellings]
        readings += [r for r in _readings(titled) if r.kind in (_PROPER_NOUN, _PROPER_PLURAL)]
    return min(readings).term if readings else folded


def _spellings(folded: str) -> list[str]:
    """The folded word and its spellings with diacritics restored where Polish allows them,
    fewest restored first: the lemma is then chosen from the words these spellings are."""
    slots = [(index, letters) for index, letters in enumerate(_restorable(folded)) if letters]
    most = _MAX_RESTORED if len(slots) <= _MANY_SLOTS else _MAX_RESTORED - 1
    spellings = []
    for count in range(min(most, len(slots)) + 1):
        for chosen in itertools.combinations(slots, count):
            for letters in itertools.product(*(options for _, options in chosen)):
                chars = list(folded)
                for (index, _), letter in zip(chosen, letters, strict=True):
                    chars[index] = letter
                spellings.append("".join(chars))
    return spellings


def _restorable(folded: str) -> list[str]:
    return [
        "".join(
            letter
            for letter in _DIACRITICS.get(char, "")
            if _spelled(letter, folded[index - 1 : index] if index else "", folded[index + 1 :])
        )
        for index, char in enumerate(folded)
    ]


def _spelled(letter: str, before: str, after: str) -> bool:
    """Whether Polish spelling allows `letter` between these neighbours (ś before a vowel is
    written "si", ą never starts a word, ż never follows c or s...)."""
    following = after[:1]
    if letter in "ąę":
        return before != ""
    if letter in "ćńśź" and following in _VOWELS:
        return False
    if letter in "ćś" and following == "z":
        return False
    if letter in "żź" and before in ("c", "s"):
        return False
    return not (letter == "ź" and before == "r")


def _readings(spellings: list[str]) -> list[_Reading]:
    """Morfeusz's readings of the spellings, analysed as one space-separated text (one call
    instead of one per spelling); only readings of a whole spelling's first segment count."""
    analyser, unknown, space = _analyser()
    readings, word, word_start = [], 0, 0
    for interp in analyser.analyse(" ".join(spellings)):
        tag = interp.tagId
        if tag == space:  # results come ordered by node, so a space closes a spelling
            word, word_start = word + 1, interp.endNode
        elif tag != unknown and interp.startNode == word_start:
            found = _reading_class(analyser, interp)
            if found is not None:
                readings.append(_reading(interp, found, spellings[word]))
    return readings


def _reading(interp: Any, found: _Class, spelling: str) -> _Reading:
    lemma = fold(interp.lemma.split(":", 1)[0])
    return _Reading(
        kind=found.kind,
        dispreferred=lemma not in _PREFERRED_LEMMAS,
        restored=sum(not char.isascii() for char in spelling),
        inflected=found.plural_only or found.proper or lemma != fold(spelling),
        detail=found.detail,
        term="".join(_ALNUM.findall(lemma)) or lemma,
    )


def _reading_class(analyser: Any, interp: Any) -> _Class | None:
    key = (interp.tagId, interp.nameId, interp.labelsId)
    if key not in _CLASSES:
        _CLASSES[key] = _classify(analyser, interp)
    return _CLASSES[key]


def _classify(analyser: Any, interp: Any) -> _Class | None:
    tag = interp.getTag(analyser).split(":")
    if tag[0] in _SKIPPED_TAGS:
        return None
    labels = set(filter(None, interp.getLabelsAsUnicode(analyser).split("|")))
    kind = _POS_CLASSES.get(tag[0], _OTHER)
    noun = kind == _NOUN and len(tag) > 3
    proper = noun and _is_proper(interp.getName(analyser))
    plural_only = noun and "pt" in tag[4:]
    if proper:  # "Krakowie" is in Kraków more often than it is the Kraks
        kind = _PROPER_NOUN if tag[1] == "sg" else _PROPER_PLURAL
        order = min((_NAME_KINDS.get(name, 2) for name in interp.getName(analyser)), default=2)
    else:
        order = (
            len(_GENDERS) if plural_only else _GENDERS.get(tag[3].split(".")[0] if noun else "", 0)
        )
    rarity = 10 if labels & _RARE_LABELS else 0
    return _Class(kind + rarity, 10 * bool(labels) + order, plural_only, proper)


def _is_proper(names: list[str]) -> bool:
    return bool(names) and not any("nazwa_pospolita" in name for name in names)


# Reading classes by (tag, name, labels) ids: the ids are fixed by the dictionary, so one table
# serves every thread; a race only computes an entry twice.
_CLASSES: dict[tuple[int, int, int], _Class | None] = {}
_LOCAL = threading.local()


def _analyser() -> tuple[Any, int, int]:
    """This thread's Morfeusz, with the tag ids of unknown words and of spaces. The dictionary
    is compiled into the library, loaded once per process; an instance only holds the state of
    one analysis, so each thread has its own."""
    analyser: tuple[Any, int, int] | None = getattr(_LOCAL, "analyser", None)
    if analyser is None:
        wrapper = morfeusz2.Morfeusz(
            analyse=True,
            generate=False,
            whitespace=morfeusz2.KEEP_WHITESPACES,
        )
        resolver = wrapper._morfeusz_obj.getIdResolver()
        analyser = (wrapper._morfeusz_obj, resolver.getTagId("ign"), resolver.getTagId("sp"))
        _LOCAL.analyser = analyser
    return analyser
