"""The Events API events Ritme listens to (https://docs.slack.dev/reference/events):
messages (a reply in a prompt's thread is an answer, files shared with a command's words
run it), the App Home, people joining and leaving a channel, and the app being removed.

``app_uninstalled`` and ``tokens_revoked`` (bot tokens) disable the workspace's installation
(an org-wide install's: the organisation's, ``payloads.installation_of``) before they are
acked: from then on nothing is sent there (the platform refuses with ``not_installed``) and
its rituals are paused. A new OAuth install, or with a configured token any request from
the workspace (``Guards``), enables it again (the rituals stay paused until resumed).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack.answers import Answers
from adapters.slack.blocks import home_buttons, notice_blocks
from adapters.slack.commands import Commands
from adapters.slack.edge import Edge
from adapters.slack.payloads import installation_of
from adapters.slack.platform import PLATFORM
from rituals.types import ChannelRef

log = logging.getLogger(__name__)

# A member's own message: plain (no subtype), or a thread reply also sent to the channel ("Also send to
# #channel", https://docs.slack.dev/reference/events/message/thread_broadcast), an answer like any reply.
REPLY_SUBTYPES = (None, "thread_broadcast")


class Events:
    """The event listeners; answers and commands that arrive as messages go to their modules."""

    def __init__(self, edge: Edge, answers: Answers, commands: Commands) -> None:
        self.edge = edge
        self.inbound = edge.inbound
        self.answers = answers
        self.commands = commands

    def register(self, app: AsyncApp) -> None:
        app.event("message")(self.on_message)
        app.event("app_mention")(self.on_ignored_event)
        app.event("app_home_opened")(self.on_home_opened)
        app.event("app_uninstalled")(self.on_uninstalled)
        app.event("tokens_revoked")(self.on_uninstalled)
        app.event("member_joined_channel")(self.on_member_joined)
        app.event("member_left_channel")(self.on_member_left)

    async def on_message(self, ack: Any, event: dict[str, Any], body: dict[str, Any]) -> None:
        await ack()
        if (
            event.get("subtype") == "file_share"
            and event.get("files")
            and event.get("user")
            and not event.get("bot_id")
        ):
            self.edge.spawn(self.commands.file_message(event, str(body.get("team_id") or event.get("team") or "")))
            return
        if event.get("subtype") == "message_changed" and isinstance(event.get("message"), dict):
            # An edited thread reply is an edited answer: the edit replaces it, as the modal's would. A change
            # without ``edited`` is Slack's own (a link unfurled, the language detected): no edit, nothing to do.
            if not isinstance(event["message"].get("edited"), dict):
                return
            event = {**event["message"], "channel": event.get("channel"), "team": event.get("team")}
            if event.get("subtype") not in REPLY_SUBTYPES or event.get("bot_id") or not event.get("user"):
                return
        elif event.get("subtype") not in REPLY_SUBTYPES or event.get("bot_id") or not event.get("user"):
            return  # joins, deletions, bots and this bot itself
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == event.get("ts"):
            return
        self.edge.spawn(self.answers.thread_reply(event, str(body.get("team_id") or event.get("team") or "")))

    async def on_ignored_event(self, ack: Any) -> None:
        await ack()

    async def on_member_joined(self, ack: Any, event: dict[str, Any], body: dict[str, Any]) -> None:
        await ack()
        if event.get("user") and event.get("channel"):
            self.edge.spawn(
                self._member_joined(
                    str(event.get("team") or body.get("team_id") or ""), str(event["channel"]), str(event["user"])
                )
            )

    async def _member_joined(self, team_id: str, channel_id: str, user_id: str) -> None:
        user = await self.edge.people.user(team_id, user_id)
        if user is not None and not user.human:
            return  # bots, this one included, are not invited to rituals
        actor = await self.edge.actor(team_id, user_id)
        await self.inbound.joined(ChannelRef(platform=PLATFORM, workspace_id=team_id, channel_id=channel_id), [actor])

    async def on_member_left(self, ack: Any, event: dict[str, Any], body: dict[str, Any]) -> None:
        await ack()
        if event.get("user") and event.get("channel"):
            channel = ChannelRef(
                platform=PLATFORM,
                workspace_id=str(event.get("team") or body.get("team_id") or ""),
                channel_id=str(event["channel"]),
            )
            self.edge.spawn(self.inbound.left(channel, [str(event["user"])]))

    async def on_home_opened(self, ack: Any, event: dict[str, Any], body: dict[str, Any]) -> None:
        await ack()
        if event.get("tab", "home") == "home" and event.get("user"):
            self.edge.spawn(self._publish_home(str(body.get("team_id", "")), str(event["user"])))

    async def _publish_home(self, team_id: str, user_id: str) -> None:
        actor = await self.edge.actor(team_id, user_id)
        blocks: list[dict[str, Any]] = []
        for section in await self.inbound.home(actor):
            if blocks:
                blocks.append({"type": "divider"})
            blocks += notice_blocks(section.notice) + home_buttons(section.rounds)
        await self.edge.api(team_id, "views.publish", user_id=user_id, view={"type": "home", "blocks": blocks[:100]})

    async def on_uninstalled(self, ack: Any, body: dict[str, Any], event: dict[str, Any]) -> None:
        """Disable the workspace before the ack (so nothing more is sent from now on), then
        pause its rituals. A ``tokens_revoked`` for user tokens only changes nothing: Ritme
        holds none."""
        revoked = event.get("tokens") if event.get("type") == "tokens_revoked" else None
        if isinstance(revoked, dict) and revoked and not revoked.get("bot"):
            await ack()
            return
        workspace_id = installation_of(body)  # an org-wide install's: its enterprise_id
        await self.edge.tokens.disable(workspace_id)  # a failure here is a 500: Slack tries again
        await ack()
        self.edge.spawn(self._uninstall(workspace_id))

    async def _uninstall(self, team_id: str) -> None:
        paused = await self.inbound.uninstalled(team_id)
        log.warning("slack: app removed from workspace %s; %d rituals paused", team_id, paused)
