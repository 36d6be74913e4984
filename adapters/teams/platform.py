"""Microsoft Teams as a ``rituals.ports.Platform``: proactive Adaptive Cards through the SDK.

Teams only lets a bot post where it has been installed, and only through the
``serviceUrl`` of that conversation; both are in the conversation reference stored when the
bot was installed or spoken to. ``References`` is how this module asks for it, so that it
knows nothing of the database.

Sending is paced (``Pacer``) under Teams' limits per bot and conversation (7 a second, 8 in
2 seconds, 60 in 30 seconds, 1,800 an hour) and per tenant (50 a second). Transient failures
(412, 429, 502, 504) are tried again here with exponential backoff and jitter, never sooner
than ``Retry-After`` (``Retry``); a longer wait, and any other failure, becomes a
``DeliveryError`` for the outbox.

Appreciation rounds go through 1:1 chats, as on Slack through direct messages. When the
round's prompt is posted in the channel, ``rounds.private_round`` first queues the same
prompt for every member of the round as a 1:1 card (idempotent: a retried channel post
queues nobody twice); the channel card then says so. Each 1:1 card names the colleague the
member is asked to appreciate and has them chosen already (``rounds.assigned_colleague``);
another may be chosen. The engine's reminder (``ChannelRef(user_id=...)``) is a 1:1 card
too, naming the same colleague.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
)

from adapters.teams.cards import attachment, notice_card, prompt_card
from adapters.teams.people import Directory, Person
from rituals.i18n import translator
from rituals.types import ChannelRef, DeliveryError, MessageRef, Notice, Prompt

log = logging.getLogger(__name__)

PLATFORM = "teams"
APPRECIATION = "appreciation"  # the ritual kind that goes through 1:1 chats on Teams
RETRYABLE = {408, 412, 429, 500, 502, 503, 504}
TRANSIENT = {412, 429, 502, 504}  # what Microsoft asks bots to retry with backoff and jitter
GONE = {401, 403, 404, 410}
# Teams' documented limits: per bot per conversation (thread), and per app per tenant.
THREAD_LIMITS = ((1.0, 7), (2.0, 8), (30.0, 60), (3600.0, 1800))
TENANT_LIMITS = ((1.0, 50),)


class References(Protocol):
    """Where the conversation references of installed channels are kept."""

    async def reference(self, to: ChannelRef) -> dict[str, Any] | None:
        """The stored reference (SDK JSON) of the channel, or None when never installed.
        For a member's 1:1 chat (``to.channel_id`` is the chat, ``to.user_id`` set) where a
        prompt landed: the reference of that prompt's team channel (its service URL)."""
        ...


class Rounds(Protocol):
    """What the platform asks the bot while rendering (``bot/teams_support.py``)."""

    async def language_of(self, channel: ChannelRef) -> str:
        """The language of the channel's team (the default when it has none yet)."""
        ...

    async def assigned_colleague(self, occurrence_id: int, workspace_id: str, user_id: str) -> tuple[str, str] | None:
        """(option value, name) of the colleague this member is asked to appreciate in the
        round; None when the member is not in the round's roster."""
        ...

    async def private_round(self, channel: ChannelRef, occurrence_id: int) -> int:
        """Queue the round's prompt as a 1:1 card to each member of the round who has none
        queued yet; returns how many were queued."""
        ...


def card_activity(card: dict[str, Any], *, activity_id: str | None = None, summary: str = "") -> Activity:
    return Activity(type=ActivityTypes.message, id=activity_id, attachments=[attachment(card)], summary=summary or None)


class TeamsDeliveryError(DeliveryError):
    """A ``DeliveryError`` that keeps the HTTP status Teams answered (None: no answer)."""

    def __init__(
        self, reason: str, *, retryable: bool, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(reason, retryable=retryable, retry_after=retry_after)
        self.status = status


def delivery_error(err: BaseException) -> TeamsDeliveryError:
    """Map an SDK or network failure onto the engine's retry rules.

    429/412/5xx are worth another try (after ``Retry-After`` when Teams gives one);
    401/403/404 mean the bot was removed or the conversation is gone.
    """
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    if status is None:
        if isinstance(err, (OSError, asyncio.TimeoutError, ConnectionError)) or "connect" in type(err).__name__.lower():
            return TeamsDeliveryError(f"Teams unreachable: {err!r}"[:300], retryable=True)
        return TeamsDeliveryError(f"Teams send failed: {err!r}"[:300], retryable=True)
    headers = getattr(response, "headers", None) or {}
    retry_after: float | None = None
    raw = headers.get("Retry-After") if hasattr(headers, "get") else None
    if raw:
        try:
            retry_after = max(0.0, float(raw))
        except ValueError:
            retry_after = None
    status = int(status)
    if status in RETRYABLE:
        return TeamsDeliveryError(f"Teams answered {status}", retryable=True, retry_after=retry_after, status=status)
    if status in GONE:
        return TeamsDeliveryError(
            f"Teams answered {status}: the bot was removed or the conversation is gone", retryable=False, status=status
        )
    return TeamsDeliveryError(f"Teams answered {status}", retryable=False, status=status)


class Pacer:
    """Sliding-window limits per key: at most ``count`` sends in any ``window`` seconds, for
    every (window, count) given. Keys (conversations, tenants) never wait for each other.

    ``wait(key)`` books the key's next free slot and sleeps until it; slots are booked before
    sleeping and never before an earlier booking, so concurrent senders queue up in order.
    Only the last ``max(count)`` bookings of a key are kept, which is all the windows need;
    keys quiet for longer than the widest window are forgotten. Clock and sleep are injected:
    tests record the waits instead of waiting.
    """

    PRUNE_EVERY = 60.0

    def __init__(
        self,
        limits: Sequence[tuple[float, int]] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.limits = tuple((float(window), int(count)) for window, count in limits if count > 0)
        self.clock, self.sleep = clock, sleep
        self._depth = max((count for _w, count in self.limits), default=0)
        self._horizon = max((window for window, _c in self.limits), default=0.0)
        self._booked: dict[Hashable, deque[float]] = {}
        self._prune_at = clock() + self.PRUNE_EVERY

    def book(self, key: Hashable) -> float:
        """Book the key's next slot; returns how many seconds from now it is."""
        if not self.limits:
            return 0.0
        now = self.clock()
        if now >= self._prune_at:
            self._booked = {k: q for k, q in self._booked.items() if q and q[-1] > now - self._horizon}
            self._prune_at = now + self.PRUNE_EVERY
        booked = self._booked.get(key)
        if booked is None:
            booked = self._booked[key] = deque(maxlen=self._depth)
        slot = max(now, booked[-1]) if booked else now
        for window, count in self.limits:
            if len(booked) >= count:  # the count-th latest send must have left the window
                slot = max(slot, booked[-count] + window)
        booked.append(slot)
        return slot - now

    async def wait(self, key: Hashable) -> float:
        """Wait for the key's turn; returns how long it waited."""
        delay = self.book(key)
        if delay > 0:
            await self.sleep(delay)
        return delay


@dataclass(frozen=True, kw_only=True, slots=True)
class Retry:
    """How transient failures (``TRANSIENT``) are tried again before the outbox takes over.

    ``attempts`` tries in all. Before try n+1 the wait is the backoff ``base * 2**(n-1)``
    with equal jitter (half of it fixed, half at random), and never less than the
    ``Retry-After`` Teams gave. A wait longer than ``longest`` is not waited here: the error
    goes back to the outbox, which tries again after ``Retry-After`` without holding a sender.
    """

    attempts: int = 4
    base: float = 1.0
    longest: float = 15.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        backoff = self.base * 2 ** max(0, attempt - 1)
        return max(retry_after or 0.0, backoff / 2) + rng.random() * backoff / 2


class TeamsPlatform:
    """Sends prompts and notices as Adaptive Cards into stored Teams conversations."""

    name = PLATFORM
    group_conversations = False  # a bot cannot start a group chat: one 1:1 chat per member

    def __init__(
        self,
        adapter: CloudAdapter,
        app_id: str,
        references: References,
        *,
        rounds: Rounds | None = None,
        directory: Directory | None = None,
        pacer: Pacer | None = None,
        tenant_pacer: Pacer | None = None,
        retry: Retry | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.adapter = adapter
        self.app_id = app_id
        self.references = references
        self.rounds = rounds
        self.directory = directory or Directory()
        self.pacer = pacer or Pacer(THREAD_LIMITS)
        self.tenant_pacer = tenant_pacer or Pacer(TENANT_LIMITS)
        self.retry = retry or Retry()
        self.sleep = sleep
        self.rng = rng or random.Random()

    async def _retrying(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        """``call()``, tried again on a transient failure as ``self.retry`` says."""
        attempt = 1
        while True:
            try:
                return await call()
            except TeamsDeliveryError as err:
                if err.status not in TRANSIENT or attempt >= self.retry.attempts:
                    raise
                delay = self.retry.delay(attempt, err.retry_after, self.rng)
                if delay > self.retry.longest:
                    raise  # the outbox waits for it, without holding this sender
                log.info("teams %s: %s; try %d in %.1fs", what, err.reason, attempt + 1, delay)
                await self.sleep(delay)
                attempt += 1

    async def _reference(self, to: ChannelRef) -> ConversationReference:
        data = await self.references.reference(to)
        if not data:
            raise DeliveryError(
                "no Teams conversation reference for this channel: install the bot there first", retryable=False
            )
        return ConversationReference.deserialize(data)

    async def _in(
        self,
        reference: ConversationReference,
        work: Callable[[TurnContext], Awaitable[Any]],
        tenant_id: str,
        *,
        pace: Hashable | None = None,
    ) -> Any:
        """Run ``work`` in a proactive turn of the conversation, paced per conversation (or
        per ``pace``) and per tenant, tried again on transient failures; SDK errors become
        DeliveryError."""

        async def once() -> Any:
            result: dict[str, Any] = {}

            async def callback(turn_context: TurnContext) -> None:
                # The SDK gives the continuation turn a made-up activity id and would send as a
                # reply to it; without one, a post is a new top-level message in the channel.
                turn_context.activity.id = None
                try:
                    result["value"] = await work(turn_context)
                except Exception as err:  # kept: the adapter's turn-error handler would swallow it
                    result["error"] = err

            await self.pacer.wait(pace if pace is not None else reference.conversation.id)
            await self.tenant_pacer.wait(tenant_id)
            try:
                await self.adapter.continue_conversation(reference, callback, self.app_id)
            except DeliveryError:
                raise
            except Exception as err:
                raise delivery_error(err) from err
            if "error" in result:
                raise delivery_error(result["error"]) from result["error"]
            return result.get("value")

        return await self._retrying("send", once)

    async def _conversation(self, to: ChannelRef) -> ConversationReference:
        """The channel's reference, or a 1:1 chat with ``to.user_id`` opened from it."""
        reference = await self._reference(to)
        reference.activity_id = None
        if not to.user_id:
            return reference
        account = await self.account_of(reference, to.workspace_id, to.user_id)
        return await self.open_direct(reference, account, to.workspace_id)

    async def account_of(self, reference: ConversationReference, tenant_id: str, user_id: str) -> str:
        """The Teams account id (29:...) of a member known by Entra object id: from the
        directory, else asked of the connector in the team's conversation. A member Teams
        does not find there keeps the id given (Teams can open a chat by Entra id where the
        app is installed for the person)."""
        if ":" in user_id:
            return user_id  # an account id already (29:..., 8:orgid:...)
        known = self.directory.account(tenant_id, user_id)
        if known:
            return known

        async def look(turn_context: TurnContext) -> Any:
            client = turn_context.turn_state.get(BotAdapter.BOT_CONNECTOR_CLIENT_KEY)
            return await client.conversations.get_conversation_member(reference.conversation.id, user_id)

        try:
            member = await self._in(reference, look, tenant_id, pace=("members", reference.conversation.id))
        except TeamsDeliveryError as err:
            if err.status != 404:
                raise
            log.warning("teams: a member is not in the team's roster; trying their Entra id")
            return user_id
        account = str(getattr(member, "id", "") or user_id)
        self.directory.learn(
            tenant_id, [Person(user_id=user_id, account_id=account, name=str(getattr(member, "name", "") or ""))]
        )
        return account

    async def open_direct(
        self, reference: ConversationReference, user_id: str, tenant_id: str
    ) -> ConversationReference:
        """Open (or find again: Teams returns the same id) the 1:1 chat of the bot and a member."""
        params = ConversationParameters(
            is_group=False,
            bot=reference.bot,
            members=[ChannelAccount(id=user_id)],
            tenant_id=tenant_id,
            channel_data={"tenant": {"id": tenant_id}},
        )
        found: dict[str, ConversationReference] = {}

        async def callback(turn_context: TurnContext) -> None:
            found["ref"] = TurnContext.get_conversation_reference(turn_context.activity)

        async def create() -> None:
            await self.tenant_pacer.wait(tenant_id)
            try:
                await self.adapter.create_conversation(
                    self.app_id,
                    callback,
                    params,
                    channel_id=reference.channel_id,
                    service_url=reference.service_url,
                )
            except Exception as err:
                raise delivery_error(err) from err

        await self._retrying("1:1 chat", create)
        direct = found["ref"]
        direct.activity_id = None
        direct.bot = reference.bot
        direct.service_url = reference.service_url
        return direct

    async def _post(self, to: ChannelRef, activity: Activity) -> MessageRef:
        reference = await self._conversation(to)

        async def send(turn_context: TurnContext) -> str:
            response = await turn_context.send_activity(activity)
            return response.id if response and response.id else ""

        message_id = await self._in(reference, send, to.workspace_id)
        return MessageRef(channel_id=reference.conversation.id, message_id=str(message_id))

    async def _prompt_card(self, to: ChannelRef, prompt: Prompt) -> dict[str, Any]:
        """The card for this destination: an appreciation round's 1:1 card names the member's
        colleague; its channel card says everyone gets a 1:1 chat (queued first)."""
        if prompt.kind != APPRECIATION or prompt.closed or self.rounds is None:
            return prompt_card(prompt)
        _ = translator(prompt.language or await self.rounds.language_of(to))
        if to.user_id:
            colleague = await self.rounds.assigned_colleague(prompt.occurrence_id, to.workspace_id, to.user_id)
            if colleague is None:
                return prompt_card(prompt)
            lead = _(
                "This round you are asked to appreciate **{name}**. You can appreciate another colleague below too.",
                name=colleague[1],
            )
            return prompt_card(prompt, lead=lead, initial={"colleague": colleague[0]})
        await self.rounds.private_round(
            to, prompt.occurrence_id
        )  # the 1:1 cards are queued before the channel hears of them
        return prompt_card(
            prompt, note=_("Everyone in this team gets a 1:1 chat from Ritme naming a colleague to appreciate.")
        )

    async def send_prompt(self, to: ChannelRef, prompt: Prompt) -> MessageRef:
        return await self._post(to, card_activity(await self._prompt_card(to, prompt), summary=prompt.title))

    async def send_notice(self, to: ChannelRef, notice: Notice) -> MessageRef:
        """To a channel, to one member (``to.user_id``), or to a private group (``to.members``):
        a bot cannot start a group chat in Teams, so each member gets a 1:1 chat."""
        card = notice_card(notice)
        for member in to.members:
            if member != to.user_id:
                await self._post(replace(to, user_id=member, members=()), card_activity(card, summary=notice.title))
        return await self._post(to, card_activity(card, summary=notice.title))

    async def update_prompt(self, ref: MessageRef, to: ChannelRef, prompt: Prompt) -> None:
        reference = await self._reference(to)
        reference.activity_id = None
        reference.conversation.id = ref.channel_id  # the channel, or the member's 1:1 chat
        card = prompt_card(prompt)
        activity = card_activity(card, activity_id=ref.message_id, summary=prompt.title)

        async def update(turn_context: TurnContext) -> None:
            await turn_context.update_activity(activity)

        await self._in(reference, update, to.workspace_id)
