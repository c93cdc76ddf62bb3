"""Document classes from page text: title cues beat body cues, specific beats generic, and every
template of the ground-truth corpus lands in its class."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus import BORN_DIGITAL, TEMPLATES, make_item
from workers.extract.classify import classify
from workers.extract.document import extract_document
from workers.pages import PageText, read_pages


def page(text: str, number: int = 1) -> PageText:
    return PageText(number, text, "text-layer", None, 0, 595, 842)


INVOICE_BODY = """Sprzedawca: Alfa Sp. z o.o.
NIP: 525-000-12-34
Nabywca: Beta S.A.
NIP: 777-123-45-67
Wartość netto 1 000,00 VAT 230,00 Wartość brutto 1 230,00
Do zapłaty: 1 230,00 PLN"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Faktura VAT nr FV/2026/03/117\n{INVOICE_BODY}", "invoice"),
        (f"INVOICE No. INV-2026-0042\n{INVOICE_BODY}", "invoice"),
        (
            f"Faktura korygująca nr KOR/1/2026\nDo faktury nr FV/9/2026\n{INVOICE_BODY}",
            "correction",
        ),
        (f"FAKTURA VAT KORYGUJĄCA nr 5/2026\n{INVOICE_BODY}", "correction"),
        (f"Korekta faktury nr FK 1/2026\n{INVOICE_BODY}", "correction"),
        (f"Faktura PRO FORMA nr PF/1/2026\n{INVOICE_BODY}", "proforma"),
        ("Żabka Polska Sp. z o.o.\nNIP 525-000-12-34\nPARAGON FISKALNY\nSUMA PLN 12,30", "receipt"),
        (
            "UMOWA NAJMU LOKALU\nzawarta w dniu 1 marca 2026 r. pomiędzy Wynajmującym a Najemcą",
            "contract",
        ),
        ("ANEKS NR 2\ndo umowy najmu nr 5/2025\nzawarty w dniu 3 lutego 2026 r.", "annex"),
        (
            "UMOWA O PRACĘ\nzawarta w dniu 1.04.2026 r. pomiędzy Pracodawcą a Pracownikiem",
            "hr_record",
        ),
        ("Kraków, 3.03.2026\nŚWIADECTWO PRACY\n1. Stwierdza się, że pracownik...", "hr_record"),
        ("Jan Nowak\nWNIOSEK O URLOP WYPOCZYNKOWY\nProszę o udzielenie urlopu", "hr_record"),
        ("Zaproszenie na konferencję\nSerdecznie zapraszamy 12 marca.", "other"),
    ],
)
def test_class_from_text(text: str, expected: str) -> None:
    assert classify([page(text)]).code == expected


def test_correction_beats_invoice_and_says_why() -> None:
    result = classify([page(f"Faktura korygująca nr KOR/1/2026\n{INVOICE_BODY}")])
    assert result.code == "correction"
    assert result.cues[0] == "faktura korygująca (title)"
    assert result.confidence > 0.9


def test_employment_contract_is_no_commercial_contract() -> None:
    result = classify([page("UMOWA O PRACĘ\nzawarta w dniu 1.04.2026 r.\nzwaną dalej Pracodawcą")])
    assert result.code == "hr_record"
    assert "umowa" not in [cue.split(" (")[0] for cue in result.cues]


def test_title_outweighs_the_body() -> None:
    """An annex quotes the contract it amends; its title decides."""
    text = "ANEKS NR 1\n" + "Umowa najmu zawarta w dniu 1.01.2025 r., zwana dalej Umową.\n" * 3
    assert classify([page(text)]).code == "annex"


def test_invoice_structure_without_a_title() -> None:
    result = classify([page("Alfa Sp. z o.o.\n" + INVOICE_BODY)])
    assert result.code == "invoice"
    assert "NIP + amounts + do zapłaty" in result.cues


def test_nothing_recognisable_is_other_with_low_evidence() -> None:
    result = classify([page("Lorem ipsum dolor sit amet.")])
    assert (result.code, result.cues) == ("other", ())


def test_declared_class_wins_and_the_guess_stays_in_the_cues() -> None:
    result = extract_document(
        [page(f"Faktura VAT nr F 1/2026\n{INVOICE_BODY}")], declared_class="contract"
    )
    assert (result.document_class, result.class_source, result.class_confidence) == (
        "contract",
        "declared",
        1.0,
    )
    assert any(cue.startswith("detected as invoice") for cue in result.cues)


def test_declared_class_without_an_extractor_keeps_the_guess_apart() -> None:
    result = extract_document(
        [page("FAKTURA VAT nr FV/1/2026\nSprzedawca\nNabywca\nDo zapłaty 123,00 zł")],
        declared_class="purchase_order",
    )
    assert result.document_class == "purchase_order"
    assert result.class_source == "declared"
    assert result.detected_class == "invoice"
    assert result.fields == []


@pytest.mark.parametrize("index", range(len(TEMPLATES)))
def test_every_corpus_template_is_classified(tmp_path: Path, index: int) -> None:
    item = make_item(tmp_path, BORN_DIGITAL, index)
    pages = read_pages(item.path, item.media_type)
    result = classify(pages)
    assert result.code == item.expected_class, (item.name, result.cues)
    assert result.confidence >= 0.6
