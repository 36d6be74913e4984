"""What the Slack adapter needs from the bot: commands and answers (``Inbound``), the
platform hooks, and the few questions only Slack asks (a prompt's current rendering, who is
in a channel, what an App Home shows, files a command takes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from adapters.slack.files import ExportFile
from adapters.slack.platform import PlatformHooks
from rituals.ports import Inbound
from rituals.types import Actor, ChannelRef, Notice, Prompt


@dataclass(frozen=True, kw_only=True, slots=True)
class PromptInfo:
    """A prompt as it stands now, with its team's language and channel."""

    prompt: Prompt
    language: str
    channel: ChannelRef


@dataclass(frozen=True, kw_only=True, slots=True)
class HomeRound:
    """An open round in the App Home, with the button that opens its form: ``label`` says
    "Answer", or "Answered ✓ · change" to whoever answered it already."""

    occurrence_id: int
    label: str
    answered: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class HomeSection:
    """One team in the member's App Home: what it says, and its open rounds to answer or
    change (an anonymous round answered already is said, not offered again)."""

    notice: Notice
    rounds: tuple[HomeRound, ...] = ()


class SlackInbound(Inbound, PlatformHooks, Protocol):
    """What the Slack adapter needs from the bot besides commands and answers."""

    async def prompt(self, occurrence_id: int) -> PromptInfo | None:
        """The current rendering of an occurrence's prompt; None when it is gone."""
        ...

    async def thread_occurrence(self, workspace_id: str, channel_id: str, thread_ts: str) -> int | None:
        """The occurrence whose prompt was posted as message ``thread_ts`` in the channel."""
        ...

    async def language_of(self, channel: ChannelRef) -> str:
        """The language of the channel's team (the default when it has none yet)."""
        ...

    async def uninstalled(self, workspace_id: str) -> int:
        """The app left the workspace: pause its rituals; returns how many."""
        ...

    async def installed(self, workspace_id: str) -> None:
        """The app was (re)installed in the workspace: its teams are active again."""
        ...

    async def wants_channel_members(self, text: str) -> bool:
        """Whether this command needs the channel's members in the team first
        (``appreciation start``: the round's roster is everyone in the channel)."""
        ...

    async def sync_members(self, channel: ChannelRef, members: list[tuple[str, str]], *, channel_name: str = "") -> int:
        """The channel's complete list of people, (user id, display name): newcomers join its
        team, people no longer in it leave; returns how many are in."""
        ...

    async def joined(self, channel: ChannelRef, people: list[Actor]) -> None:
        """People joined the channel of a known team: its rituals invite them from now on."""
        ...

    async def left(self, channel: ChannelRef, user_ids: list[str]) -> None:
        """People left the channel: no more prompts, reminders or rounds for them there."""
        ...

    async def home(self, actor: Actor) -> list[HomeSection]:
        """What the member's App Home shows, one section per team."""
        ...

    async def file_how_to(
        self, actor: Actor, channel: ChannelRef, text: str, *, channel_name: str = ""
    ) -> Notice | None:
        """For a slash command that needs a file (``holiday import``) from someone allowed to
        run it: how to share the file instead. None for anything else."""
        ...

    async def file_command(self, text: str) -> bool:
        """Whether a message sharing files with these words is a command that takes them
        (``holiday import``)."""
        ...

    async def person_named(self, actor: Actor, channel: ChannelRef, text: str) -> tuple[str, str] | None:
        """(command name, the person as written) for a command naming someone that the actor
        may run (``role add leader @anna``); None for any other. Writes nothing."""
        ...

    async def export_file(self, actor: Actor, channel: ChannelRef, text: str) -> ExportFile | None:
        """For ``export`` by an admin of the channel's team: its answers as a CSV file;
        None for any other command or person."""
        ...
