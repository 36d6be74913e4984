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
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from rituals.answers import Rules, said
from rituals.calendar import public_holiday
from rituals.i18n import translator
from rituals.kinds import KINDS
from rituals.kinds.base import PlanContext, prompt_inputs, summarise
from rituals.library import THEMES
from rituals.ports import (
    AnswerIn,
    Delivery,
    OccurrenceView,
    OpeningContext,
    OutboxItem,
    Platform,
    RitualView,
    Store,
    TeamView,
    Tx,
)
from rituals.schedule import ScheduleError, parse_schedule
from rituals.types import Actor, ChannelRef, DeliveryError, Notice, Prompt

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
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
            rituals, (now - CATCH_UP_LIMIT - timedelta(days=1)).date(),
            (now + timedelta(seconds=longest, days=1)).date(), HISTORY,
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
        self, tx: Tx, ritual: RitualView, team: TeamView, planned: datetime, now: datetime,
        context: OpeningContext, *, skip_holidays: bool = True,
    ) -> int | None:
        day = planned.astimezone(ZoneInfo(team.timezone)).date()
        holiday = self._holiday(context, team, day) if skip_holidays else None
        common = {"ritual_id": ritual.id, "planned_at": planned, "claimed_by": self.settings.replica}
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
            **common, status="open", reason=None, content=content, opened_at=now, closes_at=closes,
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
            ritual_id=ritual.id, planned_at=planned, status="closed", reason=None, content={},
            opened_at=now, closes_at=now, claimed_by=self.settings.replica,
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
        digest = Notice(title=f"#{ritual.id} {KINDS[ritual.kind].title(_)}", text=text,
                        footer=_("The full picture: /ritme review link"))
        await tx.enqueue(team_id=team.id, occurrence_id=occ, destination=team.channel,
                         payload={"type": "notice", "notice": notice_to_dict(digest)}, at=now)
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
                [replace(team.channel, user_id=users[0], members=users)] if together
                else [replace(team.channel, user_id=user) for user in users]
            )
            for to in destinations:
                await tx.enqueue(team_id=team.id, occurrence_id=occ, destination=to,
                                 payload={"type": "notice", "notice": notice}, at=now)
        announcement = Notice(title=f"#{ritual.id} {kind.title(_)}", text=kind.intro(content, team, _))
        await tx.enqueue(team_id=team.id, occurrence_id=occ, destination=team.channel,
                         payload={"type": "notice", "notice": notice_to_dict(announcement)}, at=now)

    def _plan(self, context: OpeningContext, ritual: RitualView, team: TeamView, day: date) -> dict[str, Any]:
        history = tuple(content for content in context.histories.get(ritual.id, ()) if content)
        roster = context.rosters.get(team.id, [])
        ctx = PlanContext(
            team=team, options=ritual.options, day=day, history=history,
            roster=tuple((mid, name) for mid, name, _ in roster),
            users={mid: uid for mid, _, uid in roster}, rng=self.rng,
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
        candidates += [at(ideal.date() - timedelta(days=n), 16) for n in range(1, days + 1)
                       if working(ideal.date() - timedelta(days=n))]
        candidates += [at(ideal.date() + timedelta(days=n), 9) for n in range(1, days + 1)
                       if working(ideal.date() + timedelta(days=n))]
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
                    to = ChannelRef(platform=team.platform, workspace_id=team.workspace_id,
                                    channel_id=team.channel_id, user_id=user_id)
                    await tx.enqueue(team_id=team.id, occurrence_id=occ.id, destination=to,
                                     payload={"type": "reminder", "occurrence_id": occ.id}, at=now)
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
            await tx.enqueue(
                team_id=team.id, occurrence_id=occ.id, destination=team.channel, payload=payload, at=now
            )
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
        earlier = [o for o in await tx.recent_occurrences(ritual.id, 10) if o.id != occ.id and o.status == "closed" and o.planned_at < occ.planned_at]
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
            context = _("Anonymous: nobody, admins included, can see who answered what. Results show when the round has closed, if at least {n} answered.", n=team.anonymity_threshold)
        elif kind.shared:
            context = _("Leaders and admins can read your answer in the review; the team sees it when the round closes.")
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
        self, *, occurrence_id: int, actor: Actor, values: dict[str, Any], via: ChannelRef | None = None,
    ) -> tuple[bool, str]:
        """Validate and store a member's answer. Returns (stored, message for the member);
        ``AnswerNotStored`` when the database did not take it.

        The rules are ``rituals.answers.Rules``; answers arriving together are written
        together (``Store.answer_writer``: a batch is a few statements whatever its size),
        and the await ends once this answer is committed. The message is in the team's
        language, or the channel's when the round is gone."""
        answer = AnswerIn(occurrence_id=occurrence_id, actor=actor, values=values, via=via, sent_at=self.clock())
        outcome = await self.answers.submit(answer)
        language = outcome.language or (await self.store.channel_language(via) if via else None) or self.settings.language
        return outcome.stored, said(outcome, language)

    async def drain_answers(self, within: float) -> None:
        """Wait, at most ``within`` seconds, until the answers received so far are stored."""
        await self.answers.drain(within)

    # -- delivery -------------------------------------------------------------------

    async def dispatch(self) -> int:
        """Deliver one batch of due outbox messages; returns how many were handled."""
        now = self.clock()
        items = await self.store.claim_outbox(
            now, self.settings.batch, self.settings.replica, self.settings.lease_seconds
        )
        if not items:
            return 0
        rendered = await self._render_batch(items)
        # Conversations are served concurrently; within one conversation, in order, so
        # results never overtake the prompt they belong to.
        limit = asyncio.Semaphore(self.settings.send_concurrency)
        queues: dict[tuple[str, str, str | None], list[OutboxItem]] = {}
        for item in items:
            queues.setdefault(conversation_of(item), []).append(item)

        async def conversation(queue: list[OutboxItem]) -> list[Delivery]:
            async with limit:
                return [await self._deliver(item, rendered) for item in queue]

        done = await asyncio.gather(*(conversation(q) for q in queues.values()))
        deliveries = [d for queue in done for d in queue]
        await self.store.finish_outbox(deliveries, self.clock())
        await self._pause_undeliverable(deliveries)
        return len(items)

    async def run_dispatcher(self, stop: asyncio.Event) -> None:
        """Deliver the outbox until ``stop`` is set, then finish what was claimed and return.

        Unlike ``dispatch`` there is no batch barrier: claims run ahead of the sends (at most
        four batches claimed and unfinished), one worker at a time serves a conversation in
        order, at most ``send_concurrency`` sends run at once, and outcomes are written back
        in group commits (at least every 50 ms). So one slow send (a rate limit the platform
        client honours by waiting) holds up its own conversation only.

        Stopping, it claims nothing more, finishes the sends under way and gives back what
        it had claimed and not started. A replica that dies leaves its claimed, unfinished
        messages to be sent by another after their lease; only those that the platform had
        accepted and whose outcome was not yet written back go out twice.
        """
        await _Pipeline(self).run(stop)

    async def _render_batch(self, items: list[OutboxItem]) -> dict[int, tuple[Prompt, TeamView] | None]:
        """The prompts a batch needs, read in one transaction (not one per message)."""
        wanted: set[int] = set()
        for item in items:
            if item.payload.get("type") in ("prompt", "reminder", "prompt_closed"):
                try:
                    wanted.add(int(item.payload["occurrence_id"]))
                except (KeyError, TypeError, ValueError):
                    continue  # _deliver reports it for this message alone
        rendered: dict[int, tuple[Prompt, TeamView] | None] = {}
        if not wanted:
            return rendered
        try:
            found = await self.store.outbox_prompts(sorted(wanted))
            for occ_id in wanted:
                views = found.get(occ_id)
                rendered[occ_id] = (self.render_prompt(views[1], views[2], views[0]), views[2]) if views else None
        except Exception:  # each message then renders its own, and fails on its own
            log.exception("rendering a batch of prompts failed")
            return {}
        return rendered

    async def _deliver(
        self, item: OutboxItem, rendered: dict[int, tuple[Prompt, TeamView] | None] | None = None
    ) -> Delivery:
        platform = self.platforms.get(item.destination.platform)
        if platform is None:
            return Delivery(item=item, error="no adapter for platform", retry_at=None)

        async def prompt(occurrence_id: int) -> tuple[Prompt, TeamView] | None:
            if rendered is not None and occurrence_id in rendered:
                return rendered[occurrence_id]
            return await self.prompt(occurrence_id)

        try:
            kind = item.payload.get("type")
            if kind == "prompt":
                found = await prompt(int(item.payload["occurrence_id"]))
                if found is None:
                    return Delivery(item=item, error="occurrence gone")
                ref = await platform.send_prompt(item.destination, found[0])
                return Delivery(item=item, ref=ref)
            if kind == "reminder":
                found = await prompt(int(item.payload["occurrence_id"]))
                if found is None or found[0].closed:
                    return Delivery(item=item)  # closed meanwhile: nothing to remind of
                current, team = found
                _ = translator(team.language)
                if KINDS[current.kind].private:  # a nudge, halfway through the period
                    reminder = replace(current, intro=_("Halfway through this round: did you and your pair meet?"))
                else:
                    reminder = replace(
                        current,
                        title=_("Reminder: {title}", title=current.title),
                        intro=_("This round closes soon and your answer still counts. (Mute reminders with /ritme reminders off.)") + "\n\n" + current.intro,
                    )
                ref = await platform.send_prompt(item.destination, reminder)
                return Delivery(item=item, ref=ref)
            if kind == "prompt_closed":
                occ_id = int(item.payload["occurrence_id"])
                found = await prompt(occ_id)
                async with self.store.transaction() as tx:
                    refs = await tx.prompt_refs(occ_id)
                if found is not None:
                    for to, ref in refs:
                        await platform.update_prompt(ref, to, found[0])
                return Delivery(item=item)
            if kind == "notice":
                ref = await platform.send_notice(item.destination, notice_from_dict(item.payload["notice"]))
                return Delivery(item=item, ref=ref)
            return Delivery(item=item, error=f"unknown message type {kind!r}")
        except DeliveryError as err:
            if err.retryable and item.attempts < MAX_ATTEMPTS:
                delay = err.retry_after if err.retry_after is not None else self._backoff(item.attempts)
                log.warning("outbox %s: %s; retry in %.1fs", item.id, err.reason, delay)
                return Delivery(item=item, error=err.reason, retry_at=self.clock() + timedelta(seconds=delay))
            log.error("outbox %s: giving up: %s", item.id, err.reason)
            return Delivery(item=item, error=err.reason)
        except Exception as err:  # a bug or an unexpected platform answer: retry, then give up
            log.exception("outbox %s: unexpected error", item.id)
            retry = self.clock() + timedelta(seconds=self._backoff(item.attempts))
            return Delivery(item=item, error=repr(err)[:400], retry_at=retry if item.attempts < MAX_ATTEMPTS else None)

    def _backoff(self, attempts: int) -> float:
        base: float = min(600.0, 2.0 ** max(attempts, 1))
        return base / 2 + self.rng.random() * base / 2

    async def _pause_undeliverable(self, deliveries: list[Delivery]) -> None:
        """A prompt that can never be delivered pauses its ritual instead of retrying forever."""
        failed = [d for d in deliveries if d.error and d.retry_at is None and d.item.occurrence_id]
        if not failed:
            return
        async with self.store.transaction() as tx:
            for d in failed:
                assert d.item.occurrence_id is not None
                occ = await tx.occurrence(d.item.occurrence_id)
                # Only the channel going away stops a ritual; one member's direct
                # conversation failing (they left, blocked the app) does not.
                if occ is not None and d.item.payload.get("type") == "prompt" and d.item.destination.user_id is None:
                    await tx.set_paused(occ.ritual_id, True)
                    log.error("ritual #%s paused: %s", occ.ritual_id, d.error)


def conversation_of(item: OutboxItem) -> tuple[str, str, str | None]:
    """Messages to one conversation go out in order; different conversations in parallel."""
    d = item.destination
    return (d.platform, d.channel_id, d.user_id)


async def _wait_any(*events: asyncio.Event, within: float | None = None) -> None:
    """Until one of the events is set, or ``within`` seconds."""
    if any(e.is_set() for e in events):
        return
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


class _Pipeline:
    """One run of ``Engine.run_dispatcher``: a claimer, send workers and a group committer."""

    FLUSH_SECONDS = 0.05  # outcomes wait at most this long for their group commit

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.batch = max(1, engine.settings.batch)
        self.capacity = 4 * self.batch
        self.queues: dict[tuple[str, str, str | None], deque[OutboxItem]] = {}
        self.ready: asyncio.Queue[tuple[str, str, str | None]] = asyncio.Queue()
        self.rendered: dict[int, tuple[Prompt, TeamView] | None] = {}
        self.needs: Counter[int] = Counter()  # unfinished messages per rendered occurrence
        self.unfinished = 0  # claimed and not yet written back
        self.done: list[Delivery] = []
        self.room = asyncio.Event()
        self.drained = asyncio.Event()
        self.drained.set()
        self.flush_now = asyncio.Event()
        self.closing = False

    async def run(self, stop: asyncio.Event) -> None:
        workers = [asyncio.create_task(self._worker()) for _ in range(max(1, self.engine.settings.send_concurrency))]
        committer = asyncio.create_task(self._committer())
        try:
            await self._claimer(stop)
            self._release_waiting()
            await self.drained.wait()  # the sends in flight finish
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self.closing = True
            self.flush_now.set()
            await asyncio.gather(committer, return_exceptions=True)  # the last group commit

    async def _claimer(self, stop: asyncio.Event) -> None:
        engine = self.engine
        while not stop.is_set():
            room = self.capacity - self.unfinished
            if room <= 0:
                self.room.clear()
                await _wait_any(self.room, stop)
                continue
            engine.wake.clear()  # before the claim: a wake during it is not lost
            try:
                items = await engine.store.claim_outbox(
                    engine.clock(), min(self.batch, room), engine.settings.replica, engine.settings.lease_seconds
                )
            except Exception:
                log.exception("claiming outbox messages failed; trying again shortly")
                await _wait_any(stop, within=1.0)
                continue
            if not items:
                await _wait_any(engine.wake, stop, within=1.0)
                continue
            self.unfinished += len(items)
            self.drained.clear()
            self.rendered.update(await engine._render_batch(items))
            for item in items:
                if item.occurrence_id is not None:
                    self.needs[item.occurrence_id] += 1
                key = conversation_of(item)
                queue = self.queues.get(key)
                if queue is None:
                    queue = self.queues[key] = deque()
                    self.ready.put_nowait(key)
                queue.append(item)

    async def _worker(self) -> None:
        while True:
            key = await self.ready.get()
            queue = self.queues[key]
            while queue:
                item = queue.popleft()
                try:
                    delivery = await self.engine._deliver(item, self.rendered)
                except Exception as err:  # _deliver reports its own failures; this is a bug
                    log.exception("outbox %s: delivery crashed", item.id)
                    delivery = Delivery(item=item, error=repr(err)[:400], retry_at=self.engine.clock() + timedelta(seconds=60))
                self._finished(delivery)
            del self.queues[key]  # no await since the queue was seen empty

    def _release_waiting(self) -> None:
        """Stopping: what no worker has started goes back to the outbox at once (lease
        cleared, due now), so another replica sends it without waiting for the lease."""
        now = self.engine.clock()
        for queue in self.queues.values():
            while queue:
                item = queue.popleft()
                self._finished(Delivery(item=item, error="released: the replica is stopping", retry_at=now))

    def _finished(self, delivery: Delivery) -> None:
        self.done.append(delivery)
        self.unfinished -= 1
        self.room.set()
        if self.unfinished == 0:
            self.drained.set()
        if len(self.done) >= self.batch:
            self.flush_now.set()

    async def _committer(self) -> None:
        failures = 0
        while True:
            await _wait_any(self.flush_now, within=self.FLUSH_SECONDS)
            self.flush_now.clear()
            closing = self.closing
            if await self._flush():
                failures = 0
            else:
                failures += 1
                if closing and failures >= 5:
                    log.error("%d deliveries not written back; their lease runs out and they go out again", len(self.done))
                    return
                await asyncio.sleep(min(1.0, 0.2 * failures))
            if closing and not self.done:
                return

    async def _flush(self) -> bool:
        """Write back what finished, in one transaction; kept for the next try on failure."""
        if not self.done:
            return True
        batch, self.done = self.done, []
        try:
            await self.engine.store.finish_outbox(batch, self.engine.clock())
        except Exception:
            log.exception("writing back %d deliveries failed; trying again shortly", len(batch))
            self.done = batch + self.done
            return False
        for d in batch:
            occurrence = d.item.occurrence_id
            if occurrence is not None:
                self.needs[occurrence] -= 1
                if self.needs[occurrence] <= 0:
                    del self.needs[occurrence]
                    self.rendered.pop(occurrence, None)
        try:
            await self.engine._pause_undeliverable(batch)
        except Exception:
            log.exception("pausing rituals whose prompts cannot be delivered failed")
        return True


DISCUSSION_THEME = {"goal": "goal", "checkout": "meetings", "pulse": "safety", "appreciation": "differences", "values": "values"}


def discussion_question(kind: str, content: dict[str, Any], rng: random.Random) -> str | None:
    """A short question from the library for the team's next meeting about these results."""
    theme = THEMES.get(str(content.get("theme") or DISCUSSION_THEME.get(kind, "")))
    return rng.choice(theme.discussion) if theme and theme.discussion else None


def notice_to_dict(notice: Notice) -> dict[str, Any]:
    return {"title": notice.title, "text": notice.text, "fields": [list(f) for f in notice.fields], "footer": notice.footer}


def notice_from_dict(data: dict[str, Any]) -> Notice:
    return Notice(
        title=str(data.get("title", "")),
        text=str(data.get("text", "")),
        fields=tuple((str(a), str(b)) for a, b in data.get("fields", [])),
        footer=str(data.get("footer", "")),
    )

