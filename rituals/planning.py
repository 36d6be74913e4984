"""Planning a round: what the tick computes for each ritual it opens, apart from the
database. Each function is pure given the batch's ``OpeningContext`` (teams, holidays,
rosters, recent contents) and the tick's ``Plans`` (what rituals share is computed once)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rituals.calendar import public_holiday
from rituals.delivery import notice_to_dict
from rituals.i18n import translator
from rituals.kinds import KINDS
from rituals.kinds.base import PlanContext
from rituals.ports import OpeningContext, Outgoing, RitualView, TeamView
from rituals.schedule import ScheduleError, parse_schedule
from rituals.types import Notice


class Plans:
    """What a tick computes once for the many rituals that share it: the next time of a
    schedule in a zone after an instant (most due rituals share a few schedules, zones and
    due times), and the reminder time of rounds opened and closing together."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, str, datetime], datetime | None] = {}
        self._remind: dict[tuple[Any, ...], datetime | None] = {}

    def next_after(self, schedule: str, timezone: str, after: datetime) -> datetime | None:
        key = (schedule, timezone, after)
        if key not in self._next:
            self._next[key] = parse_schedule(schedule).next_after(after, ZoneInfo(timezone))
        return self._next[key]

    def remind_at(self, key: tuple[Any, ...], compute: Callable[[], datetime | None]) -> datetime | None:
        if key not in self._remind:
            self._remind[key] = compute()
        return self._remind[key]


def holiday(context: OpeningContext, team: TeamView, day: date) -> str | None:
    """The holiday on ``day`` of the team (read for the batch) or of its country, if any."""
    return context.holiday(team.id, day) or public_holiday(team.holiday_country, day)


def plan_content(
    context: OpeningContext,
    ritual: RitualView,
    team: TeamView,
    day: date,
    rng: random.Random,
    following: date | None = None,
) -> dict[str, Any]:
    """The content of a round of ``ritual`` on ``day``: its kind's plan, and the teamleider's
    answer given to go first, once."""
    history = tuple(content for content in context.histories.get(ritual.id, ()) if content)
    roster = context.rosters.get(team.id, [])
    ctx = PlanContext(
        team=team,
        options=ritual.options,
        day=day,
        history=history,
        roster=tuple((mid, name) for mid, name, _ in roster),
        users={mid: uid for mid, _, uid in roster},
        rng=rng,
        following=following,
    )
    content = KINDS[ritual.kind].plan(ctx)
    first = team.settings.get("first", {}).get(str(ritual.id))
    if isinstance(first, dict) and first.get("text") and not any(h.get("first") == first for h in history):
        content["first"] = first  # the teamleider's answer, once: the next round opens with it
    return content


def following_day(ritual: RitualView, team: TeamView, day: date, plans: Plans, context: OpeningContext) -> date | None:
    """The day of the ritual's next round after ``day`` that is no holiday (public holidays,
    and the team's holidays the batch read), so that a round knows whether it is the last of
    its period; None for a ritual run by hand."""
    if not ritual.schedule:
        return None
    tz = ZoneInfo(team.timezone)
    after = datetime.combine(day, time.max, tz)
    for _step in range(10):
        try:
            following = plans.next_after(ritual.schedule, team.timezone, after)
        except ScheduleError:
            return None
        if following is None:
            return None
        if not holiday(context, team, following.astimezone(tz).date()):
            return following.astimezone(tz).date()
        after = following
    return None


def reminder_time(
    context: OpeningContext, team: TeamView, opened: datetime, closes: datetime, fraction: float
) -> datetime | None:
    """When the one reminder goes out: ``fraction`` of the window before the close, in
    working hours (08:00-17:00 local, Monday to Friday, not on a holiday). When that
    moment is on a weekend or a holiday, the last working afternoon before it; failing
    that, the first working morning after. None when the window holds no such moment."""
    tz = ZoneInfo(team.timezone)
    earliest, latest = opened + timedelta(minutes=30), closes - timedelta(minutes=15)
    ideal = (closes - (closes - opened) * fraction).astimezone(tz)

    def working(day: date) -> bool:
        return day.weekday() < 5 and not holiday(context, team, day)

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
        at(ideal.date() + timedelta(days=n), 9) for n in range(1, days + 1) if working(ideal.date() + timedelta(days=n))
    ]
    return next((when for when in candidates if earliest <= when <= latest), None)


def private_messages(
    ritual: RitualView, team: TeamView, content: dict[str, Any], *, together: bool
) -> tuple[Outgoing, ...]:
    """A private ritual: one message per group (``together``: a group conversation; else one
    message to each of its members), and a short announcement in the channel."""
    _ = translator(team.language)
    kind = KINDS[ritual.kind]
    messages: list[Outgoing] = []
    for group in kind.groups(content):
        users = tuple(str(m["user"]) for m in group)
        payload = {"type": "notice", "notice": notice_to_dict(kind.group_notice(content, group, team, _))}
        destinations = (
            [replace(team.channel, user_id=users[0], members=users)]
            if together
            else [replace(team.channel, user_id=user) for user in users]
        )
        messages += [Outgoing(destination=to, payload=payload) for to in destinations]
    announcement = Notice(title=f"#{ritual.id} {kind.title(_)}", text=kind.intro(content, team, _))
    payload = {"type": "notice", "notice": notice_to_dict(announcement)}
    return (*messages, Outgoing(destination=team.channel, payload=payload))
