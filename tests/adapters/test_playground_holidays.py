"""``holiday import`` and ``holidays COUNTRY[-REGION]`` through the playground, on the real app.

The playground's clock starts on Sunday 2026-11-22 (school year 2026-2027). Calendar files are
the exports in ``tests/fakes/ics/``. Public holidays as the ``holidays`` package has them:
Easter Monday 2027 is 29 March, England's late summer bank holiday 30 August 2027, Bavaria's
Epiphany 6 January and Corpus Christi 27 May 2027.
"""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.server import ENGINE
from rituals.calendar import public_holiday
from tests.fakes.clock import Clock
from tests.fakes.playground import Playground

ICS = Path(__file__).parents[1] / "fakes" / "ics"
AMS = ZoneInfo("Europe/Amsterdam")


async def send(pg: Playground, text: str, *files: tuple[str, bytes], user: str = "anna") -> dict[str, Any]:
    body = [{"name": name, "content_base64": base64.b64encode(content).decode()} for name, content in files]
    resp = await pg.client.post("/playground/api/command", json={"user": user, "text": text, "files": body})
    assert resp.status == 200, await resp.text()
    return (await resp.json())["reply"]


async def test_an_outlook_export_with_repeats_is_imported(pg: Playground) -> None:
    reply = await send(pg, "holiday import", ("Schoolvakanties.ics", (ICS / "outlook_2026_2027.ics").read_bytes()))
    assert reply["title"] == "Holidays imported", reply
    assert reply["text"] == "Holiday periods added: 9; no prompts on those days."
    assert reply["footer"] == "Repeating events counted from 2026-08-01 to 2028-07-31: this school year and the next."
    listing = (await pg.command("anna", "holiday list"))["fields"]
    assert ["2026-12-19..2027-01-03", "Kerstvakantie"] in listing
    assert ["2027-04-27..2027-04-27", "Koningsdag"] in listing and ["2028-04-27..2028-04-27", "Koningsdag"] in listing
    again = await send(pg, "holiday import", ("Schoolvakanties.ics", (ICS / "outlook_2026_2027.ics").read_bytes()))
    assert again["text"] == "Nothing new: every period in the calendar was there already."


async def test_a_google_export_is_dated_in_the_teams_zone(pg: Playground) -> None:
    await pg.command("anna", "timezone America/New_York")
    reply = await send(pg, "holiday import", ("groep7.ics", (ICS / "google_2026_2027.ics").read_bytes()))
    assert reply["title"] == "Holidays imported", reply
    listing = (await pg.command("anna", "holiday list"))["fields"]
    # 23 Dec 23:00 UTC to 26 Dec 23:00 UTC is 23 to 26 December in New York.
    assert any(when == "2026-12-23..2026-12-26" and name.startswith("Kerstvakantie – fijne") for when, name in listing)
    assert not any("Studiedag" in name for _when, name in listing)  # cancelled


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("impossible_date", "The event 'Kerstvakantie' has a value in DTEND that iCalendar does not allow: 20260230"),
        ("dtend_is_a_duration", "The event 'Kerstvakantie' has a DTEND that is not a date or a time: P14D"),
        ("period_start", "The event 'Kerstvakantie' has a DTSTART that is not a date or a time"),
        ("ends_before_start", "The event 'Kerstvakantie' ends (2026-12-21) before it starts (2027-01-04)."),
        ("too_long", "a holiday period is at most a year long"),
        ("garbage", "That file is not an iCalendar file I can read."),
    ],
)
async def test_a_malformed_file_is_refused_with_what_is_wrong_and_nothing_is_stored(
    pg: Playground, name: str, reason: str
) -> None:
    good = ("vakanties.ics", (ICS / "apple_2026_2027.ics").read_bytes())
    bad = ("rooster.ics", (ICS / "malformed" / f"{name}.ics").read_bytes())
    reply = await send(pg, "holiday import", good, bad)
    assert reply["title"] == "That did not work"
    assert reply["text"].startswith("rooster.ics: ") and reason in reply["text"], reply["text"]
    assert reply["footer"] == "For example: /ritme holiday import"
    assert (await pg.command("anna", "holiday list"))["text"] == "No holidays added yet."


async def test_an_empty_calendar_has_no_events_and_the_answers_read_in_dutch(pg: Playground) -> None:
    reply = await send(pg, "holiday import", ("leeg.ics", (ICS / "empty.ics").read_bytes()))
    assert reply["text"] == "leeg.ics: That calendar has no events."
    await pg.command("anna", "language nl")
    reply = await send(pg, "vakantie import", ("leeg.ics", (ICS / "empty.ics").read_bytes()))
    assert reply["text"] == "leeg.ics: Die agenda bevat geen afspraken."
    backwards = (ICS / "malformed" / "ends_before_start.ics").read_bytes()
    reply = await send(pg, "vakantie import", ("rooster.ics", backwards))
    assert reply["text"] == (
        "rooster.ics: De afspraak 'Kerstvakantie' eindigt (2026-12-21) voordat hij begint (2027-01-04)."
    )


# --- Public holidays of a region ------------------------------------------------------------


def test_england_and_bavaria_have_their_own_public_holidays() -> None:
    from datetime import date

    easter_monday, late_summer = date(2027, 3, 29), date(2027, 8, 30)
    assert public_holiday("GB-ENG", easter_monday) and public_holiday("GB-ENG", late_summer)
    assert public_holiday("GB-SCT", easter_monday) is None and public_holiday("GB-SCT", late_summer) is None
    epiphany, corpus_christi = date(2027, 1, 6), date(2027, 5, 27)
    assert public_holiday("DE-BY", epiphany) and public_holiday("DE-BY", corpus_christi)
    assert public_holiday("DE-BE", epiphany) is None and public_holiday("DE", corpus_christi) is None
    assert public_holiday("NL", date(2027, 4, 27)) and public_holiday("BE", date(2027, 7, 21))


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("GB-ENG", "GB-ENG"),
        ("gb-england", "GB-ENG"),
        ("DE-BY", "DE-BY"),
        ("de-Bayern", "DE-BY"),
        ("nl", "NL"),
        ("BE", "BE"),
    ],
)
async def test_a_country_or_region_is_taken(pg: Playground, typed: str, stored: str) -> None:
    reply = await pg.command("anna", f"holidays {typed}")
    assert reply["text"] == f"Public holidays of {stored} are skipped too."
    assert (await pg.command("anna", "holiday list"))["footer"] == f"Public holidays of {stored} are skipped too."


@pytest.mark.parametrize(
    ("typed", "reason", "example"),
    [
        ("DE-XX", "DE has no region 'XX' that I know. Its regions: BB, BE, BW, BY,", "holidays DE-BB"),
        ("GB-Cornwall", "GB has no region 'Cornwall' that I know. Its regions: ENG, NIR, SCT, WLS.", "holidays GB-ENG"),
        ("XX", "I don't know the public holidays of 'XX'.", "holidays NL"),
        ("XX-YY", "I don't know the public holidays of 'XX-YY'.", "holidays NL"),
        ("Nederland", "I don't know the public holidays of 'Nederland'.", "holidays NL"),
        ("", "Give a country code (NL, BE), a country and one of its regions (GB-ENG, DE-BY), or", "holidays NL"),
    ],
)
async def test_an_unknown_country_or_region_is_refused_with_an_example(
    pg: Playground, typed: str, reason: str, example: str
) -> None:
    await pg.command("anna", "holidays BE")
    reply = await pg.command("anna", f"holidays {typed}")
    assert reply["title"] == "That did not work"
    assert reason in reply["text"], reply["text"]
    assert reply["footer"] == f"For example: /ritme {example}"
    assert (await pg.command("anna", "holiday list"))["footer"] == "Public holidays of BE are skipped too."


async def test_the_scheduler_skips_a_regions_public_holidays(pg: Playground, clock: Clock) -> None:
    await pg.command("anna", "holidays DE-BY")
    await pg.command("anna", "add reflection every wednesday and thursday at 09:00")
    for day in (datetime(2027, 1, 6, 9, 0, 1, tzinfo=AMS), datetime(2027, 5, 27, 9, 0, 1, tzinfo=AMS)):
        clock.set(day)  # Epiphany (a Wednesday), Corpus Christi (a Thursday)
        await pg.app[ENGINE].tick()
        assert await pg.prompts() == []
    listing = await pg.command("anna", "list")
    assert "skipped Thu 27 May (Corpus Christi)" in listing["fields"][0][1], listing
    clock.set(datetime(2027, 6, 2, 9, 0, 1, tzinfo=AMS))  # an ordinary Wednesday
    await pg.app[ENGINE].tick()
    assert len(await pg.prompts()) == 1


async def test_none_turns_public_holidays_off(pg: Playground) -> None:
    assert (await pg.command("anna", "holidays GB-ENG"))["title"] == "Public holidays"
    assert (await pg.command("anna", "feestdagen geen"))["text"] == "Public holidays are not skipped."
