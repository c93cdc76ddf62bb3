"""Business days in Poland: weekends and public holidays (dni ustawowo wolne od pracy) do not
count towards a step's due time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

WARSAW = ZoneInfo("Europe/Warsaw")
END_OF_DAY = time(23, 59, 59)


@lru_cache(maxsize=64)
def _polish_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("PL", years=year))


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _polish_holidays(day.year)


def add_business_days(start: date, days: int) -> date:
    """The `days`-th business day after `start` (start itself does not count)."""
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            remaining -= 1
    return day


def due_at(now: datetime, business_days: int) -> datetime:
    """End of the `business_days`-th business day after `now`, Warsaw time."""
    local_day = now.astimezone(WARSAW).date()
    return datetime.combine(add_business_days(local_day, business_days), END_OF_DAY, WARSAW)


def local_date(now: datetime) -> date:
    return now.astimezone(WARSAW).date()
