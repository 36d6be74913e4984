"""Which token speaks for a workspace: the store is read once per ``ttl``, however many
requests ask at once, and a change this process makes itself is never hidden by a read
that began before it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from adapters.slack.installs import Tokens


@dataclass
class State:
    enabled: bool
    installer_user_id: str | None = None
    bot_token: str | None = "xoxb-w"


class Store:
    def __init__(self) -> None:
        self.reads = 0
        self.enabled = True
        self.gate = asyncio.Event()
        self.reading = asyncio.Event()

    async def async_workspace(self, workspace_id: str) -> State:
        self.reads += 1
        self.reading.set()
        enabled = self.enabled  # what the store holds when the read starts
        await self.gate.wait()
        return State(enabled=enabled)

    async def async_disable(self, workspace_id: str) -> None:
        self.enabled = False

    async def async_enable(self, workspace_id: str) -> bool:
        self.enabled = True
        return True


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_requests_that_find_the_cache_out_of_date_share_one_read() -> None:
    store, clock = Store(), Clock()
    tokens = Tokens(bot_token=None, installations=store, ttl=30, clock=clock)
    asking = [asyncio.create_task(tokens.token("W1")) for _ in range(50)]
    await store.reading.wait()
    await asyncio.sleep(0)  # the others ask meanwhile
    store.gate.set()
    assert await asyncio.gather(*asking) == ["xoxb-w"] * 50
    assert store.reads == 1
    clock.now = 29.0
    assert await tokens.token("W1") == "xoxb-w" and store.reads == 1
    clock.now = 31.0
    assert await tokens.token("W1") == "xoxb-w" and store.reads == 2


async def test_a_read_that_began_before_this_process_disabled_the_workspace_is_not_kept() -> None:
    store, clock = Store(), Clock()
    tokens = Tokens(bot_token=None, installations=store, ttl=30, clock=clock)
    early = asyncio.create_task(tokens.state("W1"))
    await store.reading.wait()  # the read has begun, and saw the workspace enabled
    await tokens.disable("W1")
    store.gate.set()
    assert (await early).enabled  # what it read
    assert not (await tokens.state("W1")).enabled  # not what is kept
    assert store.reads == 2
