"""Days without prompts: the public holidays of a team's country, or of a region of it.

A team's ``holiday_country`` is a country's code (``NL``, ``BE``) or a country's code and one
of its regions as the ``holidays`` package names them (``GB-ENG``, ``DE-BY``): England has
Easter Monday and a bank holiday at the end of August that Scotland has not, Bavaria has
Epiphany and Corpus Christi. School holidays from a calendar file are in
``rituals.school_calendar``.
"""

from __future__ import annotations

from datetime import date
from functools import cache

import holidays

__all__ = ["holiday_region", "public_holiday", "regions_of"]


@cache
def _calendar(code: str, year: int) -> holidays.HolidayBase | None:
    country, _dash, region = code.partition("-")
    try:
        return holidays.country_holidays(country, subdiv=region or None, years=year)
    except NotImplementedError:  # a country or region no longer known to the package
        return None


def public_holiday(code: str | None, day: date) -> str | None:
    """The name of the public holiday on ``day`` in the country or region ``code``, if any."""
    if not code:
        return None
    calendar = _calendar(code, day.year)
    if calendar is None:
        return None
    name = calendar.get(day)
    return str(name) if name else None


def regions_of(country: str) -> tuple[str, ...]:
    """The region codes the ``holidays`` package knows for a country (``ENG``, ``SCT``, ...)."""
    return tuple(holidays.list_supported_countries().get(country.upper(), ()))


def holiday_region(text: str) -> str | None:
    """The code Ritme keeps for a country or a region of it (``NL``, ``GB-ENG``, ``DE-BY``),
    read from what was typed (``gb-eng``, ``DE-Bayern``, ``GB-England``); None when the
    ``holidays`` package does not know it."""
    country, dash, region = " ".join(text.split()).partition("-")
    country = country.upper()
    if len(country) != 2 or country not in holidays.list_supported_countries():
        return None
    if not dash:
        return country
    wanted = region.casefold()
    codes = regions_of(country)
    for code in codes:
        if code.casefold() == wanted:
            return f"{country}-{code}"
    aliases = getattr(holidays.country_holidays(country), "subdivisions_aliases", {})
    for alias, code in aliases.items():
        if alias.casefold() == wanted and code in codes:
            return f"{country}-{code}"
    return None
