"""``/ritme`` commands, and files shared with the words of a command that takes them.

Before ``appreciation start`` runs, the channel's human members (``conversations.members``
minus bots and deleted accounts) are added to the team, so that the round's roster, and
with it the direct messages, covers everyone in the channel.

A command that names someone by mention (``role add leader @anna``, ``pairs exclude @anna``)
asks ``users.info`` who that is first: nobody, a bot or a deactivated account is refused in
the team's language (a role may still be taken away), and a person goes into the command
under the name Slack shows, as every other path names people.

Files (``adapters.slack.files``): a calendar shared in a message whose words are
``holiday import`` is downloaded with the bot token and handed to the command; the answer
is ephemeral. ``export`` also posts the CSV, into the admin's direct messages with Ritme
(``files_upload_v2``), and keeps the link in its answer.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError

from adapters.slack.blocks import clip
from adapters.slack.edge import Edge
from adapters.slack.files import (
    MAX_FILE_BYTES,
    ExportFile,
    FileError,
    SharedFile,
    download,
    message_text,
    named_channel,
    shared_file,
    shared_files,
)
from adapters.slack.installs import NotInstalled
from adapters.slack.platform import PLATFORM
from rituals.i18n import translator
from rituals.types import Actor, ChannelRef, Notice

log = logging.getLogger(__name__)

MENTION = re.compile(r"<@([A-Za-z0-9._:-]+)(?:\|([^>]*))?>")  # how Slack escapes @name in a command


class Commands:
    """The slash command's listener, and the command a message with files carries."""

    def __init__(self, edge: Edge, *, api_base: str) -> None:
        self.edge = edge
        self.inbound = edge.inbound
        self.api_base = api_base

    def register(self, app: AsyncApp) -> None:
        app.command("/ritme")(self.on_command)

    async def on_command(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        self.edge.spawn(self._run_command(body))

    async def _run_command(self, body: dict[str, Any]) -> None:
        team_id, user_id = str(body.get("team_id", "")), str(body.get("user_id", ""))
        channel_id, channel_name = str(body.get("channel_id", "")), str(body.get("channel_name", ""))
        text = str(body.get("text", "")).strip()
        actor = await self.edge.actor(team_id, user_id, str(body.get("user_name", "")))
        channel = ChannelRef(platform=PLATFORM, workspace_id=team_id, channel_id=channel_id)
        if channel_name == "directmessage" or channel_id.startswith("D"):  # a direct message is no team
            notice = await self.inbound.command(actor, channel, text, personal=True)
            await self.edge.reply(team_id, body.get("response_url"), channel_id, user_id, notice)
            return
        if await self.inbound.wants_channel_members(text):
            humans = await self.edge.people.channel_humans(team_id, channel_id)
            if humans is None:
                log.warning("slack: members of %s unknown; the round asks the team's known members", channel_id)
            else:
                await self.inbound.sync_members(channel, [(u.id, u.name) for u in humans], channel_name=channel_name)
        how_to = await self.inbound.file_how_to(actor, channel, text, channel_name=channel_name)
        if how_to is not None:  # a slash command cannot carry the file
            await self.edge.reply(team_id, body.get("response_url"), channel_id, user_id, how_to)
            return
        text, refusal = await self._named_person(actor, channel, text)
        if refusal is not None:
            await self.edge.reply(team_id, body.get("response_url"), channel_id, user_id, refusal)
            return
        notice = await self.inbound.command(actor, channel, text, channel_name=channel_name)
        export = await self.inbound.export_file(actor, channel, text)
        if export is not None:
            notice = await self._post_export(team_id, user_id, channel, export, notice)
        await self.edge.reply(team_id, body.get("response_url"), channel_id, user_id, notice)

    async def _named_person(self, actor: Actor, channel: ChannelRef, text: str) -> tuple[str, Notice | None]:
        """A command that names someone by a mention (``role add leader @anna``): Slack says
        who that is. An id Slack knows no one by is refused, and so are a bot and a
        deactivated account, except to take a role away; anyone else goes into the command
        under the name Slack shows (the mention carries only the handle). Returns the words
        to run and the refusal, if any. When Slack does not answer, the command decides."""
        if "<@" not in text:
            return text, None
        named = await self.inbound.person_named(actor, channel, text)
        mention = MENTION.fullmatch(named[1].strip()) if named else None
        if named is None or mention is None:
            return text, None
        command, user_id = named[0], mention.group(1)
        user = await self.edge.people.user(channel.workspace_id, user_id)
        if user is None:
            return text, None
        _ = translator(await self.inbound.language_of(channel))
        if not user.found:
            reason = _(
                "Slack knows nobody as {who} in this workspace. Mention a colleague, e.g. @anna.",
                who=clip(mention.group(2) or user_id, 60),
            )
        elif user.bot and command != "role remove":
            reason = _(
                "{name} is a bot. Only people can be named here: mention a colleague, e.g. @anna.",
                name=clip(user.name or user_id, 60),
            )
        elif user.deleted and command != "role remove":
            reason = _("{name} no longer has an account in this workspace.", name=clip(user.name or user_id, 60))
        else:
            name = re.sub(r"[<>|]", "", user.name).strip()
            return (text.replace(mention.group(0), f"<@{user_id}|{name}>", 1) if name else text), None
        example = "role add leader @anna" if command.startswith("role") else "pairs exclude @anna"
        return text, Notice(
            title=_("That did not work"), text=reason, footer=_("For example: /ritme {example}", example=example)
        )

    async def _post_export(
        self, team_id: str, user_id: str, channel: ChannelRef, export: ExportFile, notice: Notice
    ) -> Notice:
        """Post the CSV into the admin's direct messages with Ritme, not the channel: it may
        hold answers that members were told only a summary of is shared. The answer keeps
        the link."""
        _ = translator(await self.inbound.language_of(channel))
        if await self._upload_to_dm(team_id, user_id, export):
            line = _("The CSV file is in your direct messages with Ritme.")
        else:
            line = _("Posting the CSV file failed; the link below gives the same file.")
        return replace(notice, text=line + "\n" + notice.text)

    async def _upload_to_dm(self, team_id: str, user_id: str, export: ExportFile) -> bool:
        """``files_upload_v2`` into the DM with ``user_id`` (scopes ``im:write``, ``files:write``)."""
        opened = await self.edge.api(team_id, "conversations.open", users=user_id)
        dm = str(((opened or {}).get("channel") or {}).get("id") or "")
        if not dm:
            return False
        try:
            token = await self.edge.tokens.token(team_id)
            await self.edge.client.files_upload_v2(
                channel=dm,
                filename=export.name,
                title=export.name,
                content=export.content,
                initial_comment=export.comment,
                token=token,
            )
        except (NotInstalled, SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as err:
            log.warning(
                "slack: posting the export of workspace %s failed: %s",
                team_id,
                getattr(err, "response", None) or repr(err),
            )
            return False
        return True

    async def file_message(self, event: dict[str, Any], team_id: str) -> None:
        """Files shared with the words of a command that takes them (``holiday import``):
        run it with the calendars, answer the sender only. In a direct message with Ritme the
        words name the channel (``holiday import #team-a``); without one the command answers
        as any command in a direct message does: it belongs in a team's channel."""
        text = message_text(event)
        named: str | None = None
        if event.get("channel_type") == "im":
            named, text = named_channel(text)
        if not await self.inbound.file_command(text):
            return
        user_id, where = str(event["user"]), str(event.get("channel", ""))
        channel = ChannelRef(platform=PLATFORM, workspace_id=team_id, channel_id=named or where)
        actor = await self.edge.actor(team_id, user_id)
        try:
            files = await self._fetch_calendars(team_id, shared_files(event))
        except FileError as err:
            _ = translator(await self.inbound.language_of(channel))
            if err.reason == "too_large":
                reason = _(
                    "The file {name} is larger than {size} KiB; a calendar of school holidays is much smaller.",
                    name=err.name,
                    size=MAX_FILE_BYTES // 1024,
                )
            else:
                reason = _(
                    "Ritme could not download the file {name} from Slack. Share it again, "
                    "or ask whoever manages the Slack app to grant it files:read.",
                    name=err.name,
                )
            notice = Notice(title=_("That did not work"), text=reason)
        else:
            personal = event.get("channel_type") == "im" and named is None
            notice = await self.inbound.command(actor, channel, text, files=files, personal=personal)
        await self.edge.reply(team_id, None, where, user_id, notice)

    async def _fetch_calendars(self, team_id: str, shared: list[SharedFile]) -> tuple[tuple[str, bytes], ...]:
        """(name, bytes) of the calendar files among ``shared``; ``FileError`` when one of
        them is too large or cannot be read. Other files are left alone."""
        out: list[tuple[str, bytes]] = []
        for file in shared:
            if file.url is None:  # shared from another organisation: only files.info tells
                info = await self.edge.api(team_id, "files.info", file=file.id)
                if not info or not isinstance(info.get("file"), dict):
                    raise FileError("unreadable", file.name or file.id)
                file = shared_file(info["file"])
            if not file.is_calendar:
                continue
            if (file.size or 0) > MAX_FILE_BYTES:
                raise FileError("too_large", file.name)
            if not file.url or self.edge.session is None:
                raise FileError("unreadable", file.name)
            try:
                token = await self.edge.tokens.token(team_id)
            except Exception as err:
                log.warning("slack: no token to download a file in workspace %s: %r", team_id, err)
                raise FileError("unreadable", file.name) from None
            name = file.name if file.name.lower().endswith(".ics") else (file.name or file.id) + ".ics"
            out.append(
                (name, await download(self.edge.session, file.url, token, api_base=self.api_base, name=file.name))
            )
        return tuple(out)
