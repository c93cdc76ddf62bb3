"""PESEL numbers in the index: never as text, only as a keyed hash that HR can look up.

A document's valid PESELs become one lexeme each, `p` + the first 24 hex digits of
HMAC-SHA256(key, pesel), with a key derived from the server secret (a separate key, like the
audit chain's): the index, a dump of it or the vocabulary never holds a number someone could read
back, and without the secret the hashes cannot be tested against the ~10^9 possible PESELs.
Changing the server secret needs `docarchive reindex --all`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.config import Settings
from workers.extract.identifiers import is_valid_pesel

log = logging.getLogger(__name__)

_KEY_LABEL = b"docarchive search pesel v1"
_HEX_DIGITS = 24
_ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")
# What a PESEL in the query of someone who may not search by PESEL becomes: a lexeme no text
# produces (a hash is never all zeros), so the term matches nothing.
NO_MATCH_LEXEME = "p" + "0" * _HEX_DIGITS


@dataclass
class _Key:
    value: bytes | None = None


_key = _Key()


def derive_pesel_key(server_secret: str | bytes) -> bytes:
    secret = server_secret.encode() if isinstance(server_secret, str) else server_secret
    return hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest()


def configure_pesel_key(settings: Settings) -> None:
    """What the API, the worker and the CLI call at start, with their settings."""
    _key.value = derive_pesel_key(settings.secret_key.get_secret_value())


def _current_key() -> bytes:
    if _key.value is None:
        # A process that indexes or searches without configuring: the environment's secret,
        # which is what the API and the worker read too.
        log.info("search PESEL key taken from the environment's settings")
        configure_pesel_key(Settings())
    assert _key.value is not None
    return _key.value


def pesel_lexeme(pesel: str) -> str:
    digest = hmac.new(_current_key(), pesel.encode(), hashlib.sha256).hexdigest()
    return "p" + digest[:_HEX_DIGITS]


def pesels_in(texts: Iterable[str]) -> set[str]:
    """The valid PESELs written in the texts (11 digits not inside a longer number)."""
    return {
        found for text in texts for found in _ELEVEN_DIGITS.findall(text) if is_valid_pesel(found)
    }
