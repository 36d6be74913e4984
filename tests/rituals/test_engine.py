"""The engine against a real store (SQLite and PostgreSQL) with an injected clock."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, text, update

from rituals.answers import CLOSED, GONE, NOT_IN_TEAM, SAVED, SAVED_ANONYMOUSLY
from rituals.engine import Engine, EngineSettings
from rituals.i18n import translator
from rituals.kinds.appreciation import assign_colleagues, round_roster, round_seed
from rituals.ports import AnswerNotStored, Saved
from rituals.types import Actor, ChannelRef, DeliveryError
from storage.db import create_engine
from storage.models import Occurrence, OutboxMessage, Participation, Ritual, SealedAnswer, TeamMember
from storage.repo import Repo
from tests.fakes.clock import Clock
from tests.fakes.platform import RecordingPlatform

AMS = ZoneInfo("Europe/Amsterdam")
MONDAY_0900 = datetime(2026, 11, 23, 9, 0, tzinfo=AMS)


def user(n: int) -> Actor:
    return Actor(platform="test", workspace_id="w", user_id=f"u{n}")


async def setup_team(repo: Repo, clock: Clock, *, members: int = 3) -> int:
    team, _ = await repo.ensure_team(
        platform="test",
        workspace_id="w",
        channel_id="c",
        name="T",
        timezone="Europe/Amsterdam",
        language="en",
        now=clock(),
    )
    for n in range(members):
        await repo.ensure_member(
            platform="test", workspace_id="w", user_id=f"u{n}", display_name=f"User {n}", now=clock(), team_id=team.id
        )
    return team.id


async def add_weekly(
    repo: Repo,
    team_id: int,
    clock: Clock,
    kind: str = "reflection",
    open_hours: int = 48,
    visibility: str | None = None,
) -> int:
    engine_next = Engine.next_due("every monday at 09:00", "Europe/Amsterdam", clock())
    return await repo.add_ritual(
        team_id=team_id,
        kind=kind,
        schedule="every monday at 09:00",
        open_seconds=open_hours * 3600,
        options={},
        next_due_at=engine_next,
        now=clock(),
        visibility=visibility,
    )


def make_engine(repo: Repo, clock: Clock, platform: RecordingPlatform, replica: str = "r1") -> Engine:
    return Engine(repo, {"test": platform}, settings=EngineSettings(replica=replica), clock=clock, rng=random.Random(7))


async def count(repo: Repo, model: type, **where: object) -> int:
    async with repo.session() as s:
        stmt = select(func.count()).select_from(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return int(await s.scalar(stmt) or 0)


async def test_fires_once_at_the_planned_time_and_delivers(repo: Repo) -> None:
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    platform = RecordingPlatform()
    engine = make_engine(repo, clock, platform)
    team = await setup_team(repo, clock)
    ritual = await add_weekly(repo, team, clock)

    assert await engine.tick() == 0  # Sunday: nothing due
    clock.set(MONDAY_0900 + timedelta(seconds=3))
    assert await engine.tick() == 1
    assert await engine.tick() == 0  # the same planned time never fires twice
    assert await engine.dispatch() == 1
    ((to, prompt),) = platform.prompts
    assert to.channel_id == "c" and prompt.ritual_id == ritual and prompt.inputs
    async with repo.session() as s:
        occ = (await s.scalars(select(Occurrence))).one()
        r = await s.get(Ritual, ritual)
    assert occ.planned_at == MONDAY_0900.astimezone(UTC)
    assert r is not None and r.next_due_at == (MONDAY_0900 + timedelta(days=7)).astimezone(UTC)


async def test_two_replicas_claim_each_occurrence_once(repo: Repo) -> None:
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    team = await setup_team(repo, clock)
    for _ in range(20):
        await add_weekly(repo, team, clock)
    clock.set(MONDAY_0900 + timedelta(seconds=1))
    second = Repo(create_engine(str(repo.engine.url.render_as_string(hide_password=False))), repo.sealer)
    try:
        a = make_engine(repo, clock, RecordingPlatform(), "a")
        b = make_engine(second, clock, RecordingPlatform(), "b")
        fired = await asyncio.gather(a.tick(), b.tick(), a.tick(), b.tick())
    finally:
        await second.dispose()
    assert sum(fired) == 20
    assert await count(repo, Occurrence) == 20
    assert await count(repo, OutboxMessage) == 20


async def test_catch_up_sends_only_the_latest_missed_occurrence_within_its_window(repo: Repo) -> None:
    clock = Clock(datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
    platform = RecordingPlatform()
    engine = make_engine(repo, clock, platform)
    team = await setup_team(repo, clock)
    await add_weekly(repo, team, clock, open_hours=48)
    # Down for three weeks: Mondays 2, 9 and 16 passed; back up on Monday 16 at 11:00.
    clock.set(datetime(2026, 11, 16, 11, 0, tzinfo=AMS))
    assert await engine.tick() == 1
    async with repo.session() as s:
        occ = (await s.scalars(select(Occurrence))).one()
    assert occ.planned_at == datetime(2026, 11, 16, 9, 0, tzinfo=AMS).astimezone(UTC)
    # Its window counts from the planned 09:00, not from the late opening at 11:00.
    assert occ.closes_at == datetime(2026, 11, 18, 9, 0, tzinfo=AMS).astimezone(UTC)


async def test_a_round_caught_up_late_still_leaves_time_to_answer(repo: Repo) -> None:
    clock = Clock(datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
    engine = make_engine(repo, clock, RecordingPlatform())
    team = await setup_team(repo, clock)
    await add_weekly(repo, team, clock, kind="checkout", open_hours=4, visibility="team")
    clock.set(datetime(2026, 11, 16, 12, 45, tzinfo=AMS))  # back up 15 minutes before Monday's round closes
    assert await engine.tick() == 1
    async with repo.session() as s:
        occ = (await s.scalars(select(Occurrence))).one()
    assert occ.closes_at == datetime(2026, 11, 16, 13, 45, tzinfo=AMS).astimezone(UTC)  # an hour, not 15 minutes


async def test_catch_up_gives_up_when_the_window_has_passed(repo: Repo) -> None:
    clock = Clock(datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
    engine = make_engine(repo, clock, RecordingPlatform())
    team = await setup_team(repo, clock)
    ritual = await add_weekly(repo, team, clock, kind="checkout", open_hours=4, visibility="team")
    clock.set(datetime(2026, 11, 18, 12, 0, tzinfo=AMS))  # Wednesday: Monday's window is over
    assert await engine.tick() == 0
    assert await count(repo, Occurrence) == 0
    async with repo.session() as s:
        r = await s.get(Ritual, ritual)
    assert r is not None and r.next_due_at == datetime(2026, 11, 23, 9, 0, tzinfo=AMS).astimezone(UTC)


async def test_holidays_are_skipped_and_recorded(repo: Repo) -> None:
    clock = Clock(datetime(2026, 12, 20, 12, 0, tzinfo=UTC))
    platform = RecordingPlatform()
    engine = make_engine(repo, clock, platform)
    team = await setup_team(repo, clock)
    await add_weekly(repo, team, clock)
    await repo.add_holiday(team, date(2026, 12, 19), date(2027, 1, 3), "Christmas break")
    clock.set(datetime(2026, 12, 21, 9, 0, 5, tzinfo=AMS))
    assert await engine.tick() == 0
    async with repo.session() as s:
        occ = (await s.scalars(select(Occurrence))).one()
    assert occ.status == "skipped" and occ.reason == "Christmas break"
    assert await engine.dispatch() == 0 and not platform.prompts


async def test_public_holidays_of_the_team_country_are_skipped(repo: Repo) -> None:
    # Easter Monday 2027 (NL public holiday) is 29 March, the day after the DST change.
    clock = Clock(datetime(2027, 3, 27, 12, 0, tzinfo=UTC))
    engine = make_engine(repo, clock, RecordingPlatform())
    team = await setup_team(repo, clock)
    await add_weekly(repo, team, clock)
    clock.set(datetime(2027, 3, 29, 9, 0, 1, tzinfo=AMS))
    await engine.tick()
    async with repo.session() as s:
        occ = (await s.scalars(select(Occurrence))).one()
    assert occ.status == "skipped" and occ.reason
    assert occ.planned_at == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST


async def test_retryable_failures_are_retried_and_permanent_ones_pause(repo: Repo) -> None:
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    platform = RecordingPlatform(failures=[DeliveryError("ratelimited", retryable=True, retry_after=30)])
    engine = make_engine(repo, clock, platform)
    team = await setup_team(repo, clock)
    ritual = await add_weekly(repo, team, clock)
    await engine.run_now(ritual)
    assert await engine.dispatch() == 1 and not platform.prompts
    assert await engine.dispatch() == 0  # not yet due again
    clock.advance(seconds=31)
    assert await engine.dispatch() == 1 and len(platform.prompts) == 1

    platform.failures.append(DeliveryError("channel_not_found", retryable=False))
    clock.advance(seconds=1)
    other = await add_weekly(repo, team, clock)  # the first round is open: another ritual's prompt
    await engine.run_now(other)
    await engine.dispatch()
    async with repo.session() as s:
        r = await s.get(Ritual, other)
        failed = await s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "failed"))
    assert r is not None and r.paused and failed == 1


async def test_lease_expiry_hands_work_to_another_replica(repo: Repo) -> None:
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    team = await setup_team(repo, clock)
    ritual = await add_weekly(repo, team, clock)
    dead = make_engine(repo, clock, RecordingPlatform(), "dead")
    await dead.run_now(ritual)
    claimed = await repo.claim_outbox(clock(), 10, "dead", 60)  # claims, then dies before sending
    assert len(claimed) == 1
    platform = RecordingPlatform()
    alive = make_engine(repo, clock, platform, "alive")
    assert await alive.dispatch() == 0
    clock.advance(seconds=61)
    assert await alive.dispatch() == 1 and len(platform.prompts) == 1


async def test_answers_are_validated_stored_once_and_closed_rounds_refuse(repo: Repo) -> None:
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    platform = RecordingPlatform()
    engine = make_engine(repo, clock, platform)
    team = await setup_team(repo, clock)
    ritual = await add_weekly(repo, team, clock, kind="checkout", visibility="team")
    occ = await engine.run_now(ritual)
    assert occ is not None
    member = await repo.find_member(platform="test", workspace_id="w", user_id="u0")
    assert member is not None
    ok, message = await engine.submit(occurrence_id=occ, actor=user(0), values={"score": "9", "takeaway": "x"})
    assert not ok and "1 to 5" in message
    assert (await engine.submit(occurrence_id=occ, actor=user(0), values={"score": "4", "takeaway": "focus"}))[0]
    assert (await engine.submit(occurrence_id=occ, actor=user(0), values={"score": "5", "takeaway": "focus!"}))[0]
    replies = await repo.replies_for(occ)
    assert [r.values["score"] for r in replies] == [5]
    await engine.close_now(ritual)
    ok, message = await engine.submit(occurrence_id=occ, actor=user(0), values={"score": "3", "takeaway": "late"})
    assert not ok and "closed" in message
    assert [r.values["score"] for r in await repo.replies_for(occ)] == [5]


async def one_open_reflection(repo: Repo) -> tuple[Engine, int]:
    """An engine and the open round of a team of one: (engine, occurrence id)."""
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    return await one_open_reflection_of(repo, await setup_team(repo, clock, members=1))


async def one_open_reflection_of(repo: Repo, team: int) -> tuple[Engine, int]:
    """An engine and the open round of a new reflection of ``team``: (engine, occurrence id)."""
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    engine = make_engine(repo, clock, RecordingPlatform())
    occ = await engine.run_now(await add_weekly(repo, team, clock, visibility="team"))
    assert occ is not None
    return engine, occ


def scale_answers(platform: RecordingPlatform, occurrence_id: int, score: int) -> dict[str, int]:
    """``score`` for each scale item of the prompt the platform got for the round."""
    return {
        i.key: score
        for p in platform.prompts
        if p[1].occurrence_id == occurrence_id
        for i in p[1].inputs
        if i.kind == "scale"
    }


async def open_pulse(repo: Repo, members: int) -> tuple[Engine, Clock, int, int, dict[str, int]]:
    """An engine and the open pulse of a new team of ``members``, its prompt sent: (engine,
    clock, team id, occurrence id, an answer of 3s)."""
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    platform = RecordingPlatform()
    engine = make_engine(repo, clock, platform)
    team = await setup_team(repo, clock, members=members)
    pulse = await engine.run_now(await add_weekly(repo, team, clock, kind="pulse"))
    assert pulse is not None
    await engine.dispatch()
    return engine, clock, team, pulse, scale_answers(platform, pulse, 3)


def on_each_answer_transaction(repo: Repo, change: Callable[[Any], None]) -> None:
    """``change`` alters each answer transaction's Tx before the answer writer uses it, on
    the server's loop and on the writer's thread."""
    for name in ("answer_transaction", "_writer_transaction"):
        original = getattr(repo, name)

        def changed(original: Any = original) -> Any:
            @asynccontextmanager
            async def transaction(*, autocommit: bool = False) -> AsyncIterator[Any]:
                async with original(autocommit=autocommit) as tx:
                    change(tx)
                    yield tx

            return transaction

        setattr(repo, name, changed())


async def test_an_answer_whose_round_closes_between_the_read_and_the_write_is_refused(repo: Repo) -> None:
    """The read says the round is open; the round closes before the write (on PostgreSQL
    they are two statements, each committing on its own). The write sees it: nothing is
    stored, not even the newcomer, and the member is told the round has closed."""
    engine, occ = await one_open_reflection(repo)

    def close_after_the_read(tx: Any) -> None:
        context = tx.answer_context

        async def read_then_close(occurrence_ids: Any, people: Any, **how: Any) -> Any:
            found = await context(occurrence_ids, people, **how)
            await tx.s.execute(update(Occurrence).where(Occurrence.id == occ).values(status="closed"))
            return found

        tx.answer_context = read_then_close

    on_each_answer_transaction(repo, close_after_the_read)
    newcomer = Actor(platform="test", workspace_id="w", user_id="new", display_name="New")
    channel = ChannelRef(platform="test", workspace_id="w", channel_id="c")
    outcomes = await asyncio.gather(  # one batch: the second replaces the first, and shares its fate
        engine.submit(occurrence_id=occ, actor=newcomer, values={"answer": "late"}, via=channel),
        engine.submit(occurrence_id=occ, actor=newcomer, values={"answer": "later"}, via=channel),
    )
    assert [ok for ok, _message in outcomes] == [False, False] and all("closed" in m for _ok, m in outcomes)
    assert (
        await repo.replies_for(occ) == []
        and await repo.find_member(platform="test", workspace_id="w", user_id="new") is None
    )


async def test_an_answer_is_decided_on_its_team_as_the_write_finds_it(repo: Repo) -> None:
    """What a batch is decided on (its round, its team, who is in the team) can change
    between batches: on PostgreSQL the answer writer remembers it, and each write checks it
    still holds. A team that switched to Dutch answers in Dutch; a member who left the team
    is refused outside its channel; their earlier answer stays as it was."""
    engine, occ = await one_open_reflection(repo)
    channel = ChannelRef(platform="test", workspace_id="w", channel_id="c")
    assert (await engine.submit(occurrence_id=occ, actor=user(0), values={"answer": "first"}))[0]
    async with repo.session() as s:
        team = int(
            await s.scalar(
                select(Ritual.team_id).join(Occurrence, Occurrence.ritual_id == Ritual.id).where(Occurrence.id == occ)
            )
        )
    dutch = translator("nl")
    await repo.update_team(team, language="nl")  # as another replica's command would
    assert await engine.submit(occurrence_id=occ, actor=user(7), values={"answer": "new"}, via=channel) == (
        True,
        dutch(SAVED),
    )
    assert await repo.keep_in_team(platform="test", workspace_id="w", channel_id="c", user_ids=["u7"]) == 1
    assert await engine.submit(occurrence_id=occ, actor=user(0), values={"answer": "again"}) == (
        False,
        dutch(NOT_IN_TEAM),
    )
    assert sorted(r.values["answer"] for r in await repo.replies_for(occ)) == ["first", "new"]


async def test_an_appreciation_is_checked_against_the_round_assignment_of_a_member_not_seen_before(
    repo: Repo,
) -> None:
    """The rules need to know who of the people is in the team (an appreciation goes to the
    colleague the round assigned): a member the answer writer has not seen in this team yet
    is not taken for an outsider, also when the round was read for someone else before."""
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    engine = make_engine(repo, clock, RecordingPlatform())
    team = await setup_team(repo, clock, members=3)
    occ = await engine.run_now(await add_weekly(repo, team, clock, kind="appreciation"))
    assert occ is not None
    async with repo.session() as s:
        content = (await s.scalar(select(Occurrence.content).where(Occurrence.id == occ))) or {}
    ids = {m: await repo.find_member(platform="test", workspace_id="w", user_id=f"u{m}") for m in range(3)}
    assigned = assign_colleagues([member for member, _name in round_roster(content)], round_seed(content, occ))
    channel = ChannelRef(platform="test", workspace_id="w", channel_id="c")

    def appreciate(giver: int, colleague: int) -> Any:
        values = {"colleague": str(colleague), "appreciation": "thanks"}
        return engine.submit(occurrence_id=occ, actor=user(giver), values=values, via=channel)

    assert (await appreciate(0, assigned[ids[0]]))[0]  # the round is read, and u0 seen in the team
    other = next(m for m in ids.values() if m not in (ids[1], assigned[ids[1]]))
    ok, message = await appreciate(1, other)
    assert not ok and message.startswith("This round you appreciate")
    assert (await appreciate(1, assigned[ids[1]]))[0]
    assert sorted(r.values["colleague"] for r in await repo.replies_for(occ)) == sorted(
        [str(assigned[ids[0]]), str(assigned[ids[1]])]
    )


async def test_an_answer_to_a_round_closed_or_removed_since_it_was_read_is_told_so_as_it_is_now(repo: Repo) -> None:
    """The team switched to Dutch, then the round closed: the next answer hears that it
    closed, in Dutch. The ritual removed (its rounds go with it): the answer hears that the
    question no longer exists. On PostgreSQL the answer writer remembered the round as it
    was; what the member is told is decided on the round as it is."""
    engine, occ = await one_open_reflection(repo)
    assert (await engine.submit(occurrence_id=occ, actor=user(0), values={"answer": "first"}))[0]
    async with repo.session() as s:
        team, ritual = (
            await s.execute(
                select(Ritual.team_id, Ritual.id)
                .join(Occurrence, Occurrence.ritual_id == Ritual.id)
                .where(Occurrence.id == occ)
            )
        ).one()
    await repo.update_team(team, language="nl")
    async with repo.session() as s:
        await s.execute(update(Occurrence).where(Occurrence.id == occ).values(status="closed"))
    late = await engine.submit(occurrence_id=occ, actor=user(0), values={"answer": "late"})
    assert late == (False, translator("nl")(CLOSED))
    engine, occ = await one_open_reflection_of(repo, team)
    assert (await engine.submit(occurrence_id=occ, actor=user(0), values={"answer": "first"}))[0]
    async with repo.session() as s:
        ritual = int(await s.scalar(select(Occurrence.ritual_id).where(Occurrence.id == occ)))
    await repo.remove_ritual(ritual)
    channel = ChannelRef(platform="test", workspace_id="w", channel_id="c")
    gone = await engine.submit(occurrence_id=occ, actor=user(0), values={"answer": "late"}, via=channel)
    assert gone == (False, translator("nl")(GONE))


async def test_an_anonymous_answer_after_forget_me_counts_once_also_through_another_replica(repo: Repo) -> None:
    """A pulse: u0 answers (both replicas remember the round and u0 in the team), forgets
    themselves on the other replica, answers again on each: one sealed answer for u0, and
    the second replica's answer hears "answered already"."""
    engine, clock, _team, pulse, scores = await open_pulse(repo, members=3)
    channel = ChannelRef(platform="test", workspace_id="w", channel_id="c")
    other = Repo(create_engine(repo.engine.url.render_as_string(hide_password=False)), repo.sealer)
    try:
        engine_b = make_engine(other, clock, RecordingPlatform(), "b")
        assert (await engine.submit(occurrence_id=pulse, actor=user(0), values=scores))[0]
        assert not (await engine_b.submit(occurrence_id=pulse, actor=user(0), values=scores))[0]  # answered
        assert (await engine_b.submit(occurrence_id=pulse, actor=user(1), values=scores))[0]
        member = await repo.find_member(platform="test", workspace_id="w", user_id="u0")
        assert member is not None
        await other.forget_member(member)
        assert (await engine.submit(occurrence_id=pulse, actor=user(0), values=scores, via=channel))[0]
        again = await engine_b.submit(occurrence_id=pulse, actor=user(0), values=scores, via=channel)
        assert not again[0] and "already" in again[1]
        assert not (await engine.submit(occurrence_id=pulse, actor=user(0), values=scores))[0]
    finally:
        await other.dispose()
    async with repo.session() as s:
        assert len((await s.scalars(select(SealedAnswer).where(SealedAnswer.occurrence_id == pulse))).all()) == 2
        assert len((await s.scalars(select(Participation).where(Participation.occurrence_id == pulse))).all()) == 2


async def test_a_member_who_leaves_while_their_answer_is_written_stays_out_of_the_team(repo: Repo) -> None:
    """A leave under way while the member's answer is written: the write waits for it, sees
    it, and the answer (given outside the team's channel) is refused; the member is not
    put back in the team by the write's own join."""
    if repo.engine.dialect.name != "postgresql":
        pytest.skip("SQLite holds its write lock from the batch's read")
    engine, occ = await one_open_reflection(repo)
    assert (await engine.submit(occurrence_id=occ, actor=user(0), values={"answer": "first"}))[0]
    member = await repo.find_member(platform="test", workspace_id="w", user_id="u0")
    async with repo.engine.connect() as leaving:
        await leaving.execute(delete(TeamMember).where(TeamMember.member_id == member))
        answer = asyncio.create_task(engine.submit(occurrence_id=occ, actor=user(0), values={"answer": "after"}))
        while not await waits_for_a_row_lock(repo):
            assert not answer.done(), answer.result()
            await asyncio.sleep(0.01)
        await leaving.commit()
    assert await asyncio.wait_for(answer, 30) == (False, translator("en")(NOT_IN_TEAM))
    async with repo.session() as s:
        assert await s.scalar(select(TeamMember.member_id).where(TeamMember.member_id == member)) is None
    assert [r.values["answer"] for r in await repo.replies_for(occ)] == ["first"]


async def waits_for_a_row_lock(repo: Repo) -> bool:
    """Whether a connection to the database waits for a lock (PostgreSQL)."""
    async with repo.session() as s:
        return bool(
            await s.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            )
        )


async def test_an_answer_the_store_could_not_take_asks_the_member_to_try_again(repo: Repo) -> None:
    """``Saved.RETRY`` (a member another batch was creating all along): not stored, and the
    member is asked to try again, as when the database refuses."""
    engine, occ = await one_open_reflection(repo)

    def not_taken(tx: Any) -> None:
        async def save_answers(answers: Any, now: datetime) -> list[Saved]:
            return [Saved.RETRY for _answer in answers]

        tx.save_answers = save_answers

    on_each_answer_transaction(repo, not_taken)
    with pytest.raises(AnswerNotStored):
        await engine.submit(occurrence_id=occ, actor=user(0), values={"answer": "mine"})


async def test_a_failure_deciding_a_changed_answer_again_leaves_the_written_ones_as_they_are(repo: Repo) -> None:
    """Two pulse answers in one batch: the newcomer's is written at once, the other's was
    decided on a team the writer remembered without that member (who joined meanwhile) and
    is decided again, which fails. The newcomer hears that the answer was saved (written
    again one by one, it would be "answered already"); the other is asked to try again."""
    if repo.engine.dialect.name != "postgresql":
        pytest.skip("SQLite decides a batch once, in one transaction")
    engine, clock, team, pulse, scores = await open_pulse(repo, members=1)
    channel = ChannelRef(platform="test", workspace_id="w", channel_id="c")
    assert (await engine.submit(occurrence_id=pulse, actor=user(5), values=scores, via=channel))[0]  # remembered
    await repo.ensure_member(
        platform="test", workspace_id="w", user_id="u9", display_name="U9", now=clock(), team_id=team
    )

    def second_write_fails(tx: Any) -> None:
        save, calls = tx.save_answers, []

        async def save_answers(answers: Any, now: datetime) -> list[Saved]:
            calls.append(len(answers))
            if len(calls) > 1:
                raise RuntimeError("the database went away")
            return list(await save(answers, now))

        tx.save_answers = save_answers

    on_each_answer_transaction(repo, second_write_fails)
    newcomer, joined = await asyncio.gather(
        engine.submit(occurrence_id=pulse, actor=user(7), values=scores, via=channel),
        engine.submit(occurrence_id=pulse, actor=user(9), values=scores, via=channel),
        return_exceptions=True,
    )
    assert newcomer == (True, translator("en")(SAVED_ANONYMOUSLY)) and isinstance(joined, AnswerNotStored)
    async with repo.session() as s:
        assert len((await s.scalars(select(SealedAnswer).where(SealedAnswer.occurrence_id == pulse))).all()) == 2


async def test_answers_arriving_together_are_stored_together_each_with_its_own_outcome(repo: Repo) -> None:
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    platform = RecordingPlatform()
    engine = make_engine(repo, clock, platform)
    team = await setup_team(repo, clock, members=2)
    checkout = await engine.run_now(await add_weekly(repo, team, clock, kind="checkout", visibility="team"))
    pulse = await engine.run_now(await add_weekly(repo, team, clock, kind="pulse"))
    assert checkout is not None and pulse is not None
    await engine.dispatch()
    scores = scale_answers(platform, pulse, 3)
    newcomer = Actor(platform="test", workspace_id="w", user_id="u9", display_name="Newcomer")
    stranger = Actor(platform="test", workspace_id="other", user_id="u7", display_name="Stranger")
    channel = ChannelRef(platform="test", workspace_id="w", channel_id="c")
    elsewhere = ChannelRef(platform="test", workspace_id="other", channel_id="dm-u7")
    results = await asyncio.gather(
        engine.submit(occurrence_id=checkout, actor=user(0), values={"score": 2, "takeaway": "first"}),
        engine.submit(occurrence_id=checkout, actor=user(0), values={"score": 4, "takeaway": "second"}),
        engine.submit(occurrence_id=checkout, actor=user(1), values={"score": 9, "takeaway": "out of range"}),
        engine.submit(occurrence_id=checkout, actor=newcomer, values={"score": 5, "takeaway": "new here"}, via=channel),
        engine.submit(occurrence_id=pulse, actor=user(0), values=scores),
        engine.submit(occurrence_id=pulse, actor=user(0), values=scores),
        engine.submit(occurrence_id=10**6, actor=Actor(platform="test", workspace_id="w", user_id="u8"), values={}),
        engine.submit(
            occurrence_id=checkout, actor=stranger, values={"score": 1, "takeaway": "not mine"}, via=elsewhere
        ),
        engine.submit(occurrence_id=pulse, actor=stranger, values=scores),
    )
    assert [ok for ok, _ in results] == [True, True, False, True, True, False, False, False, False]
    assert (
        "1 to 5" in results[2][1]
        and "already" in results[5][1]
        and results[6][1] == translator("nl")("That question no longer exists.")
    )
    assert results[7][1] == results[8][1] == "Only the members of this team can answer its questions."
    replies = {r.member_name: r.values for r in await repo.replies_for(checkout)}
    assert replies == {"User 0": {"score": 4, "takeaway": "second"}, "Newcomer": {"score": 5, "takeaway": "new here"}}
    assert await repo.replies_for(pulse) == []  # sealed until the round closes
    async with repo.transaction() as tx:
        assert await tx.answered_count(pulse) == 1
    newcomer_id = await repo.find_member(platform="test", workspace_id="w", user_id="u9")
    async with repo.transaction() as tx:
        roster = {m for m, _name, _uid in await tx.roster(team)}
    assert newcomer_id is not None and newcomer_id in roster
    assert await repo.find_member(platform="test", workspace_id="w", user_id="u8") is None  # refused: no trace
    assert await repo.find_member(platform="test", workspace_id="other", user_id="u7") is None


@pytest.mark.parametrize("together", [True, False])
async def test_a_private_group_message_is_queued_per_member_where_the_platform_has_no_group_chats(
    repo: Repo, together: bool
) -> None:
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    platform = RecordingPlatform(group_conversations=together)
    engine = make_engine(repo, clock, platform)
    team = await setup_team(repo, clock, members=4)
    occ = await engine.run_now(await add_weekly(repo, team, clock, kind="pairs"))
    assert occ is not None
    platform.failures = [] if together else [DeliveryError("throttled", retryable=True)]
    await engine.dispatch()
    private = [to for to, _notice in platform.notices if to.user_id]
    if together:
        assert len(private) == 2 and all(len(to.members) == 2 for to in private)
        return
    # One per member; the first send failed and is retried alone, so nobody gets it twice.
    assert len(private) == 3 and all(not to.members for to in private)
    clock.advance(seconds=600)
    await engine.dispatch()
    private = [to.user_id for to, _notice in platform.notices if to.user_id]
    assert sorted(private) == ["u0", "u1", "u2", "u3"]


async def test_close_posts_results_with_hand_computed_figures(repo: Repo) -> None:
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    platform = RecordingPlatform()
    engine = make_engine(repo, clock, platform)
    team = await setup_team(repo, clock, members=4)
    ritual = await add_weekly(repo, team, clock, kind="checkout", visibility="team")
    occ = await engine.run_now(ritual)
    assert occ is not None and await engine.dispatch() == 1
    for n, score in enumerate((2, 4, 5)):
        member = await repo.find_member(platform="test", workspace_id="w", user_id=f"u{n}")
        assert member is not None
        await engine.submit(occurrence_id=occ, actor=user(n), values={"score": score, "takeaway": f"t{n}"})
    await engine.close_now(ritual)
    await engine.dispatch()
    ((_, notice),) = platform.notices
    fields = dict(notice.fields)
    assert fields["How useful was this meeting for you?"] == "average 3.7, spread 1.2"
    assert notice.footer == "3 of 4 answered"
    assert "User 0: t0" in notice.text
    assert len(platform.updates) == 1 and platform.updates[0][1].closed


async def test_anonymous_pulse_stores_no_member_and_respects_the_threshold(repo: Repo) -> None:
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    platform = RecordingPlatform()
    engine = make_engine(repo, clock, platform)
    team = await setup_team(repo, clock, members=3)
    ritual = await add_weekly(repo, team, clock, kind="pulse")
    occ = await engine.run_now(ritual)
    assert occ is not None
    await engine.dispatch()
    prompt = platform.prompts[0][1]
    answers = {i.key: 4 for i in prompt.inputs if i.kind == "scale"}
    for n in range(2):
        member = await repo.find_member(platform="test", workspace_id="w", user_id=f"u{n}")
        assert member is not None
        assert (await engine.submit(occurrence_id=occ, actor=user(n), values=answers))[0]
        again = await engine.submit(occurrence_id=occ, actor=user(n), values=answers)
        assert not again[0]  # an anonymous answer is taken once
    async with repo.session() as s:
        from storage.models import Reply, SealedAnswer

        assert (await s.scalars(select(Reply))).all() == []
        assert len((await s.scalars(select(SealedAnswer))).all()) == 2
    await engine.close_now(ritual)
    async with repo.session() as s:
        rows = (await s.scalars(select(Reply))).all()
        assert (await s.scalars(select(SealedAnswer))).all() == []
    assert len(rows) == 2 and all(r.member_id is None for r in rows)
    await engine.dispatch()
    ((_, notice),) = platform.notices
    assert "Too few answers" in notice.text and not notice.fields


@pytest.mark.parametrize(
    "when", [datetime(2026, 10, 26, 9, 0, 1, tzinfo=AMS), datetime(2027, 3, 29, 9, 0, 1, tzinfo=AMS)]
)
async def test_weekly_ritual_keeps_its_local_time_across_dst(repo: Repo, when: datetime) -> None:
    clock = Clock(when - timedelta(days=3))
    engine = make_engine(repo, clock, RecordingPlatform())
    team = await setup_team(repo, clock)
    await repo.update_team(team, holiday_country=None)
    await add_weekly(repo, team, clock)
    clock.set(when)
    assert await engine.tick() == 1
    async with repo.session() as s:
        occ = (await s.scalars(select(Occurrence))).one()
    assert occ.planned_at.astimezone(AMS).hour == 9


async def test_a_failing_direct_message_does_not_pause_the_ritual(repo: Repo) -> None:
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    platform = RecordingPlatform()
    engine = make_engine(repo, clock, platform)
    team = await setup_team(repo, clock)
    ritual = await add_weekly(repo, team, clock)
    occ = await engine.run_now(ritual)
    assert await engine.dispatch() == 1
    platform.failures.append(DeliveryError("user_not_found", retryable=False))
    async with repo.transaction() as tx:
        member = ChannelRef(platform="test", workspace_id="w", channel_id="c", user_id="u1")
        await tx.enqueue(
            team_id=team,
            occurrence_id=occ,
            destination=member,
            payload={"type": "prompt", "occurrence_id": occ},
            at=clock(),
        )
    assert await engine.dispatch() == 1
    async with repo.session() as s:
        r = await s.get(Ritual, ritual)
    assert r is not None and not r.paused


async def test_a_burst_of_answers_is_stored_in_batches_with_the_last_answer_of_each_member_kept(repo: Repo) -> None:
    """More answers than one batch holds: on PostgreSQL batches commit side by side; each
    member's last answer is the one kept, whichever batch commits first."""
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    engine = make_engine(repo, clock, RecordingPlatform())
    team = await setup_team(repo, clock, members=1)
    checkout = await engine.run_now(await add_weekly(repo, team, clock, kind="checkout", visibility="team"))
    assert checkout is not None
    channel = ChannelRef(platform="test", workspace_id="w", channel_id="c")
    sending = []
    for n in range(450):
        clock.advance(milliseconds=1)  # each sent a moment after the one before
        sending.append(
            asyncio.ensure_future(
                engine.submit(
                    occurrence_id=checkout,
                    actor=user(n % 150),
                    values={"score": 1 + n // 150, "takeaway": f"round {n // 150}"},
                    via=channel,
                )
            )
        )
        await asyncio.sleep(0)  # received now
    results = await asyncio.gather(*sending)
    assert all(ok for ok, _ in results)
    replies = await repo.replies_for(checkout)
    assert len(replies) == 150 and {tuple(r.values.values()) for r in replies} == {(3, "round 2")}


async def test_answers_to_a_closed_store_are_refused_not_lost_and_draining_waits_for_the_rest(repo: Repo) -> None:
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    engine = make_engine(repo, clock, RecordingPlatform())
    team = await setup_team(repo, clock, members=2)
    checkout = await engine.run_now(await add_weekly(repo, team, clock, kind="checkout", visibility="team"))
    assert checkout is not None
    stored = asyncio.ensure_future(
        engine.submit(occurrence_id=checkout, actor=user(0), values={"score": 4, "takeaway": "in"})
    )
    await asyncio.sleep(0)  # received
    await engine.drain_answers(within=10)
    assert [r.values for r in await repo.replies_for(checkout)] == [{"score": 4, "takeaway": "in"}]  # stored by now
    assert (await stored)[0]
    await repo.dispose()
    with pytest.raises(AnswerNotStored):
        await asyncio.wait_for(
            engine.submit(occurrence_id=checkout, actor=user(1), values={"score": 4, "takeaway": "late"}), 10
        )


async def test_a_scheduled_round_never_opens_over_an_open_one_which_closes_first_with_its_results(
    repo: Repo,
) -> None:
    """A weekly check-out that stays open ten days: at the next Monday its round is still
    open. The tick closes it (its results posted) before the new round opens, so one round
    of a ritual is open at a time, and the results come before the new prompt."""
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    platform = RecordingPlatform()
    engine = make_engine(repo, clock, platform)
    team = await setup_team(repo, clock)
    await add_weekly(repo, team, clock, kind="checkout", open_hours=240)
    clock.set(MONDAY_0900 + timedelta(seconds=5))
    assert await engine.tick() == 1
    assert await engine.dispatch() == 1
    (first,) = [p.occurrence_id for _, p in platform.prompts]
    await engine.submit(occurrence_id=first, actor=user(0), values={"score": 4, "takeaway": "clear agenda"})

    clock.set(MONDAY_0900 + timedelta(days=7, seconds=5))
    assert await engine.tick() == 1
    async with repo.session() as s:
        rounds = (await s.scalars(select(Occurrence).order_by(Occurrence.id))).all()
        queued = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [(o.id == first, o.status) for o in rounds] == [(True, "closed"), (False, "open")]
    assert [m.payload["type"] for m in queued[1:]] == ["prompt_closed", "notice", "prompt"]
    while await engine.dispatch():
        pass
    ((_, results),) = platform.notices
    assert results.title.endswith("results") and "1 of 3 answered" in (results.footer or "")
    assert [p.occurrence_id for _, p in platform.prompts] == [first, rounds[1].id]
