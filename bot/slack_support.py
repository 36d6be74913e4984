"""The bot's side of ``adapters.slack.inbound.SlackInbound``: what Slack needs beyond commands
and answers (the current prompt, which prompt a thread belongs to, the team's language,
pausing a workspace that removed the app, appreciation rounds by direct message).

It wraps the ``Ritme`` service and reads the tables it needs through ``Repo`` sessions;
it lives here, not in ``bot/service.py``, so that the service stays platform-neutral.

Appreciation rounds on Slack. ``appreciation start`` first adds the channel's people to the
team (``sync_members``), so the round's roster (planned by the engine from the team's
members) is the whole channel. When the round's prompt reaches the channel,
``private_round`` queues the prompt once more per roster member, as a direct message,
through the outbox (retries, pacing, and the closed round updates every DM). Who appreciates
whom is not stored: ``rituals.kinds.appreciation.assign_colleagues`` derives it from the occurrence id and the roster,
so every replica, every DM, the reminder and the answer form agree on it.

Files. A slash command cannot carry a file: ``/ritme holiday import`` from an admin is
answered with how to share the calendar instead (the adapter then hands the shared file to
``command``). ``export`` gets the CSV besides the link (``export_file``), built from the same
report as the review page's download, for the adapter to post to the admin in private.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from adapters.slack.files import ExportFile
from adapters.slack.inbound import HomeRound, HomeSection, PromptInfo
from bot.commands import CommandError, may_run, parse, reads_roster
from bot.commands.formats import describe_schedule, format_time
from bot.export import export_csv, load_report
from bot.service import Ritme
from rituals.answers import ANSWERED_MARK, ANSWERED_MARK_ANONYMOUS
from rituals.i18n import Translator, translator
from rituals.kinds import KINDS
from rituals.ports import Answered, OwnAnswer
from rituals.types import Actor, ChannelRef, Notice
from rituals.visibility import Visibility, round_visibility
from storage.models import Occurrence, Ritual, SentPrompt, Team
from storage.queries import Queries
from storage.repo import Repo

PLATFORM = "slack"


def command_name(text: str) -> str | None:
    """The command the words are (``holiday import``, ``export``, ...), None when they are none."""
    try:
        return parse(text).name
    except CommandError:
        return None


def import_how_to(_: Translator) -> Notice:
    """``/ritme holiday import`` on Slack: a slash command cannot carry the calendar."""
    return Notice(
        title=_("Import school holidays"),
        text=_(
            "A slash command cannot carry a file. Share the calendar (.ics) in this channel with the message "
            "holiday import (or vakantie import); Ritme reads it and answers only you."
        ),
        footer=_("In a direct message with Ritme, name the channel: holiday import #channel."),
    )


class SlackSupport:
    """Implements ``SlackInbound`` on top of ``Ritme`` and ``Repo``."""

    def __init__(self, ritme: Ritme, repo: Repo) -> None:
        self.ritme = ritme
        self.repo = repo

    async def command(
        self,
        actor: Actor,
        channel: ChannelRef,
        text: str,
        *,
        channel_name: str = "",
        files: tuple[tuple[str, bytes], ...] = (),
        personal: bool = False,
    ) -> Notice:
        return await self.ritme.command(actor, channel, text, channel_name=channel_name, files=files, personal=personal)

    async def file_how_to(
        self, actor: Actor, channel: ChannelRef, text: str, *, channel_name: str = ""
    ) -> Notice | None:
        if command_name(text) != "holiday import" or not await self._is_admin(actor, channel, channel_name):
            return None  # anyone else gets what the command says (for a member: the refusal)
        return import_how_to(translator((await self.ritme.team_for(channel, channel_name)).language))

    async def _is_admin(self, actor: Actor, channel: ChannelRef, channel_name: str = "") -> bool:
        team = await self.ritme.team_for(channel, channel_name)
        member_id = await self.ritme.member_for(actor, team)
        return await self.ritme.role_of(actor, team, member_id) == "admin"

    async def file_command(self, text: str) -> bool:
        return command_name(text) == "holiday import"

    async def person_named(self, actor: Actor, channel: ChannelRef, text: str) -> tuple[str, str] | None:
        """(command, the person as written) for a command that names someone (``role add
        leader @anna``, ``pairs exclude @anna``) that the actor may run; None for any other
        command or person. Writes nothing: a channel Ritme does not know yet is no team, and
        there only workspace admins may run admin commands."""
        try:
            cmd = parse(text)
        except CommandError:
            return None
        who = cmd.args.get("user")
        if not isinstance(who, str) or not who.strip():
            return None
        role = "admin" if actor.is_platform_admin else "member"
        known = await self.repo.team_conversation(
            platform=channel.platform, workspace_id=channel.workspace_id, channel_id=channel.channel_id
        )
        member_id = await self.repo.find_member(
            platform=actor.platform, workspace_id=actor.workspace_id, user_id=actor.user_id
        )
        if known and member_id is not None:
            role = await self.ritme.role_of(actor, await self.repo.team(known[0]), member_id)
        if not may_run(role, cmd.name):
            return None  # the command itself refuses, saying which role it needs
        return cmd.name, who

    async def export_file(self, actor: Actor, channel: ChannelRef, text: str) -> ExportFile | None:
        """The channel's answers as the CSV of the review page's download, for an admin."""
        if command_name(text) != "export" or not await self._is_admin(actor, channel):
            return None
        team = await self.ritme.team_for(channel)
        now = self.ritme.clock()
        report = await load_report(Queries(self.repo), team, now, period=None)
        _ = translator(team.language)
        return ExportFile(
            name=f"ritme-team-{team.id}-{report.day(now).isoformat()}.csv",
            comment=_("The answers of {channel} as a CSV file.", channel=f"<#{team.channel_id}>"),
            content=export_csv(report, _),
        )

    async def answer(
        self,
        actor: Actor,
        occurrence_id: int,
        values: dict[str, Any],
        via: ChannelRef | None = None,
    ) -> Answered:
        return await self.ritme.answer(actor, occurrence_id, values, via)

    async def own_answers(self, actor: Actor, occurrence_ids: Sequence[int]) -> dict[int, OwnAnswer]:
        return await self.ritme.own_answers(actor, occurrence_ids)

    async def prompt(self, occurrence_id: int) -> PromptInfo | None:
        rendered = await self.ritme.engine.prompt(occurrence_id)
        if rendered is None:
            return None
        prompt, team = rendered
        return PromptInfo(prompt=prompt, language=team.language, channel=team.channel)

    async def thread_occurrence(self, workspace_id: str, channel_id: str, thread_ts: str) -> int | None:
        """The occurrence whose prompt is message ``thread_ts``, in a team of this workspace."""
        async with self.repo.session() as s:
            return await s.scalar(
                select(SentPrompt.occurrence_id)
                .join(Occurrence, Occurrence.id == SentPrompt.occurrence_id)
                .join(Ritual, Ritual.id == Occurrence.ritual_id)
                .join(Team, Team.id == Ritual.team_id)
                .where(
                    SentPrompt.platform == PLATFORM,
                    SentPrompt.channel_id == channel_id,
                    SentPrompt.message_id == thread_ts,
                    Team.workspace_id == workspace_id,
                )
                .order_by(SentPrompt.id.desc())
                .limit(1)
            )

    async def language_of(self, channel: ChannelRef) -> str:
        async with self.repo.session() as s:
            language = await s.scalar(
                select(Team.language).where(
                    Team.platform == channel.platform,
                    Team.workspace_id == channel.workspace_id,
                    Team.channel_id == channel.channel_id,
                )
            )
        return language or self.ritme.default_language

    async def uninstalled(self, workspace_id: str) -> int:
        """Pause every ritual of the workspace's teams and mark the teams inactive."""
        async with self.repo.session() as s:
            team_ids = list(
                (
                    await s.scalars(select(Team.id).where(Team.platform == PLATFORM, Team.workspace_id == workspace_id))
                ).all()
            )
            if not team_ids:
                return 0
            result = await s.execute(
                update(Ritual).where(Ritual.team_id.in_(team_ids), Ritual.paused.is_(False)).values(paused=True)
            )
            await s.execute(update(Team).where(Team.id.in_(team_ids)).values(active=False))
            return int(getattr(result, "rowcount", 0) or 0)

    async def installed(self, workspace_id: str) -> None:
        """The app is back in the workspace: its teams are active again (rituals stay paused
        until an admin resumes them, so nothing surprises a team that removed the app)."""
        async with self.repo.session() as s:
            await s.execute(
                update(Team).where(Team.platform == PLATFORM, Team.workspace_id == workspace_id).values(active=True)
            )

    # -- appreciation rounds by direct message --------------------------------------------

    async def wants_channel_members(self, text: str) -> bool:
        """Commands that set up or start a round read the channel's people first, so a round
        (an appreciation, pairs) asks everyone in the channel, not only who spoke to Ritme."""
        try:
            return reads_roster(parse(text).name)
        except CommandError:
            return False

    async def sync_members(self, channel: ChannelRef, members: list[tuple[str, str]], *, channel_name: str = "") -> int:
        """The channel's complete list of people becomes its team's roster."""
        return await self.ritme.sync_roster(channel, members, channel_name=channel_name)

    async def joined(self, channel: ChannelRef, people: list[Actor]) -> None:
        await self.ritme.joined(channel, people)

    async def left(self, channel: ChannelRef, user_ids: list[str]) -> None:
        await self.ritme.left(channel, user_ids)

    async def assigned_colleague(self, occurrence_id: int, workspace_id: str, user_id: str) -> tuple[str, str] | None:
        return await self.repo.assigned_colleague(
            platform=PLATFORM, workspace_id=workspace_id, user_id=user_id, occurrence_id=occurrence_id
        )

    async def private_round(self, channel: ChannelRef, occurrence_id: int) -> int:
        """Queue the round's prompt privately to every roster member without one queued yet."""
        queued = await self.repo.private_round(occurrence_id, self.ritme.clock())
        if queued:
            self.ritme.engine.wake.set()
        return queued

    async def home(self, actor: Actor) -> list[HomeSection]:
        """The App Home: one section per team of the member (its rituals, open rounds and
        whether they still wait for the member's answer, with a button to answer or change it);
        admins get a short how-to under each."""
        teams = await self.repo.member_teams(actor)
        if not teams:
            _ = translator(self.ritme.default_language)
            text = _("You are not in a team with rituals yet. Type /ritme help in a channel to begin.")
            return [HomeSection(notice=Notice(text=text))]
        sections = []
        for team, member_id in teams:
            _ = translator(team.language)
            tz = ZoneInfo(team.timezone)
            rituals = await self.repo.rituals(team.id)
            open_by = await self.repo.open_occurrences([r.id for r in rituals])
            fields = []
            rounds: list[HomeRound] = []
            for r in rituals:
                parts = [describe_schedule(r.schedule, _)]
                if r.paused:
                    parts.append(_("paused"))
                for occ in open_by.get(r.id, []):
                    if occ.closes_at:
                        parts.append(_("open until {when}", when=format_time(occ.closes_at, tz, _)))
                    if not KINDS[r.kind].digest:
                        async with self.repo.transaction() as tx:
                            answered = await tx.has_answered(occ.id, member_id)
                        anonymous = round_visibility(r.kind, occ.content) is Visibility.ANONYMOUS
                        mark = _(ANSWERED_MARK_ANONYMOUS if anonymous else ANSWERED_MARK)
                        parts.append(mark if answered else _("*waiting for your answer*"))
                        if not (answered and anonymous) and not KINDS[r.kind].private:
                            label = f"#{r.id} {mark}" if answered else f"#{r.id} {_('Answer')}"
                            rounds.append(HomeRound(occurrence_id=occ.id, label=label, answered=answered))
                fields.append((f"#{r.id} {KINDS[r.kind].title(_)}", " · ".join(parts)))
            admin = actor.is_platform_admin or "admin" in await self.repo.roles(team.id, member_id)
            footer = (
                _(
                    "How to: in the channel, /ritme add reflection every monday at 09:00 adds a ritual; "
                    "/ritme help shows every command."
                )
                if admin
                else ""
            )
            notice = Notice(
                title=team.name or team.channel_id,
                text=f"<#{team.channel_id}>"
                + (
                    ""
                    if rituals
                    else "\n"
                    + _(
                        "This channel has no rituals yet. An admin adds one, "
                        "e.g. /ritme add reflection every monday at 09:00"
                    )
                ),
                fields=tuple(fields),
                footer=footer,
            )
            sections.append(HomeSection(notice=notice, rounds=tuple(rounds)))
        return sections
