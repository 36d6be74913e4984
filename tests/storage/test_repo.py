"""Storage contract tests: the same expectations on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, text, update

from rituals.engine import Engine, EngineSettings
from rituals.library import PULSE_STATEMENTS
from rituals.ports import NewAnswer, NewReply, Saved
from rituals.types import Actor, ChannelRef
from storage.answers.seal import SEALED_SIZE
from storage.answers.writer import SqliteWriter, Transactions, WriterThread
from storage.models import Base, Member, Occurrence, Participation, Reply, SealedAnswer
from storage.repo import Repo
from tests.fakes.clock import Clock
from tests.fakes.platform import RecordingPlatform

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


async def team_with(repo: Repo, users: list[str]) -> tuple[int, dict[str, int]]:
    team, created = await repo.ensure_team(
        platform="p", workspace_id="w", channel_id="c", name="T", timezone="Europe/Amsterdam", language="en", now=NOW
    )
    assert created
    again, created = await repo.ensure_team(
        platform="p", workspace_id="w", channel_id="c", name="T", timezone="UTC", language="nl", now=NOW
    )
    assert not created and again.id == team.id and again.timezone == "Europe/Amsterdam"
    ids = {
        u: await repo.ensure_member(
            platform="p", workspace_id="w", user_id=u, display_name=u.title(), now=NOW, team_id=team.id
        )
        for u in users
    }
    return team.id, ids


async def open_reflection(repo: Repo, team: int) -> tuple[int, int]:
    """A reflection ritual with one open round: (ritual id, occurrence id)."""
    ritual = await repo.add_ritual(
        team_id=team, kind="reflection", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )
    async with repo.transaction() as tx:
        occ = await tx.add_occurrence(
            ritual_id=ritual,
            planned_at=NOW,
            status="open",
            reason=None,
            content={},
            opened_at=NOW,
            closes_at=NOW,
            claimed_by="x",
        )
    assert occ is not None
    return ritual, occ


def named_reply(occ: int, team: int, member_id: int, answer: str, sent_at: datetime | None = None) -> NewReply:
    """A named reply to a reflection's one question."""
    return NewReply(
        occurrence_id=occ,
        team_id=team,
        member_id=member_id,
        anonymous=False,
        values={"answer": answer},
        today=NOW.date(),
        sent_at=sent_at,
    )


async def test_migrations_create_every_table(repo: Repo) -> None:
    async with repo.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


async def test_occurrence_is_unique_per_ritual_and_planned_time(repo: Repo) -> None:
    team, _ = await team_with(repo, [])
    ritual = await repo.add_ritual(
        team_id=team,
        kind="reflection",
        schedule="every monday at 09:00",
        open_seconds=3600,
        options={},
        next_due_at=NOW,
        now=NOW,
    )
    fields = dict(
        ritual_id=ritual,
        planned_at=NOW,
        status="open",
        reason=None,
        content={},
        opened_at=NOW,
        closes_at=NOW,
        claimed_by="x",
    )
    async with repo.transaction() as tx:
        first = await tx.add_occurrence(**fields)
        second = await tx.add_occurrence(**fields)
    assert first is not None and second is None
    async with repo.session() as s:
        assert len((await s.scalars(select(Occurrence))).all()) == 1


async def test_named_replies_replace_and_anonymous_replies_carry_no_member(repo: Repo) -> None:
    team, ids = await team_with(repo, ["ann", "bob"])
    ritual = await repo.add_ritual(
        team_id=team, kind="pulse", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )
    async with repo.transaction() as tx:
        occ = await tx.add_occurrence(
            ritual_id=ritual,
            planned_at=NOW,
            status="open",
            reason=None,
            content={},
            opened_at=NOW,
            closes_at=NOW,
            claimed_by="x",
        )
        assert occ is not None
        assert await tx.save_reply(
            occurrence_id=occ,
            team_id=team,
            member_id=ids["ann"],
            anonymous=False,
            values={"a": 1},
            today=NOW.date(),
            now=NOW,
        )
        assert await tx.save_reply(
            occurrence_id=occ,
            team_id=team,
            member_id=ids["ann"],
            anonymous=False,
            values={"a": 2},
            today=NOW.date(),
            now=NOW,
        )
        occ2 = await tx.add_occurrence(
            ritual_id=ritual,
            planned_at=NOW.replace(hour=13),
            status="open",
            reason=None,
            content={},
            opened_at=NOW,
            closes_at=NOW,
            claimed_by="x",
        )
        assert occ2 is not None
        assert await tx.save_reply(
            occurrence_id=occ2,
            team_id=team,
            member_id=ids["bob"],
            anonymous=True,
            values={"a": 5},
            today=NOW.date(),
            now=NOW,
        )
        assert not await tx.save_reply(
            occurrence_id=occ2,
            team_id=team,
            member_id=ids["bob"],
            anonymous=True,
            values={"a": 1},
            today=NOW.date(),
            now=NOW,
        )
    async with repo.session() as s:  # sealed while the round is open
        assert (await s.scalars(select(Reply).where(Reply.occurrence_id == occ2))).all() == []
        assert [(a.occurrence_id, len(a.sealed)) for a in (await s.scalars(select(SealedAnswer))).all()] == [
            (occ2, 1 + 12 + SEALED_SIZE + 16)
        ]
    async with repo.transaction() as tx:
        assert await tx.close_occurrence(occ2, NOW)
    async with repo.session() as s:
        named = (await s.scalars(select(Reply).where(Reply.occurrence_id == occ))).all()
        anon = (await s.scalars(select(Reply).where(Reply.occurrence_id == occ2))).all()
        part = (await s.scalars(select(Participation))).all()
    assert [(r.member_id, r.values) for r in named] == [(ids["ann"], {"a": 2})]
    assert [(r.member_id, r.values, r.updated_at) for r in anon] == [(None, {"a": 5}, None)]
    assert [(p.occurrence_id, p.member_id) for p in part] == [(occ2, ids["bob"])]
    async with repo.session() as s:
        assert (await s.scalars(select(SealedAnswer))).all() == []


async def test_an_answer_transaction_stores_all_of_it_or_nothing(repo: Repo) -> None:
    """Answers are stored through ``run_answers``, by a writer of their own (SQLite: the
    synchronous driver on this loop; PostgreSQL: a thread with its own loop): what it reads
    and writes is the database the rest sees, and an error leaves nothing of it."""
    team, ids = await team_with(repo, ["ann"])
    ritual, occ = await open_reflection(repo, team)
    newcomer = Actor(platform="p", workspace_id="w", user_id="cy", display_name="Cy")

    class Refused(Exception):
        pass

    async def refused(transaction: Transactions) -> None:
        async with transaction() as tx:
            members = await tx.ensure_members([(newcomer, team)], NOW)
            assert await tx.save_replies(
                [named_reply(occ, team, members[("p", "w", "cy")], "lost")],
                NOW,
            ) == [True]
            raise Refused

    with pytest.raises(Refused):
        await repo.run_answers(refused)
    assert isinstance(repo.writer, SqliteWriter) or (
        isinstance(repo.writer, WriterThread) and repo.writer.thread.is_alive()
    )
    async with repo.session() as s:
        assert (await s.scalars(select(Member.user_id).order_by(Member.user_id))).all() == ["ann"]
        assert (await s.scalars(select(Reply))).all() == []

    async def stored(transaction: Transactions) -> dict[tuple[str, str, str], int]:
        async with transaction() as tx:
            ((found_occ, found_ritual, found_team),) = (await tx.answer_targets([occ])).values()
            assert (found_occ.id, found_ritual.id, found_team.id) == (occ, ritual, team)
            assert await tx.channel_language(ChannelRef(platform="p", workspace_id="w", channel_id="c")) == "en"
            assert await tx.members_in_teams([(newcomer, team)]) == {}
            members = await tx.ensure_members([(newcomer, team)], NOW)
            assert await tx.save_replies(
                [
                    named_reply(occ, team, ids["ann"], "kept"),
                    named_reply(occ, team, members[("p", "w", "cy")], "too"),
                ],
                NOW,
            ) == [True, True]
            return members

    members = await repo.run_answers(stored)
    async with repo.session() as s:
        assert sorted((await s.scalars(select(Reply.values))).all(), key=str) == [{"answer": "kept"}, {"answer": "too"}]
    async with repo.answer_transaction() as tx:  # outside run_answers too, on the server's own loop
        assert await tx.members_in_teams([(newcomer, team)]) == {("p", "w", "cy", team): members[("p", "w", "cy")]}


async def test_a_batch_of_answers_makes_members_renames_joins_and_keeps_anonymity(repo: Repo) -> None:
    """What the engine asks of an answer transaction (``answer_context`` and
    ``save_answers``; on PostgreSQL one read and one write): who of the people is in the
    team, then the replies, a member made on first contact and joined to the team, a new
    name taken, an anonymous answer taken once and stored without its member."""
    team, ids = await team_with(repo, ["ann"])
    other, _created = await repo.ensure_team(
        platform="p", workspace_id="w", channel_id="elsewhere", name="O", timezone="UTC", language="en", now=NOW
    )
    bob = await repo.ensure_member(
        platform="p", workspace_id="w", user_id="bob", display_name="Bob", now=NOW, team_id=other.id
    )
    _ritual, occ = await open_reflection(repo, team)
    pulse = await repo.add_ritual(
        team_id=team, kind="pulse", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )
    async with repo.transaction() as tx:
        anon = await tx.add_occurrence(
            ritual_id=pulse,
            planned_at=NOW,
            status="open",
            reason=None,
            content={},
            opened_at=NOW,
            closes_at=NOW,
            claimed_by="x",
        )
    assert anon is not None
    ann = Actor(platform="p", workspace_id="w", user_id="ann", display_name="Ann B.")
    cy = Actor(platform="p", workspace_id="w", user_id="cy", display_name="Cy\x00" + "y" * 300)
    bob_actor = Actor(platform="p", workspace_id="w", user_id="bob", display_name="")

    def answer(actor: Actor, occurrence: int, values: dict[str, object], anonymous: bool = False) -> NewAnswer:
        return NewAnswer(
            actor=actor,
            occurrence_id=occurrence,
            team_id=team,
            anonymous=anonymous,
            values=values,
            today=NOW.date(),
            sent_at=NOW,
        )

    async def batch(transaction: Transactions) -> list[Saved]:
        async with transaction() as tx:
            context = await tx.answer_context([occ, anon, 999], [ann, cy, bob_actor])
            targets, in_team = context.targets, context.in_team
            assert sorted(targets) == [occ, anon] and {t[2].id for t in targets.values()} == {team}
            assert in_team == {("p", "w", "ann", team): ids["ann"]}
            assert await tx.save_answers([], NOW) == []
            return await tx.save_answers(
                [
                    answer(ann, occ, {"answer": "named"}),
                    answer(cy, occ, {"answer": "new here"}),
                    answer(bob_actor, anon, {"score": 4}, anonymous=True),
                    answer(ann, anon, {"score": 5}, anonymous=True),
                ],
                NOW,
            )

    assert await repo.run_answers(batch) == [Saved.STORED] * 4

    async def again(transaction: Transactions) -> list[Saved]:
        async with transaction() as tx:
            return await tx.save_answers(
                [answer(bob_actor, anon, {"score": 1}, anonymous=True), answer(ann, occ, {"answer": "changed"})], NOW
            )

    assert await repo.run_answers(again) == [Saved.ANSWERED, Saved.STORED]
    async with repo.transaction() as tx:
        assert await tx.close_occurrence(anon, NOW)
    async with repo.engine.connect() as conn:
        members = dict((await conn.execute(select(Member.user_id, Member.display_name))).all())
        named = sorted(
            (await conn.execute(select(Member.user_id, Reply.values).join(Member, Member.id == Reply.member_id))).all()
        )
        anonymous = sorted(
            str(v)
            for (v,) in (
                await conn.execute(select(Reply.values).where(Reply.member_id.is_(None), Reply.updated_at.is_(None)))
            ).all()
        )
        took_part = sorted(
            (
                await conn.execute(select(Member.user_id).join(Participation, Participation.member_id == Member.id))
            ).scalars()
        )
        roster = sorted(
            (
                await conn.execute(
                    text(
                        "SELECT m.user_id FROM team_members t JOIN members m ON m.id = t.member_id "
                        "WHERE t.team_id = :team"
                    ),
                    {"team": team},
                )
            ).scalars()
        )
    assert members == {"ann": "Ann B.", "bob": "Bob", "cy": ("Cy" + "y" * 300)[:200]}
    assert named == [("ann", {"answer": "changed"}), ("cy", {"answer": "new here"})]
    assert anonymous == ["{'score': 4}", "{'score': 5}"] and took_part == ["ann", "bob"]
    assert roster == ["ann", "bob", "cy"] and bob != ids["ann"]


async def waits_for_a_lock(repo: Repo, task: asyncio.Task[Any]) -> int:
    """How many sessions wait for a lock, polled until one does or ``task`` ends. Each look
    in a transaction of its own: within one, PostgreSQL shows ``pg_stat_activity`` as it was
    at the first look."""
    waiting = 0
    async with repo.engine.connect() as watch:
        for _ in range(400):
            waiting = int(
                await watch.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")) or 0
            )
            await watch.rollback()
            if waiting or task.done():
                break
            await asyncio.sleep(0.05)
    return waiting


async def test_on_postgresql_an_answer_whose_member_another_batch_creates_meanwhile_is_stored(repo: Repo) -> None:
    """Two first answers of one person in two batches at once: the one that waits for the
    other's new member does not see it in its statement, and writes that answer again."""
    if repo.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes one batch at a time")
    team, _ids = await team_with(repo, [])
    _ritual, occ = await open_reflection(repo, team)
    cy = Actor(platform="p", workspace_id="w", user_id="cy", display_name="Cy")
    async with repo.engine.connect() as other:
        await other.execute(
            text(
                "INSERT INTO members (platform, workspace_id, user_id, display_name, mute_reminders, created_at) "
                "VALUES ('p', 'w', 'cy', 'Cy', false, now())"
            )
        )  # not committed yet

        async def answer(transaction: Transactions) -> list[Saved]:
            async with transaction() as tx:
                return await tx.save_answers(
                    [
                        NewAnswer(
                            actor=cy,
                            occurrence_id=occ,
                            team_id=team,
                            anonymous=False,
                            values={"answer": "mine"},
                            today=NOW.date(),
                            sent_at=NOW,
                        )
                    ],
                    NOW,
                )

        writing = asyncio.create_task(repo.run_answers(answer))
        waiting = await waits_for_a_lock(repo, writing)  # until the batch waits for the other's new member
        assert waiting and not writing.done()
        await other.commit()
        assert await asyncio.wait_for(writing, 30) == [Saved.STORED]
    async with repo.engine.connect() as conn:
        stored = (
            await conn.execute(select(Member.user_id, Reply.values).join(Member, Member.id == Reply.member_id))
        ).all()
        roster = (await conn.execute(text("SELECT count(*) FROM team_members"))).scalar_one()
    assert stored == [("cy", {"answer": "mine"})] and roster == 1


async def test_answers_to_a_round_no_longer_open_are_not_written_not_even_their_member(repo: Repo) -> None:
    """``save_answers`` checks the rounds again as it writes (on PostgreSQL the read before
    it committed on its own): an answer to a closed round is left out, with its newcomer."""
    team, ids = await team_with(repo, ["ann"])
    _ritual, open_occ = await open_reflection(repo, team)
    _ritual, closed_occ = await open_reflection(repo, team)
    async with repo.transaction() as tx:
        await tx.s.execute(update(Occurrence).where(Occurrence.id == closed_occ).values(status="closed"))
    ann = Actor(platform="p", workspace_id="w", user_id="ann", display_name="Ann")
    cy = Actor(platform="p", workspace_id="w", user_id="cy", display_name="Cy")

    def answer(actor: Actor, occurrence: int) -> NewAnswer:
        return NewAnswer(
            actor=actor,
            occurrence_id=occurrence,
            team_id=team,
            anonymous=False,
            values={"answer": actor.user_id},
            today=NOW.date(),
            sent_at=NOW,
        )

    async def batch(transaction: Transactions) -> list[Saved]:
        async with transaction(autocommit=True) as tx:
            return await tx.save_answers([answer(cy, closed_occ), answer(ann, open_occ)], NOW)

    assert await repo.run_answers(batch) == [Saved.CLOSED, Saved.STORED]
    async with repo.engine.connect() as conn:
        stored = (await conn.execute(select(Reply.occurrence_id, Reply.member_id))).all()
        members = (await conn.execute(select(Member.user_id))).scalars().all()
    assert stored == [(open_occ, ids["ann"])] and members == ["ann"]


async def test_on_postgresql_a_close_waits_for_the_answers_being_written(repo: Repo) -> None:
    """The write holds its rounds FOR SHARE until it commits: a close (an UPDATE of the
    round) waits for it, and then sees its answers."""
    if repo.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    team, _ids = await team_with(repo, ["ann"])
    _ritual, occ = await open_reflection(repo, team)
    ann = Actor(platform="p", workspace_id="w", user_id="ann", display_name="Ann")

    async def close() -> int:
        async with repo.engine.begin() as closer:
            await closer.execute(
                update(Occurrence).where(Occurrence.id == occ, Occurrence.status == "open").values(status="closed")
            )
            return int(await closer.scalar(select(func.count()).select_from(Reply).where(Reply.occurrence_id == occ)))

    async with repo.answer_transaction() as tx:
        assert await tx.save_answers(
            [
                NewAnswer(
                    actor=ann,
                    occurrence_id=occ,
                    team_id=team,
                    anonymous=False,
                    values={"answer": "mine"},
                    today=NOW.date(),
                    sent_at=NOW,
                )
            ],
            NOW,
        ) == [Saved.STORED]
        closing = asyncio.create_task(close())
        waiting = await waits_for_a_lock(repo, closing)  # until the close waits for the write's lock
        assert waiting and not closing.done()
    assert await asyncio.wait_for(closing, 30) == 1


async def test_on_postgresql_the_answer_writer_asks_for_generic_plans(repo: Repo) -> None:
    """The answer read takes an array of ids; left to choose, PostgreSQL planned it anew at
    every batch. The writer's own connections only: the rest keep the default."""
    if repo.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL setting")

    async def setting(transaction: Transactions) -> str:
        async with transaction(autocommit=True) as tx:
            return str(await tx.s.scalar(text("SHOW plan_cache_mode")))

    assert await repo.run_answers(setting) == "force_generic_plan"
    async with repo.engine.connect() as conn:
        assert await conn.scalar(text("SHOW plan_cache_mode")) == "auto"


async def test_an_answer_sent_earlier_never_replaces_one_sent_later(repo: Repo) -> None:
    """Batches of answers commit side by side (and replicas do): the member's later answer
    stays whichever commits last."""
    team, ids = await team_with(repo, ["ann"])
    _ritual, occ = await open_reflection(repo, team)

    for said, seconds in (("second", 2), ("first", 1), ("third", 3), ("third again", 3)):
        async with repo.answer_transaction() as tx:
            await tx.save_replies([named_reply(occ, team, ids["ann"], said, NOW + timedelta(seconds=seconds))], NOW)
    async with repo.session() as s:
        assert (await s.scalars(select(Reply.values))).all() == [{"answer": "third again"}]


async def test_forget_me_leaves_no_trace_of_the_member(repo: Repo) -> None:
    clock = Clock(NOW)
    team, ids = await team_with(repo, ["zq-ann", "bob"])
    await repo.grant(team, ids["zq-ann"], "leader", NOW)
    await repo.audit(team, ids["zq-ann"], "goal.set", {"goal": "x"}, NOW)
    await repo.post_channel_message("c", "zq-ann", {"type": "command", "user": "zq-ann", "text": "help"}, NOW)
    engine = Engine(
        repo, {"p": RecordingPlatform(name="p")}, settings=EngineSettings(), clock=clock, rng=random.Random(1)
    )
    for kind in ("reflection", "pulse"):
        ritual = await repo.add_ritual(
            team_id=team, kind=kind, schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
        )
        occ = await engine.run_now(ritual)
        assert occ is not None
        pulse = {s.key: 4 for s in PULSE_STATEMENTS}
        values = {"answer": "mine"} if kind == "reflection" else pulse
        assert (
            await engine.submit(
                occurrence_id=occ, actor=Actor(platform="p", workspace_id="w", user_id="zq-ann"), values=values
            )
        )[0]
        assert (
            await engine.submit(
                occurrence_id=occ,
                actor=Actor(platform="p", workspace_id="w", user_id="bob"),
                values={"answer": "bob's"} if kind == "reflection" else pulse,
            )
        )[0]
        clock.advance(seconds=1)
    await engine.dispatch()

    erased = await repo.forget_member(ids["zq-ann"])
    assert erased == 2  # the named reflection answer, and her sealed answer to the pulse still open

    async with repo.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(select(table))).all()
            for row in rows:
                flat = " ".join(str(v) for v in row)
                assert "zq-ann" not in flat.lower(), f"{table.name} still mentions the member: {row}"
            if "member_id" in table.c:
                left = (await conn.execute(select(table).where(table.c.member_id == ids["zq-ann"]))).all()
                assert left == [], f"{table.name} still points at the member"
        assert (await conn.execute(text("SELECT count(*) FROM members"))).scalar() == 1
    async with repo.session() as s:
        assert (await s.scalars(select(Member.user_id))).all() == ["bob"]


async def test_leaving_a_team_keeps_answers_and_roles_and_only_touches_that_team(repo: Repo) -> None:
    team, ids = await team_with(repo, ["ann", "bob", "cas"])
    other, _created = await repo.ensure_team(
        platform="p", workspace_id="w", channel_id="c2", name="T2", timezone="UTC", language="en", now=NOW
    )
    await repo.ensure_member(
        platform="p", workspace_id="w", user_id="bob", display_name="Bob", now=NOW, team_id=other.id
    )
    await repo.grant(team, ids["bob"], "leader", NOW)

    async def roster(team_id: int) -> set[str]:
        async with repo.transaction() as tx:
            return {uid for _mid, _name, uid in await tx.roster(team_id)}

    assert await repo.leave_team(platform="p", workspace_id="w", channel_id="c", user_ids=["bob", "nobody"]) == 1
    assert await roster(team) == {"ann", "cas"} and await roster(other.id) == {"bob"}
    assert await repo.roles(team, ids["bob"]) == {"leader"}
    assert await repo.keep_in_team(platform="p", workspace_id="w", channel_id="c", user_ids=["cas"]) == 1
    assert await roster(team) == {"cas"}
    assert await repo.leave_team(platform="p", workspace_id="w", channel_id="unknown", user_ids=["cas"]) == 0


async def test_names_lose_nul_and_are_cut_to_fit(repo: Repo) -> None:
    """PostgreSQL refuses NUL in text and varchar(200) refuses more: a name from a platform
    or a calendar file is stored without NUL, cut to 200 characters, on both backends."""
    long = "x" * 300
    team, _ = await repo.ensure_team(
        platform="p", workspace_id="w", channel_id="c", name="T\x00" + long, timezone="UTC", language="en", now=NOW
    )
    first = await repo.ensure_member(
        platform="p", workspace_id="w", user_id="u1", display_name="A\x00" + long, now=NOW, team_id=team.id
    )
    async with repo.transaction() as tx:
        created = await tx.ensure_members(
            [(Actor(platform="p", workspace_id="w", user_id="u2", display_name="B\x00" + long), team.id)], NOW
        )
    assert await repo.add_holiday(team.id, NOW.date(), NOW.date(), "Kerst\x00" + long)
    async with repo.engine.connect() as conn:
        names = {
            "team": (await conn.execute(text("SELECT name FROM teams"))).scalar_one(),
            "members": sorted(
                (
                    await conn.execute(select(Member.display_name).where(Member.id.in_([first, *created.values()])))
                ).scalars()
            ),
            "holiday": (await conn.execute(text("SELECT name FROM holidays"))).scalar_one(),
        }
    assert names == {
        "team": ("T" + long)[:200],
        "members": [("A" + long)[:200], ("B" + long)[:200]],
        "holiday": ("Kerst" + long)[:200],
    }


async def test_a_removed_rituals_id_is_never_given_again(repo: Repo) -> None:
    """Cards and buttons carry ritual and round ids: a new ritual must not answer to an old one's."""
    team, _ = await repo.ensure_team(
        platform="p", workspace_id="w", channel_id="c", name="T", timezone="UTC", language="en", now=NOW
    )
    first = await repo.add_ritual(
        team_id=team.id, kind="checkout", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )
    async with repo.transaction() as tx:
        occ = await tx.add_occurrence(
            ritual_id=first,
            planned_at=NOW,
            status="open",
            reason=None,
            content={},
            opened_at=NOW,
            closes_at=NOW,
            claimed_by="t",
        )
    await repo.remove_ritual(first)
    second = await repo.add_ritual(
        team_id=team.id, kind="checkout", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )
    async with repo.transaction() as tx:
        again = await tx.add_occurrence(
            ritual_id=second,
            planned_at=NOW,
            status="open",
            reason=None,
            content={},
            opened_at=NOW,
            closes_at=NOW,
            claimed_by="t",
        )
    assert second != first and again != occ


async def test_on_sqlite_an_answer_batch_holds_the_write_lock_from_its_first_read(repo: Repo) -> None:
    """What a batch reads (is the round open, who is in the team) stays true until it
    commits: no other connection writes in between (SQLite's driver would begin only at the
    first write)."""
    if repo.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL locks the round's row instead (FOR SHARE)")
    import sqlite3

    await team_with(repo, ["ann"])
    path = repo.engine.url.database
    assert path is not None

    async def read_then_try_a_write_elsewhere(transaction: Transactions) -> str:
        async with transaction() as tx:
            await tx.answer_targets([1])
            other = sqlite3.connect(path, timeout=0)
            try:
                other.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as err:
                return str(err)
            finally:
                other.close()
            return "written"

    assert await repo.run_answers(read_then_try_a_write_elsewhere) == "database is locked"


async def test_on_sqlite_an_answer_batch_waits_for_a_transaction_of_the_servers_loop_without_stopping_it(
    repo: Repo,
) -> None:
    """The batch is written on the server's loop; while one of that loop's own transactions
    holds the write lock between two statements, the batch waits and the loop goes on, so
    that transaction can finish (waiting in SQLite's busy handler instead would stop the loop
    until the busy timeout, and the other transaction with it). Then the batch is written."""
    if repo.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's batches are written on a thread of their own")
    team, ids = await team_with(repo, ["ann"])
    _ritual, occ = await open_reflection(repo, team)

    async def answer(transaction: Transactions) -> list[bool]:
        async with transaction() as tx:
            return await tx.save_replies([named_reply(occ, team, ids["ann"], "after the rename")], NOW)

    async with repo.engine.connect() as other:
        await other.execute(text("UPDATE members SET display_name = 'Ann B.' WHERE user_id = 'ann'"))  # holds the lock
        writing = asyncio.create_task(repo.run_answers(answer))
        await asyncio.sleep(0.3)  # the loop runs: this coroutine comes back while the batch waits
        assert not writing.done()
        await other.commit()
    assert await asyncio.wait_for(writing, 10) == [True]
    async with repo.engine.connect() as conn:
        rows = (
            await conn.execute(select(Member.display_name, Reply.values).join(Member, Member.id == Reply.member_id))
        ).all()
    assert rows == [("Ann B.", {"answer": "after the rename"})]


async def test_the_channels_of_a_group_are_general_and_those_whose_conversation_names_it(repo: Repo) -> None:
    """A Teams team's channels with a Ritme team: General (its id is the team's) and the
    channels whose stored conversation names the team; on SQLite and PostgreSQL alike."""
    teams = {}
    for channel, group in (("g1", None), ("c1", "g1"), ("c2", "g2"), ("c3", None)):
        team, _created = await repo.ensure_team(
            platform="p", workspace_id="w", channel_id=channel, name=channel, timezone="UTC", language="en", now=NOW
        )
        teams[channel] = team.id
        if group:
            await repo.update_team(team.id, conversation={"serviceUrl": "https://x/", "group": group})
    other, _created = await repo.ensure_team(
        platform="p", workspace_id="w2", channel_id="c9", name="c9", timezone="UTC", language="en", now=NOW
    )
    await repo.update_team(other.id, conversation={"group": "g1"})

    found = await repo.channels_of_group(platform="p", workspace_id="w", key="group", group_id="g1")
    assert found == ["g1", "c1"]
    assert await repo.channels_of_group(platform="p", workspace_id="w", key="group", group_id="g2") == ["c2"]
    assert await repo.channels_of_group(platform="p", workspace_id="w", key="group", group_id="none") == []
