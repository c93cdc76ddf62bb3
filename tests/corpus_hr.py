"""HR corpus documents (akta osobowe): employment contracts, employment certificates and leave
requests, each with an employee, a valid PESEL and the employment period where one is stated."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from tests import corpus_data as data
from tests.corpus_layout import Doc, Sheet

JOBS = ("Specjalista ds. księgowości", "Magazynier", "Programista", "Kierownik sprzedaży")


def _employee(rng: random.Random) -> tuple[data.Person, str]:
    who = data.person(rng)
    born = data.random_date(rng, date(1965, 1, 1), 365 * 38)
    return who, data.pesel(rng, born, female=who.female)


def employment_contract(rng: random.Random) -> Doc:
    employer = data.company(rng, sole_trader_share=0.0)
    who, pesel = _employee(rng)
    signed = data.random_date(rng, date(2024, 1, 1), 800)
    start = signed + timedelta(days=rng.choice((0, 1, 14)))
    end = None if rng.random() < 0.5 else date(start.year + 1, start.month, 1) - timedelta(days=1)
    sheet = Sheet()
    sheet.centred("UMOWA O PRACĘ")
    sheet.gap()
    sheet.para(
        f"zawarta w dniu {data.date_numeric(signed, 0)} r. w {data.CITY_LOCATIVE[employer.city]} "
        "pomiędzy:"
    )
    sheet.para(
        f"{employer.name}, {employer.street}, {employer.city_line}, NIP {employer.nip}, zwaną "
        "dalej Pracodawcą,"
    )
    sheet.line("a")
    sheet.line(f"Imię i nazwisko pracownika: {who.name}")
    sheet.line(f"PESEL: {pesel}")
    sheet.line(
        f"Adres zamieszkania: {rng.choice(data.STREETS)} {rng.randint(1, 90)}, "
        f"{' '.join(rng.choice(data.CITIES))}"
    )
    sheet.gap()
    term = (
        "na czas nieokreślony"
        if end is None
        else f"na czas określony do dnia {data.date_numeric(end, 0)} r."
    )
    sheet.para(f"1. Strony zawierają umowę o pracę {term}")
    sheet.para(f"2. Data rozpoczęcia pracy: {data.date_numeric(start, 0)} r.")
    sheet.para(f"3. Rodzaj umówionej pracy: {rng.choice(JOBS)}. Wymiar czasu pracy: pełny etat.")
    salary = data.money(Decimal(rng.randint(48, 160) * 100))
    sheet.para(f"4. Wynagrodzenie zasadnicze: {salary} zł brutto miesięcznie.")
    sheet.para(
        "5. Pracownik zobowiązuje się przestrzegać regulaminu pracy obowiązującego u Pracodawcy."
    )
    expected = {
        "employee_name": who.name,
        "pesel": pesel,
        "hr_document_kind": "umowa o pracę",
        "employment_start": start.isoformat(),
        "employment_end": end.isoformat() if end else None,
    }
    return Doc("hr-employment-contract", "hr_record", expected, sheet)


def employment_certificate(rng: random.Random) -> Doc:
    employer = data.company(rng, sole_trader_share=0.0)
    who, pesel = _employee(rng)
    start = data.random_date(rng, date(2012, 1, 1), 3000)
    end = start + timedelta(days=rng.randint(200, 2500))
    issued = end + timedelta(days=rng.randint(0, 7))
    sheet = Sheet()
    sheet.line(f"{employer.city}, dnia {data.date_numeric(issued, 0)} r.", x=130)
    sheet.line(employer.name)
    sheet.line(f"{employer.street}, {employer.city_line}")
    sheet.gap(6)
    sheet.centred("ŚWIADECTWO PRACY")
    sheet.gap()
    sheet.line("1. Stwierdza się, że:")
    sheet.line(f"Imię i nazwisko: {who.name}")
    sheet.line(f"Numer PESEL: {pesel}")
    sheet.para(
        f"był(a) zatrudniony(a) w {employer.name} w okresie od {data.date_numeric(start, 0)} do "
        f"{data.date_numeric(end, 0)} w pełnym wymiarze czasu pracy."
    )
    sheet.para(f"2. W okresie zatrudnienia pracownik wykonywał pracę: {rng.choice(JOBS)}.")
    sheet.para(
        "3. Stosunek pracy ustał w wyniku rozwiązania umowy o pracę za wypowiedzeniem dokonanym "
        "przez pracownika."
    )
    sheet.para(
        "4. W roku kalendarzowym, w którym ustał stosunek pracy, pracownik wykorzystał urlop "
        f"wypoczynkowy w wymiarze {rng.randint(2, 26)} dni."
    )
    expected = {
        "employee_name": who.name,
        "pesel": pesel,
        "hr_document_kind": "świadectwo pracy",
        "employment_start": start.isoformat(),
        "employment_end": end.isoformat(),
    }
    return Doc("hr-certificate", "hr_record", expected, sheet)


def leave_request(rng: random.Random) -> Doc:
    who, pesel = _employee(rng)
    asked = data.random_date(rng, date(2025, 1, 1), 500)
    first = asked + timedelta(days=rng.randint(7, 60))
    last = first + timedelta(days=rng.randint(2, 13))
    sheet = Sheet()
    sheet.line(f"{rng.choice(data.CITIES)[1]}, {data.date_numeric(asked, 0)}", x=140)
    sheet.line(f"Imię i nazwisko: {who.name}")
    sheet.line(f"PESEL: {pesel}")
    sheet.line(f"Stanowisko: {rng.choice(JOBS)}")
    sheet.gap(8)
    sheet.centred(rng.choice(("WNIOSEK URLOPOWY", "WNIOSEK O URLOP WYPOCZYNKOWY")))
    sheet.gap()
    sheet.para(
        f"Proszę o udzielenie mi urlopu wypoczynkowego w dniach od {data.date_numeric(first, 0)} "
        f"do {data.date_numeric(last, 0)}."
    )
    sheet.gap(10)
    sheet.line("podpis pracownika", x=140, size=8)
    sheet.line("Akceptacja przełożonego: ....................", size=8)
    expected = {
        "employee_name": who.name,
        "pesel": pesel,
        "hr_document_kind": "wniosek urlopowy",
        "employment_start": None,
        "employment_end": None,
    }
    return Doc("hr-leave-request", "hr_record", expected, sheet)
