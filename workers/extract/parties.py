"""Seller and buyer of an invoice (sprzedawca, nabywca) from their labelled blocks: stacked,
side by side (a text layer or OCR that runs both columns into one line), or inline."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from workers.extract.identifiers import IdentifierMatch, find_identifiers
from workers.extract.text import PageView

SELLER = "seller"
BUYER = "buyer"
_LABEL = re.compile(
    r"(?P<seller>\b(?:sprzedawca|wystawca|sprzedajacy|dostawca|seller|supplier|vendor)\b)"
    r"|(?P<buyer>\b(?:nabywca|kupujacy|buyer|customer|purchaser)\b)"
    r"|(?P<recipient>\b(?:odbiorca|recipient)\b)"
)
# After the label word: a translation ("Sprzedawca / Seller") and the colon belong to it.
_LABEL_TAIL = re.compile(r"(?:[ ]*/[ ]*[a-z]+)?[ ]*:?[ ]*")
_STOP = re.compile(
    r"^\s*(?:lp\b|l\.p\b|nazwa towaru|pozycj|data\b|termin|sposob|forma|razem|do zaplaty"
    r"|nr faktury|faktura|przyczyna|stawka|wartosc)"
)
_STARTERS = {  # what a line of a party block starts with; used to split two merged columns
    "street": r"\b(?:ul|al|pl|os)\.\s|\b(?:ulica|aleja)\b",
    "postcode": r"\b\d{2}-\d{3}\b",
    "nip": r"\bnip\b",
    "regon": r"\bregon\b",
    "krs": r"\bkrs\b",
    "phone": r"\btel\b",
    "email": r"\be-?mail\b",
}
_ANY_STARTER = re.compile("|".join(f"(?:{p})" for p in _STARTERS.values()))
_LEGAL_FORM = re.compile(
    r"\b(?:sp\.?\s*z\s*[o0]\.?\s*[o0]\.?|s\.\s*a\.|sp\.\s*[kj]\.|s\.\s*c\.|sp\.\s*p\."
    r"|gmbh|ag|kg|ltd\.?|s\.r\.o\.|b\.v\.|s\.r\.l\.|sas|inc\.)"
    r"(?:\s*sp\.\s*k\.)?(?=\s|$|,)"
)
_EU_VAT_ID = re.compile(
    r"\b(?:AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PT|RO|SE|SI|SK|XI)"
    r"[ ]?U?[0-9][0-9A-Z]{7,11}\b"
)
_SURNAME_END = re.compile(r"\b\w+(?:ski|cki|dzki|ska|cka|dzka|wicz|czyk|ak|ek|uk|ik)\b")
_OCR_LEGAL_FORM = re.compile(r"\b([Ss]p)\.?\s*[Zz]\s*[o0O]\.\s*[o0O]\.")
BLOCK_LINES = 6


@dataclass(frozen=True, slots=True)
class PartyBlock:
    role: str  # SELLER or BUYER
    name: str | None
    text: str  # the block's text, where its identifiers are
    page: PageView
    merged: bool  # split out of lines holding both columns: less certain
    guessed_name: bool = False  # the column boundary inside the name line was guessed


def find_parties(pages: Sequence[PageView]) -> list[PartyBlock]:
    """The seller's and the buyer's blocks, when their labels are on the page."""
    for page in pages:
        labels = _labels(page)
        if labels:
            return _blocks(page, labels)
    return []


def _labels(page: PageView) -> list[tuple[str, re.Match[str]]]:
    found = [(match.lastgroup or "", match) for match in _LABEL.finditer(page.folded)]
    roles = {role for role, _ in found}
    if "buyer" not in roles:  # "Odbiorca" is the buyer unless a "Nabywca" is named too
        found = [("buyer" if r == "recipient" else r, m) for r, m in found]
    found = [(r, m) for r, m in found if r in (SELLER, BUYER) and _is_label(page, m)]
    return _first_of_each(found)


def _is_label(page: PageView, match: re.Match[str]) -> bool:
    """A label heads its line or ends with a colon; the word inside a sentence is no label."""
    line_start, _ = page.line_span(match.start())
    tail = _LABEL_TAIL.match(page.folded, match.end())
    before = page.folded[line_start : match.start()].strip()
    return before == "" or ":" in (tail[0] if tail else "") or before.endswith(":")


def _first_of_each(found: list[tuple[str, re.Match[str]]]) -> list[tuple[str, re.Match[str]]]:
    kept: dict[str, re.Match[str]] = {}
    for role, match in found:
        kept.setdefault(role, match)
    return sorted(kept.items(), key=lambda item: item[1].start())


def _blocks(page: PageView, labels: list[tuple[str, re.Match[str]]]) -> list[PartyBlock]:
    if len(labels) == 2 and page.line_span(labels[0][1].start()) == page.line_span(
        labels[1][1].start()
    ):
        return _merged_blocks(page, labels)
    return [_stacked_block(page, role, match, labels) for role, match in labels]


def _label_end(page: PageView, match: re.Match[str]) -> int:
    tail = _LABEL_TAIL.match(page.folded, match.end())
    return tail.end() if tail else match.end()


def _stacked_block(
    page: PageView, role: str, match: re.Match[str], labels: list[tuple[str, re.Match[str]]]
) -> PartyBlock:
    others = [m.start() for _, m in labels if m.start() > match.start()]
    limit = min(others, default=len(page.text))
    inline = page.rest_of_line(_label_end(page, match)).strip()
    lines = [inline] if inline else []
    for start, text in page.lines_after(match.start(), BLOCK_LINES):
        if start >= limit or (_STOP.match(page.folded[start : start + len(text)]) and lines):
            break
        if text.strip():
            lines.append(text.strip())
        elif lines and len(lines) > 1:
            break  # a blank line after the block's content closes it (OCR separates blocks)
    name = next((line for line in lines if _is_name_line(line)), None)
    return PartyBlock(role, clean_name(name), "\n".join(lines), page, merged=False)


def _is_name_line(line: str) -> bool:
    folded = line.lower()
    return bool(re.search(r"[a-ząćęłńóśźż]{2}", folded)) and not _ANY_STARTER.match(folded)


def _merged_blocks(page: PageView, labels: list[tuple[str, re.Match[str]]]) -> list[PartyBlock]:
    (left_role, left), (right_role, right) = labels
    left_lines: list[str] = []
    right_lines: list[str] = []
    head = page.text[_label_end(page, left) : right.start()].strip()
    tail = page.rest_of_line(_label_end(page, right)).strip()
    if head or tail:
        left_lines.append(head)
        right_lines.append(tail)
    guessed = False
    for start, text in page.lines_after(left.start(), BLOCK_LINES):
        if not text.strip() or _STOP.match(page.folded[start : start + len(text)]):
            break
        pair, was_guess = split_columns(text)
        guessed = guessed or (was_guess and not left_lines)
        left_lines.append(pair[0])
        right_lines.append(pair[1])
    return [
        _merged_block(page, left_role, left_lines, guessed),
        _merged_block(page, right_role, right_lines, guessed),
    ]


def _merged_block(page: PageView, role: str, lines: list[str], guessed: bool) -> PartyBlock:
    name = next((line for line in lines if line and _is_name_line(line)), None)
    return PartyBlock(
        role, clean_name(name), "\n".join(lines), page, merged=True, guessed_name=guessed
    )


def split_columns(line: str) -> tuple[tuple[str, str], bool]:
    """Two columns run into one line: (left, right), and whether the cut was a guess."""
    gap = re.search(r"\s{3,}", line.strip())
    if gap:
        stripped = line.strip()
        return (stripped[: gap.start()], stripped[gap.end() :]), False
    folded = line.lower()
    cut = _repeated_starter(folded) or _after_legal_form(folded)
    if cut:
        return (line[:cut].strip(" ,"), line[cut:].strip()), False
    cut = _after_surname(line)
    return (line[:cut].strip(" ,"), line[cut:].strip()), True


def _repeated_starter(folded: str) -> int | None:
    """Where the right column starts: at the second street, postcode, NIP... of the line."""
    for pattern in _STARTERS.values():
        hits = [m.start() for m in re.finditer(pattern, folded)]
        if len(hits) >= 2 and hits[0] == len(folded) - len(folded.lstrip()):
            return hits[1]
    hits = [m.start() for m in _ANY_STARTER.finditer(folded) if m.start() > 0]
    return hits[0] if hits and _ANY_STARTER.match(folded.lstrip()) else None


def _after_legal_form(folded: str) -> int | None:
    for match in _LEGAL_FORM.finditer(folded):
        if folded[match.end() :].strip():
            return match.end()
    return None


def _after_surname(line: str) -> int:
    """Last resort for two names without legal forms: cut after a surname-like word."""
    for match in _SURNAME_END.finditer(line):
        if line[match.end() :].strip():
            return match.end()
    words = line.split()
    return len(" ".join(words[: len(words) // 2]))


def clean_name(name: str | None) -> str | None:
    if not name:
        return None
    name = _OCR_LEGAL_FORM.sub(lambda m: f"{m[1]}. z o.o.", name.strip(" ,;:"))
    return re.sub(r"\s+", " ", name) or None


def party_nip(block: PartyBlock) -> IdentifierMatch | None:
    """The first NIP in the block, valid or not."""
    return next(iter(find_identifiers(block.text, ("nip",))), None)


def party_vat_id(block: PartyBlock) -> str | None:
    """A foreign (EU) VAT number in the block, compacted: "DE 123456789" -> "DE123456789"."""
    found = _EU_VAT_ID.search(block.text)
    return found[0].replace(" ", "") if found else None
