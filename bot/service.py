"""Runs commands and answers for every platform: roles, teams, and the engine behind them."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.commands import KIND_WORDS, Command, CommandError, parse
from rituals.calendar import CalendarError, known_country, parse_ics
from rituals.engine import Engine, utcnow
from rituals.former import readable
from rituals.i18n import N_, Translator, translator
from rituals.kinds import KINDS
from rituals.kinds.base import words_threshold
from rituals.library import THEMES, VALUES, find_theme
from rituals.ports import AnswerNotStored, TeamView
from rituals.schedule import ScheduleError, parse_duration, parse_schedule
from rituals.types import Actor, ChannelRef, Notice
from storage.repo import Repo

log = logging.getLogger(__name__)

# Who may run what; commands not named here are open to every member.
NEEDS = {
    "add": "admin", "pause": "admin", "resume": "admin", "remove": "admin",
    "timezone": "admin", "language": "admin", "holiday add": "admin", "holiday remove": "admin",
    "holiday list": "admin", "holidays": "admin", "role add": "admin", "role remove": "admin",
    "role list": "admin", "question add": "admin", "theme": "admin",
    "pairs exclude": "admin", "pairs include": "admin", "pairs label": "admin", "pairs mix": "admin", "plan add": "admin", "plan list": "admin", "plan remove": "admin", "holiday import": "admin",
    "run": "leader", "close": "leader", "goal set": "leader", "review": "leader",
    "appreciation start": "leader", "appreciation close": "leader", "action add": "leader",
    "review link": "leader", "review link revoke": "leader", "export": "admin",
    "privacy threshold": "admin", "privacy retention": "admin", "values add": "admin", "values remove": "admin",
}
# Commands that set up or start a round: the platform reads the channel's people first, so a
# round (an appreciation, pairs) asks everyone there, not only who spoke to Ritme.
ROSTER_COMMANDS = ("appreciation start", "add", "run")
MAX_OWN_VALUES = 12


def may_run(role: str, command: str) -> bool:
    """Whether someone with ``role`` (admin, leader, member) may run ``command``."""
    needed = NEEDS.get(command)
    return needed is None or role == "admin" or (needed == "leader" and role == "leader")


# The kinds by the word that adds them, in the team's language (``add reflectie ...``).
KIND_WORDS_SHOWN = {"goal": N_("goal"), "reflection": N_("reflection"), "checkout": N_("checkout"), "pulse": N_("pulse"),
                    "appreciation": N_("appreciation"), "values": N_("values"), "pairs": N_("pairs"), "digest": N_("digest")}
# /ritme help: (example, what it does) per role. The examples are translated as well, into
# commands that parse the same (tests/bot/test_commands.py checks).
HELP_MEMBER = (
    (N_("help"), N_("this overview")),
    (N_("list"), N_("the rituals of this channel")),
    (N_("goal"), N_("our shared goal")),
    (N_("values"), N_("the values the team chooses from")),
    (N_("reminders off"), N_("no reminders for you (reminders on: back on)")),
    (N_("pairs skip"), N_("leave the next pairs round out")),
    (N_("privacy"), N_("what is kept, and who sees it")),
    (N_("forget-me"), N_("erase your answers and identity")),
)
HELP_LEADER = (
    (N_("run #1"), N_("send a ritual's prompt now")),
    (N_("close #1"), N_("close the open round and post its results")),
    (N_("review #1"), N_("a summary of recent answers")),
    (N_("review link"), N_("a private link to the team's review page with charts")),
    (N_("review link revoke"), N_("stop every review and export link made so far")),
    (N_("goal set Every pupil reads with pleasure"), N_("set the shared goal")),
    (N_("appreciation start 3d"), N_("start an appreciation round")),
    (N_("action add #1 We start every meeting with the goal"), N_("record what the team agreed; the next round asks how it went")),
)
HELP_ADMIN = (
    (N_("add reflection every monday at 09:00"), N_("a weekly reflection question")),
    (N_("add checkout every weekday at 16:30"), N_("a check-out after the daily meeting")),
    (N_("add pulse every 2 weeks on friday at 15:00 open 2d"), N_("an anonymous team-climate pulse")),
    (N_("add goal every month on the first tuesday at 09:00"), N_("a monthly look at the goal")),
    (N_("add values every month on day 1 at 09:00"), N_("each member picks the three values that guide their work")),
    (N_("add pairs every month on the first monday at 09:00"), N_("pairs for collegial consultation")),
    (N_("add digest every friday at 15:00"), N_("a weekly look back at the results, in the channel")),
    (N_("add reflection elke maandag om 09:00"), N_("Dutch works too")),
    (N_("pause #1 / resume #1 / remove #1"), N_("pause, resume or remove a ritual")),
    (N_("timezone Europe/Amsterdam"), N_("the team's timezone")),
    (N_("language en"), N_("the team's language (nl or en)")),
    (N_("holiday add 2026-12-21..2027-01-01 Christmas"), N_("no prompts in this period")),
    (N_("holiday list / holiday remove 2026-12-21..2027-01-01"), N_("the holidays, and taking one out")),
    (N_("holiday import"), N_("with an .ics file attached: the school holidays of a calendar")),
    (N_("holidays NL"), N_("skip the public holidays of a country")),
    (N_("role add leader @anna / role remove leader @anna / role list"), N_("who has which role")),
    (N_("question add What surprised you this week?"), N_("add your own reflection question")),
    (N_("theme safety learning"), N_("choose reflection themes")),
    (N_("plan add 2026-09-01..2026-10-31 safety / plan list"), N_("the year plan: a theme per period")),
    (N_("values add Curiosity"), N_("add a value of the team's own")),
    (N_("privacy threshold 5"), N_("anonymous results only from this many answers (at least 3)")),
    (N_("privacy retention 2y"), N_("how long answers are kept")),
    (N_("export"), N_("all answers as a CSV file")),
)
_ZONES = {name.casefold(): name for name in available_timezones()}


class Ritme:
    """The inbound side of the bot (``rituals.ports.Inbound``)."""

    def __init__(
        self, repo: Repo, engine: Engine, *, default_timezone: str, default_language: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.repo = repo
        self.engine = engine
        self.default_timezone = default_timezone
        self.default_language = default_language
        self.clock = clock

    async def team_for(self, channel: ChannelRef, name: str = "") -> TeamView:
        team, created = await self.repo.ensure_team(
            platform=channel.platform, workspace_id=channel.workspace_id, channel_id=channel.channel_id,
            name=name, timezone=self.default_timezone, language=self.default_language, now=self.clock(),
        )
        if created:
            log.info("team %s created for %s channel %s", team.id, channel.platform, channel.channel_id)
        return team

    async def member_for(self, actor: Actor, team: TeamView | None) -> int:
        return await self.repo.ensure_member(
            platform=actor.platform, workspace_id=actor.workspace_id, user_id=actor.user_id,
            display_name=actor.display_name, now=self.clock(), team_id=team.id if team else None,
        )

    async def sync_roster(self, channel: ChannelRef, members: list[tuple[str, str]], *, channel_name: str = "") -> int:
        """The channel's complete list of people, (user id, name), as the platform gave it:
        newcomers join the team, people no longer in it leave. Returns how many are in. An
        empty list is no roster (a platform that answered with nobody): nobody leaves for it."""
        if not members:
            log.warning("roster of %s %s came back empty; the team's members stay as they are", channel.platform, channel.channel_id)
            return 0
        team = await self.team_for(channel, channel_name)
        now = self.clock()
        for user_id, name in members:
            await self.repo.ensure_member(platform=channel.platform, workspace_id=channel.workspace_id, user_id=user_id,
                                          display_name=name, now=now, team_id=team.id)
        left = await self.repo.keep_in_team(platform=channel.platform, workspace_id=channel.workspace_id,
                                            channel_id=channel.channel_id, user_ids=[user_id for user_id, _ in members])
        log.info("team %s: roster of %d synced (%d left)", team.id, len(members), left)
        return len(members)

    async def joined(self, channel: ChannelRef, people: list[Actor]) -> None:
        """People joined the channel of a known team: its rituals invite them from now on."""
        team = await self.repo.team_conversation(platform=channel.platform, workspace_id=channel.workspace_id,
                                                 channel_id=channel.channel_id)
        if team is None:
            return  # a channel Ritme does not serve
        for actor in people:
            await self.repo.ensure_member(platform=actor.platform, workspace_id=actor.workspace_id, user_id=actor.user_id,
                                          display_name=actor.display_name, now=self.clock(), team_id=team[0])
        log.info("team %s: %d joined", team[0], len(people))

    async def left(self, channel: ChannelRef, user_ids: list[str]) -> None:
        """People left the channel: no more prompts, reminders or rounds for them there."""
        gone = await self.repo.leave_team(platform=channel.platform, workspace_id=channel.workspace_id,
                                          channel_id=channel.channel_id, user_ids=user_ids)
        if gone:
            log.info("%s channel %s: %d left the team", channel.platform, channel.channel_id, gone)

    async def role_of(self, actor: Actor, team: TeamView, member_id: int) -> str:
        roles = await self.repo.roles(team.id, member_id)
        if actor.is_platform_admin or "admin" in roles:
            return "admin"
        return "leader" if "leader" in roles else "member"

    # -- inbound --------------------------------------------------------------------

    async def command(
        self, actor: Actor, channel: ChannelRef, text: str, *, channel_name: str = "",
        files: tuple[tuple[str, bytes], ...] = (), personal: bool = False,
    ) -> Notice:
        """Run a command. One that does not parse changes nothing: not even the channel's team
        is created; its reason comes in the team's language when the team is known.

        ``personal``: typed in a one-to-one chat with Ritme, which is no team. What concerns
        the person runs there; what concerns a team points to the team's channel."""
        try:
            cmd = parse(text)
        except CommandError as err:
            known = await self.repo.team_conversation(platform=channel.platform, workspace_id=channel.workspace_id,
                                                      channel_id=channel.channel_id)
            if known:
                language = (await self.repo.team(known[0])).language
            else:
                language = await self._language_of_person(actor)
            _ = translator(language)
            return error_notice(_, _(err.msgid, **err.params), err.example)
        if personal:
            if files:
                cmd = Command(name=cmd.name, args={**cmd.args, "files": files})
            return await self._personal(actor, cmd)
        team = await self.team_for(channel, channel_name)
        _ = translator(team.language)
        member_id = await self.member_for(actor, team)
        role = await self.role_of(actor, team, member_id)
        if not may_run(role, cmd.name):
            if NEEDS[cmd.name] == "admin":
                return Notice(title=_("Not allowed"), text=_("Only an admin of this team can do that."))
            return Notice(title=_("Not allowed"), text=_("Only a leader or an admin of this team can do that."))
        if files:
            cmd = Command(name=cmd.name, args={**cmd.args, "files": files})
        handler = getattr(self, "do_" + cmd.name.replace(" ", "_").replace("-", "_"))
        try:
            result: Notice = await handler(cmd, team, member_id, role, _)
        except CommandError as err:
            return error_notice(_, _(err.msgid, **err.params), err.example)
        log.info("command %r by %s in team %s: done", cmd.name, actor.user_id, team.id)
        return result

    async def _language_of_person(self, actor: Actor, teams: list[tuple[TeamView, int]] | None = None) -> str:
        """The language of the person's first team (of ``teams`` when known), or the default."""
        if teams is None:
            teams = await self.repo.member_teams(actor, limit=1)
        return teams[0][0].language if teams else self.default_language

    async def _personal(self, actor: Actor, cmd: Command) -> Notice:
        """A command in a one-to-one chat: no team is made of the chat."""
        teams = await self.repo.member_teams(actor)
        _ = translator(await self._language_of_person(actor, teams))
        names = ", ".join(team.name or team.channel_id for team, _member in teams)
        if cmd.name == "forget-me":
            member_id = await self.repo.find_member(platform=actor.platform, workspace_id=actor.workspace_id, user_id=actor.user_id)
            return await self.do_forget_me(cmd, None, member_id, "member", _)
        if cmd.name == "reminders":
            return await self.do_reminders(cmd, None, await self.member_for(actor, None), "member", _)
        if cmd.name == "pairs skip" and teams:
            for team, member_id in teams:
                await self.do_pairs_skip(cmd, team, member_id, "member", _)
            return Notice(title=_("Skipped"), text=_("You are left out of the next pairs round of: {teams}.", teams=names))
        if cmd.name == "holiday import":  # a calendar sent privately: for the one team this person runs
            admin_of = [(team, member_id) for team, member_id in teams if await self.role_of(actor, team, member_id) == "admin"]
            if len(admin_of) == 1:
                team, member_id = admin_of[0]
                _ = translator(team.language)
                try:
                    done = await self.do_holiday_import(cmd, team, member_id, "admin", _)
                except CommandError as err:
                    return error_notice(_, _(err.msgid, **err.params), err.example)
                return Notice(title=done.title, text=done.text, fields=done.fields,
                              footer=_("For the team {team}.", team=team.name or team.channel_id))
            if not admin_of:
                return Notice(title=_("Not allowed"), text=_("Only an admin of this team can do that."))
        where = _("Your teams: {teams}.", teams=names) if teams else _("You are not in a team with rituals yet.")
        if cmd.name == "help":
            return Notice(
                title=_("Ritme keeps your team's rituals going"),
                text=_("Rituals belong to a team's channel: type /ritme help there to see what you can do. "
                       "Here, in a chat with just you, these work:"),
                fields=tuple((f"/ritme {_(example)}", _(what)) for example, what in HELP_MEMBER
                             if example in (N_("reminders off"), N_("pairs skip"), N_("forget-me"))),
                footer=where,
            )
        return Notice(title=_("Use this in your team's channel"),
                      text=_("Rituals belong to a team's channel. Type /ritme {command} in the channel of your team.", command=_(cmd.name)),
                      footer=where)

    async def answer(
        self, actor: Actor, occurrence_id: int, values: dict[str, Any], via: ChannelRef | None = None,
    ) -> tuple[bool, str]:
        """Store an answer: validated, with its member (created on first contact), in one
        transaction shared with the answers that arrive at the same time."""
        try:
            return await self.engine.submit(occurrence_id=occurrence_id, actor=actor, values=values, via=via)
        except AnswerNotStored:
            _ = translator(self.default_language)
            return False, _("Your answer could not be saved just now. Please try again in a moment.")

    # -- commands -------------------------------------------------------------------

    async def do_help(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        rows = list(HELP_MEMBER)
        if role in ("admin", "leader"):
            rows += HELP_LEADER
        if role == "admin":
            rows += HELP_ADMIN
        rows = [(_(example), _(what)) for example, what in rows]  # the examples in the team's words too
        fields = tuple((f"/ritme {example}", what) for example, what in rows)
        kinds = ", ".join(sorted(_(KIND_WORDS_SHOWN.get(kind, kind)) for kind in KINDS))
        return Notice(
            title=_("Ritme keeps your team's rituals going"),
            text=_("Kinds of ritual: {kinds}. A schedule may end with 'open 2d': how long answers are taken.", kinds=kinds),
            fields=fields,
            footer=_("Your role in this team: {role}", role=role_name(_, role)),
        )

    async def do_list(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        rituals = await self.repo.rituals(team.id)
        if not rituals:
            return Notice(title=_("Rituals"), text=_("This channel has no rituals yet. An admin adds one, e.g. /ritme add reflection every monday at 09:00"))
        tz = ZoneInfo(team.timezone)
        open_by = await self.repo.open_occurrences([r.id for r in rituals])
        skipped = await self.repo.last_skipped([r.id for r in rituals])
        fields = []
        for r in rituals:
            kind = KINDS[r.kind]
            when = describe_schedule(r.schedule, _)
            parts = [when]
            if r.paused:
                parts.append(_("paused"))
            elif r.next_due_at:
                parts.append(_("next: {when}", when=format_time(r.next_due_at, tz)))
            for occ in open_by.get(r.id, []):
                if occ.closes_at:
                    parts.append(_("open until {when}", when=format_time(occ.closes_at, tz)))
            if r.id in skipped:
                occ = skipped[r.id]
                parts.append(_("skipped {day} ({reason})", day=occ.planned_at.astimezone(tz).date().isoformat(), reason=occ.reason or ""))
            fields.append((f"#{r.id} {kind.title(_)}", " · ".join(parts)))
        return Notice(title=_("Rituals"), text="", fields=tuple(fields), footer=_("Times in {tz}", tz=team.timezone))

    async def do_add(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        kind = cmd.args["kind"]
        if kind not in KINDS:
            raise CommandError("The '{kind}' ritual is not available in this version. Choose one of: {kinds}.", N_("add reflection every monday at 09:00"), kind=kind, kinds=", ".join(sorted(KINDS)))
        tz = ZoneInfo(team.timezone)
        schedule = self._schedule(cmd.args["schedule"], kind, tz)
        now = self.clock()
        open_for = schedule.open_for or KINDS[kind].default_open
        next_due = schedule.next_after(now, tz)
        ritual_id = await self.repo.add_ritual(
            team_id=team.id, kind=kind, schedule=schedule.spec, open_seconds=int(open_for.total_seconds()),
            options={}, next_due_at=next_due, now=now,
        )
        await self.repo.audit(team.id, member_id, "ritual.add", {"ritual": ritual_id, "kind": kind, "schedule": schedule.spec}, now)
        when = format_time(next_due, tz) if next_due else "-"
        said = {"kind": KINDS[kind].title(_), "schedule": schedule.describe(_), "when": when}
        if KINDS[kind].digest:  # asks nothing
            text = _("{kind}, {schedule}. First post: {when}.", **said)
        elif schedule.open_for:  # the schedule's description says how long already
            text = _("{kind}, {schedule}. First prompt: {when}.", **said)
        else:
            text = _("{kind}, {schedule}. First prompt: {when}. Answers are taken for {open}.", **said, open=format_duration(open_for, _))
        return Notice(title=_("Ritual #{id} added", id=ritual_id), text=text,
                      footer=_("Send it now with /ritme run #{id}", id=ritual_id))

    def _schedule(self, text: str, kind: str, tz: ZoneInfo) -> Any:
        try:  # 'every 2 weeks' counts from the team's today, not the server's
            return parse_schedule(text, anchor=self.clock().astimezone(tz).date())
        except ScheduleError as err:
            raise CommandError(err.msgid, f"add {kind} {err.example or 'every monday at 09:00'}", **err.params) from None

    async def _ritual(self, cmd: Command, team: TeamView) -> Any:
        ritual = await self.repo.ritual_in_team(team.id, cmd.args["id"])
        if ritual is None:
            raise CommandError("There is no ritual #{id} in this channel. See /ritme list.", "list", id=cmd.args["id"])
        return ritual

    async def do_pause(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        ritual = await self._ritual(cmd, team)
        if ritual.paused:
            return Notice(title=_("Ritual #{id} is paused already", id=ritual.id), text=_("Resume it with /ritme resume #{id}", id=ritual.id))
        await self.repo.set_ritual(ritual.id, paused=True)
        await self.repo.audit(team.id, member_id, "ritual.pause", {"ritual": ritual.id}, self.clock())
        return Notice(title=_("Ritual #{id} paused", id=ritual.id), text=_("Resume it with /ritme resume #{id}", id=ritual.id))

    async def do_resume(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        ritual = await self._ritual(cmd, team)
        now = self.clock()
        tz = ZoneInfo(team.timezone)
        next_due = parse_schedule(ritual.schedule).next_after(now, tz) if ritual.schedule else None
        await self.repo.set_ritual(ritual.id, paused=False, next_due_at=next_due)
        await self.repo.audit(team.id, member_id, "ritual.resume", {"ritual": ritual.id}, now)
        when = format_time(next_due, tz) if next_due else "-"
        return Notice(title=_("Ritual #{id} resumed", id=ritual.id), text=_("Next prompt: {when}", when=when))

    async def do_remove(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        ritual = await self._ritual(cmd, team)
        await self.repo.remove_ritual(ritual.id)
        await self.repo.audit(team.id, member_id, "ritual.remove", {"ritual": ritual.id, "kind": ritual.kind}, self.clock())
        return Notice(title=_("Ritual #{id} removed", id=ritual.id), text=_("Its prompts and answers are removed too."))

    async def do_run(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        ritual = await self._ritual(cmd, team)
        occ = await self.engine.run_now(ritual.id)
        if occ is None:
            return Notice(title=_("Not sent"), text=_("Ritual #{id} was sent a moment ago already.", id=ritual.id))
        return Notice(title=_("Ritual #{id} sent", id=ritual.id), text=_("The prompt is on its way to the channel."))

    async def do_close(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        ritual = await self._ritual(cmd, team)
        closed = await self.engine.close_now(ritual.id)
        if not closed:
            return Notice(title=_("Nothing to close"), text=_("Ritual #{id} has no open round.", id=ritual.id))
        return Notice(title=_("Ritual #{id} closed", id=ritual.id), text=_("The results are posted in the channel."))

    async def do_goal(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        if team.goal:
            return Notice(title=_("Our shared goal"), text=readable(team.goal, _))
        return Notice(title=_("Our shared goal"), text=_("This team has no shared goal yet. An admin or leader sets it with /ritme goal set TEXT."))

    async def do_goal_set(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        await self.repo.update_team(team.id, goal=cmd.args["text"])
        await self.repo.audit(team.id, member_id, "goal.set", {"goal": cmd.args["text"]}, self.clock())
        return Notice(title=_("Shared goal set"), text=cmd.args["text"])

    async def do_review(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        from bot.review import review_notice

        rituals = await self.repo.rituals(team.id)
        if "id" in cmd.args:
            rituals = [r for r in rituals if r.id == cmd.args["id"]]
            if not rituals:
                raise CommandError("There is no ritual #{id} in this channel. See /ritme list.", "list", id=cmd.args["id"])
        return await review_notice(self.repo, self.engine, team, rituals, _)

    async def do_timezone(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        zone = _ZONES.get(cmd.args["zone"].casefold(), cmd.args["zone"])  # europe/amsterdam too
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CommandError("'{zone}' is not a timezone I know. Use a name like Europe/Amsterdam.", "timezone Europe/Amsterdam", zone=zone[:60]) from None
        await self.repo.update_team(team.id, timezone=zone)
        now = self.clock()
        rituals = [r for r in await self.repo.rituals(team.id) if r.schedule]
        last = await self.repo.last_planned([r.id for r in rituals])
        for r in rituals:
            schedule = parse_schedule(r.schedule)
            next_due = schedule.next_after(now, tz)
            if next_due and r.id in last and next_due.astimezone(tz).date() <= last[r.id].astimezone(tz).date():
                next_due = schedule.next_after(next_due, tz)  # that day had its round already, in the old zone
            await self.repo.set_ritual(r.id, next_due_at=next_due)
        await self.repo.audit(team.id, member_id, "team.timezone", {"timezone": zone}, now)
        return Notice(title=_("Timezone set"), text=_("Times are now in {tz}.", tz=zone))

    async def do_values_list(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        own = [str(v) for v in team.settings.get("values", [])]
        listed = ", ".join(_(v.name) for v in VALUES)
        return Notice(title=_("Our values"), text=listed, fields=(
            (_("The team's own"), ", ".join(own) if own else _("none yet; an admin adds one with /ritme values add NAME")),
        ), footer=_("Values rounds and appreciations offer all of them."))

    async def do_values_add(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        name = " ".join(cmd.args["name"].split())
        own = [str(v) for v in team.settings.get("values", [])]
        taken = {n.casefold() for n in own} | {_(v.name).casefold() for v in VALUES} | {v.name.casefold() for v in VALUES}
        if name.casefold() in taken:
            raise CommandError("'{name}' is already one of the values.", "values", name=name)
        if len(own) >= MAX_OWN_VALUES:
            raise CommandError("A team has at most {most} values of its own; remove one first.", "values remove " + own[0], most=MAX_OWN_VALUES)
        await self.repo.update_team(team.id, settings={**team.settings, "values": [*own, name]})
        await self.repo.audit(team.id, member_id, "values.add", {"name": name}, self.clock())
        return Notice(title=_("Value added"), text=_("'{name}' is one of the team's values; the next values round and appreciation round offer it.", name=name))

    async def do_values_remove(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        own = [str(v) for v in team.settings.get("values", [])]
        kept = [v for v in own if v.casefold() != " ".join(cmd.args["name"].split()).casefold()]
        if len(kept) == len(own):
            raise CommandError("'{name}' is not one of the team's own values. See /ritme values.", "values", name=cmd.args["name"])
        await self.repo.update_team(team.id, settings={**team.settings, "values": kept})
        await self.repo.audit(team.id, member_id, "values.remove", {"name": cmd.args["name"]}, self.clock())
        return Notice(title=_("Value removed"), text=_("Rounds from now on no longer offer '{name}'; earlier answers keep it.", name=cmd.args["name"]))

    async def do_privacy(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        return Notice(title=_("Privacy in this channel"), text=_("What Ritme keeps, and who sees it."), fields=(
            (_("Anonymous rituals"), _("Answers are sealed until the round closes, then kept without a name, in "
                                       "random order. Scores show when at least {least} answered, written answers "
                                       "from {words}.", least=team.anonymity_threshold,
                                       words=words_threshold(team.anonymity_threshold))),
            (_("Answers kept"), _("{days} days; older answers are deleted every night.", days=team.retention_days)),
            (_("Your own answers"), _("/ritme forget-me erases your answers and your name in every team; where "
                                      "others wrote about you, it says \"a former colleague\". An anonymous answer to a "
                                      "round still open is withdrawn; those of closed rounds never carried your name "
                                      "and stay in the totals.")),
        ))

    async def do_privacy_threshold(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        least = cmd.args["least"]
        await self.repo.update_team(team.id, anonymity_threshold=least)
        await self.repo.audit(team.id, member_id, "team.anonymity_threshold", {"least": least}, self.clock())
        members = len(await self.repo.team_members(team.id))
        warning = (_("This team has {members} members: with this threshold no anonymous results will show.", members=members)
                   if least > members else "")
        return Notice(title=_("Threshold set"),
                      text=_("Results of anonymous rituals show only when at least {least} answered.", least=least), footer=warning)

    async def do_privacy_retention(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        days = cmd.args["days"]
        await self.repo.update_team(team.id, retention_days=days)
        await self.repo.audit(team.id, member_id, "team.retention", {"days": days}, self.clock())
        return Notice(title=_("Retention set"),
                      text=_("Answers are kept {days} days; older ones are deleted in the next nightly clean-up.", days=days))

    async def do_language(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        lang = cmd.args["language"]
        await self.repo.update_team(team.id, language=lang)
        await self.repo.audit(team.id, member_id, "team.language", {"language": lang}, self.clock())
        t = translator(lang)
        return Notice(title=t("Language set"), text=t("I speak English in this channel from now on."))

    async def do_holiday_add(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        a, b, name = cmd.args["start"], cmd.args["end"], cmd.args["name"]
        if (b - a).days > 366:
            raise CommandError("A holiday period is at most a year long.", "holiday add 2026-12-21..2027-01-01")
        added = await self.repo.add_holiday(team.id, a, b, name)
        if added:
            await self.repo.audit(team.id, member_id, "holiday.add", {"start": a.isoformat(), "end": b.isoformat()}, self.clock())
        return Notice(title=_("Holiday added") if added else _("Already there"), text=_("No prompts from {start} to {end}.", start=a.isoformat(), end=b.isoformat()))

    async def do_holiday_remove(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        a, b = cmd.args["start"], cmd.args["end"]
        removed = await self.repo.remove_holiday(team.id, a, b)
        if not removed:
            raise CommandError("There is no holiday from {start} to {end}. See /ritme holiday list.", "holiday list", start=a.isoformat(), end=b.isoformat())
        await self.repo.audit(team.id, member_id, "holiday.remove", {"start": a.isoformat(), "end": b.isoformat()}, self.clock())
        return Notice(title=_("Holiday removed"), text=f"{a.isoformat()}..{b.isoformat()}")

    async def do_holiday_list(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        rows = await self.repo.holidays(team.id)
        country = team.holiday_country
        footer = _("Public holidays of {country} are skipped too.", country=country) if country else _("Public holidays are not skipped.")
        if not rows:
            return Notice(title=_("Holidays"), text=_("No holidays added yet."), footer=footer)
        return Notice(title=_("Holidays"), text="", fields=tuple((f"{a.isoformat()}..{b.isoformat()}", n or _("holiday")) for a, b, n in rows), footer=footer)

    async def do_holidays(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        country = cmd.args["country"]
        if country and not known_country(country):
            raise CommandError("I don't know the public holidays of '{country}'.", "holidays NL", country=country)
        await self.repo.update_team(team.id, holiday_country=country)
        await self.repo.audit(team.id, member_id, "team.holidays", {"country": country}, self.clock())
        if country is None:
            return Notice(title=_("Public holidays"), text=_("Public holidays are not skipped."))
        return Notice(title=_("Public holidays"), text=_("Public holidays of {country} are skipped too.", country=country))

    async def _target(self, team: TeamView, who: str, *, join: bool = False) -> tuple[int, str]:
        """A person named in a command: a platform mention, a user id or a display name.
        Someone mentioned who is not in the team yet joins it only when ``join`` (``role
        add``); otherwise the command is refused and nothing is written."""
        mention = re.fullmatch(r"<@([A-Za-z0-9._:-]+)(?:\|([^>]*))?>", who.strip())
        user_id = mention.group(1) if mention else who.strip().lstrip("@")
        display = (mention.group(2) if mention else None) or ""
        roster = await self.repo.team_members(team.id)
        for mid, uid, name in roster:
            if uid == user_id or (not mention and name.lower() == user_id.lower()):
                return mid, name or display or uid
        if not mention:
            raise CommandError("I don't know '{who}' in this channel. Mention them, e.g. @name.", "role add leader @anna", who=who[:60])
        if not join:
            raise CommandError("{name} is not in this team.", "role list", name=display or user_id)
        mid = await self.repo.ensure_member(platform=team.platform, workspace_id=team.workspace_id, user_id=user_id,
                                            display_name=display, now=self.clock(), team_id=team.id)
        return mid, display or user_id

    async def do_role_add(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        target, name = await self._target(team, cmd.args["user"], join=True)
        await self.repo.grant(team.id, target, cmd.args["role"], self.clock())
        await self.repo.audit(team.id, member_id, "role.add", {"role": cmd.args["role"], "member": target}, self.clock())
        return Notice(title=_("Role given"), text=_("{name} is now {role} in this team.", name=name, role=role_name(_, cmd.args["role"])))

    async def do_role_remove(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        target, name = await self._target(team, cmd.args["user"])
        if cmd.args["role"] not in await self.repo.roles(team.id, target):
            raise CommandError("{name} does not have that role.", "role list", name=name)
        if cmd.args["role"] == "admin" and target == member_id:
            admins = [r for r in await self.repo.role_list(team.id) if r[0] == "admin"]
            if len(admins) <= 1:
                raise CommandError("You are the last admin of this team; give someone else the role first.", "role add admin @anna")
        removed = await self.repo.revoke(team.id, target, cmd.args["role"])
        if not removed:
            raise CommandError("{name} does not have that role.", "role list", name=name)
        await self.repo.audit(team.id, member_id, "role.remove", {"role": cmd.args["role"], "member": target}, self.clock())
        return Notice(title=_("Role removed"), text=_("{name} is no longer {role} in this team.", name=name, role=role_name(_, cmd.args["role"])))

    async def do_role_list(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        rows = await self.repo.role_list(team.id)
        if not rows:
            return Notice(title=_("Roles"), text=_("Nobody has a role in this team yet."))
        return Notice(title=_("Roles"), text="", fields=tuple((name or uid, role_name(_, r)) for r, uid, name in rows))

    async def do_question_add(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        settings = dict(team.settings)
        questions = list(settings.get("questions", []))
        if cmd.args["text"] in questions:
            return Notice(title=_("Already there"), text=cmd.args["text"])
        questions.append(cmd.args["text"])
        settings["questions"] = questions
        await self.repo.update_team(team.id, settings=settings)
        await self.repo.audit(team.id, member_id, "question.add", {"text": cmd.args["text"]}, self.clock())
        return Notice(title=_("Question added"), text=_("Reflections will ask it too: {text}", text=cmd.args["text"]))

    async def do_theme(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        words = cmd.args["themes"]
        names = ", ".join(f"{key} ({_(t.name)})" for key, t in THEMES.items())
        if not words:
            current = [THEMES[key] for key in team.settings.get("themes") or [] if key in THEMES]
            text = ", ".join(_(t.name) for t in current) if current else _("all themes")
            return Notice(title=_("Themes"), text=_("Reflections draw from: {themes}", themes=text), footer=_("Available: {names}", names=names))
        themes = []
        for word in words:
            theme = find_theme(word)
            if theme is None:
                raise CommandError("'{word}' is not a theme. Available: {names}", "theme safety learning", word=word[:40], names=names)
            themes.append(theme.key)
        settings = dict(team.settings)
        settings["themes"] = themes
        await self.repo.update_team(team.id, settings=settings)
        await self.repo.audit(team.id, member_id, "team.themes", {"themes": themes}, self.clock())
        return Notice(title=_("Themes set"), text=_("Reflections draw from: {themes}", themes=", ".join(_(THEMES[k].name) for k in themes)))

    async def do_appreciation_start(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        open_for = KINDS["appreciation"].default_open
        if cmd.args.get("duration"):
            try:
                open_for = parse_duration(cmd.args["duration"])
            except ScheduleError as err:
                raise CommandError(err.msgid, "appreciation start 3d", **err.params) from None
        rituals = [r for r in await self.repo.rituals(team.id) if r.kind == "appreciation" and not r.schedule]
        now = self.clock()
        if rituals:
            ritual_id = rituals[0].id
            if (await self.repo.open_occurrences([ritual_id])).get(ritual_id):
                raise CommandError("An appreciation round is open already; close it with 'appreciation close'.", "appreciation close")
            await self.repo.set_ritual(ritual_id, open_seconds=int(open_for.total_seconds()))
        else:
            ritual_id = await self.repo.add_ritual(team_id=team.id, kind="appreciation", schedule="", open_seconds=int(open_for.total_seconds()), options={}, next_due_at=None, now=now)
        await self.engine.run_now(ritual_id)
        await self.repo.audit(team.id, member_id, "appreciation.start", {"ritual": ritual_id}, now)
        return Notice(title=_("Appreciation round started"), text=_("Everyone can answer for {open}; the round is revealed when it closes.", open=format_duration(open_for, _)),
                      footer=_("Ritual #{id}: /ritme close #{id} closes it early.", id=ritual_id))

    async def do_appreciation_close(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        closed = []
        for r in await self.repo.rituals(team.id):
            if r.kind == "appreciation":
                closed += await self.engine.close_now(r.id)
        if not closed:
            return Notice(title=_("Nothing to close"), text=_("There is no open appreciation round."))
        return Notice(title=_("Appreciation round closed"), text=_("The round is posted in the channel."))

    async def do_forget_me(self, cmd: Command, team: TeamView | None, member_id: int | None, role: str, _: Translator) -> Notice:
        erased = await self.repo.forget_member(member_id) if member_id is not None else 0
        log.info("forget-me: a member was erased with %d answers", erased)
        return Notice(title=_("You are forgotten"), text=_("{count} of your answers and everything that identified you were erased.", count=erased),
                      keep=False)


    async def do_action_add(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        ritual = await self._ritual(cmd, team)
        _action, replaced = await self.repo.add_action(ritual_id=ritual.id, text=cmd.args["text"], member_id=member_id, now=self.clock())
        await self.repo.audit(team.id, member_id, "action.add", {"ritual": ritual.id, "text": cmd.args["text"]}, self.clock())
        footer = _("It replaces the earlier agreement, not asked about yet: {text}", text=replaced) if replaced else ""
        return Notice(title=_("Action recorded"), text=_("The next round of #{id} first asks how it went: {text}", id=ritual.id, text=cmd.args["text"]),
                      footer=footer)

    async def do_reminders(self, cmd: Command, team: TeamView | None, member_id: int, role: str, _: Translator) -> Notice:
        await self.repo.set_mute(member_id, not cmd.args["on"])
        if cmd.args["on"]:
            return Notice(title=_("Reminders on"), text=_("You get one reminder before a round closes, if you have not answered yet."))
        return Notice(title=_("Reminders off"), text=_("You get no more reminders. Turn them on again with /ritme reminders on."))


    async def do_plan_add(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        theme = find_theme(cmd.args["theme"])
        if theme is None:
            raise CommandError(N_("'{word}' is not a theme. Available: {names}"), "plan add 2026-09-01..2026-10-31 safety",
                               word=cmd.args["theme"][:40], names=", ".join(THEMES))
        a, b = cmd.args["start"].isoformat(), cmd.args["end"].isoformat()
        plan = [p for p in team.settings.get("plan", []) if p["end"] < a or p["start"] > b]
        plan.append({"start": a, "end": b, "theme": theme.key})
        await self.repo.update_team(team.id, settings={**team.settings, "plan": sorted(plan, key=lambda p: p["start"])})
        await self.repo.audit(team.id, member_id, "plan.add", {"start": a, "end": b, "theme": theme.key}, self.clock())
        return Notice(title=_("Year plan updated"), text=_("From {start} to {end} reflections draw from: {theme}", start=a, end=b, theme=_(theme.name)))

    async def do_plan_list(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        plan = team.settings.get("plan", [])
        if not plan:
            return Notice(title=_("Year plan"), text=_("No periods planned yet."), footer=_("For example: /ritme {example}", example="plan add 2026-09-01..2026-10-31 safety"))
        return Notice(title=_("Year plan"), text="", fields=tuple((f"{p['start']}..{p['end']}", _(THEMES[p["theme"]].name)) for p in plan if p["theme"] in THEMES))

    async def do_plan_remove(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        a, b = cmd.args["start"].isoformat(), cmd.args["end"].isoformat()
        plan = team.settings.get("plan", [])
        kept = [p for p in plan if (p["start"], p["end"]) != (a, b)]
        if len(kept) == len(plan):
            raise CommandError(N_("There is no planned period from {start} to {end}. See /ritme plan list."), "plan list", start=a, end=b)
        await self.repo.update_team(team.id, settings={**team.settings, "plan": kept})
        await self.repo.audit(team.id, member_id, "plan.remove", {"start": a, "end": b}, self.clock())
        return Notice(title=_("Year plan updated"), text=f"{a}..{b}")

    async def do_holiday_import(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        files = [f for f in cmd.args.get("files", ()) if f[0].lower().endswith(".ics")]
        if not files:
            raise CommandError(N_("Attach an iCalendar file (.ics) with the school holidays to the command."), "holiday import")
        added = 0
        for _name, content in files:
            try:
                periods = parse_ics(content)
            except CalendarError:
                raise CommandError(N_("That file is not an iCalendar file I can read."), "holiday import") from None
            for start, end, name in periods:
                added += await self.repo.add_holiday(team.id, start, end, name, source="ics")
        await self.repo.audit(team.id, member_id, "holiday.import", {"added": added}, self.clock())
        if not added:
            return Notice(title=_("Holidays imported"), text=_("Nothing new: every period in the calendar was there already."))
        return Notice(title=_("Holidays imported"), text=_("{count} holiday periods added; no prompts on those days.", count=added))

    async def do_review_link(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        from bot.review_page import link_notice

        return await link_notice(self, team, member_id, _, export=False)

    async def do_review_link_revoke(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        generation = int(team.settings.get("link_generation", 0)) + 1
        await self.repo.update_team(team.id, settings={**team.settings, "link_generation": generation})
        await self.repo.audit(team.id, member_id, "review.links_revoked", {"generation": generation}, self.clock())
        return Notice(title=_("Links revoked"), text=_("Every review and export link of this channel made until now has stopped working. /ritme review link makes a new one."))

    async def do_export(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        from bot.review_page import link_notice

        return await link_notice(self, team, member_id, _, export=True)


    async def do_pairs_skip(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        today = self.clock().astimezone(ZoneInfo(team.timezone)).date().isoformat()
        skips = {**team.settings.get("pairs_skip", {}), str(member_id): today}
        await self.repo.update_team(team.id, settings={**team.settings, "pairs_skip": skips})
        return Notice(title=_("Skipped"), text=_("You are left out of the next pairs round."))

    async def _pairs_exclusion(self, cmd: Command, team: TeamView, member_id: int, exclude: bool, _: Translator) -> Notice:
        target, name = await self._target(team, cmd.args["user"])
        excluded = set(team.settings.get("pairs_exclude", []))
        excluded = excluded | {target} if exclude else excluded - {target}
        await self.repo.update_team(team.id, settings={**team.settings, "pairs_exclude": sorted(excluded)})
        await self.repo.audit(team.id, member_id, "pairs.exclude" if exclude else "pairs.include", {"member": target}, self.clock())
        if exclude:
            return Notice(title=_("Left out of pairs"), text=_("{name} is left out of pairs rounds until included again.", name=name))
        return Notice(title=_("Back in pairs"), text=_("{name} takes part in pairs rounds again.", name=name))

    async def do_pairs_exclude(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        return await self._pairs_exclusion(cmd, team, member_id, True, _)

    async def do_pairs_label(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        target, name = await self._target(team, cmd.args["user"])
        labels = {**team.settings.get("labels", {}), str(target): cmd.args["label"]}
        await self.repo.update_team(team.id, settings={**team.settings, "labels": labels})
        await self.repo.audit(team.id, member_id, "pairs.label", {"member": target, "label": cmd.args["label"]}, self.clock())
        return Notice(title=_("Label set"), text=_("{name}: {label}. With 'pairs mix on', pairs mix different labels.", name=name, label=cmd.args["label"]))

    async def do_pairs_mix(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        await self.repo.update_team(team.id, settings={**team.settings, "pairs_mix": cmd.args["on"]})
        await self.repo.audit(team.id, member_id, "pairs.mix", {"on": cmd.args["on"]}, self.clock())
        if cmd.args["on"]:
            return Notice(title=_("Mixing on"), text=_("Pairs bring together colleagues with different labels where they can."))
        return Notice(title=_("Mixing off"), text=_("Pairs are made without looking at labels."))

    async def do_pairs_include(self, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
        return await self._pairs_exclusion(cmd, team, member_id, False, _)


def error_notice(_: Translator, reason: str, example: str) -> Notice:
    footer = _("For example: /ritme {example}", example=_(example)) if example else ""  # prose in it translated
    return Notice(title=_("That did not work"), text=reason, footer=footer)


def role_name(_: Translator, role: str) -> str:
    return {"admin": _("admin"), "leader": _("leader"), "member": _("member")}.get(role, role)


def describe_schedule(spec: str, _: Translator) -> str:
    if not spec:
        return _("on demand")
    return parse_schedule(spec).describe(_)


def format_time(when: datetime, tz: ZoneInfo) -> str:
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def format_duration(delta: timedelta, _: Translator) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours and hours % 24 == 0:
        return _("{n} days", n=hours // 24) if hours != 24 else _("1 day")
    if hours:
        return _("{n} hours", n=hours) if hours != 1 else _("1 hour")
    return _("{n} minutes", n=int(delta.total_seconds() // 60))


__all__ = ["Ritme", "KIND_WORDS"]
