"""About one message a second per channel, without waiting for real: the pacer's clock and
sleep are fakes that record the waits."""

from __future__ import annotations

import asyncio

from adapters.slack.pacing import ChannelPacer
from tests.adapters.slack.conftest import ADMIN, CHANNEL, Harness, PaceClock


async def test_a_channel_waits_its_turn_and_others_do_not() -> None:
    clock = PaceClock()
    pacer = ChannelPacer(1.0, clock=clock, sleep=clock.sleep)
    assert [await pacer.wait("C1") for _ in range(3)] == [0.0, 1.0, 1.0]
    assert await pacer.wait("C2") == 0.0
    clock.now += 5  # a quiet while later: no wait
    assert await pacer.wait("C1") == 0.0
    assert clock.waits == [1.0, 1.0]


async def test_concurrent_senders_queue_up() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # the clock stands still: all three reserve at once
        waits.append(seconds)

    pacer = ChannelPacer(1.0, clock=lambda: 50.0, sleep=sleep)
    assert sorted(await asyncio.gather(*(pacer.wait("C1") for _ in range(3)))) == [0.0, 1.0, 2.0]
    assert sorted(waits) == [1.0, 2.0]


async def test_messages_to_one_channel_go_out_a_second_apart(slack: Harness) -> None:
    await slack.command("add reflection every monday at 09:00 team", user=ADMIN)
    await slack.command("run #1", user=ADMIN)
    await slack.dispatch()
    await slack.command("close #1", user=ADMIN)  # the prompt's update and the results, right after
    await slack.dispatch()
    methods = [c.method for c in slack.fake.calls if c.method.startswith("chat.") and c.body.get("channel") == CHANNEL]
    assert methods == ["chat.postMessage", "chat.update", "chat.postMessage"]
    assert slack.pace.waits == [1.0, 1.0]  # the pacer's clock only moves when it sleeps


async def test_quiet_channels_are_forgotten() -> None:
    clock = PaceClock()
    pacer = ChannelPacer(1.0, clock=clock, sleep=clock.sleep)
    for n in range(100):
        await pacer.wait(f"C{n}")
    clock.now += ChannelPacer.PRUNE_EVERY
    await pacer.wait("C1")
    assert list(pacer._next) == ["C1"]
