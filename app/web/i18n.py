"""Polish and English for the pages: the message in English is the key, Polish its translation.

The language is the `lang` cookie when the user chose one, else the browser's first preference
between the two (`Accept-Language`), else English.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

LANGUAGES = ("pl", "en")
LANG_COOKIE = "lang"

POLISH: dict[str, str] = {
    "Archive": "Archiwum",
    "Log in": "Zaloguj się",
    "Log out": "Wyloguj się",
    "Username": "Nazwa użytkownika",
    "Password": "Hasło",
    "Wrong username or password.": "Błędna nazwa użytkownika lub hasło.",
    "Dashboard": "Pulpit",
    "Upload": "Dodaj dokumenty",
    "Search": "Szukaj",
    "My recent uploads": "Moje ostatnio dodane",
    "Nothing uploaded yet.": "Nic jeszcze nie dodano.",
    "Drop files here or choose them": "Upuść pliki tutaj lub wybierz je",
    "Choose files": "Wybierz pliki",
    "Class": "Klasa",
    "detected by the archive": "rozpozna archiwum",
    "Title": "Tytuł",
    "Tags": "Tagi",
    "comma separated": "oddzielone przecinkami",
    "Send": "Wyślij",
    "File": "Plik",
    "Progress": "Postęp",
    "Result": "Wynik",
    "Status": "Status",
    "Uploaded": "Dodano",
    "Uploaded by": "Dodał(a)",
    "Query": "Zapytanie",
    'Words, "phrases", OR, -exclusion, prefix*': 'Słowa, "frazy", OR, -wykluczenie, prefiks*',
    "Any class": "Dowolna klasa",
    "Any status": "Dowolny status",
    "Uploaded after": "Dodane po",
    "Uploaded before": "Dodane przed",
    "results": "wyników",
    "No documents match.": "Brak pasujących dokumentów.",
    "Next page": "Następna strona",
    "page": "strona",
    "Download original": "Pobierz oryginał",
    "Pages": "Strony",
    "Zoom": "Powiększenie",
    "Metadata": "Metadane",
    "Save": "Zapisz",
    "Saved.": "Zapisano.",
    "Extracted fields": "Odczytane pola",
    "Field": "Pole",
    "Value": "Wartość",
    "Source": "Źródło",
    "Confidence": "Pewność",
    "needs review": "do sprawdzenia",
    "Correct": "Popraw",
    "Versions": "Wersje",
    "Version": "Wersja",
    "Size": "Rozmiar",
    "Audit trail": "Dziennik zdarzeń",
    "When": "Kiedy",
    "Who": "Kto",
    "What": "Co",
    "Not found": "Nie znaleziono",
    "The page or document does not exist, or you may not see it.": (
        "Strona lub dokument nie istnieje albo nie masz do niego dostępu."
    ),
    "You may not do this.": "Nie masz uprawnień do tej czynności.",
    "pending": "oczekuje",
    "processing": "przetwarzanie",
    "processed": "przetworzony",
    "failed": "błąd",
    "Reason": "Powód",
    "Language": "Język",
    "Reprocess": "Przetwórz ponownie",
    "The document changed meanwhile; reload and try again.": (
        "Dokument zmienił się w międzyczasie; odśwież i spróbuj ponownie."
    ),
    "already stored": "już jest w archiwum",
    "refused": "odrzucony",
    "accepted": "przyjęty",
    "Open": "Otwórz",
    "Facets": "Zawężanie",
    "Year": "Rok",
    "Counterparty": "Kontrahent",
    "Skip to content": "Przejdź do treści",
    "Main navigation": "Główna nawigacja",
    "Inbox": "Zadania",
    "My tasks": "Moje zadania",
    "Document": "Dokument",
    "Step": "Etap",
    "Assigned to": "Przypisane do",
    "Due": "Termin",
    "due": "termin",
    "overdue": "po terminie",
    "on behalf of": "w zastępstwie",
    "No tasks waiting for you.": "Nie masz zadań do wykonania.",
    "Circulation": "Obieg",
    "Not in circulation.": "Dokument nie jest w obiegu.",
    "Start circulation": "Rozpocznij obieg",
    "waiting for": "czeka na",
    "your task": "twoje zadanie",
    "Comment": "Komentarz",
    "Claim": "Przejmij",
    "Approve": "Zatwierdź",
    "Reject": "Odrzuć",
    "Return for correction": "Zwróć do poprawy",
    "Comment only": "Tylko komentarz",
    "round": "runda",
    "History": "Historia",
    "Done": "Wykonano",
    "approve": "zatwierdzenie",
    "reject": "odrzucenie",
    "return": "zwrot",
    "comment": "komentarz",
    "claim": "przejęcie",
    "running": "w toku",
    "approved": "zatwierdzony",
    "rejected": "odrzucony",
    "open": "otwarte",
    "active": "aktywny",
    "done": "zakończony",
    "skipped": "pominięty",
    "Users": "Użytkownicy",
    "New user": "Nowy użytkownik",
    "Roles": "Role",
    "Create": "Utwórz",
    "Created": "Utworzono",
    "Active": "Aktywny",
    "Permissions": "Uprawnienia",
    "Permissions by document class": "Uprawnienia według klas dokumentów",
    "Each cell: view, upload, edit. Changes are saved at once and recorded in the audit trail.": (
        "W każdej komórce: podgląd, dodawanie, edycja. Zmiany zapisują się od razu i trafiają "
        "do dziennika zdarzeń."
    ),
    "view": "podgląd",
    "upload": "dodawanie",
    "edit": "edycja",
    "Workflows": "Ścieżki obiegu",
    "Saving makes a new version; running circulations keep the version they started with.": (
        "Zapis tworzy nową wersję; trwające obiegi kończą się według wersji, z którą ruszyły."
    ),
    "Definition (JSON)": "Definicja (JSON)",
    "started": "rozpoczęcie obiegu",
    "step_activated": "etap rozpoczęty",
    "step_completed": "etap zakończony",
    "step_skipped": "etap pominięty",
    "finished": "zakończenie obiegu",
    "completed": "zakończony",
    "claimed": "przejęte",
    "returned": "zwrócone",
    "delegated": "przekazane",
    "cancelled": "anulowane",
    "invalidated": "unieważnione",
    "Filter": "Filtruj",
    "Select": "Zaznacz",
    "Approve selected": "Zatwierdź zaznaczone",
    "Refused": "Odmowa",
    "Approved": "Zatwierdzono",
    "Disposal batches": "Spisy dokumentacji do brakowania",
    "Disposal batch": "Spis do brakowania",
    "Legal holds": "Wstrzymania (legal hold)",
    "Number": "Numer",
    "Kind": "Rodzaj",
    "Records": "Pozycje",
    "No disposal batches yet: the daily job collects records whose retention has ended.": (
        "Brak spisów: codzienne zadanie zbiera dokumenty, których okres przechowywania minął."
    ),
    "approved by": "zatwierdził(a)",
    "Disposal protocol": "Protokół brakowania",
    "Approved.": "Zatwierdzono.",
    "Symbol": "Symbol",
    "Dates": "Daty skrajne",
    "Retained until": "Przechowywać do",
    "State": "Stan",
    "Remarks": "Uwagi",
    "Reason to keep": "Powód zachowania",
    "Exclude": "Wyłącz",
    "Approve the batch": "Zatwierdź spis",
    "Name": "Nazwa",
    "Case reference": "Sygnatura sprawy",
    "Document ids": "Identyfikatory dokumentów",
    "Place hold": "Wstrzymaj",
    "Placed": "Ustanowiono",
    "Released": "Zwolniono",
    "Reason for release": "Powód zwolnienia",
    "Release": "Zwolnij",
    "Retention": "Okres przechowywania",
    "permanently (category A)": "wieczyście (kategoria A)",
    "not known yet: kept": "jeszcze nieznany: dokument zachowany",
    "Rule": "Reguła",
    "Legal basis": "Podstawa prawna",
    "Computed once the document is processed.": "Wyliczany po przetworzeniu dokumentu.",
    "draft": "roboczy",
    "excluded": "wyłączony",
    "destroyed": "zniszczony",
    "destruction": "do zniszczenia",
    "expert_review": "do ekspertyzy (BE)",
    "transfer": "do przekazania (A)",
    "awaiting_second_approval": "czeka na drugie zatwierdzenie",
    "requalified": "przekwalifikowany",
    "destroying": "niszczenie w toku",
    "Retention classes": "Klasy przechowywania",
    "Years count from the trigger; a change recomputes the class's documents.": (
        "Lata liczy się od zdarzenia; zmiana przelicza dokumenty klasy."
    ),
    "Trigger": "Zdarzenie",
    "Document classes": "Klasy dokumentów",
    "Category, years, legal basis": "Kategoria, lata, podstawa prawna",
    "category": "kategoria",
    "years": "lata",
    "Shared with": "Udostępniono",
    "until": "do",
    "Revoke": "Odbierz",
    "Only the roles of its class see this document.": "Dokument widzą tylko role jego klasy.",
    "username or role:hr": "login lub role:hr",
    "User or role": "Użytkownik lub rola",
    "Permission": "Uprawnienie",
    "Until": "Do dnia",
    "Share": "Udostępnij",
    "Collect due records now": "Zbierz teraz dokumenty do brakowania",
    "Absences": "Nieobecności",
    "Substitute": "Zastępca",
    "From": "Od",
    "To": "Do",
    "Record absence": "Zapisz nieobecność",
    "No absences recorded.": "Brak zapisanych nieobecności.",
    "Stored content failed its integrity check": (
        "Przechowywana treść nie przeszła kontroli integralności"
    ),
    "Erasure requests": "Żądania usunięcia danych (RODO)",
    "Erasure request": "Żądanie usunięcia danych (RODO)",
    "Every document of the person or company is searched. A legal duty to keep a document "
    "overrides erasure (GDPR art. 17(3)(b)); the others are listed for destruction in the "
    "draft batch.": (
        "Przeszukiwane są wszystkie dokumenty osoby lub firmy. Prawny obowiązek przechowywania "
        "dokumentu ma pierwszeństwo przed usunięciem (RODO art. 17 ust. 3 lit. b); pozostałe "
        "trafiają do roboczego spisu do brakowania."
    ),
    "Identified by": "Identyfikator",
    "PESEL, NIP or name": "PESEL, NIP lub nazwa",
    "File the request": "Zarejestruj żądanie",
    "Filed requests": "Zarejestrowane żądania",
    "Filed": "Zarejestrowano",
    "Subject": "Osoba lub firma",
    "Answers": "Odpowiedzi",
    "Answer": "Odpowiedź",
    "Explanation": "Uzasadnienie",
    "Recorded.": "Zapisano.",
    "no documents found": "nie znaleziono dokumentów",
    "Documents not processed yet, so not searched:": (
        "Dokumenty jeszcze nieprzetworzone, więc nieprzeszukane:"
    ),
    "retained": "zachowany",
    "scheduled": "do zniszczenia",
    "held": "wstrzymany (legal hold)",
    "permanent": "wieczyście (A)",
    "undetermined": "okres jeszcze nieznany",
}


def language(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def translator(lang: str) -> Callable[[str], str]:
    if lang == "pl":
        return lambda message: POLISH.get(message, message)
    return lambda message: message
