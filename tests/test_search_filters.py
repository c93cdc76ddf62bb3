"""Search filters, sorts, facets, totals and the fuzzy fallback, through the real API over
documents the real worker processed (fields set as extracted, or corrected by hand)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.search import service as search_service
from tests import samples
from tests.conftest import LoginAs, RunWorker, upload
from tests.test_search import classify_as_hr_record, found, processed, search

pytestmark = pytest.mark.parametrize("blob_store", ["local"], indirect=True)

KSEF = "5260250274-20260201-0A1B2C3D4E5F-4A"


def correct(client: httpx.Client, document_id: str, **fields: Any) -> None:
    revision = client.get(f"/documents/{document_id}").json()["revision"]
    response = client.patch(
        f"/documents/{document_id}/fields", json={"fields": fields, "revision": revision}
    )
    assert response.status_code == 200, response.text


def tag(client: httpx.Client, document_id: str, *tags: str) -> None:
    revision = client.get(f"/documents/{document_id}").json()["revision"]
    response = client.patch(
        f"/documents/{document_id}",
        json={"tags": list(tags)},
        headers={"If-Match": f'"r{revision}"'},
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def corpus(client: httpx.Client, run_worker: RunWorker) -> dict[str, str]:
    """a: KSeF invoice as extracted (2026-02-01, 1230.00 PLN) plus due date and KSeF number;
    b: an EUR invoice of 2025 from another seller; c: a contract; d: still pending."""
    ids = processed(
        client,
        run_worker,
        **{
            "a.xml": samples.ksef_fa3("FV/1/2026"),
            "b.xml": samples.ksef_fa3("FV/2/2026"),
            "c.pdf": samples.text_pdf(["Umowa najmu lokalu użytkowego", "Czynsz płatny z góry"]),
        },
    )
    a, b, c = ids["a.xml"], ids["b.xml"], ids["c.pdf"]
    correct(client, a, due_date="2026-02-15", ksef_number=KSEF)
    correct(
        client,
        b,
        issue_date="2025-11-20",
        due_date="2025-12-04",
        gross_total="15000.00",
        currency="EUR",
        seller_nip="1234563218",
        seller_name="Krakowska Hurtownia Papieru",
    )
    correct(client, c, signing_date="2026-03-10", contract_value="5000.00")
    tag(client, a, "pilne", "kwartał")
    tag(client, b, "pilne")
    tag(client, c, "archiwum")
    d = upload(client, samples.text_pdf(["Faktura oczekująca"]), "d.pdf")
    return {"a": a, "b": b, "c": c, "d": d}


def names(corpus: dict[str, str], ids: set[str]) -> set[str]:
    by_id = {v: k for k, v in corpus.items()}
    return {by_id[i] for i in ids}


FILTERS: list[tuple[dict[str, Any], set[str]]] = [
    ({"issued_from": "2026-01-01"}, {"a", "c"}),
    ({"issued_to": "2025-12-31"}, {"b"}),
    ({"issued_from": "2026-02-01", "issued_to": "2026-02-01"}, {"a"}),
    ({"due_from": "2026-01-01"}, {"a"}),
    ({"due_to": "2025-12-31"}, {"b"}),
    ({"amount_min": "1000", "amount_max": "6000"}, {"a", "c"}),
    ({"amount_min": "10000"}, {"b"}),
    ({"currency": "eur"}, {"b"}),
    ({"currency": "PLN"}, {"a"}),
    ({"seller_nip": "526-025-02-74"}, {"a"}),
    ({"seller_nip": "PL 123 456 32 18"}, {"b"}),
    ({"buyer_nip": "PL7251801126"}, {"a", "b"}),
    ({"counterparty": "Krakowka Hurtownia"}, {"b"}),
    ({"counterparty": "nabywca"}, {"a", "b"}),
    ({"counterparty": "Zupełnie Inna Firma"}, set()),
    ({"tags_all": ["pilne", "kwartał"]}, {"a"}),
    ({"tags_all": ["pilne"]}, {"a", "b"}),
    ({"tags_any": ["kwartał", "archiwum"]}, {"a", "c"}),
    ({"invoice_number": "fv 2 2026"}, {"b"}),
    ({"invoice_number": "FV/1/2026"}, {"a"}),
    ({"ksef_number": KSEF.lower()}, {"a"}),
    ({"uploaded_by": "nobody-at-all"}, set()),
    ({"status": "pending"}, {"d"}),
    ({"q": "faktura", "currency": "PLN", "tags_any": ["pilne"]}, {"a"}),
    ({"q": "umowa", "amount_min": "1000"}, {"c"}),
    ({"class": "invoice", "issued_from": "2026-01-01"}, {"a"}),
    ({"q": "faktura", "counterparty": "krakowska", "due_to": "2025-12-31"}, {"b"}),
    ({"seller_nip": "5260250274", "buyer_nip": "7251801126", "amount_max": "2000"}, {"a"}),
]


def test_every_filter_alone_and_combined(client: httpx.Client, corpus: dict[str, str]) -> None:
    for params, expected in FILTERS:
        body = search(client, **params)
        got = names(corpus, {hit["document"]["id"] for hit in body["items"]})
        assert got == expected, params
        assert body["total"] == len(expected), params
    for params, _ in FILTERS:  # the same through POST
        response = client.post("/search", json=params)
        assert response.status_code == 200, (params, response.text)
    creator = client.get(f"/documents/{corpus['a']}").json()["created_by"]
    assert names(corpus, found(client, "", uploaded_by=creator)) == {"a", "b", "c", "d"}


def test_an_upload_range_with_words(
    client: httpx.Client, corpus: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_service, "WINDOW", 1)  # past the bound too
    uploaded = client.get(f"/documents/{corpus['b']}").json()["created_at"]

    before = search(client, "faktura", uploaded_before=uploaded)
    after = search(client, "faktura", uploaded_after=uploaded, currency="EUR")

    assert [hit["document"]["id"] for hit in before["items"]] == [corpus["a"]]
    assert (before["total"], before["total_exact"]) == (1, True)
    assert [hit["document"]["id"] for hit in after["items"]] == [corpus["b"]]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"seller_nip": "1234567890"}, "not a valid NIP"),
        ({"buyer_nip": "PL 526-025-02-75"}, "not a valid NIP"),
        ({"amount_min": "10", "amount_max": "5"}, "range starts after it ends"),
        ({"issued_from": "2026-02-01", "issued_to": "2026-01-01"}, "range starts after it ends"),
        ({"counterparty": "--"}, "counterparty"),
        ({"sort": "relevance"}, "needs words"),
        ({"currency": "EURO"}, "currency"),
        ({"unknown_filter": "x"}, "unknown_filter"),
    ],
)
def test_bad_filters_are_refused_with_a_reason(
    client: httpx.Client, params: dict[str, Any], reason: str
) -> None:
    response = client.get("/search", params=params)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert reason in response.text


def facet(body: dict[str, Any], name: str) -> dict[str | None, int]:
    return {f["value"]: f["count"] for f in body["facets"][name]}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": "faktura OR umowa"},
        {"tags_any": ["pilne", "archiwum"]},
        {"issued_from": "2025-01-01"},
    ],
)
def test_facets_equal_the_counts_of_the_filtered_result(
    client: httpx.Client, corpus: dict[str, str], params: dict[str, Any]
) -> None:
    body = search(client, **params)

    assert body["total_exact"] is True
    for name in ("class", "status", "year"):
        assert sum(facet(body, name).values()) == body["total"], name
    for value, count in facet(body, "class").items():
        if value is not None:
            assert search(client, **params, **{"class": value})["total"] == count
    for value, count in facet(body, "status").items():
        assert search(client, **params, status=value)["total"] == count
    for value, count in facet(body, "year").items():
        if value is not None:
            year = {"issued_from": f"{value}-01-01", "issued_to": f"{value}-12-31"}
            assert search(client, **{**params, **year})["total"] == count
    for value, count in facet(body, "counterparty").items():
        assert value is not None
        assert search(client, **params, counterparty=value)["total"] >= count


def test_year_and_counterparty_facets(client: httpx.Client, corpus: dict[str, str]) -> None:
    body = search(client)

    assert facet(body, "year") == {"2026": 2, "2025": 1, None: 1}
    assert facet(body, "counterparty") == {
        "Nabywca S.A.": 2,
        "Krakowska Hurtownia Papieru": 1,
        "Sprzedawca sp. z o.o.": 1,
    }


def walk(client: httpx.Client, **params: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        body = search(client, limit=1, **params, **({"cursor": cursor} if cursor else {}))
        seen += [hit["document"]["id"] for hit in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


@pytest.mark.parametrize("materialised", [True, False])
def test_sorts_page_through_every_match_in_order(
    client: httpx.Client,
    corpus: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    materialised: bool,
) -> None:
    if not materialised:  # past the bound: the sorts walk their indexes instead
        monkeypatch.setattr(search_service, "WINDOW", 1)
    order = {
        ("issue_date", "desc"): ["c", "a", "b", "d"],
        ("issue_date", "asc"): ["b", "a", "c", "d"],  # without the value: last either way
        ("amount", "desc"): ["b", "c", "a", "d"],
        ("amount", "asc"): ["a", "c", "b", "d"],
        ("uploaded_at", "desc"): ["d", "c", "b", "a"],
        ("uploaded_at", "asc"): ["a", "b", "c", "d"],
    }
    for (sort, direction), expected in order.items():
        ids = walk(client, sort=sort, direction=direction)
        assert [names(corpus, {i}).pop() for i in ids] == expected, (sort, direction)
    ranked = walk(client, q="faktura OR umowa")
    # relevance ranks a window of the newest matches when there are more than it holds
    assert len(ranked) == len(set(ranked)) == (3 if materialised else 1)
    narrowed = walk(client, q="faktura", sort="amount", currency="PLN")
    assert names(corpus, set(narrowed)) == {"a"}


def test_a_cursor_of_another_sort_is_refused(client: httpx.Client, corpus: dict[str, str]) -> None:
    cursor = search(client, limit=1, sort="amount")["next_cursor"]

    response = client.get("/search", params={"cursor": cursor, "sort": "issue_date"})

    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


def test_totals_past_the_bound_are_estimates(
    client: httpx.Client, corpus: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_service, "WINDOW", 2)

    body = search(client)
    exact = search(client, status="processed", **{"class": "contract"})

    assert body["total_exact"] is False
    assert body["total"] >= 3
    assert len(body["items"]) == 4
    assert exact["total_exact"] is True
    assert exact["total"] == 1


def test_fuzzy_fallback_finds_ocr_damaged_words_and_typos(
    client: httpx.Client, run_worker: RunWorker
) -> None:
    ids = processed(
        client,
        run_worker,
        **{
            "skan.pdf": samples.text_pdf(["Umowv najmu lokalu", "Faktnra zaliczkowa"]),
            "czysta.pdf": samples.text_pdf(["Faktura końcowa za usługi"]),
        },
    )
    damaged, clean = ids["skan.pdf"], ids["czysta.pdf"]

    exact = search(client, "usługi")
    assert exact["fuzzy"] is False
    assert [hit["fuzzy"] for hit in exact["items"]] == [False]

    body = search(client, "umowa")  # the scan says "Umowv"
    assert body["fuzzy"] is True
    assert "umowv" in body["fuzzy_terms"]["umowa"]
    [hit] = body["items"]
    assert hit["document"]["id"] == damaged
    assert hit["fuzzy"] is True
    marked = [hit["snippet"]["text"][h["start"] : h["end"]] for h in hit["snippet"]["highlights"]]
    assert marked == ["Umowv"]

    typo = search(client, "fakturra")  # a typo in the query
    assert typo["fuzzy"] is True
    assert {h["document"]["id"] for h in typo["items"]} >= {clean}

    both = search(client, "faktura")  # one exact match: the damaged "Faktnra" joins as fuzzy
    flags = {hit["document"]["id"]: hit["fuzzy"] for hit in both["items"]}
    assert flags == {clean: False, damaged: True}


def test_filters_on_circulation_holds_and_retention(
    client: httpx.Client, run_worker: RunWorker
) -> None:
    ids = processed(
        client,
        run_worker,
        **{
            "fv1.xml": samples.ksef_fa3("FV/21/2026"),
            "fv2.xml": samples.ksef_fa3("FV/22/2026"),
        },
    )
    first, second = ids["fv1.xml"], ids["fv2.xml"]
    assert client.post(f"/documents/{first}/circulation").status_code == 201
    assert found(client, "", circulation_state="running") == {first}
    assert found(client, "", circulation_state="none") == {second}
    assert found(client, "", circulation_state="approved") == set()

    hold = client.post(
        "/retention/holds",
        json={"name": "Kontrola US", "reason": "kontrola podatkowa", "document_ids": [second]},
    )
    assert hold.status_code == 201, hold.text
    assert found(client, "", under_legal_hold="true") == {second}
    assert found(client, "faktura", under_legal_hold="false") == {first}

    retention = client.get(f"/documents/{first}/retention").json()
    retain_until = retention["retain_until"]
    assert retain_until is not None
    assert found(client, "", retention_due_before=retain_until) == set()
    later = f"{int(retain_until[:4]) + 1}-01-01"
    assert first in found(client, "", retention_due_before=later)


def test_matches_the_caller_may_not_see_do_not_crowd_out_those_they_may(
    client: httpx.Client,
    run_worker: RunWorker,
    login_as: LoginAs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The window's ids come from the search rows before the base query sees them: when it
    turns some of a full window away, the newest visible matches lie further and are read."""
    ids = processed(
        client,
        run_worker,
        **{
            "a.xml": samples.ksef_fa3("FV/5/2026"),
            "b.xml": samples.ksef_fa3("FV/6/2026"),
            "kadry.pdf": samples.text_pdf(["Faktura za szkolenie BHP"]),
        },
    )
    classify_as_hr_record(client, ids["kadry.pdf"])
    accountant = login_as("anna", "accountant")  # accounting roles do not see HR records
    monkeypatch.setattr(search_service, "WINDOW", 1)  # the newest match, hidden, fills it

    body = search(accountant, "faktura", sort="uploaded_at")

    assert (body["total_exact"], body["items"][0]["document"]["id"]) == (False, ids["b.xml"])
    assert walk(accountant, q="faktura", sort="uploaded_at") == [ids["b.xml"], ids["a.xml"]]
    monkeypatch.setattr(search_service, "WINDOW", 1000)
    exact = search(accountant, "faktura")
    assert (exact["total"], exact["total_exact"]) == (2, True)
    assert exact["facets"]["class"] == [{"value": "invoice", "count": 2}]


def test_a_caller_seeing_few_classes_finds_also_what_is_granted_and_a_filter_past_the_window(
    client: httpx.Client,
    run_worker: RunWorker,
    login_as: LoginAs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past a full window the classes a caller sees go into the query as lexemes, and what
    they see whatever the class (a grant here) is read apart; a document filter that turns a
    full window away still falls back to reading further."""
    ids = processed(
        client,
        run_worker,
        **{
            "a.xml": samples.ksef_fa3("FV/7/2026"),
            "b.xml": samples.ksef_fa3("FV/8/2026"),
            "granted.pdf": samples.text_pdf(["Faktura za badania lekarskie"]),
            "hidden.pdf": samples.text_pdf(["Faktura za szkolenie BHP"]),
        },
    )
    for name in ("granted.pdf", "hidden.pdf"):
        classify_as_hr_record(client, ids[name])
    accountant = login_as("anna", "accountant")
    hr = login_as("kadry", "hr")
    granted = hr.post(f"/documents/{ids['granted.pdf']}/grants", json={"user": "anna"})
    assert granted.status_code == 201, granted.text
    monkeypatch.setattr(search_service, "WINDOW", 1)  # the newest match, hidden, fills it
    windows: list[object] = []
    by_rows = search_service._window_by_search_rows

    def spied(*args: Any) -> object:
        windows.append(result := by_rows(*args))
        return result

    monkeypatch.setattr(search_service, "_window_by_search_rows", spied)

    newest_first = walk(accountant, q="faktura", sort="uploaded_at")

    assert newest_first == [ids["granted.pdf"], ids["b.xml"], ids["a.xml"]]
    assert windows
    assert None not in windows  # never the walk through every hidden match
    # A status no match has: the base query turns every window away, nothing is found.
    assert walk(accountant, q="faktura", sort="uploaded_at", status="failed") == []
    monkeypatch.setattr(search_service, "WINDOW", 1000)
    assert search(accountant, "faktura")["total"] == 3
