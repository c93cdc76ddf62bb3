"""Random but valid ingredients of the ground-truth corpus: identifiers with correct check digits,
Polish company and person names, addresses and the ways documents print amounts and dates."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

NIP_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)
REGON9_WEIGHTS = (8, 9, 2, 3, 4, 5, 6, 7)
PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
# Real branch sort codes (PKO BP, ING, mBank, Erste, Citi, BGK) so registry-aware IBAN checks pass.
BANK_BRANCHES = ("10200003", "10500002", "11400000", "10900004", "10300006", "11300007")
CENT = Decimal("0.01")

MONTHS_GENITIVE = [
    "stycznia",
    "lutego",
    "marca",
    "kwietnia",
    "maja",
    "czerwca",
    "lipca",
    "sierpnia",
    "września",
    "października",
    "listopada",
    "grudnia",
]


def nip(rng: random.Random) -> str:
    while True:
        body = [rng.randint(1, 9), *(rng.randint(0, 9) for _ in range(8))]
        check = sum(w * d for w, d in zip(NIP_WEIGHTS, body, strict=True)) % 11
        if check != 10:
            return "".join(map(str, body)) + str(check)


def regon9(rng: random.Random) -> str:
    body = [rng.randint(1, 9), *(rng.randint(0, 9) for _ in range(7))]
    check = sum(w * d for w, d in zip(REGON9_WEIGHTS, body, strict=True)) % 11 % 10
    return "".join(map(str, body)) + str(check)


def krs(rng: random.Random) -> str:
    return f"{rng.randint(1, 999_999):010d}"


def pesel(rng: random.Random, born: date, *, female: bool) -> str:
    month_offset = {18: 80, 19: 0, 20: 20, 21: 40}[born.year // 100]
    serial = rng.randint(0, 999)
    sex_digit = rng.choice((0, 2, 4, 6, 8) if female else (1, 3, 5, 7, 9))
    body = (
        f"{born.year % 100:02d}{born.month + month_offset:02d}{born.day:02d}{serial:03d}{sex_digit}"
    )
    total = sum(w * int(d) for w, d in zip(PESEL_WEIGHTS, body, strict=True))
    return body + str((10 - total % 10) % 10)


def iban_pl(rng: random.Random) -> str:
    bban = rng.choice(BANK_BRANCHES) + "".join(str(rng.randint(0, 9)) for _ in range(16))
    check = 98 - int(bban + "252100") % 97  # "PL" is 25 21, then "00" for the check digits
    return f"PL{check:02d}{bban}"


def ksef_number(rng: random.Random, seller_nip: str, issued: date) -> str:
    head = f"{seller_nip}-{issued:%Y%m%d}-{rng.getrandbits(48):012X}"
    return f"{head}-{crc8(head.encode()):02X}"


def crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


# --------------------------------------------------------------------------- printed forms


def nip_printed(value: str, rng: random.Random) -> str:
    return rng.choice(
        (
            value,
            f"{value[:3]}-{value[3:6]}-{value[6:8]}-{value[8:]}",
            f"{value[:3]}-{value[3:5]}-{value[5:7]}-{value[7:]}",
            f"PL{value}",
        )
    )


def iban_printed(value: str, rng: random.Random) -> str:
    digits = value[2:]
    grouped = f"{digits[:2]} " + " ".join(digits[i : i + 4] for i in range(2, 26, 4))
    return rng.choice((grouped, f"PL{grouped}", value))


def money(value: Decimal, *, grouped: bool = True) -> str:
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):.2f}".split(".")
    if grouped:
        whole = f"{int(whole):,}".replace(",", " ")
    return f"{sign}{whole},{cents}"


def date_numeric(value: date, style: int) -> str:
    return (f"{value:%d.%m.%Y}", f"{value:%Y-%m-%d}", f"{value:%d-%m-%Y}")[style % 3]


def date_words(value: date) -> str:
    return f"{value.day} {MONTHS_GENITIVE[value.month - 1]} {value.year} r."


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def random_date(rng: random.Random, start: date, days: int) -> date:
    return start + timedelta(days=rng.randrange(days))


# --------------------------------------------------------------------------- names


COMPANY_ROOTS = (
    "Budmex",
    "Transpol",
    "Drewnex",
    "Zielony Ogród",
    "Mazowiecka Hurtownia Papieru",
    "Kowalczyk i Wspólnicy",
    "Polskie Młyny",
    "Żuraw Logistyka",
    "Świetlik Media",
    "Biuro Rachunkowe Łącka",
    "Techno-Serwis",
    "Agro-Żywiec",
    "Wólczanka Tekstylia",
    "Gdańskie Stocznie Jachtowe",
    "Śląskie Centrum Druku",
    "Pol-Chem",
    "Ekoklimat",
    "Bałtyk Trans",
    "Sądecka Spółdzielnia Mleczarska",
    "Informatyka Jędrzejczak",
)
LEGAL_FORMS = ("Sp. z o.o.", "S.A.", "sp. z o.o.", "Sp. z o.o. sp.k.", "sp. j.")
FIRST_NAMES_M = ("Jan", "Piotr", "Łukasz", "Jędrzej", "Michał", "Tomasz", "Krzysztof", "Paweł")
FIRST_NAMES_F = ("Anna", "Małgorzata", "Żaneta", "Katarzyna", "Agnieszka", "Zofia", "Ewa")
SURNAMES = (
    ("Kowalski", "Kowalska"),
    ("Wiśniewski", "Wiśniewska"),
    ("Wójcik", "Wójcik"),
    ("Nowak", "Nowak"),
    ("Kamiński", "Kamińska"),
    ("Lewandowski", "Lewandowska"),
    ("Zieliński", "Zielińska"),
    ("Szymański", "Szymańska"),
    ("Dąbrowski", "Dąbrowska"),
    ("Kozłowski", "Kozłowska"),
    ("Jabłoński", "Jabłońska"),
    ("Król", "Król"),
)
TRADES = ("Usługi Remontowe", "Firma Handlowa", "Transport Ciężarowy", "Pracownia Projektowa")
STREETS = (
    "ul. Lipowa",
    "ul. Świętokrzyska",
    "al. Jerozolimskie",
    "ul. Długa",
    "ul. Piłsudskiego",
    "ul. Żeromskiego",
    "ul. Kościuszki",
    "al. Grunwaldzka",
    "ul. Wrocławska",
    "ul. Ogrodowa",
)
CITIES = (
    ("00-950", "Warszawa"),
    ("31-042", "Kraków"),
    ("90-001", "Łódź"),
    ("50-101", "Wrocław"),
    ("61-701", "Poznań"),
    ("80-803", "Gdańsk"),
    ("70-404", "Szczecin"),
    ("20-002", "Lublin"),
    ("15-001", "Białystok"),
    ("40-002", "Katowice"),
    ("87-100", "Toruń"),
    ("35-001", "Rzeszów"),
)
CITY_LOCATIVE = {
    "Warszawa": "Warszawie",
    "Kraków": "Krakowie",
    "Łódź": "Łodzi",
    "Wrocław": "Wrocławiu",
    "Poznań": "Poznaniu",
    "Gdańsk": "Gdańsku",
    "Szczecin": "Szczecinie",
    "Lublin": "Lublinie",
    "Białystok": "Białymstoku",
    "Katowice": "Katowicach",
    "Toruń": "Toruniu",
    "Rzeszów": "Rzeszowie",
}


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    female: bool

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Company:
    name: str
    street: str
    postcode: str
    city: str
    nip: str
    regon: str
    krs: str | None

    @property
    def city_line(self) -> str:
        return f"{self.postcode} {self.city}"


def person(rng: random.Random) -> Person:
    female = rng.random() < 0.5
    first = rng.choice(FIRST_NAMES_F if female else FIRST_NAMES_M)
    return Person(first, rng.choice(SURNAMES)[1 if female else 0], female)


def company(rng: random.Random, *, sole_trader_share: float = 0.15) -> Company:
    postcode, city = rng.choice(CITIES)
    street = f"{rng.choice(STREETS)} {rng.randint(1, 120)}"
    if rng.random() < sole_trader_share:
        name = f"{rng.choice(TRADES)} {person(rng).name}"
        return Company(name, street, postcode, city, nip(rng), regon9(rng), None)
    name = f"{rng.choice(COMPANY_ROOTS)} {rng.choice(LEGAL_FORMS)}"
    return Company(name, street, postcode, city, nip(rng), regon9(rng), krs(rng))


def two_companies(
    rng: random.Random, *, sole_trader_share: float = 0.15
) -> tuple[Company, Company]:
    first = company(rng, sole_trader_share=sole_trader_share)
    while True:
        second = company(rng, sole_trader_share=sole_trader_share)
        if second.name.split()[0] != first.name.split()[0]:
            return first, second


FOREIGN = (
    ("Müller Logistik GmbH", "Hauptstraße 12", "10115 Berlin", "DE"),
    ("Schneider Maschinenbau GmbH", "Industriestraße 7", "80331 München", "DE"),
    ("Novák Stavby s.r.o.", "Vinohradská 48", "120 00 Praha", "CZ"),
    ("Hofer Handels GmbH", "Mariahilfer Straße 101", "1060 Wien", "AT"),
)


@dataclass(frozen=True)
class ForeignCompany:
    name: str
    street: str
    city_line: str
    vat_id: str  # country prefix and the national number, e.g. DE123456789


def foreign_company(rng: random.Random) -> ForeignCompany:
    name, street, city_line, country = rng.choice(FOREIGN)
    digits = {"DE": 9, "CZ": 8, "AT": 8}[country]
    number = "".join(str(rng.randint(0, 9)) for _ in range(digits))
    return ForeignCompany(
        name, street, city_line, f"{country}{'U' if country == 'AT' else ''}{number}"
    )
