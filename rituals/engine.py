"""The ritual engine: turns due rituals into occurrences and outbox messages, delivers them,
takes answers and closes occurrences with their results.

State lives in the store; the engine holds none between calls, so any number of engines
(replicas) can share one database. A ritual fires once per planned time because the store
refuses a second occurrence with the same (ritual, planned time).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from rituals.answers import Rules, said
from rituals.calendar import public_holiday
from rituals.delivery import Dispatcher, notice_to_dict
from rituals.i18n import translator
from rituals.kinds import KINDS
from rituals.kinds.base import PlanContext, prompt_inputs, summarise
from rituals.library import THEMES
from rituals.ports import (
    Answered,
    AnswerIn,
    OccurrenceView,
    OpeningContext,
    Platform,
    RitualView,
    Store,
    TeamView,
    Tx,
)
from rituals.schedule import ScheduleError, parse_schedule
from rituals.types import Actor, ChannelRef, Notice, Prompt

log = logging.getLogger(__name__)

CATCH_UP_LIMIT = timedelta(hours=24)
CATCH_UP_ANSWER_TIME = timedelta(hours=1)  # at least this long to answer a round caught up late
HISTORY = 50  # recent occurrences a ritual plans from (question rotation, pairs already met)

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineSettings:
    replica: str = "local"
    language: str = "nl"  # for the rare message that has no team to take the language from
    batch: int = 200
    send_concurrency: int = 32
    lease_seconds: float = 60.0


class Engine:
    """Fires, delivers and closes rituals. Time and randomness are injected."""

    def __init__(
        self,
        store: Store,
        platforms: dict[str, Platform],
        *,
        settings: EngineSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.platforms = platforms
        self.settings = settings or EngineSettings()
        self.clock = clock
        self.rng = rng or random.Random()
        self.wake = asyncio.Event()  # set when new outbox messages wait
        self.answers = store.answer_writer(Rules(), clock)
        self.delivery = Dispatcher(
            store,
            platforms,
            self.settings,
            clock=clock,
            rng=self.rng,
            wake=self.wake,
            prompt=self.prompt,
            render=self.render_prompt,
        )

    # -- scheduling -----------------------------------------------------------------

    @staticmethod
    def next_due(schedule: str, timezone: str, after: datetime) -> datetime | None:
        return parse_schedule(schedule).next_after(after, ZoneInfo(timezone))

    async def tick(self) -> int:
        """Fire every due ritual and close every ended occurrence; returns how many changed."""
        now = self.clock()
        fired = await self.fire_due(now)
        reminded = await self.remind_due(now)
        closed = await self.close_due(now)
        return fired + reminded + closed

    async def fire_due(self, now: datetime) -> int:
        count = 0
        while True:
            async with self.store.transaction() as tx:
                due = await tx.lock_due_rituals(now, self.settings.batch)
                context = await self._context(tx, due, now)
                for ritual in due:
                    if await self._fire(tx, ritual, now, context):
                        count += 1
            if count:
                self.wake.set()  # each committed batch can go out while the next is claimed
            if len(due) < self.settings.batch:
                break
        return count

    async def _context(self, tx: Tx, rituals: list[RitualView], now: datetime) -> OpeningContext:
        """What opening these rituals reads, in a few queries for the batch. Holidays cover
        the missed planned times (up to a day back) to the last reminder (a window ahead)."""
        longest = max((r.open_seconds for r in rituals), default=0)
        return await tx.opening_context(
            rituals,
            (now - CATCH_UP_LIMIT - timedelta(days=1)).date(),
            (now + timedelta(seconds=longest, days=1)).date(),
            HISTORY,
        )

    async def _fire(self, tx: Tx, ritual: RitualView, now: datetime, context: OpeningContext) -> bool:
        """Claim the latest missed planned time of one due ritual (never a burst)."""
        assert ritual.next_due_at is not None
        team = context.teams[ritual.team_id]
        tz = ZoneInfo(team.timezone)
        try:
            schedule = parse_schedule(ritual.schedule)
        except ScheduleError as err:  # stored before a parser change: stop, don't loop
            log.error("ritual #%s paused: its schedule no longer parses (%s)", ritual.id, err)
            await tx.set_next_due(ritual.id, None)
            await tx.set_paused(ritual.id, True)
            return False
        latest = ritual.next_due_at
        steps = 0
        while steps < 10_000:
            following = schedule.next_after(latest, tz)
            if following is None or following > now:
                break
            latest, steps = following, steps + 1
        await tx.set_next_due(ritual.id, schedule.next_after(now, tz))
        window = timedelta(seconds=ritual.open_seconds)
        if now - latest > min(window, CATCH_UP_LIMIT):
            log.info("ritual #%s: planned %s passed while down; skipped", ritual.id, latest)
            return False
        return await self._open(tx, ritual, team, latest, now, context) is not None

    async def _open(
        self,
        tx: Tx,
        ritual: RitualView,
        team: TeamView,
        planned: datetime,
        now: datetime,
        context: OpeningContext,
        *,
        skip_holidays: bool = True,
    ) -> int | None:
        day = planned.astimezone(ZoneInfo(team.timezone)).date()
        holiday = self._holiday(context, team, day) if skip_holidays else None
        common: dict[str, Any] = {"ritual_id": ritual.id, "planned_at": planned, "claimed_by": self.settings.replica}
        if holiday:
            await tx.add_occurrence(
                **common, status="skipped", reason=holiday, content={}, opened_at=None, closes_at=None
            )
            log.info("ritual #%s: %s skipped (holiday: %s)", ritual.id, day, holiday)
            return None
        if KINDS[ritual.kind].digest:
            return await self._digest(tx, ritual, team, planned, now)
        content = self._plan(context, ritual, team, day)
        action = context.actions.get(ritual.id)
        if action:
            content["action"] = {"id": action[0], "text": action[1]}
        kind = KINDS[ritual.kind]
        # The window counts from the planned time: a round caught up after downtime closes when
        # it would have, so it does not run into the next one (with a little time to answer).
        window = timedelta(seconds=ritual.open_seconds)
        closes = max(planned + window, now + min(window, CATCH_UP_ANSWER_TIME))
        remind = self._reminder_time(context, team, now, closes, kind.remind_fraction)
        occ = await tx.add_occurrence(
            **common,
            status="open",
            reason=None,
            content=content,
            opened_at=now,
            closes_at=closes,
            remind_at=remind,
        )
        if occ is None:
            return None
        if action:
            await tx.follow_up_action(action[0], occ)
        if kind.private:
            await self._open_private(tx, ritual, team, occ, content, now)
        else:
            await tx.enqueue(
                team_id=team.id,
                occurrence_id=occ,
                destination=team.channel,
                payload={"type": "prompt", "occurrence_id": occ},
                at=now,
            )
        log.info("ritual #%s (%s): occurrence %s opened in %s", ritual.id, ritual.kind, occ, team.channel_id)
        return occ

    async def _digest(self, tx: Tx, ritual: RitualView, team: TeamView, planned: datetime, now: datetime) -> int | None:
        """Post what the team's rounds brought since the window began, as one message."""
        occ = await tx.add_occurrence(
            ritual_id=ritual.id,
            planned_at=planned,
            status="closed",
            reason=None,
            content={},
            opened_at=now,
            closes_at=now,
            claimed_by=self.settings.replica,
        )
        if occ is None:
            return None
        _ = translator(team.language)
        since = now - timedelta(seconds=ritual.open_seconds)
        tz = ZoneInfo(team.timezone)
        sections: list[str] = []
        for other in await tx.team_rituals(team.id):
            if KINDS[other.kind].digest:
                continue
            for past in reversed(await tx.recent_occurrences(other.id, 20)):
                if past.status != "closed" or not past.closed_at or past.closed_at < since:
                    continue
                notice = await self.results(tx, other, team, past)
                day = past.planned_at.astimezone(tz).strftime("%Y-%m-%d")
                lines = [f"*{notice.title}* ({day})", *(f"{label}: {value}" for label, value in notice.fields)]
                if notice.footer:
                    lines.append(notice.footer)
                sections.append("\n".join(lines))
        text = "\n\n".join(sections) if sections else _("No rounds closed this week.")
        digest = Notice(
            title=f"#{ritual.id} {KINDS[ritual.kind].title(_)}",
            text=text,
            footer=_("The full picture: /ritme review link"),
        )
        await tx.enqueue(
            team_id=team.id,
            occurrence_id=occ,
            destination=team.channel,
            payload={"type": "notice", "notice": notice_to_dict(digest)},
            at=now,
        )
        log.info("ritual #%s: digest posted in %s", ritual.id, team.channel_id)
        return occ

    async def _open_private(
        self, tx: Tx, ritual: RitualView, team: TeamView, occ: int, content: dict[str, Any], now: datetime
    ) -> None:
        """A private ritual: one message per group, and a short announcement in the channel."""
        _ = translator(team.language)
        kind = KINDS[ritual.kind]
        groups = kind.groups(content)
        platform = self.platforms.get(team.platform)
        together = platform is None or platform.group_conversations
        for group in groups:
            users = tuple(str(m["user"]) for m in group)
            notice = notice_to_dict(kind.group_notice(content, group, team, _))
            destinations = (
                [replace(team.channel, user_id=users[0], members=users)]
                if together
                else [replace(team.channel, user_id=user) for user in users]
            )
            for to in destinations:
                await tx.enqueue(
                    team_id=team.id,
                    occurrence_id=occ,
                    destination=to,
                    payload={"type": "notice", "notice": notice},
                    at=now,
                )
        announcement = Notice(title=f"#{ritual.id} {kind.title(_)}", text=kind.intro(content, team, _))
        await tx.enqueue(
            team_id=team.id,
            occurrence_id=occ,
            destination=team.channel,
            payload={"type": "notice", "notice": notice_to_dict(announcement)},
            at=now,
        )

    def _plan(self, context: OpeningContext, ritual: RitualView, team: TeamView, day: date) -> dict[str, Any]:
        history = tuple(content for content in context.histories.get(ritual.id, ()) if content)
        roster = context.rosters.get(team.id, [])
        ctx = PlanContext(
            team=team,
            options=ritual.options,
            day=day,
            history=history,
            roster=tuple((mid, name) for mid, name, _ in roster),
            users={mid: uid for mid, _, uid in roster},
            rng=self.rng,
            following=following_day(ritual.schedule, team.timezone, day),
        )
        return KINDS[ritual.kind].plan(ctx)

    def _reminder_time(
        self, context: OpeningContext, team: TeamView, opened: datetime, closes: datetime, fraction: float
    ) -> datetime | None:
        """When the one reminder goes out: ``fraction`` of the window before the close, in
        working hours (08:00-17:00 local, Monday to Friday, not on a holiday). When that
        moment is on a weekend or a holiday, the last working afternoon before it; failing
        that, the first working morning after. None when the window holds no such moment."""
        tz = ZoneInfo(team.timezone)
        earliest, latest = opened + timedelta(minutes=30), closes - timedelta(minutes=15)
        ideal = (closes - (closes - opened) * fraction).astimezone(tz)

        def working(day: date) -> bool:
            return day.weekday() < 5 and not self._holiday(context, team, day)

        def at(day: date, hour: int) -> datetime:
            return datetime.combine(day, time(hour), tz).astimezone(UTC)

        if ideal.hour < 8:
            ideal = ideal.replace(hour=8, minute=0, second=0, microsecond=0)
        elif ideal.hour >= 17:
            ideal = ideal.replace(hour=17, minute=0, second=0, microsecond=0)
        candidates = [ideal.astimezone(UTC)] if working(ideal.date()) else []
        days = (latest.astimezone(tz).date() - earliest.astimezone(tz).date()).days
        candidates += [
            at(ideal.date() - timedelta(days=n), 16)
            for n in range(1, days + 1)
            if working(ideal.date() - timedelta(days=n))
        ]
        candidates += [
            at(ideal.date() + timedelta(days=n), 9)
            for n in range(1, days + 1)
            if working(ideal.date() + timedelta(days=n))
        ]
        return next((when for when in candidates if earliest <= when <= latest), None)

    async def remind_due(self, now: datetime) -> int:
        """Send the one reminder of each open round, privately, to who has not answered."""
        count = 0
        async with self.store.transaction() as tx:
            for occ in await tx.lock_remindable(now, self.settings.batch):
                await tx.mark_reminded(occ.id, now)
                ritual = await tx.ritual(occ.ritual_id)
                if ritual is None or ritual.paused:
                    continue
                team = await tx.team(ritual.team_id)
                recipients = await tx.unanswered(occ.id, team.id)
                kind = KINDS[ritual.kind]
                if kind.private:  # only those in a group were asked
                    grouped = {str(m["user"]) for g in kind.groups(occ.content) for m in g}
                    recipients = [u for u in recipients if u in grouped]
                for user_id in recipients:
                    to = ChannelRef(
                        platform=team.platform,
                        workspace_id=team.workspace_id,
                        channel_id=team.channel_id,
                        user_id=user_id,
                    )
                    await tx.enqueue(
                        team_id=team.id,
                        occurrence_id=occ.id,
                        destination=to,
                        payload={"type": "reminder", "occurrence_id": occ.id},
                        at=now,
                    )
                    count += 1
                log.info("ritual #%s: reminder for occurrence %s queued", ritual.id, occ.id)
        if count:
            self.wake.set()
        return count

    @staticmethod
    def _holiday(context: OpeningContext, team: TeamView, day: date) -> str | None:
        return context.holiday(team.id, day) or public_holiday(team.holiday_country, day)

    async def run_now(self, ritual_id: int) -> int | None:
        """Open an occurrence now, whatever the schedule says (``run #N``)."""
        now = self.clock().replace(microsecond=0)
        async with self.store.transaction() as tx:
            ritual = await tx.ritual(ritual_id)
            if ritual is None:
                return None
            context = await self._context(tx, [ritual], now)
            occ = await self._open(tx, ritual, context.teams[ritual.team_id], now, now, context, skip_holidays=False)
        self.wake.set()
        return occ

    # -- closing --------------------------------------------------------------------

    async def close_due(self, now: datetime) -> int:
        count = 0
        async with self.store.transaction() as tx:
            for occ in await tx.lock_closable(now, self.settings.batch):
                if await self._close(tx, occ, now):
                    count += 1
        if count:
            self.wake.set()
            await self.store.drop_deleted_copies()
        return count

    async def close_now(self, ritual_id: int) -> list[int]:
        """Close the ritual's open occurrences now and post their results (``close #N``)."""
        now = self.clock()
        closed: list[int] = []
        async with self.store.transaction() as tx:
            for occ in await tx.open_occurrences(ritual_id):
                if await self._close(tx, occ, now):
                    closed.append(occ.id)
        self.wake.set()
        if closed:
            await self.store.drop_deleted_copies()
        return closed

    async def _close(self, tx: Tx, occ: OccurrenceView, now: datetime) -> bool:
        if not await tx.close_occurrence(occ.id, now):
            return False
        ritual = await tx.ritual(occ.ritual_id)
        assert ritual is not None
        team = await tx.team(ritual.team_id)
        notice = await self.results(tx, ritual, team, occ)
        for payload in (
            {"type": "prompt_closed", "occurrence_id": occ.id},
            {"type": "notice", "notice": notice_to_dict(notice)},
        ):
            await tx.enqueue(team_id=team.id, occurrence_id=occ.id, destination=team.channel, payload=payload, at=now)
        log.info("ritual #%s: occurrence %s closed", ritual.id, occ.id)
        return True

    async def results(self, tx: Tx, ritual: RitualView, team: TeamView, occ: OccurrenceView) -> Notice:
        """The summary of one occurrence, in the team's language."""
        _ = translator(team.language)
        kind = KINDS[ritual.kind]
        replies = await tx.replies(occ.id)
        own = kind.results(occ.content, replies, _)
        if own is not None:
            return replace(own, title=f"#{ritual.id} {own.title}")
        earlier = [
            o
            for o in await tx.recent_occurrences(ritual.id, 10)
            if o.id != occ.id and o.status == "closed" and o.planned_at < occ.planned_at
        ]
        previous = await tx.replies(earlier[0].id) if earlier else None
        if kind.anonymous and previous is not None and len(previous) < team.anonymity_threshold:
            previous = None  # a change against a round too small to show would reveal its answers
        invited = await tx.invited_count(team.id)
        notice = summarise(
            inputs=prompt_inputs(kind, occ.content, team, _),
            replies=replies,
            anonymous=kind.anonymous,
            shared=kind.shared,
            invited=invited,
            threshold=team.anonymity_threshold,
            _=_,
            rng=self.rng,
            previous=previous,
            scale=kind.scale_name(occ.content, _),
        )
        title = _("{title}: results", title=kind.title(_))
        text = notice.text
        question = discussion_question(ritual.kind, occ.content, self.rng)
        if question and replies:
            text = (text + "\n\n" if text else "") + _("*For your next meeting:* {question}", question=_(question))
        return Notice(title=f"#{ritual.id} {title}", text=text, fields=notice.fields, footer=notice.footer)

    # -- prompts and answers ----------------------------------------------------------

    async def prompt(self, occurrence_id: int) -> tuple[Prompt, TeamView] | None:
        async with self.store.transaction() as tx:
            occ = await tx.occurrence(occurrence_id)
            if occ is None:
                return None
            ritual = await tx.ritual(occ.ritual_id)
            if ritual is None:
                return None
            team = await tx.team(ritual.team_id)
        return self.render_prompt(ritual, team, occ), team

    def render_prompt(self, ritual: RitualView, team: TeamView, occ: OccurrenceView) -> Prompt:
        _ = translator(team.language)
        kind = KINDS[ritual.kind]
        if kind.anonymous:
            context = _(
                "Anonymous: nobody, admins included, can see who answered what. "
                "Results show when the round has closed, if at least {n} answered.",
                n=team.anonymity_threshold,
            )
        elif kind.shared:
            context = _(
                "Leaders and admins can read your answer in the review; the team sees it when the round closes."
            )
        else:
            context = _("Your answer is seen by the team's leaders and admins; the team sees a summary.")
        closed = occ.status != "open"
        return Prompt(
            occurrence_id=occ.id,
            ritual_id=ritual.id,
            kind=ritual.kind,
            title=f"#{ritual.id} {kind.title(_)}",
            intro=kind.intro(occ.content, team, _),
            inputs=prompt_inputs(kind, occ.content, team, _),
            context=context,
            anonymous=kind.anonymous,
            closes_at=occ.closes_at,
            closed=closed,
            answer_label=_("This round has closed") if closed else _("Answer"),
            answered_label=_("Answer saved. You can change it until the round closes.")
            if not kind.anonymous
            else _("Answer saved anonymously."),
            language=team.language,
        )

    async def submit(
        self,
        *,
        occurrence_id: int,
        actor: Actor,
        values: dict[str, Any],
        via: ChannelRef | None = None,
    ) -> tuple[bool, str]:
        """Validate and store a member's answer. Returns (stored, message for the member);
        ``AnswerNotStored`` when the database did not take it.

        The rules are ``rituals.answers.Rules``; answers arriving together are written
        together (``Store.answer_writer``: a batch is a few statements whatever its size),
        and the await ends once this answer is committed. The message is in the team's
        language, or the channel's when the round is gone."""
        answered = await self.answer(occurrence_id=occurrence_id, actor=actor, values=values, via=via)
        return answered.stored, answered.message

    async def answer(
        self, *, occurrence_id: int, actor: Actor, values: dict[str, Any], via: ChannelRef | None = None
    ) -> Answered:
        """``submit``, saying also whether a refusal is about what was answered."""
        answer = AnswerIn(occurrence_id=occurrence_id, actor=actor, values=values, via=via, sent_at=self.clock())
        outcome = await self.answers.submit(answer)
        language = (
            outcome.language or (await self.store.channel_language(via) if via else None) or self.settings.language
        )
        return Answered(stored=outcome.stored, message=said(outcome, language), mendable=outcome.mendable)

    async def drain_answers(self, within: float) -> None:
        """Wait, at most ``within`` seconds, until the answers received so far are stored."""
        await self.answers.drain(within)

    # -- delivery -------------------------------------------------------------------

    async def dispatch(self) -> int:
        """Deliver one batch of due outbox messages (``Dispatcher.dispatch``)."""
        return await self.delivery.dispatch()

    async def run_dispatcher(self, stop: asyncio.Event) -> None:
        """Deliver the outbox until ``stop`` is set (``Dispatcher.run``)."""
        await self.delivery.run(stop)


def following_day(schedule: str, timezone: str, day: date) -> date | None:
    """The day of a schedule's next round after ``day`` (so a round knows whether it is the last
    of its period); None for a ritual run by hand or a schedule that no longer parses."""
    if not schedule:
        return None
    tz = ZoneInfo(timezone)
    try:
        following = parse_schedule(schedule).next_after(datetime.combine(day, time.max, tz), tz)
    except ScheduleError:
        return None
    return following.astimezone(tz).date() if following else None


DISCUSSION_THEME = {
    "goal": "goal",
    "checkout": "meetings",
    "pulse": "safety",
    "appreciation": "differences",
    "values": "values",
}


def discussion_question(kind: str, content: dict[str, Any], rng: random.Random) -> str | None:
    """A short question from the library for the team's next meeting about these results."""
    theme = THEMES.get(str(content.get("theme") or DISCUSSION_THEME.get(kind, "")))
    return rng.choice(theme.discussion) if theme and theme.discussion else None
