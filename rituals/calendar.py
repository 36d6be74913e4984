"""Days without prompts: a team's own holidays and the public holidays of its country."""

from __future__ import annotations

from datetime import date
from functools import cache

import holidays


@cache
def _country(country: str, year: int) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(country, years=year)
    except NotImplementedError:
        return None


def public_holiday(country: str | None, day: date) -> str | None:
    """The name of the public holiday on ``day`` in ``country`` (ISO code), if any."""
    if not country:
        return None
    calendar = _country(country.upper(), day.year)
    if calendar is None:
        return None
    name = calendar.get(day)
    return str(name) if name else None


def known_country(country: str) -> bool:
    return country.upper() in holidays.list_supported_countries()
