"""Fan-out: 10,000 channels' prompts, due in the same minute, out through the outbox.

Ritme: the real app (``bot.server.create_app`` with Slack configured, so the real Slack
platform adapter and its ``AsyncWebClient``), the real engine and storage. The tick
(``Engine.fire_due``) opens the 10,000 occurrences and writes their prompts to the outbox;
then the dispatcher (``Engine.run_dispatcher``, as ``ritme serve`` runs it) delivers them
to a fake Slack Web API in its own process that answers HTTP 429 (``Retry-After: 1``) to
one ``chat.postMessage`` in ``RATELIMIT_EVERY``.

Baseline: a raw ``AsyncWebClient`` with one shared ``aiohttp.ClientSession`` and the same
retry handlers, posting the same messages (the same blocks) with the same concurrency and
no persistence; a call still refused after the client's own retry sleeps for Retry-After
and goes again.

The rituals have the many-rituals benchmark's mix of 12 schedules and 6 time zones.

Figures, each against the baseline's rate: delivery throughput (from the outbox holding
every prompt to the last outcome written back); end to end, on a second database: from the
minute the rituals are due, the tick and the dispatcher running together as in ``ritme
serve`` (delivery starts with the tick's first committed batch), to the last prompt
delivered; lost and duplicated messages, counted by the fake per channel; and the tick's
time to open the 10,000 occurrences alone.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    async_default_handlers,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select

from bench import Database, Figure, Timer, quiet_logs, wait_until
from bench.many_rituals import SCHEDULES, ZONES

CHANNELS = 10_000
CONCURRENCY = 32  # the engine's send_concurrency, and the baseline's
RATELIMIT_EVERY = 50  # one post in 50 answered 429
RETRY_AFTER = 1
SECRET = "bench-signing-secret"


def settings_for(url: str, api_url: str) -> Any:
    from bot.config import Settings

    return Settings(
        **{
            "RITME_DATABASE_URL": url,
            "RITME_SECRET_KEY": secrets.token_hex(32),
            "RITME_DEFAULT_LANGUAGE": "en",
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": api_url,
            "RITME_PLAYGROUND": False,
        }
    )


def lost_and_duplicated(stats: dict[str, Any], channels: list[str]) -> tuple[int, int]:
    posts = stats["posts"]
    lost = sum(1 for c in channels if posts.get(c, 0) == 0)
    duplicated = sum(max(0, posts.get(c, 0) - 1) for c in channels)
    return lost, duplicated


async def deliver(engine: Any, repo: Any, *, tick: int = 0) -> float:
    """Run the dispatcher until the outbox holds nothing pending; the seconds from its start
    to the last outcome written back (its ``sent_at``, the engine's clock at the write-back).
    With ``tick``, the tick opens that many due rituals meanwhile, as at the minute they
    are due: delivery starts with its first committed batch. The check runs five times a
    second: it shares the event loop and the database with the dispatcher it watches."""
    from storage.models import OutboxMessage
    from tests.fakes.bulk import utc_now

    async def delivered() -> bool:
        async with repo.session() as s:
            return not await s.scalar(select(OutboxMessage.id).where(OutboxMessage.status == "pending").limit(1))

    stop = asyncio.Event()
    started = utc_now()
    dispatcher = asyncio.create_task(engine.run_dispatcher(stop))
    if tick:
        opened = await engine.fire_due(utc_now())
        assert opened == tick, f"the tick opened {opened} of {tick}"
    finished = await wait_until(delivered, within=600, every=0.2)
    stop.set()
    await dispatcher
    async with repo.session() as s:
        last = await s.scalar(select(func.max(OutboxMessage.sent_at)))
    assert finished and last is not None, "the outbox was not delivered within 10 minutes"
    return (last - started).total_seconds()


async def run_ritme(url: str, count: int, *, end_to_end: bool = False) -> dict[str, Any]:
    from aiohttp import web

    from bot.server import ENGINE, REPO, create_app
    from storage.models import OutboxMessage
    from tests.fakes.bulk import channel_name, seed_rituals, utc_now
    from tests.fakes.slack_server import SlackProcess

    channels = [channel_name(i) for i in range(count)]
    with SlackProcess(ratelimit_every=RATELIMIT_EVERY, retry_after=RETRY_AFTER) as slack:
        app = create_app(settings_for(url, slack.api_url), background=False)
        runner = web.AppRunner(app)
        await runner.setup()  # the app's lifecycles: the Slack client's shared session
        try:
            engine, repo = app[ENGINE], app[REPO]
            now = utc_now()
            await seed_rituals(
                repo.engine, count, now=now, schedules=SCHEDULES, timezones=ZONES, due=lambda i, s, tz: now
            )
            if end_to_end:  # from the minute they are due to the last prompt delivered
                tick_s = 0.0
                seconds = await deliver(engine, repo, tick=count)
            else:  # the tick first; then delivery, from the outbox holding every prompt
                tick = Timer()
                opened = await engine.fire_due(utc_now())
                tick_s = tick.seconds
                assert opened == count, f"the tick opened {opened} of {count}"
                seconds = await deliver(engine, repo)
            example = await engine.prompt(1)
            stats = await asyncio.to_thread(slack.stats)
            async with repo.session() as s:
                left = int(
                    await s.scalar(
                        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
                    )
                    or 0
                )
            lost, duplicated = lost_and_duplicated(stats, channels)
        finally:
            await runner.cleanup()
    return {
        "tick_s": tick_s,
        "seconds": seconds,
        "rate": count / seconds,
        "lost": lost,
        "duplicated": duplicated,
        "ratelimited": stats["ratelimited"],
        "pending": left,
        "example": example,
    }


async def run_baseline(count: int, blocks: list[dict[str, Any]], text: str) -> dict[str, Any]:
    from tests.fakes.bulk import channel_name
    from tests.fakes.slack_server import SlackProcess

    with SlackProcess(ratelimit_every=RATELIMIT_EVERY, retry_after=RETRY_AFTER) as slack:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            client = AsyncWebClient(
                token="xoxb-test",
                base_url=slack.api_url,
                session=session,
                retry_handlers=[*async_default_handlers(), AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
            )
            queue: asyncio.Queue[str] = asyncio.Queue()
            for i in range(count):
                queue.put_nowait(channel_name(i))

            async def worker() -> None:
                while not queue.empty():
                    channel = queue.get_nowait()
                    while True:
                        try:
                            await client.api_call(
                                "chat.postMessage",
                                json={"channel": channel, "text": text, "blocks": blocks, "unfurl_links": False},
                            )
                            break
                        except SlackApiError as err:
                            if err.response.status_code != 429:
                                raise
                            await asyncio.sleep(float(err.response.headers.get("Retry-After", RETRY_AFTER)))

            clock = Timer()
            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            seconds = clock.seconds
        stats = await asyncio.to_thread(slack.stats)
    lost, duplicated = lost_and_duplicated(stats, [channel_name(i) for i in range(count)])
    return {"seconds": seconds, "rate": count / seconds, "lost": lost, "duplicated": duplicated}


async def run(db: Database, scale: float = 1.0) -> list[Figure]:
    from adapters.slack.blocks import prompt_blocks
    from rituals.i18n import translator

    count = max(100, int(CHANNELS * scale))
    async with quiet_logs():
        ritme = await run_ritme(await db.fresh("fanout"), count)
        whole = await run_ritme(await db.fresh("fanout-e2e"), count, end_to_end=True)
        prompt, _team = ritme["example"]
        base = await run_baseline(count, prompt_blocks(prompt, translator("en")), prompt.title)
    ratio = ritme["rate"] / base["rate"]
    whole_ratio = whole["rate"] / base["rate"]
    name = f"raw AsyncWebClient, shared session, {CONCURRENCY} concurrent"
    share = f"429 to 1 post in {RATELIMIT_EVERY}"
    return [
        Figure(
            bench="fan-out",
            what=f"{count:,} prompts delivered through the outbox ({share})",
            unit="msg/s",
            ritme=ritme["rate"],
            baseline=base["rate"],
            baseline_name=name,
            target=">= 0.8 of baseline",
            met=ratio >= 0.8,
            notes=f"ritme {ritme['seconds']:.2f} s, baseline {base['seconds']:.2f} s; "
            f"{ritme['ratelimited']} posts answered 429",
        ),
        Figure(
            bench="fan-out",
            what=f"end to end: {count:,} rituals due in the same minute, to the last prompt delivered",
            unit="msg/s",
            ritme=whole["rate"],
            baseline=base["rate"],
            baseline_name=f"{name}, nothing stored",
            target=">= 0.8 of baseline",
            met=whole_ratio >= 0.8,
            notes=f"ritme {whole['seconds']:.2f} s from the minute (tick and delivery together), "
            f"baseline {base['seconds']:.2f} s; lost {whole['lost']}, duplicated {whole['duplicated']}",
        ),
        Figure(
            bench="fan-out",
            what="lost / duplicated messages",
            unit="",
            ritme=ritme["lost"] + ritme["duplicated"],
            baseline=base["lost"] + base["duplicated"],
            baseline_name=name,
            higher_is_better=False,
            target="0 lost, 0 duplicated",
            met=ritme["lost"] == 0 and ritme["duplicated"] == 0 and ritme["pending"] == 0,
            notes=f"ritme lost {ritme['lost']}, duplicated {ritme['duplicated']}, left pending {ritme['pending']}; "
            f"baseline lost {base['lost']}, duplicated {base['duplicated']}",
        ),
        Figure(
            bench="fan-out",
            what=f"tick opening {count:,} due occurrences (and their outbox rows)",
            unit="s",
            ritme=ritme["tick_s"],
            higher_is_better=False,
            notes=f"{count / ritme['tick_s']:,.0f} rituals/s; end to end (tick + delivery) "
            f"{ritme['tick_s'] + ritme['seconds']:.1f} s",
        ),
    ]
