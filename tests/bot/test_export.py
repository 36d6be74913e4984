"""``export``: the team's replies as CSV, through the real app and its signed download link."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from rituals.library import PULSE_STATEMENTS
from tests.bot.test_review_page import Real, pulse, start_real

BOM = b"\xef\xbb\xbf"


def rows(data: bytes, delimiter: str) -> list[list[str]]:
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data[len(BOM) :].decode("utf-8")), delimiter=delimiter))


@pytest.fixture(params=["en", "nl"])
async def team(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[Real]:
    app, clock = await start_real(sqlite_url, language=request.param)
    async with TestClient(TestServer(app)) as client:
        yield Real(client, app, clock)


async def fill(real: Real) -> None:
    """#1 reflection (named), #2 check-out with one open round, #3 pulse with 2 then 3 answers."""
    await real.command("anna", "add reflection every monday at 09:00 team")
    await real.command("anna", "add checkout every weekday at 16:30 team")
    await real.command("anna", "add pulse every 2 weeks on friday at 15:00")
    occ = await real.run(1)
    await real.answer("chris", occ, {"answer": '=HYPERLINK("http://x")'})
    await real.answer("dewi", occ, {"answer": 'Samen; sterker, "echt"'})
    await real.close(1)
    occ = await real.run(2)
    await real.answer("chris", occ, {"score": 4, "takeaway": "zq-open round"})
    small = await real.run(3)
    await real.answer("anna", small, pulse(1, "zq-hidden comment"))
    await real.answer("bram", small, pulse(2))
    await real.close(3)


async def test_csv_separator_bom_and_rows(team: Real) -> None:
    await fill(team)
    nl = (await team.command("anna", "list"))["title"] == "Rituelen"
    sep = ";" if nl else ","
    data = await team.csv()
    table = rows(data, sep)
    header = (
        ["Datum", "Ritueel", "Soort", "Teamlid", "Vraag", "Antwoord", "Aantal", "Gemiddelde"]
        if nl
        else ["Date", "Ritual", "Kind", "Member", "Question", "Reply", "Count", "Average"]
    )
    assert table[0] == header
    assert len(table[0]) == 8 and all(len(r) == 8 for r in table)
    body = table[1:]
    assert [(r[1], r[3], r[5]) for r in body] == [
        ("#1", "Chris", '\'=HYPERLINK("http://x")'),  # a formula is written as text
        ("#1", "Dewi", 'Samen; sterker, "echt"'),
    ]
    assert all(r[0] == "2026-11-22" for r in body)
    assert b"zq-open round" not in data  # an open round is shared when it closes
    assert b"zq-hidden" not in data and not [r for r in body if r[1] == "#3"]  # 2 answers: nothing

    team.clock.advance(days=14)
    occ = await team.run(3)
    for user, score, comment in (("anna", 2, "zq-a"), ("bram", 3, ""), ("chris", 5, "zq-c")):
        await team.answer(user, occ, pulse(score, comment))
    await team.close(3)
    data = await team.csv()
    anonymous = [r for r in rows(data, sep)[1:] if r[1] == "#3"]
    assert [r[4] for r in anonymous] == [_statement(s.text, nl) for s in PULSE_STATEMENTS]
    for r in anonymous:
        assert r[0] == "2026-12-06" and r[3] == "" and r[5] == ""  # no member, no answer text
        assert r[6] == "3" and r[7] == ("3,33" if nl else "3.33")  # (2 + 3 + 5) / 3
    assert b"zq-a" not in data and b"zq-c" not in data  # anonymous rituals: totals only
    for name in ("Anna", "Bram", "Chris"):
        assert all(name not in ",".join(r) for r in anonymous)


def _statement(text: str, nl: bool) -> str:
    from rituals.i18n import translator

    return translator("nl" if nl else "en")(text)
