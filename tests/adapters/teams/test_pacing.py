"""Pacing under Teams' limits and retries of transient failures, on recorded waits: an
injected clock and sleep, nothing waits for real and nothing is timed."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.teams.platform import TENANT_LIMITS, THREAD_LIMITS, Pacer, Retry, TeamsPlatform
from bot.server import ENGINE, REPO
from rituals.types import ChannelRef, DeliveryError, Notice
from storage.models import OutboxMessage
from tests.adapters.teams.conftest import GENERAL, TENANT, PaceClock, Teams


def within_limits(times: list[float], limits: tuple[tuple[float, int], ...]) -> bool:
    """No window of any limit holds more sends than it allows (windows are half-open)."""
    return all(times[i + count] - times[i] >= window for window, count in limits for i in range(len(times) - count))


def test_the_limits_are_teams_own() -> None:
    assert (1.0, 7) in THREAD_LIMITS and (30.0, 60) in THREAD_LIMITS  # per bot and conversation
    assert TENANT_LIMITS == ((1.0, 50),)  # per app and tenant


def test_a_burst_into_one_conversation_is_spread_over_the_windows() -> None:
    pace = PaceClock()
    pacer = Pacer(THREAD_LIMITS, clock=pace, sleep=pace.sleep)
    slots = [pace.now + pacer.book("chat") for _ in range(130)]
    offsets = [s - pace.now for s in slots]
    assert offsets[:7] == [0.0] * 7  # about 7 a second go at once
    assert offsets[7] == 1.0  # the 8th waits for the first second to pass
    assert offsets[60] == 30.0  # the 61st waits for the first 30 seconds to pass
    assert offsets[120] == 60.0
    assert offsets == sorted(offsets)  # in order
    assert within_limits(slots, THREAD_LIMITS)
    assert not within_limits([0.0] * 8, THREAD_LIMITS)  # the check itself bites


async def test_waits_are_recorded_not_slept_and_other_conversations_go_on() -> None:
    pace = PaceClock()
    pacer = Pacer(THREAD_LIMITS, clock=pace, sleep=pace.sleep)
    sent: list[float] = []
    for _ in range(70):
        await pacer.wait("chat")
        sent.append(pace.now)
    assert pace.waits and all(w > 0 for w in pace.waits)  # a free slot is not slept for
    assert sum(pace.waits) == pytest.approx(sent[-1] - sent[0])
    assert within_limits(sent, THREAD_LIMITS)
    assert sent[60] - sent[0] == pytest.approx(30.0)  # 60 in the first 30 seconds, then the window
    waited = len(pace.waits)
    assert await pacer.wait("another chat") == 0.0  # a busy conversation holds up no other
    assert len(pace.waits) == waited


async def test_concurrent_senders_queue_up_in_booked_order() -> None:
    now = 50.0
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # records, and lets the others book meanwhile
        waits.append(seconds)
        await asyncio.sleep(0)

    pacer = Pacer(THREAD_LIMITS, clock=lambda: now, sleep=sleep)
    delays = await asyncio.gather(*(pacer.wait("chat") for _ in range(10)))
    assert delays == [0.0] * 7 + [1.0, 2.0, 2.0]
    assert waits == [1.0, 2.0, 2.0]
    assert within_limits([now + d for d in delays], THREAD_LIMITS)


def test_quiet_conversations_are_forgotten() -> None:
    pace = PaceClock()
    pacer = Pacer(THREAD_LIMITS, clock=pace, sleep=pace.sleep)
    for key in range(100):
        pacer.book(key)
    pace.now += 3600.0 + Pacer.PRUNE_EVERY
    pacer.book("now")
    assert list(pacer._booked) == ["now"]


def test_the_tenant_limit_spreads_many_conversations() -> None:
    pace = PaceClock()
    pacer = Pacer(TENANT_LIMITS, clock=pace, sleep=pace.sleep)
    offsets = [pacer.book(TENANT) for _ in range(120)]
    assert offsets[:50] == [0.0] * 50 and offsets[50] == 1.0 and offsets[100] == 2.0


def test_no_limits_means_no_waits() -> None:
    pacer = Pacer()
    assert [pacer.book("chat") for _ in range(100)] == [0.0] * 100


# -- retries --------------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_and_honours_retry_after() -> None:
    retry = Retry(base=1.0)
    rng = random.Random(3)
    for attempt in range(1, 6):
        backoff = 2.0 ** (attempt - 1)
        delays = [retry.delay(attempt, None, rng) for _ in range(200)]
        assert all(backoff / 2 <= d < backoff for d in delays)  # equal jitter
        assert len(set(delays)) > 100  # spread, so that senders do not retry together
    assert all(7.0 <= retry.delay(1, 7.0, rng) < 7.5 for _ in range(100))  # never sooner than Retry-After
    assert retry.delay(3, 0.5, rng) >= 2.0  # the backoff when it is longer
    assert Retry().delay(2, None, random.Random(1)) == Retry().delay(2, None, random.Random(1))  # seeded: repeatable


def retrying_platform(teams: Teams, pace: PaceClock, **retry: float) -> TeamsPlatform:
    app_platform = teams.app[ENGINE].platforms["teams"]
    assert isinstance(app_platform, TeamsPlatform)
    return TeamsPlatform(
        app_platform.adapter,
        app_platform.app_id,
        app_platform.references,
        pacer=Pacer(),
        tenant_pacer=Pacer(),
        retry=Retry(**retry),  # type: ignore[arg-type]
        sleep=pace.sleep,
        rng=random.Random(11),
    )


CHANNEL = ChannelRef(platform="teams", workspace_id=TENANT, channel_id=GENERAL)


def posts(teams: Teams) -> int:
    return len([s for s in teams.fake.sent if s.method == "POST" and s.conversation_id == GENERAL])


@pytest.mark.parametrize("status", [429, 412, 502, 504])
async def test_transient_failures_are_tried_again_with_backoff(teams: Teams, status: int) -> None:
    await teams.install("anna")
    pace = PaceClock()
    platform = retrying_platform(teams, pace)
    for _ in range(3):
        teams.fake.fail_next(status)
    before = posts(teams)
    ref = await platform.send_notice(CHANNEL, Notice(text="hi"))
    assert ref.message_id and posts(teams) == before + 1  # delivered once
    assert len(pace.waits) == 3
    for attempt, wait in enumerate(pace.waits, start=1):
        assert 2 ** (attempt - 1) / 2 <= wait < 2 ** (attempt - 1)


async def test_retry_after_is_honoured(teams: Teams) -> None:
    await teams.install("anna")
    pace = PaceClock()
    platform = retrying_platform(teams, pace)
    teams.fake.fail_next(429, retry_after="4")
    await platform.send_notice(CHANNEL, Notice(text="hi"))
    assert len(pace.waits) == 1 and 4.0 <= pace.waits[0] < 4.5


async def test_a_long_retry_after_goes_back_to_the_outbox_and_is_sent_after_it(teams: Teams) -> None:
    await teams.install("anna")
    pace = PaceClock()
    platform = retrying_platform(teams, pace, longest=15.0)
    teams.fake.fail_next(429, retry_after="60")
    with pytest.raises(DeliveryError) as err:
        await platform.send_notice(CHANNEL, Notice(text="hi"))
    assert err.value.retryable and err.value.retry_after == 60 and pace.waits == []

    # Through the engine: the outbox keeps the message and sends it once Retry-After passed.
    await teams.say("anna", "add reflection every monday at 09:00 team")
    await teams.say("anna", "run #1")
    teams.fake.fail_next(429, retry_after="60")
    before = posts(teams)
    await teams.deliver()
    assert posts(teams) == before
    async with teams.app[REPO].session() as s:
        pending = (await s.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending"))).all()
    assert len(pending) == 1 and pending[0].next_attempt_at is not None
    assert pending[0].next_attempt_at.replace(tzinfo=None) == (teams.clock.now + timedelta(seconds=60)).replace(
        tzinfo=None
    )
    teams.clock.advance(seconds=61)
    await teams.deliver()
    assert posts(teams) == before + 1


async def test_tries_run_out_and_other_failures_are_not_retried_here(teams: Teams) -> None:
    await teams.install("anna")
    pace = PaceClock()
    platform = retrying_platform(teams, pace, attempts=3)
    for _ in range(3):
        teams.fake.fail_next(502)
    with pytest.raises(DeliveryError) as err:
        await platform.send_notice(CHANNEL, Notice(text="hi"))
    assert err.value.retryable and len(pace.waits) == 2  # three tries, two waits

    for status, retryable in ((500, True), (503, True), (403, False), (400, False)):
        pace.waits.clear()
        teams.fake.fail_next(status)
        with pytest.raises(DeliveryError) as err:
            await platform.send_notice(CHANNEL, Notice(text="hi"))
        assert err.value.retryable is retryable and pace.waits == []  # the outbox decides
