"""About one message a second per channel: Slack's own guideline for ``chat.postMessage``.

``ChannelPacer.wait(key)`` returns at once for a quiet channel and otherwise sleeps until
``interval`` seconds after the previous message to that channel. Slots are reserved before
sleeping, so concurrent senders to one channel queue up instead of all waking together.
Other channels are never held up. The clock and the sleep are injected: tests record the
waits instead of waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable


class ChannelPacer:
    def __init__(
        self,
        interval: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._next: dict[Hashable, float] = {}
        self._prune_at = clock() + self.PRUNE_EVERY

    PRUNE_EVERY = 30.0  # seconds: channels quiet since then are forgotten (one pass, not per message)

    async def wait(self, key: Hashable) -> float:
        """Wait for the channel's turn; returns how long it waited."""
        now = self.clock()
        if now >= self._prune_at:
            self._next = {k: t for k, t in self._next.items() if t > now}
            self._prune_at = now + self.PRUNE_EVERY
        slot = max(now, self._next.get(key, now))
        self._next[key] = slot + self.interval
        delay = slot - now
        if delay > 0:
            await self.sleep(delay)
        return delay
