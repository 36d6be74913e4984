"""What a Bot Framework activity from Microsoft Teams says, read as Ritme needs it: its
tenant, team, channel and sender, the conversation reference to store, the @mentions in it,
and a command's text with the bot's own mention taken out and people's written as the
command layer reads them."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount

from adapters.teams.cards import attachment
from adapters.teams.platform import PLATFORM
from rituals.types import Actor, ChannelRef

MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)
TAGS = re.compile(r"<[^>]+>")
SLOT = re.compile("\ue000(\\d+)\ue001")  # where a mention stood, while the markup goes
PERSON_ID = re.compile(r"[A-Za-z0-9._:-]+")  # an id the command layer reads in <@ID|Name>
NAME_UNSAFE = re.compile(r"[<>|\"'\\\x00-\x1f]")
TEAM_KEY = "teamsTeamId"  # beside a stored conversation reference: the channel's Teams team


def tenant_of(activity: Activity) -> str:
    tenant = getattr(activity.conversation, "tenant_id", None)
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    return tenant or (data.get("tenant") or {}).get("id") or "default"


def channel_id_of(activity: Activity) -> str:
    """The conversation id without the ``;messageid=`` suffix Teams adds inside a thread."""
    return str(activity.conversation.id).split(";messageid=")[0]


def team_of(activity: Activity) -> str:
    """The Teams team's id (``channelData.team.id``); "" outside a team (a chat)."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    return str((data.get("team") or {}).get("id") or "")


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
    return Actor(
        platform=PLATFORM,
        workspace_id=tenant_of(activity),
        user_id=person.aad_object_id or person.id,
        display_name=person.name or "",
    )


def reference_of(activity: Activity) -> dict[str, Any]:
    """The conversation reference for top-level posts into the channel (not a thread reply),
    with the id of the channel's Teams team under ``TEAM_KEY`` (the SDK reads a reference
    without it): member events come on the team's id, and find the team's channels by it."""
    reference = TurnContext.get_conversation_reference(activity)
    reference.activity_id = None
    reference.conversation.id = channel_id_of(activity)
    data: dict[str, Any] = reference.serialize()
    if team_of(activity):
        data[TEAM_KEY] = team_of(activity)
    return data


@dataclass(frozen=True, kw_only=True, slots=True)
class Mention:
    """An @mention in a message: its text there, whom it names, and their Entra id if given."""

    text: str  # as the message carries it: <at>Bram</at>
    account_id: str
    name: str
    user_id: str = ""


def mentions_of(activity: Activity) -> list[Mention]:
    """The message's mentions of accounts (the shape is checked at the edge, ``web``)."""
    found: list[Mention] = []
    for entity in activity.entities or []:
        if (entity.type or "").lower() != "mention":
            continue
        extra = entity.additional_properties or {}
        mentioned = extra.get("mentioned") or {}
        name = str(mentioned.get("name") or "")
        text = str(extra.get("text") or (f"<at>{name}</at>" if name else ""))
        if text and mentioned.get("id"):
            found.append(
                Mention(
                    text=text,
                    account_id=str(mentioned["id"]),
                    name=name,
                    user_id=str(mentioned.get("aadObjectId") or ""),
                )
            )
    return found


def person_reference(user_id: str, name: str) -> str:
    """``<@ID|Name>`` (quoted as one word when the name has spaces), or the name alone when
    the id is not one the command layer reads."""
    name = " ".join(NAME_UNSAFE.sub("", name).split())
    if not PERSON_ID.fullmatch(user_id):
        return name
    reference = f"<@{user_id}|{name}>" if name else f"<@{user_id}>"
    return f'"{reference}"' if " " in name else reference


def command_text(activity: Activity, people: dict[str, str] | None = None) -> str:
    """The command typed to the bot, without its @mention, markup or a leading ``/ritme``.

    Other mentions become their name, or ``<@ID|Name>`` for those in ``people`` (Teams
    account id → Ritme's user id); that form typed by hand is not one."""
    text = activity.text or ""
    bot_id = getattr(activity.recipient, "id", None)
    slots: list[str] = []
    for mention in mentions_of(activity):
        if mention.text not in text:
            continue
        if mention.account_id == bot_id:
            form = ""
        elif (people or {}).get(mention.account_id):
            form = person_reference((people or {})[mention.account_id], mention.name)
        else:
            form = html.unescape(TAGS.sub("", mention.name or mention.text))
        slots.append(form)
        text = text.replace(mention.text, f" \ue000{len(slots) - 1}\ue001 ", 1)
    text = html.unescape(TAGS.sub(" ", MENTION.sub(" ", text))).replace("\xa0", " ")
    text = text.replace("<@", "@")  # typed, not a mention: only Teams' own mentions name an id
    text = SLOT.sub(lambda found: slots[int(found.group(1))], text)
    text = " ".join(text.split())
    for prefix in ("/ritme", "ritme"):
        if text.lower().startswith(prefix + " ") or text.lower() == prefix:
            text = text[len(prefix) :].strip()
            break
    return text or "help"


def is_personal(activity: Activity) -> bool:
    """A 1:1 chat of the bot and one member (not a channel or a group chat)."""
    return getattr(activity.conversation, "conversation_type", None) == "personal"


def card_reply(card: dict[str, Any], summary: str = "") -> Activity:
    return Activity(type=ActivityTypes.message, attachments=[attachment(card)], summary=summary or None)
