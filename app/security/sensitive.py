"""PESEL numbers in free text: masked for whoever may not see them."""

from __future__ import annotations

import re

from workers.extract.identifiers import is_valid_pesel, mask_pesel

_ELEVEN_DIGITS = re.compile(r"(?<![0-9])[0-9]{11}(?![0-9])")


def mask_pesels(text: str) -> str:
    """Every valid PESEL in `text` shown as '*******1359'; other numbers are left alone."""

    def masked(match: re.Match[str]) -> str:
        value = match.group(0)
        return mask_pesel(value) if is_valid_pesel(value) else value

    return _ELEVEN_DIGITS.sub(masked, text)
