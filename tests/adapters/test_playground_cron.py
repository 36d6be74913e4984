"""``add … cron "…"`` through the playground: the field that is wrong is named, and a ritual
stored before the stricter crontab reader keeps working where it can and says why where not."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from bot.server import ENGINE, REPO
from storage.models import Ritual
from tests.fakes.clock import Clock
from tests.fakes.playground import Playground, open_playground


async def test_cron_names_and_sundays_as_crontab_reads_them(pg: Playground) -> None:
    added = await pg.command("anna", 'add reflection cron "0 9 10 nov-12 *"')
    assert added["title"] == "Ritual #1 added", added
    assert "Thu 10 Dec 09:00" in added["text"], added["text"]
    # The playground's clock: Sunday 2026-11-22, 12:00. Next Sunday, not Monday.
    added = await pg.command("anna", 'add checkout cron "0 9 * * sun-sun"')
    assert "Sun 29 Nov 09:00" in added["text"], added["text"]


async def test_a_bare_step_is_refused_with_the_range_written_out(pg: Playground) -> None:
    reply = await pg.command("anna", 'add reflection cron "0 9 1 jan/3 *"')
    assert reply["title"] == "That did not work"
    assert "jan-dec/3" in reply["text"], reply["text"]
    assert (await pg.command("anna", "list"))["fields"] == []
    await pg.command("anna", "language nl")
    reply = await pg.command("anna", 'add reflection cron "0 9 * * mon-fri/x"')
    assert reply["text"] == "In cron moet de stap in mon-fri/x een heel getal zijn, vanaf 1.", reply


async def test_a_schedule_stored_before_the_stricter_reader(sqlite_url: str) -> None:
    """``5/15`` was taken by APScheduler as 5-59/15; now it is refused. The stored ritual is
    listed as typed, the engine pauses it, and resuming it says what to write instead."""
    clock = Clock(datetime(2026, 12, 5, 8, 0, tzinfo=UTC))
    async with open_playground(sqlite_url, clock) as pg:
        await pg.command("anna", 'add reflection cron "5-59/15 9 * * *"')
        async with pg.app[REPO].session() as s:
            await s.execute(update(Ritual).where(Ritual.id == 1).values(schedule='cron "5/15 9 * * *"'))
        listing = await pg.command("anna", "list")
        assert 'cron "5/15 9 * * *"' in listing["fields"][0][1], listing
        zone = await pg.command("anna", "timezone Europe/London")
        assert zone["title"] == "Timezone set", zone
        clock.advance(hours=1)
        assert await pg.app[ENGINE].fire_due(clock()) == 0
        (ritual,) = await pg.app[REPO].rituals(1)
        assert ritual.paused and ritual.next_due_at is None
        resumed = await pg.command("anna", "resume 1")
        assert resumed["title"] == "That did not work"
        assert "5-59/15" in resumed["text"], resumed
        (ritual,) = await pg.app[REPO].rituals(1)
        assert ritual.paused
