"""Teams activities in, neutral calls out: commands, card answers, installs and removals.

The handler only translates. What a command or answer means is ``rituals.ports.Inbound``'s
business; where conversation references and installs are kept is ``TeamsHooks``'.

Before ``appreciation start`` runs, the team's roster is fetched from Teams (paged, the bot
left out) and added to the channel's team, so that the round's roster, and with it the 1:1
cards, covers everyone in the team. The roster also fills the ``Directory`` the platform
opens 1:1 chats with.
"""

from __future__ import annotations

import html
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    AdaptiveCardInvokeValue,
    ChannelAccount,
)

from adapters.teams.cards import (
    CARD_CONTENT_TYPE,
    answered_card,
    attachment,
    notice_card,
    parse_submit,
    prompt_card,
)
from adapters.teams.files import FileHooks, run_command
from adapters.teams.people import Directory, roster
from adapters.teams.platform import PLATFORM
from rituals.i18n import translator
from rituals.ports import Inbound
from rituals.types import Actor, ChannelRef, Notice, Prompt

log = logging.getLogger(__name__)

MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)
TAGS = re.compile(r"<[^>]+>")
SEEN_LIMIT = 2048


@dataclass(frozen=True, kw_only=True, slots=True)
class Install:
    """What an install or first contact tells the composition root."""

    channel: ChannelRef
    name: str
    reference: dict[str, Any]
    installer: Actor | None


class TeamsHooks(FileHooks, Protocol):
    """What the Teams handler needs from the rest of Ritme, besides commands and answers."""

    async def remember(self, install: Install) -> None:
        """Keep the conversation reference of a channel the bot was spoken to in."""
        ...

    async def installed(self, install: Install) -> tuple[str, bool]:
        """Record an install; the installer becomes admin. Returns (team language, new install)."""
        ...

    async def removed(self, channel: ChannelRef) -> None:
        """The bot was uninstalled or removed: the channel's team goes inactive."""
        ...

    async def prompt(self, occurrence_id: int) -> tuple[Prompt, str] | None:
        """The prompt of an occurrence as it is now, and the team's language."""
        ...

    async def answered(self, occurrence_id: int) -> int:
        """How many members have answered the occurrence."""
        ...

    async def wants_channel_members(self, actor: Actor, channel: ChannelRef, text: str) -> bool:
        """Whether this command needs the team's members first: ``appreciation start`` (the
        round's roster is everyone in the team) from someone allowed to start one."""
        ...

    async def sync_members(self, channel: ChannelRef, members: list[tuple[str, str]], *, channel_name: str = "") -> int:
        """The team's complete roster, (user id, display name): newcomers join the channel's
        team, people no longer in it leave; returns how many are in."""
        ...

    async def joined(self, channel: ChannelRef, people: list[Actor]) -> None:
        """People were added to the team: its rituals invite them from now on."""
        ...

    async def left(self, channel: ChannelRef, user_ids: list[str]) -> None:
        """People left the team: no more prompts, reminders or rounds for them."""
        ...


def tenant_of(activity: Activity) -> str:
    tenant = getattr(activity.conversation, "tenant_id", None)
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    return tenant or (data.get("tenant") or {}).get("id") or "default"


def channel_id_of(activity: Activity) -> str:
    """The conversation id without the ``;messageid=`` suffix Teams adds inside a thread."""
    return str(activity.conversation.id).split(";messageid=")[0]


def channel_of(activity: Activity) -> ChannelRef:
    return ChannelRef(platform=PLATFORM, workspace_id=tenant_of(activity), channel_id=channel_id_of(activity))


def channel_name(activity: Activity) -> str:
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = (data.get("team") or {}).get("name") or ""
    channel = (data.get("channel") or {}).get("name") or ""
    if team and channel:
        return f"{team} / {channel}"
    return team or channel or getattr(activity.conversation, "name", None) or ""


def actor_of(activity: Activity, who: ChannelAccount | None = None) -> Actor:
    person = who or activity.from_property
    return Actor(platform=PLATFORM, workspace_id=tenant_of(activity),
                 user_id=person.aad_object_id or person.id, display_name=person.name or "")


def reference_of(activity: Activity) -> dict[str, Any]:
    """The conversation reference for top-level posts into the channel (not a thread reply)."""
    reference = TurnContext.get_conversation_reference(activity)
    reference.activity_id = None
    reference.conversation.id = channel_id_of(activity)
    data: dict[str, Any] = reference.serialize()
    return data


def command_text(activity: Activity) -> str:
    """The command typed to the bot, without its @mention, markup or a leading ``/ritme``."""
    text = TurnContext.remove_recipient_mention(activity) or ""
    text = html.unescape(TAGS.sub(" ", MENTION.sub(" ", text))).replace("\xa0", " ")
    text = " ".join(text.split())
    for prefix in ("/ritme", "ritme"):
        if text.lower().startswith(prefix + " ") or text.lower() == prefix:
            text = text[len(prefix):].strip()
            break
    return text or "help"


def card_reply(card: dict[str, Any], summary: str = "") -> Activity:
    return Activity(type=ActivityTypes.message, attachments=[attachment(card)], summary=summary or None)


class RitmeTeamsBot(ActivityHandler):
    """Translates Teams activities into ``Inbound`` calls and Adaptive Card replies."""

    def __init__(self, inbound: Inbound, hooks: TeamsHooks, directory: Directory | None = None) -> None:
        self.inbound = inbound
        self.hooks = hooks
        self.directory = directory or Directory()
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def first_delivery(self, activity: Activity) -> bool:
        """False for an activity the channel delivered before (it retries on slow answers)."""
        if not activity.id:
            return True
        key = (str(activity.conversation.id), str(activity.id))
        if key in self._seen:
            return False
        self._seen[key] = None
        while len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        return True

    async def on_turn(self, turn_context: TurnContext) -> None:
        if not self.first_delivery(turn_context.activity):
            log.info("teams: activity %s delivered again; ignored", turn_context.activity.id)
            return
        await super().on_turn(turn_context)

    def _install(self, activity: Activity, installer: Actor | None) -> Install:
        return Install(channel=channel_of(activity), name=channel_name(activity),
                       reference=reference_of(activity), installer=installer)

    # -- messages: commands and card submissions --------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.value is not None and not (activity.text or "").strip():
            await self._submit(turn_context, activity.value)
            return
        text = command_text(activity)
        install = self._install(activity, None)
        await self.hooks.remember(install)
        actor = actor_of(activity)
        if await self.hooks.wants_channel_members(actor, install.channel, text):
            await self._sync_roster(turn_context, install)
        notice = await run_command(self.inbound, self.hooks, turn_context, actor, install.channel, text,
                                   channel_name=install.name)  # with the calendars sent along (adapters.teams.files)
        await turn_context.send_activity(card_reply(notice_card(notice), notice.title))

    async def _sync_roster(self, turn_context: TurnContext, install: Install) -> None:
        try:
            people = await roster(turn_context)
        except Exception as err:  # the command still runs, for the members known already
            log.warning("teams: roster of %s unknown (%s); the round asks the team's known members",
                        install.channel.channel_id, str(err)[:200] or type(err).__name__)
            return
        self.directory.learn(install.channel.workspace_id, people)
        await self.hooks.sync_members(install.channel, [(p.user_id, p.name) for p in people], channel_name=install.name)

    async def _submit(self, turn_context: TurnContext, value: Any) -> None:
        parsed = parse_submit(value)
        if parsed is None:
            return
        occurrence_id, values = parsed
        activity = turn_context.activity
        stored, message = await self.inbound.answer(actor_of(activity), occurrence_id, values, channel_of(activity))
        if stored and activity.reply_to_id:
            await self._show_answered(turn_context, occurrence_id, activity.reply_to_id)
        await turn_context.send_activity(Activity(type=ActivityTypes.message, text=message))

    async def _show_answered(self, turn_context: TurnContext, occurrence_id: int, card_id: str) -> None:
        """A member's own card shows their answer was saved; a channel card shows the count."""
        current = await self.hooks.prompt(occurrence_id)
        if current is None:
            return
        prompt, language = current
        if turn_context.activity.conversation.conversation_type == "personal":
            card = answered_card(prompt)
        else:
            _ = translator(language)
            count = await self.hooks.answered(occurrence_id)
            card = prompt_card(prompt, footer=_("Answers so far: {count}", count=count))
        update = card_reply(card, prompt.title)
        update.id = card_id
        try:
            await turn_context.update_activity(update)
        except Exception:  # the answer is stored; a stale card is no reason to fail the turn
            log.warning("teams: could not update card %s", card_id, exc_info=True)

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        """Universal Actions (``Action.Execute``): answer, and return the card to show."""
        data = getattr(invoke_value.action, "data", None) if invoke_value.action else None
        if isinstance(invoke_value.action, dict):
            data = invoke_value.action.get("data")
        parsed = parse_submit(data)
        if parsed is None:
            return AdaptiveCardInvokeResponse(status_code=400, type="application/vnd.microsoft.error",
                                              value={"code": "BadRequest", "message": "not a Ritme card"})
        occurrence_id, values = parsed
        stored, message = await self.inbound.answer(actor_of(turn_context.activity), occurrence_id, values,
                                                    channel_of(turn_context.activity))
        current = await self.hooks.prompt(occurrence_id)
        if stored and current is not None:
            card = answered_card(current[0])
        else:
            card = notice_card(Notice(text=message))
        return AdaptiveCardInvokeResponse(status_code=200, type=CARD_CONTENT_TYPE, value=card)

    # -- installs and removals ---------------------------------------------------------------

    async def _installed(self, turn_context: TurnContext, installer: Actor | None) -> None:
        language, fresh = await self.hooks.installed(self._install(turn_context.activity, installer))
        if fresh:
            _ = translator(language)
            notice = Notice(
                title=_("Hello, I am Ritme"),
                text=_("I keep this team's rituals going: reflection questions, check-outs, pulses and appreciation rounds. Send me 'help' to see what I can do."),
                footer=_("Whoever added me is admin of this team and can give others a role."),
            )
            await turn_context.send_activity(card_reply(notice_card(notice), notice.title))

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await self._installed(turn_context, actor_of(turn_context.activity))

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        await self.hooks.removed(channel_of(turn_context.activity))

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id
        if any(m.id == bot_id for m in members_added):
            await self._installed(turn_context, actor_of(activity))
            return
        people = [actor_of(activity, m) for m in members_added if m.id != bot_id]
        if people:
            await self.hooks.joined(channel_of(activity), people)

    async def on_members_removed_activity(self, members_removed: list[ChannelAccount], turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id
        if any(m.id == bot_id for m in members_removed):
            await self.hooks.removed(channel_of(activity))
            return
        gone = [actor_of(activity, m).user_id for m in members_removed if m.id != bot_id]
        if gone:
            await self.hooks.left(channel_of(activity), gone)
