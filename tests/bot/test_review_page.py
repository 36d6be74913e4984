"""The review page and the chat summary (``review [ID]``): figures checked by hand.

Data comes in through the real app (the playground API, the engine with an injected clock)
or, for a year of rounds, straight through the storage models in bulk.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event, select

from adapters.playground.platform import CHANNEL, PLATFORM, WORKSPACE
from bot.config import Settings
from bot.export import load_report
from bot.review import RECENT, review_notice
from bot.review_web import retention_job
from bot.server import ENGINE, REPO, create_app
from rituals.i18n import translator
from rituals.library import PULSE_STATEMENTS, THEMES, VALUES
from rituals.types import Actor, ChannelRef
from storage.db import create_engine
from storage.models import AuditEntry, Occurrence, Participation, Reply, Ritual
from storage.queries import Queries
from storage.repo import Repo
from tests.fakes.browser import screenshot, serve_app
from tests.fakes.clock import Clock
from tests.fakes.sealing import SEALER

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
AMS = ZoneInfo("Europe/Amsterdam")
PUBLIC = "http://review.test"
STATEMENTS = [s.key for s in PULSE_STATEMENTS]


@dataclass
class Real:
    """The real app behind the playground API, with an injected clock."""

    client: TestClient
    app: Any
    clock: Clock

    async def command(self, user: str, text: str) -> dict[str, Any]:
        resp = await self.client.post("/playground/api/command", json={"user": user, "text": text})
        assert resp.status == 200, await resp.text()
        return (await resp.json())["reply"]

    async def run(self, ritual: int) -> int:
        """Send a round now; its occurrence id."""
        occ = await self.app[ENGINE].run_now(ritual)
        assert occ is not None
        return occ

    async def answer(self, user: str, occ: int, values: dict[str, Any]) -> None:
        resp = await self.client.post(
            "/playground/api/answer", json={"user": user, "occurrence_id": occ, "values": values}
        )
        body = await resp.json()
        assert body["ok"], body

    async def close(self, ritual: int) -> None:
        assert await self.app[ENGINE].close_now(ritual)

    async def link(self, user: str = "bram") -> str:
        """The path of a new review link."""
        reply = await self.command(user, "review link")
        return re.search(re.escape(PUBLIC) + r"(/review/\S+)", reply["text"]).group(1)  # type: ignore[union-attr]

    async def page(self, user: str = "bram") -> str:
        resp = await self.client.get(await self.link(user))
        assert resp.status == 200
        return await resp.text()

    async def csv(self) -> bytes:
        reply = await self.command("anna", "export")
        path = re.search(re.escape(PUBLIC) + r"(/review/\S+)", reply["text"]).group(1)  # type: ignore[union-attr]
        resp = await self.client.get(path)
        assert resp.status == 200
        return await resp.read()


async def start_real(sqlite_url: str, language: str = "en") -> tuple[Any, Clock]:
    clock = Clock(NOW)
    settings = Settings(RITME_DATABASE_URL=sqlite_url, RITME_DEFAULT_LANGUAGE=language, RITME_PUBLIC_URL=PUBLIC)
    return create_app(settings, clock=clock, background=False), clock


@pytest.fixture
async def real(sqlite_url: str) -> AsyncIterator[Real]:
    app, clock = await start_real(sqlite_url)
    async with TestClient(TestServer(app)) as client:
        yield Real(client, app, clock)


def pulse(score: int, comment: str = "") -> dict[str, Any]:
    values: dict[str, Any] = {key: score for key in STATEMENTS}
    if comment:
        values["comment"] = comment
    return values


# -- review [ID] in the chat: figures by hand ----------------------------------------------


async def test_review_checkout_average_spread_change_and_participation(real: Real) -> None:
    await real.command("anna", "add checkout every weekday at 16:30 team")
    first = await real.run(1)
    await real.answer("chris", first, {"score": 2, "takeaway": "Long"})
    await real.answer("dewi", first, {"score": 4, "takeaway": "Good"})
    await real.close(1)
    real.clock.advance(days=1)
    second = await real.run(1)
    for user, score in (("anna", 3), ("chris", 4), ("dewi", 5)):
        await real.answer(user, second, {"score": score, "takeaway": f"t{score}"})
    await real.close(1)

    text = (await real.command("bram", "review #1"))["text"]
    # scores 3, 4, 5: average 12/3 = 4.0; spread sqrt(((-1)² + 0² + 1²)/3) = 0.816 -> 0.8;
    # the round before: 2 and 4, average 3.0. The change +1.0 is within chance at these numbers
    # (twice its standard error, 2 * sqrt(2/2 + 1/3) = 2.3, is more), so none is shown.
    assert "How useful was this meeting for you? Average 4.0, spread 0.8\n" in text
    assert "change" not in text
    assert "3 of 4 answered" in text  # the playground team has four members
    assert "Sun 22 Nov: 2 of 4 answered" in text  # the team's language: no ISO dates in the chat
    assert "Latest round Mon 23 Nov (closed)" in text


async def test_review_pulse_keeps_the_threshold_and_never_compares_with_a_hidden_round(real: Real) -> None:
    await real.command("anna", "add pulse every 2 weeks on friday at 15:00")
    small = await real.run(1)
    await real.answer("anna", small, pulse(1))
    await real.answer("chris", small, pulse(2))
    await real.close(1)
    text = (await real.command("bram", "review #1"))["text"]
    assert "Too few answers to show results: at least 3 are needed" in text
    assert "2 of 4 answered" in text and "average" not in text

    real.clock.advance(days=14)
    enough = await real.run(1)
    for user, score in (("anna", 2), ("bram", 3), ("chris", 5)):
        await real.answer(user, enough, pulse(score))
    await real.close(1)
    text = (await real.command("bram", "review #1"))["text"]
    # 2, 3, 5: average 10/3 = 3.33 -> 3.3; spread sqrt((1.78 + 0.11 + 2.78)/3) = 1.247 -> 1.2.
    # The round before had two answers: a change against it would reveal them, so none is shown.
    statement = PULSE_STATEMENTS[0].text
    assert f"{statement} Average 3.3, spread 1.2\n" in text
    assert "change" not in text
    assert "3 of 4 answered" in text

    real.clock.advance(days=14)
    third = await real.run(1)
    for user, score in (("anna", 4), ("bram", 4), ("chris", 5)):
        await real.answer(user, third, pulse(score))
    await real.close(1)
    text = (await real.command("bram", "review #1"))["text"]
    # 4, 4, 5: average 13/3 = 4.33 -> 4.3; spread sqrt((0.11 + 0.11 + 0.44)/3) = 0.471 -> 0.5;
    # +1.0 against 3.33 is within chance for three answers a round (2 * sqrt(2.33/3 + 0.33/3) =
    # 1.9), so no change is shown for the statement.
    assert f"{statement} Average 4.3, spread 0.5\n" in text
    assert "(change" not in text


async def test_review_shows_an_open_anonymous_round_only_as_a_count(real: Real) -> None:
    """Two looks at a growing anonymous round would tell what its newest answer said: its
    figures wait for the close, like the page's."""
    await real.command("anna", "add pulse every 2 weeks on friday at 15:00")
    occ = await real.run(1)
    for user, score in (("anna", 2), ("bram", 3), ("chris", 5)):
        await real.answer(user, occ, pulse(score, comment=f"note {user}"))
    text = (await real.command("bram", "review #1"))["text"]
    assert "(open)" in text and "3 of 4 answered; revealed when the round closes." in text
    assert "average" not in text and "note" not in text
    await real.close(1)
    text = (await real.command("bram", "review #1"))["text"]
    assert "(closed)" in text and f"{PULSE_STATEMENTS[0].text} Average 3.3" in text


# -- the page ---------------------------------------------------------------------------


async def test_page_shows_anonymous_rounds_only_from_the_threshold(real: Real) -> None:
    await real.command("anna", "add pulse every 2 weeks on friday at 15:00")
    occ = await real.run(1)
    await real.answer("anna", occ, pulse(2, "zq-first comment"))
    await real.answer("chris", occ, pulse(3, "zq-second comment"))
    await real.close(1)
    page = await real.page()
    assert "Too few answers to show results: at least 3 are needed" in page
    assert 'class="figures"' not in page and 'class="multiples"' not in page
    assert "zq-first" not in page and "zq-second" not in page
    assert "2 of 4 answered" in page

    await real.command("anna", "add pulse every 2 weeks on friday at 15:00")  # a second pulse, #2
    real.clock.advance(days=1)
    occ = await real.run(2)
    for user, score, comment in (("anna", 2, "zq-a"), ("bram", 3, ""), ("chris", 5, "zq-c")):
        await real.answer(user, occ, pulse(score, comment))
    await real.close(2)
    page = await real.page()
    section = page[page.index('id="pulse-2"') :]
    assert '<span class="latest">3.3' in section  # (2 + 3 + 5) / 3
    figures = page[page.index('class="figures"') :]
    assert f'<td>{PULSE_STATEMENTS[0].text}</td><td class="num" data-label="Average">3.3</td>' in figures
    assert "zq-a" not in page and "zq-c" not in page  # words need five answers, scores three
    assert "Written answers show only when at least 5 answered." in section

    await real.command("anna", "add pulse every 2 weeks on friday at 15:00")  # #3, with five answers
    real.clock.advance(days=1)
    occ = await real.run(3)
    for user, score, comment in (("anna", 2, "zq-a"), ("bram", 3, ""), ("chris", 5, "zq-c"), ("dewi", 4, "zq-d")):
        await real.answer(user, occ, pulse(score, comment))
    erik = Actor(platform=PLATFORM, workspace_id=WORKSPACE, user_id="erik", display_name="Erik")  # new in the channel
    channel = ChannelRef(platform=PLATFORM, workspace_id=WORKSPACE, channel_id=CHANNEL)
    assert (await real.app[ENGINE].submit(occurrence_id=occ, actor=erik, values=pulse(4, "zq-e"), via=channel))[0]
    await real.close(3)
    page = await real.page()
    assert "zq-a" in page and "zq-c" in page and "zq-e" in page
    for name in ("Anna", "Bram", "Chris", "Dewi", "Erik"):  # no name anywhere near an anonymous answer
        assert re.search(name + r"\W{0,40}zq-", page) is None
    pulse_one = page[page.index('id="pulse-1"') : page.index('id="pulse-2"')]
    assert "No round of this pulse had enough answers" in pulse_one


async def test_page_contents(real: Real) -> None:
    await real.command("bram", "goal set Every pupil reads with pleasure")
    await real.command("anna", "add reflection every monday at 09:00 team")
    await real.command("anna", "add checkout every weekday at 16:30 open 4h team")
    occ = await real.run(1)
    await real.answer("chris", occ, {"answer": "I asked Dewi for help"})
    await real.answer("dewi", occ, {"answer": "<script>alert('x')</script> Chris asked me, that felt good"})
    await real.close(1)
    occ = await real.run(2)
    await real.answer("chris", occ, {"score": 4, "takeaway": "Clear agenda"})
    await real.answer("dewi", occ, {"score": 2, "takeaway": "Too long", "better": "Stop on time"})
    await real.close(2)
    real.clock.advance(hours=1)
    open_round = await real.run(1)
    await real.answer("dewi", open_round, {"answer": "zq-not yet shared"})
    async with real.app[REPO].transaction() as tx:
        await tx.add_occurrence(
            ritual_id=2,
            planned_at=NOW - timedelta(days=30),
            status="skipped",
            reason="Herfstvakantie",
            content={},
            opened_at=None,
            closes_at=None,
            claimed_by="t",
        )
    await real.command("anna", "role add leader dewi")
    await real.command("dewi", "pause #2")  # a leader may not: refused, not logged
    await real.command("anna", "role add admin chris")
    await real.command("chris", "pause #2")
    await real.command("chris", "forget-me")

    page = await real.page()
    assert "<h1>Team review: Playground</h1>" in page
    assert "Our goal: Every pupil reads with pleasure" in page
    assert "every Monday at 09:00" in page and "every weekday at 16:30" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    # Chris was forgotten: Dewi's answer names him as a former colleague
    assert (
        'Dewi</span> <span class="text">&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; a former colleague asked me'
        in page
    )
    assert "zq-not yet shared" in page  # leaders read named answers of an open round as they come in
    assert "1 of 3 answered</summary>" in page  # Chris left the team
    assert "skipped: Herfstvakantie" in page
    assert "<th>What would make our next meeting better?</th>" in page  # several questions: a table
    assert (
        '<td class="who">Dewi</td><td class="num" data-label="How useful was this meeting for you?">2</td>'
        '<td data-label="What do you take with you from this meeting?">Too long</td>'
        '<td data-label="What would make our next meeting better?">Stop on time</td>'
    ) in page
    assert "I asked Dewi" not in page  # Chris was forgotten, with his answers
    audit = page[page.index('id="audit"') :]
    assert "Ritual paused #2" in audit and "someone (data erased)" in audit  # Chris paused it, then left
    assert "Role given" in audit and "Anna" in audit and "Shared goal set" in audit
    checkout = page[page.index('id="checkout-2"') : page.index("</section>", page.index('id="checkout-2"'))]
    # one round: how its scores fell (Dewi's 2; Chris was forgotten), not a line with one dot
    assert 'class="distribution"' in checkout and 'class="series' not in checkout
    assert '<rect class="seg s2" x="0.00%" y="0" width="100.00%"' in checkout and "seg s4" not in checkout
    assert 'class="bar participation"' in page


async def test_page_and_summary_read_in_one_transaction_each(real: Real) -> None:
    answers = {1: {"answer": "a"}, 2: {"score": 3, "takeaway": "t"}, 3: pulse(3, "zq")}
    for ritual, spec in (
        (1, "reflection every monday at 09:00"),
        (2, "checkout every weekday at 16:30"),
        (3, "pulse every 2 weeks on friday at 15:00"),
    ):
        await real.command("anna", f"add {spec}")
        for _round in range(5):
            occ = await real.run(ritual)
            for user in ("anna", "bram", "chris"):
                await real.answer(user, occ, answers[ritual])
            await real.close(ritual)
            real.clock.advance(hours=1)
    repo: Repo = real.app[REPO]
    team, _new = await repo.ensure_team(
        platform=PLATFORM,
        workspace_id=WORKSPACE,
        channel_id=CHANNEL,
        name="Playground",
        timezone="Europe/Amsterdam",
        language="en",
        now=NOW,
    )
    rituals = await repo.rituals(team.id)
    began: list[object] = []

    def count(conn: object) -> None:
        began.append(conn)

    event.listen(repo.engine.sync_engine, "begin", count)
    try:
        report = await load_report(Queries(repo), team, real.clock())
        assert len(began) == 1
        assert len(report.rounds) == 15 and all(a.answered == 3 for a in report.anonymous.values())
        began.clear()
        notice = await review_notice(repo, real.app[ENGINE], team, rituals, translator("en"))
        assert len(began) == 1
    finally:
        event.remove(repo.engine.sync_engine, "begin", count)
    assert notice.text.count("3 of 4 answered") == 3 * RECENT + 3


async def test_page_speaks_the_team_language(sqlite_url: str) -> None:
    app, clock = await start_real(sqlite_url, language="nl")
    async with TestClient(TestServer(app)) as client:
        real = Real(client, app, clock)
        await real.command("anna", "add reflectie elke maandag om 09:00")
        page = await real.page()
    assert '<html lang="nl">' in page and "Terugblik van het team: Playground" in page
    assert "elke maandag om 09:00" in page and "Tijdlijn" in page and "Beheerlogboek" in page


# -- a year of data in headless Chromium ----------------------------------------------------

REFLECTIONS = [
    "I asked a colleague to watch my lesson and learned a lot from it.",
    "The pupils worked in pairs and explained things to each other better than I could.",
    "I tried a new start of the day; calmer class, will keep it.",
    "Asking for help with a difficult parent conversation made it much easier.",
    "Less talking by me, more thinking by them.",
]
TAKEAWAYS = [
    "Clear agenda",
    "We decided quickly",
    "Good to hear everyone",
    "Too long today",
    "Nice energy",
    "Action points are clear",
]


async def seed_year(repo: Repo, team_id: int, members: list[int], now: datetime, rng: random.Random) -> dict[str, int]:
    """A year of rituals in bulk: weekly reflection, biweekly pulse, daily check-outs, one values round."""
    start = now - timedelta(days=364)

    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMS).astimezone(UTC)

    async with repo.session() as s:
        rituals = {
            kind: Ritual(
                team_id=team_id,
                kind=kind,
                schedule=schedule,
                open_seconds=open_s,
                options={},
                paused=False,
                next_due_at=None,
                created_at=start,
            )
            for kind, schedule, open_s in (
                ("reflection", "every monday at 09:00", 2 * 86400),
                ("pulse", f"every 2 weeks on friday at 15:00 from {start.date().isoformat()}", 2 * 86400),
                ("checkout", "every weekday at 16:30", 4 * 3600),
                ("values", "", 3 * 86400),
            )
        }
        s.add_all(rituals.values())
        await s.flush()
        ids = {kind: r.id for kind, r in rituals.items()}
        themes = list(THEMES.values())
        rounds: list[tuple[Occurrence, str, date]] = []
        holiday = (date(2025, 12, 22), date(2026, 1, 2))
        for n in range(365):
            day = start.date() + timedelta(days=n)
            off = holiday[0] <= day <= holiday[1]
            if day.weekday() == 0:
                theme = themes[(n // 7) % len(themes)]
                content = {"theme": theme.key, "question": theme.questions[(n // 7) % len(theme.questions)]}
                rounds.append(
                    (
                        Occurrence(
                            ritual_id=ids["reflection"],
                            planned_at=at(day, 9),
                            status="skipped" if off else "closed",
                            reason="Kerstvakantie" if off else None,
                            content={} if off else content,
                            opened_at=at(day, 9),
                            closes_at=at(day, 9) + timedelta(days=2),
                            closed_at=at(day, 9) + timedelta(days=2),
                        ),
                        "reflection",
                        day,
                    )
                )
            if day.weekday() == 4 and (day - start.date()).days % 14 < 7:
                rounds.append(
                    (
                        Occurrence(
                            ritual_id=ids["pulse"],
                            planned_at=at(day, 15),
                            status="skipped" if off else "closed",
                            reason="Kerstvakantie" if off else None,
                            content={} if off else {"statements": STATEMENTS},
                            opened_at=at(day, 15),
                            closes_at=at(day, 15) + timedelta(days=2),
                            closed_at=at(day, 15) + timedelta(days=2),
                        ),
                        "pulse",
                        day,
                    )
                )
            if day.weekday() < 5:
                last = n == 364 or (day.weekday() == 4 and n >= 362)
                rounds.append(
                    (
                        Occurrence(
                            ritual_id=ids["checkout"],
                            planned_at=at(day, 16, 30),
                            status="skipped" if off else ("open" if last else "closed"),
                            reason="Kerstvakantie" if off else None,
                            content={},
                            opened_at=at(day, 16, 30),
                            closes_at=at(day, 16, 30) + timedelta(hours=4),
                            closed_at=None if last else at(day, 20, 30),
                        ),
                        "checkout",
                        day,
                    )
                )
            if n == 200:
                rounds.append(
                    (
                        Occurrence(
                            ritual_id=ids["values"],
                            planned_at=at(day, 9),
                            status="closed",
                            reason=None,
                            content={"extra": []},
                            opened_at=at(day, 9),
                            closes_at=at(day, 9) + timedelta(days=3),
                            closed_at=at(day, 9) + timedelta(days=3),
                        ),
                        "values",
                        day,
                    )
                )
        s.add_all(o for o, _k, _d in rounds)
        await s.flush()

        replies: list[Reply] = []
        participations: list[Participation] = []
        for occ, kind, day in rounds:
            if occ.status == "skipped":
                continue
            progress = (day - start.date()).days / 365
            if kind == "pulse":
                who = rng.sample(members, 2 if rng.random() < 0.15 else rng.randint(3, 5))
                for m in who:
                    values: dict[str, Any] = {
                        k: max(1, min(5, round(2.6 + 1.4 * progress + rng.gauss(0, 0.7) + i * 0.1)))
                        for i, k in enumerate(STATEMENTS)
                    }
                    if rng.random() < 0.3:
                        values["comment"] = rng.choice(
                            ["More time to prepare together.", "I feel heard lately.", "Meetings run late."]
                        )
                    replies.append(
                        Reply(
                            id=f"r{len(replies)}",
                            occurrence_id=occ.id,
                            member_id=None,
                            team_id=team_id,
                            values=values,
                            created_on=day,
                            updated_at=None,
                        )
                    )
                    participations.append(Participation(occurrence_id=occ.id, member_id=m))
                continue
            who = rng.sample(members, len(members) if kind == "values" else rng.randint(3, len(members)))
            for i, m in enumerate(who):
                if kind == "reflection":
                    values = {"answer": rng.choice(REFLECTIONS)}
                elif kind == "checkout":
                    values = {
                        "score": max(1, min(5, round(3.1 + progress + rng.gauss(0, 0.8)))),
                        "takeaway": rng.choice(TAKEAWAYS),
                    }
                else:
                    # three in turn from the first eight values: every one of them is picked
                    values = {"values": [VALUES[(3 * i + j) % 8].key for j in range(3)]}
                replies.append(
                    Reply(
                        id=f"r{len(replies)}",
                        occurrence_id=occ.id,
                        member_id=m,
                        team_id=team_id,
                        values=values,
                        created_on=day,
                        updated_at=day and None,
                    )
                )
        s.add_all(replies)
        s.add_all(participations)
        for i, (action, detail) in enumerate(
            [
                ("ritual.add", {"ritual": ids["reflection"]}),
                ("ritual.add", {"ritual": ids["pulse"]}),
                ("ritual.add", {"ritual": ids["checkout"]}),
                ("holiday.add", {}),
                ("goal.set", {"goal": "x"}),
                ("role.add", {"role": "leader"}),
            ]
        ):
            s.add(
                AuditEntry(
                    team_id=team_id,
                    member_id=None if i == 4 else members[0],
                    action=action,
                    detail=detail,
                    created_at=start + timedelta(days=i * 30, hours=8),
                )
            )
    return ids


async def test_a_year_of_data_renders_in_chromium(sqlite_url: str, browser_page, browser_requests) -> None:
    app, _clock = await start_real(sqlite_url)
    page = browser_page
    async with serve_app(app) as base:
        repo: Repo = app[REPO]
        team, _ = await repo.ensure_team(
            platform=PLATFORM,
            workspace_id=WORKSPACE,
            channel_id=CHANNEL,
            name="Playground",
            timezone="Europe/Amsterdam",
            language="en",
            now=NOW,
        )
        await repo.ensure_member(
            platform=PLATFORM, workspace_id=WORKSPACE, user_id="eva", display_name="Eva", now=NOW, team_id=team.id
        )
        await repo.update_team(team.id, name="Groep 5/6, De Regenboog", goal="Every pupil reads with pleasure")
        members = [m for m, _u, _n in await repo.team_members(team.id)]
        assert len(members) == 5
        await seed_year(repo, team.id, members, NOW, random.Random(5))

        async with aiohttp.ClientSession() as http:
            resp = await http.post(base + "/playground/api/command", json={"user": "anna", "text": "review link"})
            text = (await resp.json())["reply"]["text"]
            path = re.search(r"(/review/\S+)", text).group(1)  # type: ignore[union-attr]
            started = time.perf_counter()
            resp = await http.get(base + path)
            elapsed = time.perf_counter() - started
            assert resp.status == 200
            assert elapsed < 3.0, f"a year of data took {elapsed:.2f}s to render"
            html = await resp.text()

        # The check-outs' axis spans their weeks (by their Monday, 24 November 2025 to 16 November
        # 2026) and a twentieth of it (17 days) to either side: a month a tick.
        found = re.search(r'<svg class="chart line wide".*?</svg>', part(html, "checkout-3"))
        assert found is not None
        wide = found.group(0)
        assert 'data-start="2025-11-07" data-end="2026-12-03"' in wide
        months = ["Dec", "2026", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        assert tick_labels(wide) == months
        assert 'text-anchor="end">Dec</text>' in wide and wide.count('<path class="band checkout"') == 1

        await page.goto(base + path)
        assert await page.locator("h1").inner_text() == "Team review: Groep 5/6, De Regenboog"
        lines = page.locator("svg.chart.line")
        # the scale's mean, one per statement; check-outs for wide and narrow screens
        assert await lines.count() == 1 + len(STATEMENTS) + 2
        for d in await page.locator("path.series").evaluate_all("els => els.map(e => e.getAttribute('d'))"):
            assert re.fullmatch(r"M[\d.]+,[\d.]+( L[\d.]+,[\d.]+)+", d), d
        lengths = await page.locator("path.series >> visible=true").evaluate_all(
            "els => els.map(e => e.getTotalLength())"
        )
        assert len(lengths) == 1 + len(STATEMENTS) + 1 and min(lengths) > 50
        widths = await page.locator("rect.bar").evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
        assert len(widths) >= 4 + 8 and min(widths) > 0  # participation of four rituals, eight values picked
        stroke = await page.locator("path.series.pulse").first.evaluate("e => getComputedStyle(e).stroke")
        assert stroke not in ("none", "")  # the same-origin stylesheet applied under the CSP
        assert await page.locator("#timeline details").count() >= 12
        assert await page.get_by_text("skipped: Kerstvakantie").count() >= 1
        await check_light_dark_and_phone(page, "review-year")
    browser_requests.assert_only_local()
    assert any(url.endswith("/static/review/review.css") for url in browser_requests.urls)


async def test_page_shows_the_named_answers_of_a_round_only_leaders_read(real: Real) -> None:
    """The page is for leaders and admins: a round at the ``leaders`` level (a pairs round, as
    every pairs round is) shows who answered what, as its card said."""
    repo: Repo = real.app[REPO]
    chris = await repo.find_member(platform=PLATFORM, workspace_id=WORKSPACE, user_id="chris")
    dewi = await repo.find_member(platform=PLATFORM, workspace_id=WORKSPACE, user_id="dewi")
    assert chris and dewi  # the playground's personas, there from the start
    team_id = (
        await repo.ensure_team(
            platform=PLATFORM,
            workspace_id=WORKSPACE,
            channel_id=CHANNEL,
            name="Playground",
            timezone="Europe/Amsterdam",
            language="en",
            now=NOW,
        )
    )[0].id
    ritual = await repo.add_ritual(
        team_id=team_id, kind="pairs", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )
    async with repo.transaction() as tx:
        occ = await tx.add_occurrence(
            ritual_id=ritual,
            planned_at=NOW - timedelta(days=2),
            status="closed",
            reason=None,
            content={"groups": [[{"id": chris, "name": "Chris"}, {"id": dewi, "name": "Dewi"}]]},
            opened_at=NOW,
            closes_at=NOW,
            claimed_by="t",
        )
        assert occ is not None
        for member in (chris, dewi):
            await tx.save_reply(
                occurrence_id=occ,
                team_id=team_id,
                member_id=member,
                anonymous=False,
                values={"met": "yes"},
                today=NOW.date(),
                now=NOW,
            )
    page = await real.page()
    answers = page[page.index('id="answers"') : page.index('id="audit"')]
    assert '<span class="who">Chris</span> <span class="text">Yes</span>' in answers
    assert '<span class="who">Dewi</span> <span class="text">Yes</span>' in answers


async def test_retention_runs_daily_from_the_start_of_the_server(sqlite_url: str) -> None:
    repo = Repo(create_engine(sqlite_url), SEALER)
    team, _ = await repo.ensure_team(
        platform="p", workspace_id="w", channel_id="c", name="T", timezone="Europe/Amsterdam", language="en", now=NOW
    )
    member = await repo.ensure_member(
        platform="p", workspace_id="w", user_id="u", display_name="U", now=NOW, team_id=team.id
    )
    ritual = await repo.add_ritual(
        team_id=team.id, kind="reflection", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )

    async def reply(days_ago: int) -> None:
        planned = NOW - timedelta(days=days_ago)
        async with repo.transaction() as tx:
            occ = await tx.add_occurrence(
                ritual_id=ritual,
                planned_at=planned,
                status="closed",
                reason=None,
                content={},
                opened_at=planned,
                closes_at=planned,
                claimed_by="t",
            )
            assert occ is not None
            await tx.save_reply(
                occurrence_id=occ,
                team_id=team.id,
                member_id=member,
                anonymous=False,
                values={"answer": "x"},
                today=planned.date(),
                now=planned,
            )

    async def left() -> int:
        async with repo.session() as s:
            return len((await s.scalars(select(Reply))).all())

    await reply(800)
    await reply(10)
    app = create_app(
        Settings(RITME_DATABASE_URL=sqlite_url, RITME_PUBLIC_URL=PUBLIC), clock=Clock(NOW)
    )  # background on
    async with TestClient(TestServer(app)):
        for _ in range(100):
            if await left() == 1:
                break
            await asyncio.sleep(0.05)
    assert await left() == 1  # the 800-day-old reply went at start-up; the rest waits for 03:30 UTC
    await reply(731)
    await retention_job(repo, Clock(NOW))()
    assert await left() == 1
    await repo.dispose()


async def test_privacy_threshold_and_retention_are_the_admins_to_set(real: Real) -> None:
    def said(reply: dict[str, Any]) -> str:
        return " ".join([reply["title"], reply["text"], *(" ".join(f) for f in reply.get("fields", []))])

    shown = said(await real.command("chris", "privacy"))  # anyone may look
    assert "at least 3 answered" in shown and "2 years" in shown
    assert (await real.command("chris", "privacy threshold 5"))["title"] == "Not allowed"
    assert "from 3 to 50" in said(await real.command("anna", "privacy threshold 2"))
    assert "30 days to 10 years" in said(await real.command("anna", "privacy retention 2w"))
    assert "at least 3 answered" in said(await real.command("chris", "privacy"))  # nothing changed
    assert (await real.command("anna", "privacy drempel 4"))["title"] == "Threshold set"  # Dutch words too
    assert (
        "no anonymous results will show" in (await real.command("anna", "privacy threshold 5"))["footer"]
    )  # 4 in the team
    await real.command("anna", "privacy threshold 4")

    await real.command("anna", "add pulse every 2 weeks on friday at 15:00")
    occ = await real.run(1)
    for user, score in (("anna", 2), ("bram", 3), ("chris", 5)):
        await real.answer(user, occ, pulse(score))
    await real.close(1)
    text = (await real.command("bram", "review #1"))["text"]
    assert "Too few answers to show results: at least 4 are needed" in text and "average" not in text

    assert (await real.command("anna", "privacy retention 60d"))["title"] == "Retention set"
    assert "2 months" in said(await real.command("chris", "privacy"))
    await real.command("anna", "add checkout every weekday at 16:30 team")
    checkout = await real.run(2)
    await real.answer("dewi", checkout, {"score": 4, "takeaway": "kept"})
    repo: Repo = real.app[REPO]

    async def stored() -> int:
        async with repo.session() as s:
            return len((await s.scalars(select(Reply).where(Reply.occurrence_id == checkout))).all())

    await retention_job(repo, lambda: NOW + timedelta(days=59))()
    assert await stored() == 1
    await retention_job(repo, lambda: NOW + timedelta(days=61))()
    assert await stored() == 0
    page = await real.page()
    audit = page[page.index('id="audit"') :]
    assert "Threshold set" in audit and "Retention set" in audit


async def test_revoking_stops_every_link_made_before_and_new_links_work(real: Real) -> None:
    async def link(text: str) -> str:
        reply = await real.command("anna", text)
        return re.search(re.escape(PUBLIC) + r"(/review/\S+)", reply["text"]).group(1)  # type: ignore[union-attr]

    page, export = await link("review link"), await link("export")
    assert (await real.client.get(page)).status == 200 and (await real.client.get(export)).status == 200
    refused = await real.command("chris", "review link revoke")  # a member may not
    assert (await real.client.get(page)).status == 200 and "Links revoked" not in refused.get("title", "")
    revoked = await real.command("bram", "review link intrekken")  # a leader may, in Dutch words too
    assert revoked["title"] == "Links revoked"
    assert (await real.client.get(page)).status == 403 and (await real.client.get(export)).status == 403
    assert "were revoked" in await (await real.client.get(page)).text()
    assert "were revoked" not in await (await real.client.get(page[:-3] + "abc")).text()  # tampered: another reason
    fresh = await link("review link")
    assert (await real.client.get(fresh)).status == 200
    assert "Review and export links revoked" in await (await real.client.get(fresh)).text()
    assert (await real.client.get(f"/review/{10**30}.{2**40}.x")).status == 403


def test_every_audited_action_has_a_label() -> None:
    """The admin log on the review page names each action in words, never by its key."""
    import re
    from pathlib import Path

    from bot.audit import ACTIONS

    sources = "".join(p.read_text(encoding="utf-8") for p in Path("bot").glob("*.py"))
    audited = set(re.findall(r'audit\([^)]*?"([a-z_]+\.[a-z_]+|export)"', sources))
    audited |= {"review.link", "export"}
    assert audited and audited <= set(ACTIONS), sorted(audited - set(ACTIONS))


# -- charts fitted to the rounds: one round, twelve rounds -------------------------------------

REVERSED = [s.key for s in PULSE_STATEMENTS if s.reverse]
RAISE = "raise_problems"  # a positively worded statement


def part(page: str, key: str) -> str:
    """One section of the page, by its id."""
    start = page.index(f'id="{key}"')
    return page[start : page.index("</section>", start)]


def tick_labels(svg: str) -> list[str]:
    ticks = svg[svg.index('<g class="ticks">') : svg.index("</g>", svg.index('<g class="ticks">'))]
    return re.findall(r"<text [^>]*>([^<]+)</text>", ticks)


async def one_round(real: Real) -> None:
    """A pulse with one closed round: a 2 and two 4s on every statement."""
    await real.command("anna", "add pulse every 2 weeks on friday at 15:00")
    occ = await real.run(1)
    for user, score in (("anna", 2), ("bram", 4), ("chris", 4)):
        await real.answer(user, occ, pulse(score))
    await real.close(1)


async def twelve_rounds(real: Real) -> None:
    """A pulse of twelve rounds, two weeks apart from Sunday 22 November 2026 to Sunday 25 April
    2027. Ten rounds of 3, 4, 3; then everyone 2 (on "raise problems" 1, 3, 5); then everyone 4
    (on "raise problems" 3, 4, 5)."""
    await real.command("anna", "add pulse every 2 weeks on friday at 15:00")
    for n in range(12):
        occ = await real.run(1)
        scores = (3, 4, 3) if n < 10 else (2, 2, 2) if n == 10 else (4, 4, 4)
        raise_ = (1, 3, 5) if n == 10 else (3, 4, 5) if n == 11 else scores
        for user, score, other in zip(("anna", "bram", "chris"), scores, raise_, strict=True):
            await real.answer(user, occ, pulse(score) | {RAISE: other})
        await real.close(1)
        if n < 11:
            real.clock.advance(days=14)


async def test_one_round_shows_how_the_answers_fell_and_the_scale_mean(real: Real) -> None:
    await one_round(real)
    pulse_part = part(await real.page(), "pulse-1")
    assert "chart line" not in pulse_part  # no line with one dot on it
    # each statement: one 2 and two 4s, a third and two thirds of the bar
    bars = re.findall(r'<rect class="seg s(\d)" x="([\d.]+)%" y="0" width="([\d.]+)%"', pulse_part)
    assert bars == [("2", "0.00", "33.33"), ("4", "33.33", "66.67")] * len(STATEMENTS)
    numbers = re.findall(r'<text class="count" x="([\d.]+)%" y="33" text-anchor="middle">(\d+)</text>', pulse_part)
    assert numbers == [("16.67", "1"), ("66.67", "2")] * len(STATEMENTS)  # under the middle of each part
    assert pulse_part.count('class="distlabel">Sun 22 Nov 2026 · 3 answers</span>') == len(STATEMENTS)
    # The scale's mean turns the three reverse-worded items around: the answer of 2s counts
    # (3 * 4 + 4 * 2) / 7 = 2.857, an answer of 4s (3 * 2 + 4 * 4) / 7 = 3.143; their mean 3.05.
    scale = pulse_part[pulse_part.index('class="card scale"') :]
    assert '<span class="latest">3.0</span>' in scale and "3.0 (from 1 to 5; higher is safer)" in scale
    assert 'class="change"' not in pulse_part  # nothing to compare with
    assert pulse_part.count("reverse-worded: lower is safer") == len(REVERSED)
    assert '<span class="latest">3.3</span>' in pulse_part  # a statement's average: (2 + 4 + 4) / 3


async def test_twelve_rounds_fit_the_axis_show_the_spread_and_change_only_beyond_chance(real: Real) -> None:
    await twelve_rounds(real)
    page = await real.page()
    pulse_part = part(page, "pulse-1")
    assert 'class="distribution"' not in pulse_part
    svgs = re.findall(r'<svg class="chart line [^"]*"[^>]*>.*?</svg>', pulse_part)
    assert len(svgs) == 1 + len(STATEMENTS)  # the scale's mean and each statement
    for svg in svgs:
        # 154 days of rounds, a twentieth of it (7 days) to either side: not the page's year
        assert 'data-start="2026-11-15" data-end="2027-05-02"' in svg
        assert tick_labels(svg) == ["Dec", "2027", "Feb", "Mar", "Apr", "May"]
        assert 'text-anchor="end">May</text>' in svg  # the last label ends inside the chart
        dots = [float(x) for x in re.findall(r'<circle class="dot \w+" cx="([\d.]+)"', svg)]
        assert len(dots) == 12 and dots[0] < 28 + 278 * 0.05 and dots[-1] > 306 - 278 * 0.05
        assert svg.count('<path class="band ') == 1  # twelve rounds: the spread around the line
    # Everyone went from 2 to 4 on six statements: no spread, a clear change of +2.0. On "raise
    # problems" 1, 3, 5 became 3, 4, 5: +1.0, but twice its standard error is 2 * sqrt(4/3 + 1/3)
    # = 2.6. The scale's means went from 2.71, 3.00, 3.29 to 3.00, 3.14, 3.29 (reverse-worded items
    # turned around): +0.14 against 2 * sqrt(0.082/3 + 0.020/3) = 0.37, no change either.
    cards = re.findall(r"<figure.*?</figure>", pulse_part)
    changed = [c for c in cards if 'class="change"' in c]
    assert len(changed) == len(STATEMENTS) - 1 and all(">+2.0</small>" in c for c in changed)
    statement = {s.key: s.text for s in PULSE_STATEMENTS}[RAISE]
    assert not any(statement in c for c in changed) and 'class="card scale"' not in "".join(changed)
    scale = next(c for c in cards if 'class="card scale"' in c)
    assert '<span class="latest">3.1</span>' in scale  # (3.00 + 3.14 + 3.29) / 3


async def test_dates_and_durations_read_in_the_team_language(sqlite_url: str) -> None:
    app, clock = await start_real(sqlite_url, language="nl")
    async with TestClient(TestServer(app)) as client:
        real = Real(client, app, clock)
        reply = await real.command("anna", "terugblik link")
        # a week after Sunday 22 November 12:00 UTC, in Amsterdam
        assert "zo 29 nov 13:00" in reply["footer"] and "2026-" not in reply["footer"]
        page = await real.page()
        privacy = await real.command("anna", "privacy")
    assert "Van 22 nov 2025 tot 22 nov 2026" in page and "zo 22 nov 2026 13:00" in page
    assert "2 jaar" in str(privacy["fields"]) and "730" not in str(privacy["fields"])
    _ = translator("en")
    assert _.when(NOW, AMS) == "Sun 22 Nov 13:00" and translator("nl").when(NOW, AMS) == "zo 22 nov 13:00"
    assert [_.duration(d) for d in (730, 90, 14, 400)] == ["2 years", "3 months", "2 weeks", "400 days"]


# -- pages around the review: refusals and /privacy ---------------------------------------------


@pytest.mark.parametrize(
    ("default", "asked", "said"),
    [
        ("en", "nl-NL,nl;q=0.9,en;q=0.5", "Deze link opent geen terugblikpagina"),
        ("nl", "en-GB,en;q=0.9", "This link does not open a review page"),
        ("nl", "de-DE,fr;q=0.8", "Deze link opent geen terugblikpagina"),  # neither: the server's default
    ],
)
async def test_a_refusal_speaks_the_browser_language(sqlite_url: str, default: str, asked: str, said: str) -> None:
    app, clock = await start_real(sqlite_url, language=default)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/review/nonsense.1.x", headers={"Accept-Language": asked})
        body = await resp.text()
    assert resp.status == 403 and f"<h1>{said}</h1>" in body
    assert resp.headers["Vary"] == "Accept-Language" and resp.headers["Cache-Control"] == "no-store"


async def test_a_revoked_link_says_so_in_the_browser_language(real: Real) -> None:
    path = await real.link()
    await real.command("bram", "review link revoke")
    resp = await real.client.get(path, headers={"Accept-Language": "nl"})
    assert resp.status == 403 and "De links van het team zijn ingetrokken" in await resp.text()


async def test_privacy_offers_the_way_back_to_the_review_page_it_came_from(real: Real) -> None:
    path = await real.link()
    page = await (await real.client.get(path)).text()
    assert '<a href="/privacy?lang=en" referrerpolicy="same-origin">Privacy</a>' in page
    here = str(real.client.make_url(path))
    back = await real.client.get("/privacy", headers={"Referer": here})
    text = await back.text()
    assert f'<a class="back" href="{path}">Back to the review page</a>' in text
    assert back.headers["Cache-Control"] == "no-store"  # it names a review link
    assert '<header class="top"><div class="wrap">' in text and '<main class="wrap">' in text
    for referer in ("http://elsewhere.test" + path, here.replace("/review/", "/playground/")):
        other = await real.client.get("/terms", headers={"Referer": referer})
        assert 'class="back"' not in await other.text() and other.headers["Cache-Control"] == "max-age=3600"


# -- in the browser: a phone, dark mode, contrast --------------------------------------------------

# WCAG 2.1 contrast of every rendered text against the first opaque background behind it: 4.5:1,
# 3:1 for large text (24 px, or 18.66 px bold). SVG text is read by its fill.
LOW_CONTRAST_JS = """() => {
  const parse = c => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c || '');
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const lum = ([r, g, b]) => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ground = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) return c;
    }
    return [255, 255, 255, 1];
  };
  const low = [];
  for (const el of document.querySelectorAll('body *')) {
    if (['title', 'script', 'style'].includes(el.localName)) continue;
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    if (!el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility !== 'visible') continue;
    const ink = parse(el instanceof SVGElement ? style.fill : style.color);
    if (!ink) continue;
    const a = lum(ink), b = lum(ground(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) low.push(`${el.textContent.trim().slice(0, 30)}: ${ratio.toFixed(2)} (${style.color})`);
  }
  return low;
}"""

# Sections whose content is wider than the card (a table that did not stack, a chart too wide).
OVERFLOWING_JS = """() => [...document.querySelectorAll('section')]
  .filter(s => s.scrollWidth > s.clientWidth + 1
    || [...s.querySelectorAll('table, svg, .distribution')].some(
      t => t.getClientRects().length && t.getBoundingClientRect().right > s.getBoundingClientRect().right + 1))
  .map(s => `${s.id}: ${s.scrollWidth} in ${s.clientWidth}`)"""

# Tick labels that reach past their chart's edges (a clipped month).
CLIPPED_LABELS_JS = """() => [...document.querySelectorAll('svg.chart.line g.ticks text')]
  .filter(t => t.getClientRects().length)
  .filter(t => { const b = t.getBBox(), w = t.ownerSVGElement.viewBox.baseVal.width;
                 return b.x < 0 || b.x + b.width > w; })
  .map(t => t.textContent)"""


async def check_light_dark_and_phone(page: Any, name: str) -> None:
    """At 1280×800 and 390×844, light and dark: AA contrast everywhere, no sideways scroll, no
    card that its content overflows, no clipped label; a screenshot of each."""
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        for width, height, where in ((1280, 800, ""), (390, 844, "-phone")):
            await page.set_viewport_size({"width": width, "height": height})
            ground = await page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert ground == ("rgb(18, 23, 25)" if scheme == "dark" else "rgb(251, 250, 247)"), ground
            assert await page.evaluate(LOW_CONTRAST_JS) == [], (scheme, width)
            assert await page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
            assert await page.evaluate(OVERFLOWING_JS) == [], (scheme, width)
            assert await page.evaluate(CLIPPED_LABELS_JS) == [], (scheme, width)
            await screenshot(page, f"{name}{where}-{scheme}", full_page=True)


@pytest.mark.parametrize("rounds", [one_round, twelve_rounds], ids=["one-round", "twelve-rounds"])
async def test_the_page_on_a_phone_and_in_dark_mode(real: Real, browser_page: Any, rounds: Any) -> None:
    await rounds(real)
    await real.command("anna", "add checkout every weekday at 16:30 team")  # #2: a table of answers
    occ = await real.run(2)
    await real.answer("dewi", occ, {"score": 4, "takeaway": "Short and clear", "better": "Start on time, please"})
    await real.answer("anna", occ, {"score": 5, "takeaway": "We decided", "better": "Nothing"})
    await real.close(2)
    await browser_page.goto(str(real.client.make_url(await real.link())))
    distributions = await browser_page.locator("#pulse-1 .distribution").count()
    assert distributions == (len(STATEMENTS) if rounds is one_round else 0)
    await check_light_dark_and_phone(browser_page, f"review-{rounds.__name__.replace('_', '-')}")


async def test_privacy_in_the_page_layout_and_back_in_the_browser(real: Real, browser_page: Any) -> None:
    await one_round(real)
    review = str(real.client.make_url(await real.link()))
    await browser_page.goto(review)
    await browser_page.get_by_role("link", name="Privacy", exact=True).click()
    await browser_page.wait_for_url("**/privacy?lang=en")
    left = await browser_page.locator("h1").evaluate("e => e.getBoundingClientRect().left")
    assert left >= (1280 - 980) / 2  # the review page's column, not the window's edge
    await check_light_dark_and_phone(browser_page, "privacy")
    await browser_page.get_by_role("link", name="Back to the review page").click()
    await browser_page.wait_for_url(review)
    assert await browser_page.locator("h1").inner_text() == "Team review: Playground"


async def test_confirmations_say_dates_as_the_team_reads_them(sqlite_url: str) -> None:
    app, clock = await start_real(sqlite_url, language="nl")
    async with TestClient(TestServer(app)) as client:
        real = Real(client, app, clock)
        holiday = await real.command("anna", "vakantie toevoegen 2026-12-21..2027-01-01 Kerstvakantie")
        plan = await real.command("anna", "plan add 2027-01-04..2027-02-12 safety")
    assert "ma 21 dec 2026" in holiday["text"] and "vr 1 jan 2027" in holiday["text"], holiday
    assert "ma 4 jan 2027" in plan["text"] and "vr 12 feb 2027" in plan["text"], plan
