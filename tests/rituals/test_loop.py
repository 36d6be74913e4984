"""The loop of a ritual, driven through the playground with an injected clock:
open -> one private reminder -> close -> results -> agreed action -> asked about next time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.server import ENGINE
from tests.fakes.clock import Clock
from tests.fakes.playground import Playground

AMS = ZoneInfo("Europe/Amsterdam")
SUNDAY = datetime(2026, 11, 22, 12, 0, tzinfo=AMS)


async def tick(pg: Playground) -> None:
    await pg.app[ENGINE].tick()
    await pg.deliver()


def reminders(state: dict) -> list[dict]:
    return [m["payload"] for m in state["messages"] if m["private"] and m["payload"]["type"] == "prompt"]


async def test_open_remind_close_results_action_follow_up(pg: Playground, clock: Clock) -> None:
    await pg.command("anna", "add checkout every monday at 09:00 open 2d team")
    await pg.command("dewi", "reminders off")
    clock.set(datetime(2026, 11, 23, 9, 0, 1, tzinfo=AMS))
    await tick(pg)
    (prompt,) = await pg.prompts()
    occ = prompt["occurrence_id"]
    assert (await pg.answer("chris", occ, {"score": 4, "takeaway": "Clear goals"}))["ok"]
    assert (await pg.answer("bram", occ, {"score": 2, "takeaway": "Too long"}))["ok"]

    clock.set(datetime(2026, 11, 24, 16, 59, tzinfo=AMS))
    await tick(pg)
    assert not reminders(await pg.state("anna"))
    clock.set(datetime(2026, 11, 24, 17, 0, 30, tzinfo=AMS))  # a quarter before the close, in working hours
    await tick(pg)
    await tick(pg)  # once only
    got = {user: reminders(await pg.state(user)) for user in ("anna", "bram", "chris", "dewi")}
    assert [len(v) for v in got.values()] == [1, 0, 0, 0]  # Anna only: Bram and Chris answered, Dewi muted
    assert got["anna"][0]["title"].startswith("Reminder: #1")

    clock.set(datetime(2026, 11, 25, 9, 0, 1, tzinfo=AMS))
    await tick(pg)
    (results,) = await pg.notices()
    assert ["How useful was this meeting for you?", "average 3.0, spread 1.0"] in results["fields"]
    assert "Bram: Too long" in results["text"] and "Chris: Clear goals" in results["text"]
    assert "For your next meeting:" in results["text"]
    assert results["footer"] == "2 of 4 answered"
    late = await pg.answer("anna", occ, {"score": 5, "takeaway": "late"})
    assert not late["ok"] and "closed" in late["message"]

    recorded = await pg.command("bram", "action add #1 Send the agenda a day before")
    assert recorded["title"] == "Action recorded"
    clock.set(datetime(2026, 11, 30, 9, 0, 1, tzinfo=AMS))
    await tick(pg)
    latest = (await pg.prompts())[-1]
    assert latest["occurrence_id"] != occ
    assert latest["inputs"][0]["key"] == "action_followup"
    assert "Send the agenda a day before" in latest["inputs"][0]["label"]
    assert (
        await pg.answer(
            "chris", latest["occurrence_id"], {"action_followup": "It helped", "score": 5, "takeaway": "Better"}
        )
    )["ok"]
    await pg.command("anna", "plan add 2026-11-01..2026-12-20 meetings")
    link = (await pg.command("bram", "review link"))["text"]
    path = link[link.index("/review/") :].split()[0]
    page = await (await pg.client.get(path)).text()
    assert "Agreed actions" in page and "Send the agenda a day before" in page and "It helped" in page
    assert "Year plan" in page and "1 Nov 2026" in page
    clock.set(datetime(2026, 12, 7, 9, 0, 1, tzinfo=AMS))
    await tick(pg)
    assert (await pg.prompts())[-1]["inputs"][0]["key"] != "action_followup"  # asked once


async def test_pulse_below_threshold_posts_too_few_answers_and_no_figures(pg: Playground, clock: Clock) -> None:
    await pg.command("anna", "add pulse every monday at 09:00 open 1d")
    clock.set(datetime(2026, 11, 23, 9, 0, 1, tzinfo=AMS))
    await tick(pg)
    (prompt,) = await pg.prompts()
    scores = {i["key"]: 3 for i in prompt["inputs"] if i["kind"] == "scale"}
    for user in ("chris", "dewi"):
        assert (await pg.answer(user, prompt["occurrence_id"], scores))["ok"]
    clock.advance(days=1)
    await tick(pg)
    (results,) = await pg.notices()
    assert "Too few answers" in results["text"] and results["fields"] == []


async def test_pulse_at_threshold_shows_scores_and_change(pg: Playground, clock: Clock) -> None:
    await pg.command("anna", "add pulse every monday at 09:00 open 1d")
    for week, score in enumerate((2, 4)):
        clock.set(datetime(2026, 11, 23, 9, 0, 1, tzinfo=AMS) + timedelta(weeks=week))
        await tick(pg)
        prompt = (await pg.prompts())[-1]
        statements = [i for i in prompt["inputs"] if i["kind"] == "scale"]
        for user in ("anna", "chris", "dewi"):
            assert (await pg.answer(user, prompt["occurrence_id"], {i["key"]: score for i in statements}))["ok"]
        clock.advance(days=1)
        await tick(pg)
    results = (await pg.notices())[-1]
    first = statements[0]["label"]
    assert [first, "average 4.0, spread 0.0 (change +2.0)"] in results["fields"]


async def test_a_reminder_due_on_a_holiday_comes_the_working_afternoon_before(pg: Playground, clock: Clock) -> None:
    await pg.command("anna", "add reflection every monday at 09:00 open 2d")
    await pg.command("anna", "holiday add 2026-11-24")  # Tuesday, when the reminder would be due
    clock.set(datetime(2026, 11, 23, 9, 0, 1, tzinfo=AMS))
    await tick(pg)
    clock.set(datetime(2026, 11, 23, 15, 59, tzinfo=AMS))
    await tick(pg)
    assert not reminders(await pg.state("chris"))
    clock.set(datetime(2026, 11, 23, 16, 0, 30, tzinfo=AMS))
    await tick(pg)
    assert len(reminders(await pg.state("chris"))) == 1


async def test_a_reminder_due_on_a_weekend_comes_on_friday(pg: Playground, clock: Clock) -> None:
    await pg.command("anna", "add pulse every friday at 16:00 open 3d")  # ideal: Sunday
    clock.set(datetime(2026, 11, 27, 16, 0, 1, tzinfo=AMS))
    await tick(pg)
    for day, hour in ((28, 12), (29, 17)):  # nothing on Saturday or Sunday
        clock.set(datetime(2026, 11, day, hour, 0, tzinfo=AMS))
        await tick(pg)
        assert not reminders(await pg.state("chris"))
    clock.set(datetime(2026, 11, 30, 9, 0, 30, tzinfo=AMS))  # Friday 16:00 was too soon after the start
    await tick(pg)
    assert len(reminders(await pg.state("chris"))) == 1


async def test_weekly_digest_posts_the_figures_of_the_week(pg: Playground, clock: Clock) -> None:
    await pg.command("anna", "add checkout every monday at 09:00 open 4h team")
    added = await pg.command("anna", "add digest every friday at 15:00")
    assert added["title"] == "Ritual #2 added"
    clock.set(datetime(2026, 11, 23, 9, 0, 1, tzinfo=AMS))
    await tick(pg)
    (prompt,) = await pg.prompts()
    for user, score in (("chris", 4), ("dewi", 5)):
        assert (await pg.answer(user, prompt["occurrence_id"], {"score": score, "takeaway": "private words"}))["ok"]
    clock.set(datetime(2026, 11, 23, 13, 0, 1, tzinfo=AMS))
    await tick(pg)
    clock.set(datetime(2026, 11, 27, 15, 0, 1, tzinfo=AMS))
    await tick(pg)
    digest = (await pg.notices())[-1]
    assert digest["title"] == "#2 Week in review"
    assert "How useful was this meeting for you? Average 4.5, spread 0.5" in digest["text"]
    assert "2 of 4 answered" in digest["text"] and "private words" not in digest["text"]
    assert "#2" not in (await pg.command("anna", "review"))["text"]
    link = (await pg.command("bram", "review link"))["text"]
    page = await (await pg.client.get(link[link.index("/review/") :].split()[0])).text()
    participation = page[page.index('id="participation"') :]
    participation = participation[: participation.index("</section>")]
    assert "#1 " in participation and "Week in review" not in participation  # a digest asks nobody


async def test_a_newer_agreement_supersedes_an_older_one(pg: Playground, clock: Clock) -> None:
    await pg.command("anna", "add checkout every monday at 09:00 open 2d")
    clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=AMS))
    await pg.command("anna", "run #1")
    await pg.command("anna", "close #1")
    await pg.command("anna", "action add #1 First agreement")
    await pg.command("anna", "action add #1 Second agreement")

    async def asked() -> str:
        clock.advance(minutes=5)  # a round of its own: one per ritual and planned minute
        await pg.command("anna", "run #1")
        prompt = (await pg.prompts())[-1]
        await pg.command("anna", "close #1")
        return prompt["intro"] + " " + " ".join(i["label"] for i in prompt["inputs"])

    assert "Second agreement" in await asked()
    later = await asked()
    assert "First agreement" not in later and "Second agreement" not in later
