"""School calendar files as a teamleider exports them (RFC 5545, all-day events: the end
date is exclusive), for the ``holiday import`` tests."""

from __future__ import annotations

KERST = ("kerst-2026", "20261221", "20270102", "Kerstvakantie")
STUDIEDAG = ("studiedag", "20261130", "20261201", "Studiedag")
VOORJAAR = ("voorjaar-2027", "20270215", "20270220", "Voorjaarsvakantie")


def school_calendar(*events: tuple[str, str, str, str]) -> bytes:
    """A VCALENDAR with one all-day VEVENT per (uid, first day, day after the last, name)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Ritme tests//NL"]
    for uid, start, end, name in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}@school.example",
            f"DTSTART;VALUE=DATE:{start}",
            f"DTEND;VALUE=DATE:{end}",
            f"SUMMARY:{name}",
            "END:VEVENT",
        ]
    return ("\n".join([*lines, "END:VCALENDAR"]) + "\n").encode()


ICS = school_calendar(KERST, STUDIEDAG)  # the Christmas holiday and a study day
