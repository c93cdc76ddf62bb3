"""Polish business identifiers (NIP, REGON, PESEL, KRS, IBAN/NRB, KSeF number): checksums,
normalisation, and discovery in free text with OCR-confusion repair confirmed by the checksum."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

from schwifty import IBAN, registry
from schwifty.exceptions import (
    InvalidBBANChecksum,
    InvalidChecksumDigits,
    InvalidCountryCode,
    SchwiftyException,
)

IdentifierKind = Literal["nip", "regon", "pesel", "iban", "krs", "ksef_number"]
ALL_KINDS: frozenset[IdentifierKind] = frozenset(get_args(IdentifierKind))


@dataclass(frozen=True, slots=True)
class IdentifierMatch:
    kind: IdentifierKind
    value: str  # normalised (see find_identifiers); for an invalid value, the text as found
    raw: str
    start: int
    end: int
    valid: bool  # checksum passed; KRS: 10 digits after a "KRS" cue
    reason: str | None  # why invalid, or what was repaired
    repaired: bool = False


# --- checksums ---------------------------------------------------------------------------

_NIP_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)
_REGON9_WEIGHTS = (8, 9, 2, 3, 4, 5, 6, 7)
_REGON14_WEIGHTS = (2, 4, 8, 5, 0, 9, 7, 3, 6, 1, 2, 4, 8)
_PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
_PESEL_CENTURY = {0: 1900, 20: 2000, 40: 2100, 60: 2200, 80: 1800}
_ASCII_DIGITS = re.compile(r"[0-9]+")  # str.isdigit() would also accept "²" or Arabic digits


def _is_digits(value: str, *lengths: int) -> bool:
    return len(value) in lengths and _ASCII_DIGITS.fullmatch(value) is not None


def _weighted_sum(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(digit) * weight for digit, weight in zip(digits, weights, strict=False))


def _nip_problem(value: str) -> str | None:
    if not _is_digits(value, 10):
        return "NIP must have 10 digits"
    # a remainder of 10 can never equal the last digit, so such numbers are never issued
    if _weighted_sum(value, _NIP_WEIGHTS) % 11 != int(value[9]):
        return "NIP checksum failed"
    return None


def _regon_problem(value: str) -> str | None:
    if not _is_digits(value, 9, 14):
        return "REGON must have 9 or 14 digits"
    # a 14-digit REGON (local unit) extends the 9-digit REGON of its parent, so both must hold
    if _weighted_sum(value, _REGON9_WEIGHTS) % 11 % 10 != int(value[8]):
        return "REGON checksum failed"
    if len(value) == 14 and _weighted_sum(value, _REGON14_WEIGHTS) % 11 % 10 != int(value[13]):
        return "REGON checksum failed"
    return None


def _pesel_problem(value: str) -> str | None:
    if not _is_digits(value, 11):
        return "PESEL must have 11 digits"
    if (10 - _weighted_sum(value, _PESEL_WEIGHTS) % 10) % 10 != int(value[10]):
        return "PESEL checksum failed"
    if pesel_birth_date(value) is None:
        return "PESEL encodes an impossible birth date"
    return None


def is_valid_nip(value: str) -> bool:
    """10 digits with a matching check digit. Not proof of existence: '0000000000' passes."""
    return _nip_problem(value) is None


def is_valid_regon(value: str) -> bool:
    """9 or 14 digits with matching check digit(s)."""
    return _regon_problem(value) is None


def is_valid_pesel(value: str) -> bool:
    """11 digits with a matching check digit and a real encoded birth date."""
    return _pesel_problem(value) is None


def pesel_birth_date(value: str) -> date | None:
    """The birth date a PESEL encodes (the checksum is not checked here)."""
    if not _is_digits(value, 11):
        return None
    month_code = int(value[2:4])
    offset = month_code // 20 * 20  # the month carries the century: +80 1800s, +20 2000s...
    try:
        return date(_PESEL_CENTURY[offset] + int(value[:2]), month_code - offset, int(value[4:6]))
    except ValueError:
        return None


def mask_pesel(value: str) -> str:
    """Hide all but the last 4 characters: '44051401359' -> '*******1359'."""
    visible = value[-4:] if len(value) > 4 else ""
    return "*" * (len(value) - len(visible)) + visible


_SEPARATORS = re.compile(r"[\s\u00a0\u202f\u2009-]")
_NIP_PREFIX = re.compile(r"^\s*PL", re.IGNORECASE)


def normalise_nip(raw: str) -> str | None:
    """'PL 525-000-12-34' -> '5250001234' when the checksum holds, else None."""
    compact = _SEPARATORS.sub("", _NIP_PREFIX.sub("", raw, count=1))
    return compact if is_valid_nip(compact) else None


_PL_IBAN_LENGTH = 28


def _iban_problem(value: str) -> str | None:
    compact = _SEPARATORS.sub("", value).upper()
    if compact.startswith("PL") and len(compact) != _PL_IBAN_LENGTH:
        return "a Polish IBAN has 28 characters"
    try:
        # national check digits only for PL (the bank sort code digit); elsewhere schwifty
        # would warn that it has no algorithm, and warnings are errors in this project
        IBAN(compact, validate_bban=compact.startswith("PL"))
    except InvalidBBANChecksum:
        return "bank sort code check digit failed"
    except InvalidChecksumDigits:
        return "IBAN checksum (mod 97) failed"
    except SchwiftyException as error:
        return f"not a valid IBAN: {error}"
    return None


def is_valid_iban(value: str) -> bool:
    """Mod 97 and the country's length; for PL also the bank sort code check digit.

    Accepts the printed form with spaces; a bare NRB (26 digits, no 'PL') is not an IBAN."""
    return _iban_problem(value) is None


_KSEF_SHAPE = re.compile(r"([0-9]{10})-([0-9]{8})-[0-9A-F]{12}-([0-9A-F]{2})")


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _compact_date(yyyymmdd: str) -> date | None:
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return None


def _ksef_problem(value: str) -> str | None:
    shape = _KSEF_SHAPE.fullmatch(value)
    if shape is None:
        return "KSeF number must read NIP-YYYYMMDD-<12 hex>-<2 hex>"
    if not is_valid_nip(shape[1]):
        return "seller NIP inside the KSeF number fails its checksum"
    if _compact_date(shape[2]) is None:
        return "date inside the KSeF number is not a real date"
    if f"{_crc8(value[:32].encode('ascii')):02X}" != shape[3]:
        return "KSeF number CRC-8 mismatch"
    return None


def is_valid_ksef_number(value: str) -> bool:
    """35 characters NIP-YYYYMMDD-<12 hex>-<CRC-8 of the first 32 characters>."""
    return _ksef_problem(value) is None


# --- finding identifiers in text ---------------------------------------------------------

_CONFUSABLES = "OoIl|SBZ"
_OCR_REPAIR = str.maketrans(_CONFUSABLES, "00111582")
# beyond that a token is more likely a word than a damaged number; a 26-digit account has a
# stronger check (mod 97 and the sort code digit) and OCR often reads its "0000" as "OOOO"
_MAX_REPAIRS = 2
_MAX_IBAN_REPAIRS = 4

_D = r"[0-9OoIl|SBZ]"  # a digit, or a character OCR confuses with one
_GAP = r"[ \u00a0\u202f\u2009]"
_LEFT = r"(?<![0-9A-Za-z+/\\_])(?<![0-9]-)"  # not glued to a word, a +48 or a compound number
_RIGHT = r"(?![0-9A-Za-z/\\_])(?!-[0-9])(?![.,][0-9])"

_HEX_CONFUSABLES = "OoIl|SZ"  # not B: that one is a genuine hex digit
_HEX_REPAIR = str.maketrans(_HEX_CONFUSABLES, "0011152")
_H = r"[0-9A-Fa-fOoIl|SZ]"
_KSEF_RE = re.compile(rf"{_LEFT}{_D}{{10}}-{_D}{{8}}-{_H}{{12}}-{_H}{{2}}{_RIGHT}")
_IBAN_PL_RE = re.compile(rf"{_LEFT}(?:PL{_GAP}?)?{_D}{{2}}(?:(?:{_GAP}|-)?{_D}{{4}}){{6}}{_RIGHT}")
_IBAN_OTHER_RE = re.compile(rf"{_LEFT}(?!PL)[A-Z]{{2}}[0-9]{{2}}(?:{_GAP}?[A-Z0-9]){{8,30}}")
_NIP_GROUPED = "|".join(  # 526-025-02-74 (companies) and 526-02-50-274 (people)
    rf"{_D}{{{a}}}[- ]{_D}{{{b}}}[- ]{_D}{{{c}}}[- ]{_D}{{{d}}}"
    for a, b, c, d in ((3, 3, 2, 2), (3, 2, 2, 3))
)
_PL = rf"(?i:PL){_GAP}?"
_NIP_RE = re.compile(rf"{_LEFT}(?:{_PL}{_D}{{10}}|(?:{_PL})?(?:{_NIP_GROUPED})){_RIGHT}")
_DIGIT_RUN_RE = re.compile(rf"{_LEFT}{_D}{{9,26}}{_RIGHT}")
# right after its cue a number may carry the spaces OCR inserts ("886-0 70-86-65") or lose the
# one after the cue ("NIP5260250274")
_CUED_NUMBER = "|".join(rf"{_D}(?:[- ]?{_D}){{{length - 1}}}" for length in (14, 11, 10, 9))
_CUED_RE = re.compile(
    rf"\b(?i:NIP|PESEL|REGON|KRS)(?![^\W\d_])[:.]?[ ]*(?:(?i:nr|no)\.?[ ]*)?(?:(?i:PL) ?)?"
    rf"(?P<number>{_CUED_NUMBER}){_RIGHT}"
)
_SHORT_KRS_RE = re.compile(
    r"\bKRS\b(?:\s*(?:nr|no|numer)\.?)?\s*[:.]?\s*(?P<number>[0-9]{1,9})(?![0-9])", re.IGNORECASE
)

_NUMBER_SUFFIX = r"(?:\s*(?:pod\s+)?(?:nr|no|numer\w*)\b\.?)?"  # "KRS pod numerem 0000123456"
_CUE_RE = re.compile(
    rf"""
    (?P<nip>(?:\bNIP(?:[\s-]*UE)?\b|(?<!faktura\s)(?<!faktury\s)\bVAT\b(?:[\s-]*(?:ID|UE|EU|reg))?
        |\bTax\s*(?:ID|No|number)\b|\bTIN\b){_NUMBER_SUFFIX})
    |(?P<regon>\bREGON\b{_NUMBER_SUFFIX})
    |(?P<pesel>\bPESEL\b{_NUMBER_SUFFIX})
    |(?P<krs>\bKRS\b{_NUMBER_SUFFIX})
    |(?P<iban>\bIBAN\b|\bNRB\b|\brachun\w*|\bkont[oa]\b|\baccount\b)
    |(?P<phone>\btel\b|\btelefon\w*|\bfax\b|\bphone\b|\bkom\b|\bmobile\b|\bgsm\b|\+[0-9]{{2}}\b)
    |(?P<other>\bnr\b|\bno\b|\bnumer\w*|\bnumber\b|\bfaktur\w*|\binvoice\b|\border\b
        |\bzam[oó]wieni\w*|\bumow\w*|\bumów\w*)
    """,
    re.IGNORECASE | re.VERBOSE,
)
_CUE_WINDOW = 60
_NUMBER_IN_WINDOW = re.compile(r"[0-9]{3,}")

# which kinds a bare digit run of each length can be, the first one being the default
_KINDS_BY_LENGTH: dict[int, tuple[IdentifierKind, ...]] = {
    9: ("regon",),
    10: ("nip", "krs"),
    11: ("pesel",),
    14: ("regon",),
}
_PROBLEM: dict[IdentifierKind, Callable[[str], str | None]] = {
    "nip": _nip_problem,
    "regon": _regon_problem,
    "pesel": _pesel_problem,
    "iban": _iban_problem,
    "ksef_number": _ksef_problem,
}


def _cue_before(text: str, start: int, compatible: Iterable[str]) -> str | None:
    """The nearest cue word before `start` (this line or the one above) that fits the shape.

    'phone' means the digits are a phone number; None means no cue (or a neutral "nr")."""
    window = text[max(0, start - _CUE_WINDOW) : start]
    window = "\n".join(window.split("\n")[-2:])
    numbers = list(_NUMBER_IN_WINDOW.finditer(window))
    if numbers:  # a cue before another number labels that number, not this one
        window = window[numbers[-1].end() :]
    wanted = {*compatible, "phone", "other"}
    for cue in reversed(list(_CUE_RE.finditer(window))):
        if cue.lastgroup in wanted:
            return None if cue.lastgroup == "other" else cue.lastgroup
    return None


def _repair_note(compact: str) -> str:
    pairs = dict.fromkeys(
        f"{char}→{char.translate(_OCR_REPAIR)}" for char in compact if char in _CONFUSABLES
    )
    return "repaired OCR confusion " + ", ".join(pairs)


def _repairs(compact: str) -> int:
    return sum(char in _CONFUSABLES for char in compact)


def _checked(
    kind: IdentifierKind, raw: str, compact: str, span: tuple[int, int], prefix: str = ""
) -> IdentifierMatch:
    """Validate `compact` (the raw text without separators). OCR confusions are replaced only
    when the replaced value passes the checksum; otherwise the text is kept as found."""
    repaired = prefix + compact.translate(_OCR_REPAIR)
    problem = _PROBLEM[kind](repaired)
    if problem is not None:
        if _repairs(compact):
            problem += " (no OCR repair makes it pass)"
        return IdentifierMatch(kind, prefix + compact, raw, *span, False, problem)
    if _repairs(compact) == 0:
        return IdentifierMatch(kind, repaired, raw, *span, True, None)
    return IdentifierMatch(kind, repaired, raw, *span, True, _repair_note(compact), repaired=True)


def _ksef_match(found: re.Match[str]) -> IdentifierMatch:
    raw = found[0]
    digits, hexes = raw[:19], raw[19:]  # NIP-YYYYMMDD- is all digits, the rest hex
    damaged = digits + "".join(char for char in hexes if char in _HEX_CONFUSABLES)
    repaired = digits.translate(_OCR_REPAIR) + hexes.translate(_HEX_REPAIR).upper()
    problem = _ksef_problem(repaired)
    if problem is None and _repairs(damaged):
        note = _repair_note(damaged)
        return IdentifierMatch("ksef_number", repaired, raw, *found.span(), True, note, True)
    if problem is not None and _repairs(damaged):
        problem += " (no OCR repair makes it pass)"
    printed = digits + hexes.upper()
    return IdentifierMatch("ksef_number", printed, raw, *found.span(), problem is None, problem)


def _compact(raw: str) -> tuple[str, str]:
    """(the 'PL' prefix or '', the rest without separators)."""
    prefix = "PL" if raw[:2].upper() == "PL" else ""
    return prefix, _SEPARATORS.sub("", raw[len(prefix) :])


def _iban_pl_match(found: re.Match[str]) -> IdentifierMatch | None:
    _, digits = _compact(found[0])
    if _repairs(digits) > _MAX_IBAN_REPAIRS:
        return None
    return _checked("iban", found[0], digits, found.span(), prefix="PL")


def _iban_other_match(text: str, found: re.Match[str]) -> IdentifierMatch | None:
    try:
        length = registry.get_iban_spec(found[0][:2]).iban_length
    except InvalidCountryCode:
        return None
    end, kept = found.start(), 0
    while kept < length and end < found.end():
        kept += text[end].isalnum()
        end += 1
    if kept < length or text[end : end + 1].isalnum():
        return None
    raw = text[found.start() : end]
    compact = _SEPARATORS.sub("", raw)
    problem = _iban_problem(compact)  # no OCR repair: letters are genuine in foreign IBANs
    if problem is not None and _cue_before(text, found.start(), ("iban",)) is None:
        return None
    return IdentifierMatch("iban", compact, raw, found.start(), end, problem is None, problem)


def _nip_match(text: str, found: re.Match[str]) -> IdentifierMatch | None:
    prefix, digits = _compact(found[0])
    if _repairs(digits) > _MAX_REPAIRS:
        return None
    cue = _cue_before(text, found.start(), ("nip",))
    if cue == "phone":
        return None
    match = _checked("nip", found[0], digits, found.span())
    return match if match.valid or cue or prefix else None


def _edge_variants(raw: str, start: int) -> Iterator[tuple[str, int]]:
    """The run itself, then the run without confusable characters at its edges
    (a table border '|' or a stray 'l' glued to the number)."""
    yield raw, start
    stripped = raw.strip(_CONFUSABLES)
    if stripped and stripped != raw:
        yield stripped, start + raw.index(stripped)


def _run_match(text: str, raw: str, start: int) -> IdentifierMatch | None:
    compact = _SEPARATORS.sub("", raw)
    kinds = _KINDS_BY_LENGTH.get(len(compact))
    if kinds is None or _repairs(compact) > _MAX_REPAIRS:
        return None
    cue = _cue_before(text, start, kinds)
    if cue == "phone" or (cue is None and _repairs(compact)):
        return None  # a bare run with letters in it is more often a code than a damaged id
    span = (start, start + len(raw))
    if cue == "krs":
        return _krs_match(raw, compact, span)
    kind: IdentifierKind = "nip" if cue == "nip" else kinds[0]
    match = _checked(kind, raw, compact, span)
    return match if match.valid or cue else None


def _krs_match(raw: str, compact: str, span: tuple[int, int]) -> IdentifierMatch:
    # KRS has no checksum, so an OCR confusion can not be repaired with any confidence
    if _is_digits(compact, 10):
        return IdentifierMatch("krs", compact, raw, *span, True, None)
    reason = "KRS must be 10 digits (not repaired: KRS has no checksum)"
    return IdentifierMatch("krs", compact, raw, *span, False, reason)


def _digit_run_match(text: str, raw_run: str, run_start: int) -> IdentifierMatch | None:
    matches = [
        match
        for raw, start in _edge_variants(raw_run, run_start)
        if (match := _run_match(text, raw, start)) is not None
    ]
    if not matches:
        return None
    # prefer a valid reading, then the one needing the fewest repairs
    return min(matches, key=lambda match: (not match.valid, match.repaired, len(match.raw)))


def _short_krs_match(found: re.Match[str]) -> IdentifierMatch:
    return _krs_match(found["number"], found["number"], found.span("number"))


def _candidates(text: str) -> Iterator[IdentifierMatch | None]:
    yield from (_ksef_match(found) for found in _KSEF_RE.finditer(text))
    yield from (_iban_pl_match(found) for found in _IBAN_PL_RE.finditer(text))
    yield from (_iban_other_match(text, found) for found in _IBAN_OTHER_RE.finditer(text))
    yield from (_nip_match(text, found) for found in _NIP_RE.finditer(text))
    for found in _DIGIT_RUN_RE.finditer(text):
        yield _digit_run_match(text, found[0], found.start())
    for found in _CUED_RE.finditer(text):
        yield _digit_run_match(text, found["number"], found.start("number"))
    yield from (_short_krs_match(found) for found in _SHORT_KRS_RE.finditer(text))


_PRIORITY: dict[IdentifierKind, int] = {"ksef_number": 0, "iban": 1}


def _without_overlaps(matches: Iterable[IdentifierMatch]) -> list[IdentifierMatch]:
    """One identifier per position: KSeF numbers and IBANs contain NIP-like digit runs."""
    ranked = sorted(
        matches, key=lambda match: (_PRIORITY.get(match.kind, 2), match.start - match.end)
    )
    starts: list[int] = []
    kept: list[IdentifierMatch] = []  # in order of position
    for match in ranked:
        at = bisect_left(starts, match.start)
        if (at and kept[at - 1].end > match.start) or (
            at < len(kept) and kept[at].start < match.end
        ):
            continue
        starts.insert(at, match.start)
        kept.insert(at, match)
    return kept


def find_identifiers(
    text: str, kinds: Iterable[IdentifierKind] | None = None
) -> list[IdentifierMatch]:
    """Identifiers in `text`, in order of position.

    Values: NIP 10 digits, REGON 9/14, PESEL 11, IBAN compact ('PL' + 26 digits for a Polish
    account, also when printed as a bare NRB), KRS 10 digits, KSeF number 35 characters.
    A value failing its checksum comes back with valid=False and the reason; bare digit runs
    (no cue word such as "NIP", "REGON", "PESEL", "KRS") are only reported when valid.
    Characters OCR confuses with digits are replaced only when that makes the checksum pass.
    """
    wanted = ALL_KINDS if kinds is None else frozenset(kinds)
    found = _without_overlaps(match for match in _candidates(text) if match is not None)
    return [match for match in found if match.kind in wanted]
