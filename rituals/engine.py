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
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from rituals import planning
from rituals.answers import ANSWERED_MARK, ANSWERED_MARK_ANONYMOUS, Rules, said
from rituals.delivery import Dispatcher, notice_to_dict
from rituals.i18n import translator
from rituals.kinds import KINDS
from rituals.kinds.base import field_line, prompt_inputs, summarise
from rituals.planning import Plans
from rituals.ports import (
    NO_TELEMETRY,
    Answered,
    AnswerIn,
    OccurrenceView,
    Opening,
    OpeningContext,
    Outgoing,
    Platform,
    RitualView,
    Store,
    TeamView,
    Telemetry,
    Tx,
)
from rituals.rounds import discussion_question, first_intro, limited_results
from rituals.schedule import ScheduleError, parse_schedule
from rituals.types import Actor, ChannelRef, Notice, Prompt
from rituals.visibility import Visibility, opening_visibility, round_visibility, who_reads

log = logging.getLogger(__name__)

CATCH_UP_LIMIT = timedelta(hours=24)
CATCH_UP_ANSWER_TIME = timedelta(hours=1)  # at least this long to answer a round caught up late
YIELD_EVERY = 50  # rituals a tick plans between turns of the event loop for the others on it
HISTORY = 50  # recent occurrences a ritual plans from (question rotation, pairs already met)

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineSettings:
    replica: str = "local"
    language: str = "nl"  # for the rare message that has no team to take the language from
    batch: int = 200  # outbox messages a sender claims at once; rounds closed or reminded per transaction
    tick_batch: int = 500  # due rituals a tick claims, plans and writes per transaction
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
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.store = store
        self.telemetry = telemetry
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
            telemetry=telemetry,
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
        """Open every due ritual, a batch at a time: the batch is claimed (``SKIP LOCKED``
        among replicas), planned in memory, and written in a few statements. Each committed
        batch goes out while the next is claimed."""
        count, plans = 0, Plans()
        while True:
            async with self.store.transaction() as tx:
                due = await tx.lock_due_rituals(now, self.settings.tick_batch)
                opened, closed = await self._open_batch(tx, due, now, plans)
            count += opened
            if count:
                self.wake.set()
            if closed:
                await self.store.drop_deleted_copies()
            if len(due) < self.settings.tick_batch:
                break
        return count

    async def _open_batch(self, tx: Tx, due: list[RitualView], now: datetime, plans: Plans) -> tuple[int, int]:
        """Open one claimed batch; returns how many opened, and how many open rounds closed first."""
        context = await self._context(tx, due, now)
        openings: list[Opening] = []
        next_due: list[tuple[int, datetime | None]] = []
        closed: list[int] = []
        for n, ritual in enumerate(due, 1):
            if n % YIELD_EVERY == 0:  # planning is CPU only: let delivery (on the same loop) go on
                await asyncio.sleep(0)
            planned = await self._due_time(tx, ritual, now, context, plans, next_due)
            if planned is None:
                continue
            opening = await self._opening(tx, ritual, context.teams[ritual.team_id], planned, now, context, plans)
            if opening.status == "open":  # never a round over an open one: that one closes first
                earlier = [occ for occ in context.open_rounds.get(ritual.id, ()) if occ.planned_at < planned]
                closed += [occ.id for occ in earlier if await self._close(tx, occ, now)]
            openings.append(opening)
        ids = await tx.open_batch(openings, next_due, claimed_by=self.settings.replica)
        for opening in openings:
            self._log_opening(opening, ids.get(opening.ritual_id), context)
        if closed:
            log.info("closed %d open round(s) before opening their ritual's next", len(closed))
        return sum(1 for opening in openings if opening.status != "skipped" and opening.ritual_id in ids), len(closed)

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

    async def _due_time(
        self,
        tx: Tx,
        ritual: RitualView,
        now: datetime,
        context: OpeningContext,
        plans: Plans,
        next_due: list[tuple[int, datetime | None]],
    ) -> datetime | None:
        """The latest missed planned time of one due ritual (never a burst), its next due
        time added to ``next_due``; None when there is nothing to open."""
        assert ritual.next_due_at is not None
        tz = context.teams[ritual.team_id].timezone
        try:
            following = plans.next_after(ritual.schedule, tz, ritual.next_due_at)
        except ScheduleError as err:  # stored before a parser change: stop, don't loop
            log.error("ritual #%s paused: its schedule no longer parses (%s)", ritual.id, err, extra=_ids(ritual))
            await tx.set_next_due(ritual.id, None)
            await tx.set_paused(ritual.id, True)
            return None
        latest, steps = ritual.next_due_at, 0
        while following is not None and following <= now and steps < 10_000:
            latest, steps = following, steps + 1
            following = plans.next_after(ritual.schedule, tz, latest)
        next_due.append((ritual.id, following))  # the first time after ``latest`` is after ``now``
        window = timedelta(seconds=ritual.open_seconds)
        if now - latest > min(window, CATCH_UP_LIMIT):
            log.info("ritual #%s: planned %s passed while down; skipped", ritual.id, latest, extra=_ids(ritual))
            return None
        return latest

    async def _opening(
        self,
        tx: Tx,
        ritual: RitualView,
        team: TeamView,
        planned: datetime,
        now: datetime,
        context: OpeningContext,
        plans: Plans,
        *,
        skip_holidays: bool = True,
    ) -> Opening:
        """What opening one ritual at ``planned`` writes and sends; only a digest reads more."""
        day = planned.astimezone(ZoneInfo(team.timezone)).date()
        holiday = planning.holiday(context, team, day) if skip_holidays else None
        if holiday:
            return Opening(
                ritual_id=ritual.id,
                kind=ritual.kind,
                team_id=team.id,
                planned_at=planned,
                status="skipped",
                reason=holiday,
                content={},
            )
        kind = KINDS[ritual.kind]
        if kind.digest:
            return await self._digest(tx, ritual, team, planned, now)
        following = planning.following_day(ritual, team, day, plans, context)
        content = planning.plan_content(context, ritual, team, day, self.rng, following)
        action = context.actions.get(ritual.id)
        if action:
            content["action"] = {"id": action[0], "text": action[1]}
        # the round keeps the level it opens with: a later change applies from the next round
        content["visibility"] = opening_visibility(kind, ritual.visibility, content).value
        # The window counts from the planned time: a round caught up after downtime closes when
        # it would have, so it does not run into the next one (with a little time to answer).
        window = timedelta(seconds=ritual.open_seconds)
        closes = max(planned + window, now + min(window, CATCH_UP_ANSWER_TIME))
        remind = plans.remind_at(
            (
                team.timezone,
                team.holiday_country,
                tuple(context.holidays.get(team.id, ())),
                now,
                closes,
                kind.remind_fraction,
            ),
            lambda: planning.reminder_time(context, team, now, closes, kind.remind_fraction),
        )
        messages = (
            self._private_messages(ritual, team, content) if kind.private else (Outgoing(destination=team.channel),)
        )
        return Opening(
            ritual_id=ritual.id,
            kind=ritual.kind,
            team_id=team.id,
            planned_at=planned,
            status="open",
            content=content,
            opened_at=now,
            closes_at=closes,
            remind_at=remind,
            messages=messages,
            action_id=action[0] if action else None,
        )

    def _log_opening(self, opening: Opening, occ: int | None, context: OpeningContext) -> None:
        if occ is None:
            return
        team = context.teams[opening.team_id]
        ids = {"team_id": team.id, "ritual_id": opening.ritual_id, "platform": team.platform}
        if opening.status == "skipped":
            log.info(
                "ritual #%s: %s skipped (holiday: %s)", opening.ritual_id, opening.planned_at, opening.reason, extra=ids
            )
            return
        if opening.status == "closed":
            log.info("ritual #%s: digest posted in %s", opening.ritual_id, team.channel_id, extra=ids)
        else:
            log.info(
                "ritual #%s (%s): occurrence %s opened in %s",
                opening.ritual_id,
                opening.kind,
                occ,
                team.channel_id,
                extra=ids,
            )
        self.telemetry.opened(opening.kind)

    async def _digest(self, tx: Tx, ritual: RitualView, team: TeamView, planned: datetime, now: datetime) -> Opening:
        """Post what the team's rounds brought since the window began, as one message."""
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
                day = _.day(past.planned_at.astimezone(tz).date())
                lines = [f"*{notice.title}* ({day})", *(field_line(label, value) for label, value in notice.fields)]
                if notice.footer:
                    lines.append(notice.footer)
                sections.append("\n".join(lines))
        text = "\n\n".join(sections) if sections else _("No rounds closed this week.")
        digest = Notice(
            title=f"#{ritual.id} {KINDS[ritual.kind].title(_)}",
            text=text,
            footer=_("The full picture: /ritme review link"),
        )
        payload = {"type": "notice", "notice": notice_to_dict(digest)}
        return Opening(
            ritual_id=ritual.id,
            kind=ritual.kind,
            team_id=team.id,
            planned_at=planned,
            status="closed",
            content={},
            opened_at=now,
            closes_at=now,
            messages=(Outgoing(destination=team.channel, payload=payload),),
        )

    def _private_messages(self, ritual: RitualView, team: TeamView, content: dict[str, Any]) -> tuple[Outgoing, ...]:
        platform = self.platforms.get(team.platform)
        together = platform is None or platform.group_conversations  # else one message to each member
        return planning.private_messages(ritual, team, content, together=together)

    async def remind_due(self, now: datetime) -> int:
        """Send the one reminder of each open round, privately, to who has not answered."""
        count = 0
        async with self.store.transaction() as tx:
            for occ in await tx.lock_remindable(now, self.settings.batch):
                await tx.mark_reminded(occ.id, now)
                ritual = await tx.ritual(occ.ritual_id)
                if ritual is None or ritual.paused:
                    continue
                count += await self._remind(tx, ritual, occ, now)
        if count:
            self.wake.set()
        return count

    async def _remind(self, tx: Tx, ritual: RitualView, occ: OccurrenceView, now: datetime) -> int:
        """Queue the private reminder of an open round to each member who has not answered it
        (and has not muted reminders); returns how many."""
        team = await tx.team(ritual.team_id)
        recipients = await tx.unanswered(occ.id, team.id)
        kind = KINDS[ritual.kind]
        if kind.private:  # only those in a group were asked
            grouped = {str(m["user"]) for g in kind.groups(occ.content) for m in g}
            recipients = [u for u in recipients if u in grouped]
        for user_id in recipients:
            await tx.enqueue(
                team_id=team.id,
                occurrence_id=occ.id,
                destination=replace(team.channel, user_id=user_id),
                payload={"type": "reminder", "occurrence_id": occ.id},
                at=now,
            )
        log.info("ritual #%s: reminder for occurrence %s queued", ritual.id, occ.id, extra=_ids(ritual, team.platform))
        return len(recipients)

    async def remind_now(self, ritual_id: int) -> int | None:
        """Send the ritual's open round's reminder now (``remind #N``), to who has not answered
        it; returns how many, None when no round of it is open. The scheduled reminder, if
        not sent yet, still goes out: this one is extra."""
        now = self.clock()
        count = 0
        async with self.store.transaction() as tx:
            ritual = await tx.ritual(ritual_id)
            rounds = await tx.open_occurrences(ritual_id) if ritual is not None else []
            if ritual is None or not rounds:
                return None
            for occ in rounds:
                count += await self._remind(tx, ritual, occ, now)
        if count:
            self.wake.set()
        return count

    async def run_now(self, ritual_id: int) -> int | None:
        """Open an occurrence now, whatever the schedule says (``run #N``). None when none is
        opened: the ritual is gone, a round of it is still open (one open round per ritual:
        it is closed or reminded first), or it was run this very second."""
        now = self.clock().replace(microsecond=0)
        async with self.store.transaction() as tx:
            ritual = await tx.ritual(ritual_id)
            if ritual is None or await tx.open_occurrences(ritual_id):
                return None
            context = await self._context(tx, [ritual], now)
            team = context.teams[ritual.team_id]
            opening = await self._opening(tx, ritual, team, now, now, context, Plans(), skip_holidays=False)
            occ = (await tx.open_batch([opening], [], claimed_by=self.settings.replica)).get(ritual.id)
            self._log_opening(opening, occ, context)
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
        log.info("ritual #%s: occurrence %s closed", ritual.id, occ.id, extra=_ids(ritual, team.platform))
        return True

    async def results(self, tx: Tx, ritual: RitualView, team: TeamView, occ: OccurrenceView) -> Notice:
        """The summary of one occurrence, in the team's language."""
        _ = translator(team.language)
        kind = KINDS[ritual.kind]
        visibility = round_visibility(ritual.kind, occ.content)
        replies = await tx.replies(occ.id)
        own = kind.results(occ.content, replies, _)
        limited = limited_results(kind, visibility, own, len(replies), await tx.invited_count(team.id), team, _)
        if limited is not None:
            return replace(limited, title=f"#{ritual.id} {limited.title}")
        if own is not None:
            return replace(own, title=f"#{ritual.id} {own.title}")
        earlier = [
            o
            for o in await tx.recent_occurrences(ritual.id, 10)
            if o.id != occ.id and o.status == "closed" and o.planned_at < occ.planned_at
        ]
        previous = await tx.replies(earlier[0].id) if earlier else None
        if previous is not None and len(previous) < team.anonymity_threshold:
            if round_visibility(ritual.kind, earlier[0].content) is Visibility.ANONYMOUS:
                previous = None  # a change against a round too small to show would reveal its answers
        invited = await tx.invited_count(team.id)
        notice = summarise(
            inputs=prompt_inputs(kind, occ.content, team, _),
            replies=replies,
            anonymous=visibility is Visibility.ANONYMOUS,
            shared=visibility is Visibility.TEAM,
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
        if occ.content.get("moment") == "end_of_year":  # the year closes with everyone receiving appreciation
            text = (text + "\n\n" if text else "") + _(
                "*Before the summer:* close the year with an appreciation round in which everyone receives one: "
                "/ritme appreciation start"
            )
        elif question and replies:
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
        anonymous = round_visibility(ritual.kind, occ.content) is Visibility.ANONYMOUS
        closed = occ.status != "open"
        return Prompt(
            occurrence_id=occ.id,
            ritual_id=ritual.id,
            kind=ritual.kind,
            title=f"#{ritual.id} {kind.title(_)}",
            intro=first_intro(occ.content, _) + kind.intro(occ.content, team, _),
            inputs=prompt_inputs(kind, occ.content, team, _),
            context=who_reads(round_visibility(ritual.kind, occ.content), team.anonymity_threshold, _),
            anonymous=anonymous,
            closes_at=occ.closes_at,
            closed=closed,
            answer_label=_("This round has closed") if closed else _("Answer"),
            answered_label=_("Answer saved. You can change it until the round closes.")
            if not anonymous
            else _("Answer saved anonymously."),
            answered_mark=_(ANSWERED_MARK_ANONYMOUS if anonymous else ANSWERED_MARK),
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
        self.telemetry.answered(outcome.stored)
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


def _ids(ritual: RitualView, platform: str | None = None) -> dict[str, Any]:
    """What a log line about this ritual is about (``rituals.logcontext``), for ``extra``."""
    ids: dict[str, Any] = {"team_id": ritual.team_id, "ritual_id": ritual.id}
    if platform:
        ids["platform"] = platform
    return ids
