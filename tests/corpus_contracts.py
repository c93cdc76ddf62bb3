"""Contract and annex corpus documents (umowy, aneksy) with their ground truth."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tests import corpus_data as data
from tests.corpus_layout import Cell, Doc, Sheet

NOTICE = (  # (adjective form, plain form, ISO 8601 duration)
    ("jednomiesięcznego", "1 (jeden) miesiąc", "P1M"),
    ("dwumiesięcznego", "2 (dwa) miesiące", "P2M"),
    ("trzymiesięcznego", "3 (trzy) miesiące", "P3M"),
    ("sześciomiesięcznego", "6 (sześć) miesięcy", "P6M"),
    ("30-dniowego", "30 dni", "P30D"),
)
KINDS = {  # template -> (title, canonical kind, the parties' roles)
    "najem": ("UMOWA NAJMU LOKALU UŻYTKOWEGO", "umowa najmu", ("Wynajmującym", "Najemcą")),
    "uslugi": (
        "UMOWA O ŚWIADCZENIE USŁUG",
        "umowa o świadczenie usług",
        ("Zamawiającym", "Wykonawcą"),
    ),
    "sprzedaz": ("UMOWA SPRZEDAŻY", "umowa sprzedaży", ("Sprzedającym", "Kupującym")),
}


@dataclass(frozen=True)
class Term:
    start: date | None
    end: date | None
    indefinite: bool | None


def _party_text(rng: random.Random, party: data.Company, role: str) -> str:
    seat = data.CITY_LOCATIVE[party.city]
    nip = data.nip_printed(party.nip, rng)
    registry = (
        "wpisaną do rejestru przedsiębiorców Krajowego Rejestru Sądowego pod numerem KRS "
        f"{party.krs}, "
        if party.krs
        else ""
    )
    rep = data.person(rng)
    return (
        f"{party.name} z siedzibą w {seat}, {party.street}, {party.city_line}, {registry}"
        f"NIP {nip}, REGON {party.regon}, reprezentowaną przez: {rep.name} – Prezes Zarządu, "
        f"zwaną dalej „{role}”"
    )


def _nominative(role: str) -> str:
    """'Wynajmującym' -> 'Wynajmujący', 'Najemcą' -> 'Najemca'."""
    return role[:-1] if role.endswith("ym") else role[:-1] + "a"


def _party_block(sheet: Sheet, rng: random.Random, party: data.Company, role: str) -> None:
    sheet.line(f"{_nominative(role)}:", bold=True)
    sheet.line(f"{party.name}, {party.street}, {party.city_line}")
    ids = [f"NIP: {data.nip_printed(party.nip, rng)}", f"REGON: {party.regon}"]
    if party.krs:
        ids.append(f"KRS: {party.krs}")
    sheet.line(", ".join(ids))


def _parties(
    sheet: Sheet,
    rng: random.Random,
    parties: tuple[data.Company, data.Company],
    roles: tuple[str, str],
    signed: date,
    verb: str,
) -> list[dict[str, str | None]]:
    place = data.CITY_LOCATIVE[rng.choice(data.CITIES)[1]]
    when = data.date_words(signed) if rng.random() < 0.6 else data.date_numeric(signed, 0) + " r."
    sheet.para(f"{verb} w dniu {when} w {place} pomiędzy:")
    if rng.random() < 0.6:
        sheet.para(_party_text(rng, parties[0], roles[0]) + ",")
        sheet.line("a")
        sheet.para(_party_text(rng, parties[1], roles[1]) + ".")
    else:
        for party, role in zip(parties, roles, strict=True):
            _party_block(sheet, rng, party, role)
    return [{"name": p.name, "nip": p.nip, "krs": p.krs, "regon": p.regon} for p in parties]


def _term(rng: random.Random, signed: date, template: str) -> Term:
    if template == "sprzedaz":
        return Term(None, None, None)
    start = signed + timedelta(days=rng.choice((0, 1, 7, 14)))
    if rng.random() < 0.5:
        return Term(start, None, True)
    years = rng.choice((1, 2, 3))
    return Term(start, date(start.year + years, start.month, 1) - timedelta(days=1), False)


OBLIGATIONS = (
    "Strony zobowiązują się współdziałać przy wykonaniu umowy i niezwłocznie informować się "
    "nawzajem o wszelkich okolicznościach mogących mieć wpływ na jej realizację.",
    "Każda ze stron zobowiązuje się zachować w tajemnicy informacje uzyskane w związku z "
    "wykonywaniem umowy, także po jej rozwiązaniu lub wygaśnięciu.",
    "Strona, która nie wykonała lub nienależycie wykonała zobowiązanie, ponosi "
    "odpowiedzialność na zasadach ogólnych określonych w Kodeksie cywilnym.",
    "Zmiany umowy wymagają formy pisemnej pod rygorem nieważności.",
    "Wszelkie spory wynikłe z umowy strony poddają rozstrzygnięciu sądu powszechnego "
    "właściwego dla siedziby strony powodowej.",
    "Korespondencję związaną z umową strony kierują na adresy wskazane w komparycji umowy; "
    "o zmianie adresu strona zawiadamia drugą stronę na piśmie.",
)


BOILERPLATE = (
    (
        "Kary umowne",
        (
            "W przypadku zwłoki w wykonaniu zobowiązania strona zapłaci drugiej stronie karę "
            "umowną w wysokości 0,1% wartości świadczenia za każdy dzień zwłoki.",
            "Łączna wysokość kar umownych nie może przekroczyć 10% wartości umowy.",
            "Strony zastrzegają prawo dochodzenia odszkodowania przewyższającego wysokość kar "
            "umownych na zasadach ogólnych.",
        ),
    ),
    (
        "Ochrona danych osobowych",
        (
            "Strony oświadczają, że przetwarzają dane osobowe osób reprezentujących drugą stronę "
            "wyłącznie w celu zawarcia i wykonania umowy, zgodnie z rozporządzeniem Parlamentu "
            "Europejskiego i Rady (UE) 2016/679.",
            "Każda ze stron zobowiązuje się poinformować osoby, których dane udostępnia, o "
            "przetwarzaniu ich danych przez drugą stronę.",
            "Dane osobowe będą przechowywane przez okres wymagany przepisami prawa, "
            "w szczególności przepisami podatkowymi i o rachunkowości.",
        ),
    ),
    (
        "Siła wyższa",
        (
            "Żadna ze stron nie ponosi odpowiedzialności za niewykonanie umowy spowodowane siłą "
            "wyższą, w szczególności klęską żywiołową, epidemią lub działaniami wojennymi.",
            "Strona, która powołuje się na siłę wyższą, niezwłocznie zawiadamia o tym "
            "drugą stronę.",
        ),
    ),
)


def _boilerplate(sheet: Sheet, rng: random.Random, first: int) -> int:
    chosen = [b for b in BOILERPLATE if rng.random() < 0.7]
    for number, (title, sentences) in enumerate(chosen, first):
        _section(sheet, f"§ {number}. {title}")
        for point, sentence in enumerate(sentences, 1):
            sheet.para(f"{point}. {sentence}")
    return first + len(chosen)


def _section(sheet: Sheet, title: str) -> None:
    sheet.gap(2)
    sheet.centred(title, size=10)


def _obligations(sheet: Sheet, rng: random.Random) -> None:
    _section(sheet, "§ 5. Obowiązki stron")
    chosen = rng.sample(OBLIGATIONS, rng.randint(2, len(OBLIGATIONS)))
    for number, sentence in enumerate(chosen, 1):
        sheet.para(f"{number}. {sentence}")


def _signatures(sheet: Sheet, roles: tuple[str, str]) -> None:
    sheet.gap(14)
    sheet.row(
        Cell(30, "........................", size=8), Cell(130, "........................", size=8)
    )
    sheet.row(Cell(34, _nominative(roles[0]), size=8), Cell(134, _nominative(roles[1]), size=8))


def _term_text(term: Term) -> str:
    start = data.date_words(term.start) if term.start else ""
    if term.indefinite:
        return f"Umowa zostaje zawarta na czas nieokreślony, począwszy od dnia {start}"
    end = data.date_words(term.end) if term.end else ""
    return f"Umowa zostaje zawarta na czas określony od dnia {start} do dnia {end}"


def _value_text(rng: random.Random, template: str, value: Decimal, currency: str) -> str:
    amount = f"{data.money(value)} {'zł' if currency == 'PLN' and rng.random() < 0.6 else currency}"
    if template == "najem":
        return (
            f"Najemca będzie płacił Wynajmującemu czynsz najmu w wysokości {amount} netto "
            "miesięcznie, powiększony o należny podatek VAT."
        )
    if template == "uslugi":
        return (
            "Z tytułu świadczenia usług Zamawiający zapłaci Wykonawcy wynagrodzenie w wysokości "
            f"{amount} netto miesięcznie."
        )
    return f"Cena sprzedaży wynosi {amount} brutto i zostanie zapłacona przelewem w terminie 7 dni."


def contract(rng: random.Random, template: str) -> Doc:
    title, kind, roles = KINDS[template]
    parties = data.two_companies(rng, sole_trader_share=0.1)
    signed = data.random_date(rng, date(2024, 1, 1), 800)
    currency = "EUR" if template == "uslugi" and rng.random() < 0.25 else "PLN"
    value = (
        Decimal(rng.randint(150, 2_000) * 50)
        if template != "sprzedaz"
        else Decimal(rng.randint(20, 400) * 500)
    )
    term = _term(rng, signed, template)
    notice = rng.choice(NOTICE) if term.indefinite is not None else None
    sheet = Sheet(text_size=10.5)
    sheet.centred(title)
    sheet.centred(f"nr {rng.randint(1, 80)}/{signed.year}", size=10)
    sheet.gap()
    expected_parties = _parties(sheet, rng, parties, roles, signed, "zawarta")
    _section(sheet, "§ 1. Przedmiot umowy")
    if template == "najem":
        area = f"{rng.randint(20, 300)},{rng.randint(10, 99)}"
        sheet.para(
            f"Przedmiotem najmu jest lokal użytkowy o powierzchni {area} m2 położony przy "
            f"{parties[0].street} w {data.CITY_LOCATIVE[parties[0].city]}."
        )
    else:
        sheet.para(
            "Przedmiot umowy został szczegółowo opisany w załączniku nr 1 do niniejszej umowy."
        )
    if term.indefinite is not None:
        _section(sheet, "§ 2. Czas trwania umowy")
        sheet.para(_term_text(term))
    _section(sheet, "§ 3. Wynagrodzenie")
    sheet.para(_value_text(rng, template, value, currency))
    if template == "najem":
        sheet.para(
            f"Najemca wpłaci kaucję w wysokości {data.money(value * 2)} zł w terminie 7 dni od "
            "dnia podpisania umowy."
        )
    if notice:
        _section(sheet, "§ 4. Wypowiedzenie")
        if rng.random() < 0.5:
            sheet.para(
                f"Każda ze stron może wypowiedzieć umowę z zachowaniem {notice[0]} okresu "
                "wypowiedzenia, ze skutkiem na koniec miesiąca kalendarzowego."
            )
        else:
            sheet.para(f"Okres wypowiedzenia umowy wynosi {notice[1]}.")
    _obligations(sheet, rng)
    last = _boilerplate(sheet, rng, 6)
    _section(sheet, f"§ {last}. Postanowienia końcowe")
    sheet.para(
        "W sprawach nieuregulowanych umową mają zastosowanie przepisy Kodeksu cywilnego. Umowę "
        "sporządzono w dwóch jednobrzmiących egzemplarzach, po jednym dla każdej ze stron."
    )
    _signatures(sheet, roles)
    expected: dict[str, Any] = {
        "contract_kind": kind,
        "parties": expected_parties,
        "signing_date": signed.isoformat(),
        "start_date": term.start.isoformat() if term.start else None,
        "end_date": term.end.isoformat() if term.end else None,
        "indefinite": term.indefinite,
        "contract_value": f"{value:.2f}",
        "currency": currency,
        "notice_period": notice[2] if notice else None,
    }
    return Doc(f"contract-{template}", "contract", expected, sheet)


def annex(rng: random.Random) -> Doc:
    parties = data.two_companies(rng, sole_trader_share=0.1)
    original = data.random_date(rng, date(2023, 1, 1), 500)
    signed = original + timedelta(days=rng.randint(60, 400))
    sheet = Sheet()
    sheet.centred(f"ANEKS NR {rng.randint(1, 4)}")
    sheet.centred(
        f"do umowy najmu nr {rng.randint(1, 80)}/{original.year} z dnia "
        f"{data.date_words(original)}",
        size=10,
    )
    sheet.gap()
    expected_parties = _parties(sheet, rng, parties, ("Wynajmującym", "Najemcą"), signed, "zawarty")
    rent = data.money(Decimal(rng.randint(150, 2_000) * 50))
    _section(sheet, "§ 1")
    sheet.para(
        "Strony zgodnie postanawiają zmienić § 3 ust. 1 Umowy, który otrzymuje brzmienie: "
        f"„Czynsz najmu wynosi {rent} zł netto miesięcznie”."
    )
    _section(sheet, "§ 2")
    sheet.para(
        "Pozostałe postanowienia Umowy pozostają bez zmian. Aneks sporządzono w dwóch "
        "jednobrzmiących egzemplarzach."
    )
    expected = {
        "contract_kind": "umowa najmu",
        "parties": expected_parties,
        "signing_date": signed.isoformat(),
    }
    return Doc("annex", "annex", expected, sheet)
