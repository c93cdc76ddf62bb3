"""docs/operations.md lists every setting as the Settings class defines it."""

from __future__ import annotations

from app.config import Settings
from app.observability import config_reference


def test_the_configuration_reference_is_up_to_date() -> None:
    document = config_reference.DOCUMENT.read_text(encoding="utf-8")
    assert config_reference.render(document) == document, (
        "docs/operations.md is out of date: run `python -m app.observability.config_reference`"
    )
    for name in Settings.model_fields:
        assert f"`DOCARCHIVE_{name.upper()}`" in document
