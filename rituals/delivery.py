"""Delivery: the outbox's messages sent through the platforms, in order per conversation,
with retries and backoff, and their outcomes written back in group commits."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rituals.i18n import translator
from rituals.kinds import KINDS
from rituals.logcontext import about
from rituals.ports import (
    NO_TELEMETRY,
    Delivery,
    OccurrenceView,
    OutboxItem,
    Platform,
    RitualView,
    Store,
    TeamView,
    Telemetry,
)
from rituals.types import DeliveryError, Notice, Prompt

if TYPE_CHECKING:
    from rituals.engine import EngineSettings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


class Dispatcher:
    """Sends what the outbox holds. ``prompt`` reads and renders an occurrence's prompt;
    ``render`` renders one from views already read; ``wake`` is set when messages wait;
    ``telemetry`` hears the outcome of every send."""

    def __init__(
        self,
        store: Store,
        platforms: dict[str, Platform],
        settings: EngineSettings,
        *,
        clock: Callable[[], datetime],
        rng: random.Random,
        wake: asyncio.Event,
        prompt: Callable[[int], Awaitable[tuple[Prompt, TeamView] | None]],
        render: Callable[[RitualView, TeamView, OccurrenceView], Prompt],
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.store, self.platforms, self.settings = store, platforms, settings
        self.clock, self.rng, self.wake = clock, rng, wake
        self.prompt, self.render_prompt = prompt, render
        self.telemetry = telemetry

    async def dispatch(self) -> int:
        """Deliver one batch of due outbox messages; returns how many were handled."""
        now = self.clock()
        items = await self.store.claim_outbox(
            now, self.settings.batch, self.settings.replica, self.settings.lease_seconds
        )
        if not items:
            return 0
        rendered = await self._render_batch(items)
        # Conversations are served concurrently; within one conversation, in order, so
        # results never overtake the prompt they belong to.
        limit = asyncio.Semaphore(self.settings.send_concurrency)
        queues: dict[tuple[str, str, str | None], list[OutboxItem]] = {}
        for item in items:
            queues.setdefault(conversation_of(item), []).append(item)

        async def conversation(queue: list[OutboxItem]) -> list[Delivery]:
            async with limit:
                return [await self._deliver(item, rendered) for item in queue]

        done = await asyncio.gather(*(conversation(q) for q in queues.values()))
        deliveries = [d for queue in done for d in queue]
        await self.store.finish_outbox(deliveries, self.clock())
        await self._pause_undeliverable(deliveries)
        return len(items)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver the outbox until ``stop`` is set, then finish what was claimed and return.

        Unlike ``dispatch`` there is no batch barrier: claims run ahead of the sends (at most
        four batches claimed and unfinished), one worker at a time serves a conversation in
        order, at most ``send_concurrency`` sends run at once, and outcomes are written back
        in group commits (at least every 50 ms). So one slow send (a rate limit the platform
        client honours by waiting) holds up its own conversation only.

        Stopping, it claims nothing more, finishes the sends under way and gives back what
        it had claimed and not started. A replica that dies leaves its claimed, unfinished
        messages to be sent by another after their lease; only those that the platform had
        accepted and whose outcome was not yet written back go out twice.
        """
        await _Pipeline(self).run(stop)

    async def _render_batch(self, items: list[OutboxItem]) -> dict[int, tuple[Prompt, TeamView] | None]:
        """The prompts a batch needs, read in one transaction (not one per message)."""
        wanted: set[int] = set()
        for item in items:
            if item.payload.get("type") in ("prompt", "reminder", "prompt_closed"):
                try:
                    wanted.add(int(item.payload["occurrence_id"]))
                except (KeyError, TypeError, ValueError):
                    continue  # _deliver reports it for this message alone
        rendered: dict[int, tuple[Prompt, TeamView] | None] = {}
        if not wanted:
            return rendered
        try:
            found = await self.store.outbox_prompts(sorted(wanted))
            for occ_id in wanted:
                views = found.get(occ_id)
                rendered[occ_id] = (self.render_prompt(views[1], views[2], views[0]), views[2]) if views else None
        except Exception:  # each message then renders its own, and fails on its own
            log.exception("rendering a batch of prompts failed")
            return {}
        return rendered

    async def _deliver(
        self, item: OutboxItem, rendered: dict[int, tuple[Prompt, TeamView] | None] | None = None
    ) -> Delivery:
        """Send one outbox message (``_attempt``), its log lines about its team and platform,
        and tell ``telemetry`` how it went."""
        with about(team_id=item.team_id, platform=item.destination.platform):
            delivery = await self._attempt(item, rendered)
        self.telemetry.sent(item.destination.platform, send_outcome(delivery))
        return delivery

    async def _attempt(
        self, item: OutboxItem, rendered: dict[int, tuple[Prompt, TeamView] | None] | None = None
    ) -> Delivery:
        """Send one outbox message by its type; a failure comes back as the Delivery's error,
        with a retry time while another attempt may still succeed."""
        platform = self.platforms.get(item.destination.platform)
        if platform is None:
            return Delivery(item=item, error="no adapter for platform", retry_at=None)
        outgoing = _Outgoing(
            item=item,
            platform=platform,
            store=self.store,
            rendered=rendered if rendered is not None else {},
            load=self.prompt,
        )
        try:
            kind = item.payload.get("type")
            send = SENDERS.get(kind) if isinstance(kind, str) else None
            if send is None:
                return Delivery(item=item, error=f"unknown message type {kind!r}")
            return await send(outgoing)
        except DeliveryError as err:
            return self._refused(item, err)
        except Exception as err:  # a bug or an unexpected platform answer: retry, then give up
            log.exception("outbox %s: unexpected error", item.id)
            retry = self.clock() + timedelta(seconds=self._backoff(item.attempts))
            return Delivery(item=item, error=repr(err)[:400], retry_at=retry if item.attempts < MAX_ATTEMPTS else None)

    def _refused(self, item: OutboxItem, err: DeliveryError) -> Delivery:
        """The platform refused: try again later if it may pass (after the delay it asked for), else give up."""
        if err.retryable and item.attempts < MAX_ATTEMPTS:
            delay = err.retry_after if err.retry_after is not None else self._backoff(item.attempts)
            log.warning("outbox %s: %s; retry in %.1fs", item.id, err.reason, delay)
            return Delivery(
                item=item,
                error=err.reason,
                retry_at=self.clock() + timedelta(seconds=delay),
                rate_limited=err.retry_after is not None,
            )
        log.error("outbox %s: giving up: %s", item.id, err.reason)
        return Delivery(item=item, error=err.reason)

    def _backoff(self, attempts: int) -> float:
        base: float = min(600.0, 2.0 ** max(attempts, 1))
        return base / 2 + self.rng.random() * base / 2

    async def _pause_undeliverable(self, deliveries: list[Delivery]) -> None:
        """A prompt that can never be delivered pauses its ritual instead of retrying forever."""
        failed = [d for d in deliveries if d.error and d.retry_at is None and d.item.occurrence_id]
        if not failed:
            return
        async with self.store.transaction() as tx:
            for d in failed:
                assert d.item.occurrence_id is not None
                occ = await tx.occurrence(d.item.occurrence_id)
                # Only the channel going away stops a ritual; one member's direct
                # conversation failing (they left, blocked the app) does not.
                if occ is not None and d.item.payload.get("type") == "prompt" and d.item.destination.user_id is None:
                    await tx.set_paused(occ.ritual_id, True)
                    log.error("ritual #%s paused: %s", occ.ritual_id, d.error)


@dataclass(frozen=True, kw_only=True, slots=True)
class _Outgoing:
    """One outbox message on its way out, with what sending it may need."""

    item: OutboxItem
    platform: Platform
    store: Store
    rendered: dict[int, tuple[Prompt, TeamView] | None]  # prompts rendered for the whole batch
    load: Callable[[int], Awaitable[tuple[Prompt, TeamView] | None]]  # reads and renders one

    @property
    def occurrence_id(self) -> int:
        return int(self.item.payload["occurrence_id"])

    async def prompt(self, occurrence_id: int) -> tuple[Prompt, TeamView] | None:
        """The occurrence's prompt and its team (None when it is gone): from the batch, else read now."""
        if occurrence_id in self.rendered:
            return self.rendered[occurrence_id]
        return await self.load(occurrence_id)


async def _send_prompt(out: _Outgoing) -> Delivery:
    found = await out.prompt(out.occurrence_id)
    if found is None:
        return Delivery(item=out.item, error="occurrence gone")
    ref = await out.platform.send_prompt(out.item.destination, found[0])
    return Delivery(item=out.item, ref=ref)


async def _send_reminder(out: _Outgoing) -> Delivery:
    found = await out.prompt(out.occurrence_id)
    if found is None or found[0].closed:
        return Delivery(item=out.item)  # closed meanwhile: nothing to remind of
    current, team = found
    _ = translator(team.language)
    if KINDS[current.kind].private:  # a nudge, halfway through the period
        reminder = replace(current, intro=_("Halfway through this round: did you and your pair meet?"))
    else:
        reminder = replace(
            current,
            title=_("Reminder: {title}", title=current.title),
            intro=_("This round closes soon and your answer still counts. (Mute reminders with /ritme reminders off.)")
            + "\n\n"
            + current.intro,
        )
    ref = await out.platform.send_prompt(out.item.destination, reminder)
    return Delivery(item=out.item, ref=ref)


async def _update_closed(out: _Outgoing) -> Delivery:
    """A round closed: every message that carried its prompt shows it closed."""
    occ_id = out.occurrence_id
    found = await out.prompt(occ_id)
    async with out.store.transaction() as tx:
        refs = await tx.prompt_refs(occ_id)
    if found is not None:
        for to, ref in refs:
            await out.platform.update_prompt(ref, to, found[0])
    return Delivery(item=out.item)


async def _send_notice(out: _Outgoing) -> Delivery:
    ref = await out.platform.send_notice(out.item.destination, notice_from_dict(out.item.payload["notice"]))
    return Delivery(item=out.item, ref=ref)


# What an outbox message's "type" asks for.
SENDERS: dict[str, Callable[[_Outgoing], Awaitable[Delivery]]] = {
    "prompt": _send_prompt,
    "reminder": _send_reminder,
    "prompt_closed": _update_closed,
    "notice": _send_notice,
}


def send_outcome(delivery: Delivery) -> str:
    """How a send went, as ``Telemetry.sent`` names it (``SEND_OUTCOMES``)."""
    if delivery.error is None:
        return "sent"
    if delivery.retry_at is None:
        return "failed"
    return "429" if delivery.rate_limited else "retried"


def conversation_of(item: OutboxItem) -> tuple[str, str, str | None]:
    """Messages to one conversation go out in order; different conversations in parallel."""
    d = item.destination
    return (d.platform, d.channel_id, d.user_id)


async def _wait_any(*events: asyncio.Event, within: float | None = None) -> None:
    """Until one of the events is set, or ``within`` seconds."""
    if any(e.is_set() for e in events):
        return
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


class _Pipeline:
    """One run of ``Engine.run_dispatcher``: a claimer, send workers and a group committer."""

    FLUSH_SECONDS = 0.05  # outcomes wait at most this long for their group commit

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.batch = max(1, dispatcher.settings.batch)
        self.capacity = 4 * self.batch
        self.queues: dict[tuple[str, str, str | None], deque[OutboxItem]] = {}
        self.ready: asyncio.Queue[tuple[str, str, str | None]] = asyncio.Queue()
        self.rendered: dict[int, tuple[Prompt, TeamView] | None] = {}
        self.needs: Counter[int] = Counter()  # unfinished messages per rendered occurrence
        self.unfinished = 0  # claimed and not yet written back
        self.done: list[Delivery] = []
        self.room = asyncio.Event()
        self.drained = asyncio.Event()
        self.drained.set()
        self.flush_now = asyncio.Event()
        self.closing = False

    async def run(self, stop: asyncio.Event) -> None:
        workers = [
            asyncio.create_task(self._worker()) for _ in range(max(1, self.dispatcher.settings.send_concurrency))
        ]
        committer = asyncio.create_task(self._committer())
        try:
            await self._claimer(stop)
            self._release_waiting()
            await self.drained.wait()  # the sends in flight finish
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self.closing = True
            self.flush_now.set()
            await asyncio.gather(committer, return_exceptions=True)  # the last group commit

    async def _claimer(self, stop: asyncio.Event) -> None:
        dispatcher = self.dispatcher
        while not stop.is_set():
            room = self.capacity - self.unfinished
            if room <= 0:
                self.room.clear()
                await _wait_any(self.room, stop)
                continue
            dispatcher.wake.clear()  # before the claim: a wake during it is not lost
            try:
                items = await dispatcher.store.claim_outbox(
                    dispatcher.clock(),
                    min(self.batch, room),
                    dispatcher.settings.replica,
                    dispatcher.settings.lease_seconds,
                )
            except Exception:
                log.exception("claiming outbox messages failed; trying again shortly")
                await _wait_any(stop, within=1.0)
                continue
            if not items:
                await _wait_any(dispatcher.wake, stop, within=1.0)
                continue
            self.unfinished += len(items)
            self.drained.clear()
            self.rendered.update(await dispatcher._render_batch(items))
            for item in items:
                if item.occurrence_id is not None:
                    self.needs[item.occurrence_id] += 1
                key = conversation_of(item)
                queue = self.queues.get(key)
                if queue is None:
                    queue = self.queues[key] = deque()
                    self.ready.put_nowait(key)
                queue.append(item)

    async def _worker(self) -> None:
        while True:
            key = await self.ready.get()
            queue = self.queues[key]
            while queue:
                item = queue.popleft()
                try:
                    delivery = await self.dispatcher._deliver(item, self.rendered)
                except Exception as err:  # _deliver reports its own failures; this is a bug
                    log.exception("outbox %s: delivery crashed", item.id)
                    delivery = Delivery(
                        item=item, error=repr(err)[:400], retry_at=self.dispatcher.clock() + timedelta(seconds=60)
                    )
                self._finished(delivery)
            del self.queues[key]  # no await since the queue was seen empty

    def _release_waiting(self) -> None:
        """Stopping: what no worker has started goes back to the outbox at once (lease
        cleared, due now), so another replica sends it without waiting for the lease."""
        now = self.dispatcher.clock()
        for queue in self.queues.values():
            while queue:
                item = queue.popleft()
                self._finished(Delivery(item=item, error="released: the replica is stopping", retry_at=now))

    def _finished(self, delivery: Delivery) -> None:
        self.done.append(delivery)
        self.unfinished -= 1
        self.room.set()
        if self.unfinished == 0:
            self.drained.set()
        if len(self.done) >= self.batch:
            self.flush_now.set()

    async def _committer(self) -> None:
        failures = 0
        while True:
            await _wait_any(self.flush_now, within=self.FLUSH_SECONDS)
            self.flush_now.clear()
            closing = self.closing
            if await self._flush():
                failures = 0
            else:
                failures += 1
                if closing and failures >= 5:
                    log.error(
                        "%d deliveries not written back; their lease runs out and they go out again", len(self.done)
                    )
                    return
                await asyncio.sleep(min(1.0, 0.2 * failures))
            if closing and not self.done:
                return

    async def _flush(self) -> bool:
        """Write back what finished, in one transaction; kept for the next try on failure."""
        if not self.done:
            return True
        batch, self.done = self.done, []
        try:
            await self.dispatcher.store.finish_outbox(batch, self.dispatcher.clock())
        except Exception:
            log.exception("writing back %d deliveries failed; trying again shortly", len(batch))
            self.done = batch + self.done
            return False
        for d in batch:
            occurrence = d.item.occurrence_id
            if occurrence is not None:
                self.needs[occurrence] -= 1
                if self.needs[occurrence] <= 0:
                    del self.needs[occurrence]
                    self.rendered.pop(occurrence, None)
        try:
            await self.dispatcher._pause_undeliverable(batch)
        except Exception:
            log.exception("pausing rituals whose prompts cannot be delivered failed")
        return True


def notice_to_dict(notice: Notice) -> dict[str, Any]:
    return {
        "title": notice.title,
        "text": notice.text,
        "fields": [list(f) for f in notice.fields],
        "footer": notice.footer,
    }


def notice_from_dict(data: dict[str, Any]) -> Notice:
    return Notice(
        title=str(data.get("title", "")),
        text=str(data.get("text", "")),
        fields=tuple((str(a), str(b)) for a, b in data.get("fields", [])),
        footer=str(data.get("footer", "")),
    )
