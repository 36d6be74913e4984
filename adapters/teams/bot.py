"""Teams activities in, neutral calls out: commands, card answers, installs and removals.

The handler only translates. What a command or answer means is ``rituals.ports.Inbound``'s
business; where conversation references and installs are kept is ``TeamsHooks``'.

A command's @mentions: the bot's own is dropped. In a command that names a person (``role
add leader @Bram``, ``pairs exclude @Bram``) a colleague's mention becomes ``<@ID|Name>``, the
form the command layer resolves to exactly that member, ID being the Entra object id Ritme
knows them by (from the mention, the ``Directory``, or asked of Teams); in any other command,
or when Teams does not know the person, the mention is just their name.

Before ``appreciation start`` runs, the team's roster is fetched from Teams (paged, the bot
left out) and added to the channel's team, so that the round's roster, and with it the 1:1
cards, covers everyone in the team. The roster also fills the ``Directory`` the platform
opens 1:1 chats with.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Protocol

from botbuilder.core import ActivityHandler, BotAdapter, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    AdaptiveCardInvokeValue,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
)

from adapters.teams.activities import (
    Mention,
    actor_of,
    card_reply,
    channel_name,
    channel_of,
    command_text,
    is_personal,
    mentions_of,
    reference_of,
    team_of,
    tenant_of,
)
from adapters.teams.cards import (
    CARD_CONTENT_TYPE,
    answered_card,
    notice_card,
    parse_submit,
    prompt_card,
)
from adapters.teams.files import FileHooks, run_command
from adapters.teams.people import Directory, Person, person_of, roster
from adapters.teams.platform import PLATFORM
from rituals.i18n import translator
from rituals.ports import Inbound
from rituals.types import Actor, ChannelRef, Notice, Prompt

log = logging.getLogger(__name__)

NOT_PEOPLE = ("28:", "19:")  # bots; channels and teams
PERSON_COMMANDS = frozenset({"role add", "role remove", "pairs exclude", "pairs include", "pairs label"})
MAX_LOOKUPS = 5  # people asked of Teams for one command
PRIVATE_LINKS = ("review link", "export")  # answers that carry a signed link
# Answers that hold what only leaders and admins read (``rituals.visibility``): a Teams reply
# in a channel is read by everyone there, so these go to the asker's 1:1 chat, or nowhere.
PRIVATE_ANSWERS = ("review",)
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

    async def team_channels(self, tenant_id: str, team_id: str) -> list[ChannelRef]:
        """The channels of a Teams team (``channelData.team.id``) that Ritme keeps a team for."""
        ...

    async def only_in(self, channel: ChannelRef, user_ids: list[str]) -> None:
        """The Teams team's whole roster is known: whoever of the channel's team is not in
        ``user_ids`` left it; nobody joins."""
        ...


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
        return Install(
            channel=channel_of(activity),
            name=channel_name(activity),
            reference=reference_of(activity),
            installer=installer,
        )

    # -- messages: commands and card submissions --------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.value is not None and not (activity.text or "").strip():
            await self._submit(turn_context, activity.value)
            return
        text = await self._command_text(turn_context)
        install = self._install(activity, None)
        actor = actor_of(activity)
        personal = is_personal(activity)  # a one-to-one chat with Ritme is no team
        if not personal:
            await self.hooks.remember(install)
            if await self.hooks.wants_channel_members(actor, install.channel, text):
                await self._sync_roster(turn_context, install)
        notice = await run_command(
            self.inbound,
            self.hooks,
            turn_context,
            actor,
            install.channel,
            text,
            channel_name=install.name,
            personal=personal,
        )  # with the calendars sent along
        reply = card_reply(notice_card(notice), notice.title)
        name = await self.hooks.command_name(text) if not personal else None
        if name in PRIVATE_ANSWERS:
            await self._answer_privately(turn_context, reply, notice, install)
            return
        if not personal and "://" in notice.text and name in PRIVATE_LINKS:
            # A signed link is for whoever asked: to their 1:1 chat, the channel only hears that.
            if await self._send_privately(turn_context, reply):
                _ = translator(await self.hooks.language_of(install.channel))
                sent = Notice(title=notice.title, text=_("I sent you the link in our personal chat."))
                await turn_context.send_activity(card_reply(notice_card(sent), sent.title))
                return
        await turn_context.send_activity(reply)

    async def _answer_privately(
        self, turn_context: TurnContext, reply: Activity, notice: Notice, install: Install
    ) -> None:
        """An answer for the asker only: to their 1:1 chat, and the channel hears just that; when
        Teams opens no 1:1 chat, the channel hears how to ask there, never the answer."""
        _ = translator(await self.hooks.language_of(install.channel))
        if await self._send_privately(turn_context, reply):
            said = Notice(title=notice.title, text=_("I sent it to you in our personal chat."))
        else:
            said = Notice(
                title=notice.title,
                text=_("This answer is for you only, and I could not reach you in a personal chat with Ritme."),
            )
        await turn_context.send_activity(card_reply(notice_card(said), said.title))

    async def _command_text(self, turn_context: TurnContext) -> str:
        """``command_text``, with the people a command names resolved (only for commands
        that name a person: a goal or a question keeps the names as written)."""
        activity = turn_context.activity
        text = command_text(activity)
        bot_id = getattr(activity.recipient, "id", None)
        named = [m for m in mentions_of(activity) if m.account_id != bot_id and not m.account_id.startswith(NOT_PEOPLE)]
        if not named or await self.hooks.command_name(text) not in PERSON_COMMANDS:
            return text
        return command_text(activity, await self._people(turn_context, named))

    async def _people(self, turn_context: TurnContext, mentions: list[Mention]) -> dict[str, str]:
        """Teams account id → Ritme's user id of the people mentioned: from the mention, the
        directory, else asked of Teams. Whom Teams does not find is left out."""
        tenant = tenant_of(turn_context.activity)
        people: dict[str, str] = {}
        lookups = 0
        for mention in mentions:
            account = mention.account_id
            if account in people:
                continue
            user = mention.user_id or self.directory.user(tenant, account)
            if not user and lookups < MAX_LOOKUPS:
                lookups += 1
                try:
                    person = person_of(await TeamsInfo.get_member(turn_context, account))
                except Exception as err:  # unknown to Teams here: the command gets the name
                    log.info("teams: mentioned account unknown (%s)", str(err)[:120] or type(err).__name__)
                    continue
                if person is None:
                    continue
                self.directory.learn(tenant, [person])
                user = person.user_id
            if user:
                people[account] = user
        return people

    async def _sync_roster(self, turn_context: TurnContext, install: Install) -> None:
        try:
            people = await roster(turn_context)
        except Exception as err:  # the command still runs, for the members known already
            log.warning(
                "teams: roster of %s unknown (%s); the round asks the team's known members",
                install.channel.channel_id,
                str(err)[:200] or type(err).__name__,
            )
            return
        self.directory.learn(install.channel.workspace_id, people)
        await self.hooks.sync_members(install.channel, [(p.user_id, p.name) for p in people], channel_name=install.name)

    async def _submit(self, turn_context: TurnContext, value: Any) -> None:
        """A card's ``Action.Submit``. In a 1:1 chat the member's card shows their answer and
        the bot says whether it was saved. In a channel or group chat nobody else is told who
        answered: the channel card shows the count, and a refusal (or a card that could not be
        updated) goes to the member in their 1:1 chat with the bot."""
        parsed = parse_submit(value)
        if parsed is None:
            return
        occurrence_id, values = parsed
        activity = turn_context.activity
        answered = await self.inbound.answer(actor_of(activity), occurrence_id, values, channel_of(activity))
        stored, message = answered.stored, answered.message
        personal = is_personal(activity)
        shown = False
        if stored and activity.reply_to_id:
            shown = await self._show_answered(turn_context, occurrence_id, activity.reply_to_id, values)
        if not message:
            return
        if personal:
            await turn_context.send_activity(Activity(type=ActivityTypes.message, text=message))
        elif not shown:
            await self._tell_privately(turn_context, occurrence_id, message)

    async def _answered_view(
        self, occurrence_id: int, personal: bool, values: dict[str, Any]
    ) -> tuple[dict[str, Any], str] | None:
        """The card after an answer was saved. Someone's own (1:1) card keeps the inputs with
        their answer in them while it can be changed, else says it was saved; a shared card
        (channel, group chat) shows only how many answered. Returns (card, summary)."""
        current = await self.hooks.prompt(occurrence_id)
        if current is None:
            return None
        prompt, language = current
        if not personal:
            _ = translator(language)
            count = await self.hooks.answered(occurrence_id)
            return prompt_card(prompt, footer=_("Answers so far: {count}", count=count)), prompt.title
        if prompt.anonymous or prompt.closed:
            return answered_card(prompt), prompt.title
        return prompt_card(prompt, answer=values), prompt.title

    async def _show_answered(
        self, turn_context: TurnContext, occurrence_id: int, card_id: str, values: dict[str, Any]
    ) -> bool:
        """Update the card answered from; False when it could not be."""
        view = await self._answered_view(occurrence_id, is_personal(turn_context.activity), values)
        if view is None:
            return False
        update = card_reply(*view)
        update.id = card_id
        try:
            await turn_context.update_activity(update)
        except Exception:  # the answer is stored; a stale card is no reason to fail the turn
            log.warning("teams: could not update card %s", card_id, exc_info=True)
            return False
        return True

    async def _send_privately(self, turn_context: TurnContext, message: Activity) -> bool:
        """Send ``message`` to the member who spoke, in their 1:1 chat with the bot; False
        when Teams will not open one."""
        activity = turn_context.activity
        client = turn_context.turn_state.get(BotAdapter.BOT_CONNECTOR_CLIENT_KEY)
        tenant = tenant_of(activity)
        bot = ChannelAccount(id=activity.recipient.id, name=activity.recipient.name)
        member = ChannelAccount(id=activity.from_property.id, name=activity.from_property.name)
        params = ConversationParameters(
            is_group=False, bot=bot, members=[member], tenant_id=tenant, channel_data={"tenant": {"id": tenant}}
        )
        try:
            chat = await client.conversations.create_conversation(params)
            message.from_property, message.recipient = bot, member
            message.conversation = ConversationAccount(id=chat.id, conversation_type="personal", tenant_id=tenant)
            message.channel_id, message.service_url = activity.channel_id, activity.service_url
            await client.conversations.send_to_conversation(chat.id, message)
            return True
        except Exception as err:
            log.info("teams: no 1:1 chat with a member (%s)", str(err)[:120] or type(err).__name__)
            return False

    async def _tell_privately(self, turn_context: TurnContext, occurrence_id: int, text: str) -> None:
        """Say ``text`` to the member in their 1:1 chat with the bot. When Teams will not open
        one, the text goes into the conversation itself, unless the ritual is anonymous (then
        nobody else may learn that this member took part) or unknown."""
        if await self._send_privately(turn_context, Activity(type=ActivityTypes.message, text=text)):
            return
        current = await self.hooks.prompt(occurrence_id)
        if current is not None and not current[0].anonymous:
            await turn_context.send_activity(Activity(type=ActivityTypes.message, text=text))
        else:
            log.info("teams: an answer's outcome for occurrence %s not told: no private way to", occurrence_id)

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        """Universal Actions (``Action.Execute``): answer, and return the card to show."""
        data = getattr(invoke_value.action, "data", None) if invoke_value.action else None
        if isinstance(invoke_value.action, dict):
            data = invoke_value.action.get("data")
        parsed = parse_submit(data)
        if parsed is None:
            return AdaptiveCardInvokeResponse(
                status_code=400,
                type="application/vnd.microsoft.error",
                value={"code": "BadRequest", "message": "not a Ritme card"},
            )
        occurrence_id, values = parsed
        answered = await self.inbound.answer(
            actor_of(turn_context.activity), occurrence_id, values, channel_of(turn_context.activity)
        )
        stored, message = answered.stored, answered.message
        personal = is_personal(turn_context.activity)
        shared_refusal = not stored and not personal  # the returned card replaces a shared card for everyone
        if shared_refusal:  # so it keeps the card, and the refusal goes privately
            await self._tell_privately(turn_context, occurrence_id, message)
        view = await self._answered_view(occurrence_id, personal, values) if stored or shared_refusal else None
        card = view[0] if view else notice_card(Notice(text=message))
        return AdaptiveCardInvokeResponse(status_code=200, type=CARD_CONTENT_TYPE, value=card)

    # -- installs and removals ---------------------------------------------------------------

    async def _installed(self, turn_context: TurnContext, installer: Actor | None) -> None:
        if is_personal(turn_context.activity):  # installed for oneself: no team, a word on where rituals live
            notice = await self.inbound.command(
                actor_of(turn_context.activity), channel_of(turn_context.activity), "help", personal=True
            )
            await turn_context.send_activity(card_reply(notice_card(notice), notice.title))
            return
        language, fresh = await self.hooks.installed(self._install(turn_context.activity, installer))
        if fresh:
            _ = translator(language)
            notice = Notice(
                title=_("Hello, I am Ritme"),
                text=_(
                    "I keep this team's rituals going: reflection questions, check-outs, pulses and appreciation "
                    "rounds. Send me 'help' to see what I can do."
                ),
                footer=_("Whoever added me is admin of this team and can give others a role."),
            )
            await turn_context.send_activity(card_reply(notice_card(notice), notice.title))

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await self._installed(turn_context, await self._installer(turn_context))

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        for channel in await self._team_channels(turn_context.activity):
            await self.hooks.removed(channel)

    async def _installer(self, turn_context: TurnContext) -> Actor:
        """Who installed the bot: an install's ``from`` has ids and no name, so the name is
        asked of Teams (the team's member, or the chat's); without it, none."""
        activity = turn_context.activity
        actor = actor_of(activity)
        if actor.display_name or is_personal(activity):
            return actor
        [person] = await self._named(turn_context, [activity.from_property])
        return replace(actor, user_id=person.user_id, display_name=person.name)

    async def _named(self, turn_context: TurnContext, accounts: list[ChannelAccount]) -> list[Person]:
        """The accounts as people: with their Entra id and name as the event gives them, else
        as Teams gives them (one member lookup each, at most ``MAX_LOOKUPS``); whom Teams does
        not find keeps what the event gave (a name of "" leaves a stored name as it is)."""
        tenant = tenant_of(turn_context.activity)
        people: list[Person] = []
        lookups = 0
        for account in accounts:
            given = Person(user_id=account.aad_object_id or account.id, account_id=account.id, name=account.name or "")
            if (given.name and account.aad_object_id) or lookups >= MAX_LOOKUPS:
                people.append(given)
                continue
            lookups += 1
            try:
                found = person_of(await TeamsInfo.get_member(turn_context, account.id))
            except Exception as err:  # not found, or Teams did not answer: what the event gave
                log.info("teams: member not looked up (%s)", str(err)[:120] or type(err).__name__)
                found = None
            if found is not None and found.name in (found.user_id, found.account_id):
                found = replace(found, name="")  # person_of's stand-in for a name Teams did not give
            people.append(found or given)
        self.directory.learn(tenant, [p for p in people if p.user_id != p.account_id])
        return people

    async def _team_channels(self, activity: Activity) -> list[ChannelRef]:
        """The channels a team event is about. Teams sends member events (and the bot's own
        removal) on the team's id, which is also the General channel's (Microsoft's
        "Conversation events" page, bots/how-to/conversations/subscribe-to-conversation-events):
        every channel of the team Ritme keeps a team for. Outside a team: the chat itself."""
        team = team_of(activity)
        if not team:
            return [channel_of(activity)]
        return await self.hooks.team_channels(tenant_of(activity), team)

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id
        if any(m.id == bot_id for m in members_added):
            await self._installed(turn_context, await self._installer(turn_context))
            return
        accounts = [m for m in members_added if m.id != bot_id and not m.id.startswith(NOT_PEOPLE)]
        if not accounts:
            return
        people = [
            Actor(platform=PLATFORM, workspace_id=tenant_of(activity), user_id=p.user_id, display_name=p.name)
            for p in await self._named(turn_context, accounts)
        ]
        for channel in await self._team_channels(activity):
            await self.hooks.joined(channel, people)

    async def on_members_removed_activity(
        self, members_removed: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        """A member removed comes with their Teams account id (29:...) only; Ritme knows most
        people by their Entra id. Both are matched: the account id, and the Entra id the
        ``Directory`` knows for it; when it knows none, the team's roster is read and whoever
        is no longer in it leaves."""
        activity = turn_context.activity
        bot_id = activity.recipient.id
        channels = await self._team_channels(activity)
        if any(m.id == bot_id for m in members_removed):
            for channel in channels:
                await self.hooks.removed(channel)
            return
        tenant = tenant_of(activity)
        gone: set[str] = set()
        unknown = False
        for member in members_removed:
            user = member.aad_object_id or self.directory.user(tenant, member.id)
            gone |= {member.id, user} if user else {member.id}
            unknown = unknown or not user
        for channel in channels:
            await self.hooks.left(channel, sorted(gone))
        if unknown and channels:
            await self._keep_roster(turn_context, channels)

    async def _keep_roster(self, turn_context: TurnContext, channels: list[ChannelRef]) -> None:
        """Whoever of the channels' teams is not in the Teams team's roster leaves them. An
        empty roster is no answer (a team has at least its owner): nothing changes."""
        try:
            people = await roster(turn_context)
        except Exception as err:
            log.warning("teams: roster unknown after a removal (%s)", str(err)[:200] or type(err).__name__)
            return
        if not people:
            return
        self.directory.learn(tenant_of(turn_context.activity), people)
        ids = sorted({p.user_id for p in people} | {p.account_id for p in people})
        for channel in channels:
            await self.hooks.only_in(channel, ids)
