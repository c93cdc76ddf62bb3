"""Offline validation against the official KSeF XSDs: their http://crd.gov.pl imports are served
from the local copies, each schema is compiled once per process."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

if TYPE_CHECKING:  # the stubs' name for what resolve_filename returns
    from lxml.etree._docloader import _InputDocument

# The FA schemas import their base types (StrukturyDanych, which includes ElementarneTypyDanych
# and KodyKrajow) from this location; the copies live in <xsd dir>/bazowe/.
BASE_TYPES_URL = "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/"
MAX_ERRORS = 20


class _LocalBaseTypes(etree.Resolver):
    """Serves the base-type schemas from disk; anything else remote is left to fail offline."""

    def __init__(self, base_dir: Path) -> None:
        super().__init__()
        self._base_dir = base_dir

    def resolve(
        self, system_url: str | None, public_id: str | None, context: object
    ) -> _InputDocument | None:
        if system_url and system_url.startswith(BASE_TYPES_URL):
            local = self._base_dir / system_url.removeprefix(BASE_TYPES_URL)
            return self.resolve_filename(str(local), context)
        return None


@dataclass(frozen=True, slots=True)
class _CompiledSchema:
    schema: etree.XMLSchema
    # One XMLSchema keeps one error log: validations in threads must take turns.
    lock: threading.Lock


@cache
def _compiled(xsd_file: Path) -> _CompiledSchema:
    if not xsd_file.is_file():
        raise FileNotFoundError(f"KSeF schema not found: {xsd_file}")
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_LocalBaseTypes(xsd_file.parent / "bazowe"))
    document = etree.parse(str(xsd_file), parser)
    return _CompiledSchema(etree.XMLSchema(document), threading.Lock())


def schema_errors(root: etree._Element, xsd_file: Path) -> tuple[str, ...]:
    """The schema's complaints about the document, "line N: message", at most MAX_ERRORS + 1."""
    compiled = _compiled(xsd_file.resolve())
    with compiled.lock:
        if compiled.schema.validate(root.getroottree()):
            return ()
        log = list(compiled.schema.error_log)
    namespace = f"{{{etree.QName(root).namespace}}}"
    messages = [f"line {entry.line}: {entry.message.replace(namespace, '')}" for entry in log]
    if len(messages) > MAX_ERRORS:
        messages = [*messages[:MAX_ERRORS], f"... and {len(messages) - MAX_ERRORS} more errors"]
    return tuple(messages)
