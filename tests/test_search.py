"""Search through the real API over documents the real worker processed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.documents import repository
from app.documents.models import Document
from app.search.pesel import pesel_lexeme
from tests import samples
from tests.conftest import LoginAs, RunWorker, upload

pytestmark = pytest.mark.parametrize("blob_store", ["local"], indirect=True)


def processed(client: httpx.Client, run_worker: RunWorker, **documents: bytes) -> dict[str, str]:
    """Upload each (name → bytes; name ending in .xml or .pdf), process them, return the ids."""
    ids = {name: upload(client, content, name) for name, content in documents.items()}
    run_worker()
    for name, document_id in ids.items():
        document = client.get(f"/documents/{document_id}").json()
        assert document["status"] == "processed", (name, document["status_reason"])
    return ids


def search(client: httpx.Client, q: str = "", **params: Any) -> dict[str, Any]:
    response = client.get("/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def found(client: httpx.Client, q: str, **params: Any) -> set[str]:
    return {hit["document"]["id"] for hit in search(client, q, **params)["items"]}


def classify_as_hr_record(client: httpx.Client, document_id: str) -> None:
    """A processed document (revision 1) becomes an HR record, which accounting roles do not
    see."""
    response = client.patch(
        f"/documents/{document_id}",
        json={"document_class": "hr_record"},
        headers={"If-Match": '"r1"'},
    )
    assert response.status_code == 200, response.text


def test_inflected_forms_and_missing_diacritics_find_the_document(
    client: httpx.Client, run_worker: RunWorker
) -> None:
    ids = processed(
        client,
        run_worker,
        **{
            "uslugi.pdf": samples.text_pdf(["Faktura za usługi", "Zapłata w terminie 14 dni"]),
            "umowa.pdf": samples.text_pdf(["Umowa o pracę", "Pracownik: Jan Nowak"]),
        },
    )
    invoice, contract = ids["uslugi.pdf"], ids["umowa.pdf"]

    for query in ("faktury", "fakturze", "Faktura", "FAKTUR", "zaplata", "zapłacie", "usługami"):
        assert found(client, query) == {invoice}, query
    assert found(client, "pracownika umowy") == {contract}
    assert found(client, "faktura pracownik") == set()


def test_snippet_names_the_page_and_highlights_inflected_matches(
    client: httpx.Client, run_worker: RunWorker
) -> None:
    processed(
        client,
        run_worker,
        **{"faktura.pdf": samples.text_pdf(["Dostawa towaru", "Faktura za usługi serwisowe"])},
    )

    [hit] = search(client, "fakturze usługa")["items"]

    snippet = hit["snippet"]
    assert snippet["page"] == 1
    marked = [snippet["text"][h["start"] : h["end"]] for h in snippet["highlights"]]
    assert marked == ["Faktura", "usługi"]
    assert hit["rank"] > 0


def test_phrase_or_exclusion_and_prefix(client: httpx.Client, run_worker: RunWorker) -> None:
    ids = processed(
        client,
        run_worker,
        **{
            "najem.pdf": samples.text_pdf(["Umowa najmu lokalu użytkowego"]),
            "aneks.pdf": samples.text_pdf(["Aneks nr 2 do umowy najmu"]),
            "transport.pdf": samples.text_pdf(["Faktura za usługi transportowe"]),
        },
    )
    lease, annex, transport = ids["najem.pdf"], ids["aneks.pdf"], ids["transport.pdf"]

    assert found(client, '"umowa najmu"') == {lease, annex}
    assert found(client, '"najmu lokalu"') == {lease}
    assert found(client, '"lokalu najmu"') == set()
    assert found(client, "lokal OR transportowy") == {lease, transport}
    assert found(client, "najem -aneks") == {lease}
    assert found(client, 'umowa -"najmu lokalu"') == {annex}
    assert found(client, "transp*") == {transport}
    assert found(client, "użytk*") == {lease}


def test_identifiers_find_invoices_however_typed(
    client: httpx.Client, run_worker: RunWorker
) -> None:
    ids = processed(
        client,
        run_worker,
        **{
            "fv1.xml": samples.ksef_fa3("FV/1/2026"),
            "fv2.xml": samples.ksef_fa3("FV/2/2026"),
            "nip.pdf": samples.text_pdf(["Kontrahent NIP 725-180-11-26"]),
        },
    )
    first, second, text_nip = ids["fv1.xml"], ids["fv2.xml"], ids["nip.pdf"]

    assert found(client, "FV/1/2026") == {first}
    assert found(client, "fv/2/2026") == {second}
    for nip in ("5260250274", "526-025-02-74", "PL5260250274"):
        assert found(client, nip) == {first, second}, nip
    assert found(client, "7251801126") == {first, second, text_nip}
    assert found(client, "Sprzedawca") == {first, second}


def test_filters_and_facets_without_and_with_a_query(
    client: httpx.Client, run_worker: RunWorker
) -> None:
    ids = processed(
        client,
        run_worker,
        **{
            "fv1.xml": samples.ksef_fa3("FV/1/2026"),
            "fv2.xml": samples.ksef_fa3("FV/2/2026"),
            "umowa.pdf": samples.text_pdf(["Umowa najmu lokalu", "zawarta pomiędzy stronami"]),
        },
    )
    pending = upload(client, samples.text_pdf(["Umowa zlecenia"]), "pending.pdf")

    everything = search(client)
    assert everything["total"] == 4
    assert {f["value"]: f["count"] for f in everything["facets"]["status"]} == {
        "processed": 3,
        "pending": 1,
    }
    assert {f["value"]: f["count"] for f in everything["facets"]["class"]} == {
        "invoice": 2,
        "contract": 1,
        None: 1,
    }
    invoices = search(client, **{"class": "invoice"})
    assert {hit["document"]["id"] for hit in invoices["items"]} == {ids["fv1.xml"], ids["fv2.xml"]}
    assert invoices["total"] == 2
    assert found(client, "", status="pending") == {pending}
    assert found(client, "umowa", status="processed") == {ids["umowa.pdf"]}
    assert search(client, "umowa", **{"class": "invoice"})["total"] == 0
    matched = search(client, "faktura OR umowa")
    assert matched["total"] == 3
    assert {f["value"]: f["count"] for f in matched["facets"]["class"]} == {
        "invoice": 2,
        "contract": 1,
    }


def test_pagination_is_stable_with_and_without_a_query(
    client: httpx.Client, run_worker: RunWorker
) -> None:
    lines = [["Faktura za usługi"], ["Faktura"], ["Faktura faktura usługi"], ["Faktura VAT"]]
    documents = {f"f{n}.pdf": samples.text_pdf(text) for n, text in enumerate(lines)}
    ids = set(processed(client, run_worker, **documents).values())

    for q in ("faktura", ""):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
            body = search(client, q, **params)
            assert body["total"] == 4
            seen += [hit["document"]["id"] for hit in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 4, q
        assert set(seen) == ids, q
    ranks = [hit["rank"] for hit in search(client, "faktura")["items"]]
    assert ranks == sorted(ranks, reverse=True)


def test_post_searches_like_get(client: httpx.Client, run_worker: RunWorker) -> None:
    ids = processed(client, run_worker, **{"fv.xml": samples.ksef_fa3("FV/9/2026")})

    response = client.post("/search", json={"q": "FV/9/2026", "class": "invoice", "limit": 5})

    assert response.status_code == 200, response.text
    assert [hit["document"]["id"] for hit in response.json()["items"]] == [ids["fv.xml"]]


def test_metadata_edits_are_searchable_at_once(client: httpx.Client, run_worker: RunWorker) -> None:
    ids = processed(client, run_worker, **{"skan.pdf": samples.text_pdf(["Dokument"])})
    document_id = ids["skan.pdf"]

    response = client.patch(
        f"/documents/{document_id}",
        json={"title": "Polisa ubezpieczeniowa", "tags": ["flota"]},
        headers={"If-Match": '"r1"'},
    )

    assert response.status_code == 200, response.text
    assert found(client, "polisy ubezpieczeniowej") == {document_id}
    assert found(client, "flota") == {document_id}


def test_pesel_is_indexed_as_a_keyed_hash_searchable_by_hr_only(
    client: httpx.Client, run_worker: RunWorker, engine: Engine, login_as: LoginAs
) -> None:
    ids = processed(
        client,
        run_worker,
        **{
            "zlecenie.pdf": samples.text_pdf(
                ["Umowa zlecenia", "Zleceniobiorca PESEL: 44051401359, pracownik"]
            ),
            "inna.pdf": samples.text_pdf(["Umowa zlecenia", "Zleceniobiorca bez numeru"]),
        },
    )
    document_id = ids["zlecenie.pdf"]
    # the client holds every role, hr included
    [hit] = search(client, "44051401359")["items"]
    assert hit["document"]["id"] == document_id
    assert "44051401359" not in hit["snippet"]["text"]
    assert "*******1359" in hit["snippet"]["text"]
    marked = [hit["snippet"]["text"][h["start"] : h["end"]] for h in hit["snippet"]["highlights"]]
    assert "*******1359" in marked
    [hit] = search(client, "pracownik")["items"]
    assert "44051401359" not in hit["snippet"]["text"]
    assert found(client, "zlecenie -44051401359") == {ids["inna.pdf"]}
    with engine.connect() as conn:
        terms = conn.execute(
            text("SELECT terms::text FROM document_search WHERE document_id = :id"),
            {"id": document_id},
        ).scalar_one()
        vocabulary = conn.execute(text("SELECT string_agg(term, ' ') FROM search_terms")).scalar()
    assert "44051401359" not in terms
    assert "1359" not in terms
    assert f"'{pesel_lexeme('44051401359')}'" in terms
    assert "44051401359" not in (vocabulary or "")

    # someone who may see the contract but does not hold the hr role
    admin = login_as("adam", "admin")
    assert found(admin, "zlecenie") == {document_id, ids["inna.pdf"]}
    assert found(admin, "44051401359") == set()
    assert found(admin, "zlecenie 44051401359") == set()


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        ({"q": 'faktura "za usługi'}, 422, "unbalanced quote"),
        ({"q": "i w z"}, 422, "no searchable words"),
        ({"q": "f*"}, 422, "prefix"),
        ({"q": "faktura", "cursor": "nonsense"}, 400, "cursor"),
        ({"q": "", "limit": 0}, 422, "limit"),
    ],
)
def test_bad_queries_get_problem_details(
    client: httpx.Client, params: dict[str, Any], status: int, reason: str
) -> None:
    response = client.get("/search", params=params)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert reason in response.json()["detail"]


def test_a_visibility_rule_on_the_base_query_hides_results_counts_and_facets(
    client: httpx.Client, run_worker: RunWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = processed(
        client,
        run_worker,
        **{
            "fv.xml": samples.ksef_fa3("FV/3/2026"),
            "umowa.pdf": samples.text_pdf(["Umowa najmu", "Faktura płatna co miesiąc"]),
        },
    )
    unrestricted = repository.documents_query
    # Stands in for the security issue's rule: this caller may not see contracts.
    monkeypatch.setattr(
        repository,
        "documents_query",
        lambda actor: unrestricted(actor).where(Document.document_class != "contract"),
    )

    for q in ("faktura", ""):
        body = search(client, q)
        assert [hit["document"]["id"] for hit in body["items"]] == [ids["fv.xml"]], q
        assert body["total"] == 1
        assert body["facets"]["class"] == [{"value": "invoice", "count": 1}]
    assert search(client, "najem")["total"] == 0


def test_the_callers_visibility_limits_results_counts_facets_and_snippets(
    client: httpx.Client, run_worker: RunWorker, login_as: LoginAs
) -> None:
    ids = processed(
        client,
        run_worker,
        **{
            "fv.xml": samples.ksef_fa3("FV/4/2026"),
            "kadry.pdf": samples.text_pdf(["Świadectwo pracy", "Faktura za szkolenie BHP"]),
        },
    )
    hr_document = ids["kadry.pdf"]
    classify_as_hr_record(client, hr_document)
    accountant = login_as("anna", "accountant")  # accounting roles do not see HR records

    assert found(client, "faktura") == {ids["fv.xml"], hr_document}
    for q in ("faktura", "", "szkolenie"):
        body = search(accountant, q)
        assert hr_document not in {hit["document"]["id"] for hit in body["items"]}, q
        assert body["total"] == (0 if q == "szkolenie" else 1), q
        assert {f["value"] for f in body["facets"]["class"]} <= {"invoice"}, q
        assert all(
            "szkolenie" not in (hit["snippet"] or {}).get("text", "") for hit in body["items"]
        )
    # a correction found in a hidden document's words is not named to them
    assert search(client, "szkolenei")["fuzzy_terms"] == {"szkolenei": ["szkolenie"]}
    hidden = search(accountant, "szkolenei")
    assert (hidden["total"], hidden["fuzzy"], hidden["fuzzy_terms"]) == (0, False, {})
