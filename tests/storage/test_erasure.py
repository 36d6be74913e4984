"""``storage.erasure``: the places the real app's rounds do not reach in tests/bot/test_forget_me.py
(a Teams conversation reference, an install, settings and messages set up directly), on
SQLite and PostgreSQL; and how names are matched in texts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime

from sqlalchemy import select, text, update

from rituals.former import FORMER_COLLEAGUE as MARK
from rituals.types import ChannelRef
from storage.db import autocommit_connection, create_engine, truncate_wal, upgrade, vacuum
from storage.erasure import Quotes, Scrubber
from storage.models import DELIVERED_NOTICE, Holiday, Installation, OutboxMessage, Reply, Team
from storage.repo import Repo
from tests.fakes.sealing import SEALER

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
USER_ID, NAME = "U0FORGETME", "Wilhelmina Zonderland"


async def team_in(repo: Repo, workspace: str, people: dict[str, str]) -> tuple[int, dict[str, int]]:
    team, _created = await repo.ensure_team(
        platform="p",
        workspace_id=workspace,
        channel_id="c",
        name="T",
        timezone="Europe/Amsterdam",
        language="en",
        now=NOW,
    )
    ids = {
        u: await repo.ensure_member(
            platform="p", workspace_id=workspace, user_id=u, display_name=n, now=NOW, team_id=team.id
        )
        for u, n in people.items()
    }
    return team.id, ids


async def test_forgetting_reaches_settings_messages_installs_and_conversation_references(repo: Repo) -> None:
    team, ids = await team_in(repo, "w", {USER_ID: NAME, "bob": "Bob"})
    her, bob = ids[USER_ID], ids["bob"]
    elsewhere, _ = await team_in(repo, "w2", {"U0OTHER": NAME})  # someone of the same name, in another workspace
    await repo.update_team(
        team,
        goal=f"Learn from {NAME}",
        settings={
            "pairs_exclude": [her, bob],
            "pairs_skip": {str(her): "2026-11-01", str(bob): "2026-11-02"},
            "labels": {str(her): "onderbouw", str(bob): "bovenbouw"},
            "questions": [f"What did {NAME} teach you?"],
        },
        conversation={
            "user": {"id": "29:1abc", "aadObjectId": USER_ID, "name": NAME},
            "serviceUrl": "https://smba.test/",
        },
    )
    async with repo.session() as s:
        s.add(Holiday(team_id=team, start_date=date(2027, 1, 4), end_date=date(2027, 1, 4), name=f"{NAME}'s farewell"))
        s.add(
            Installation(
                platform="p",
                workspace_id="w",
                name="W",
                installer_user_id=USER_ID,
                enabled=True,
                data={},
                created_at=NOW,
            )
        )
    ritual = await repo.add_ritual(
        team_id=team, kind="reflection", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )
    here = ChannelRef(platform="p", workspace_id="w", channel_id="c")
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
        await tx.save_reply(
            occurrence_id=occ,
            team_id=team,
            member_id=bob,
            anonymous=False,
            today=NOW.date(),
            now=NOW,
            values={
                "answer": f"Thanks <@{USER_ID}|wil> and Wilhelmina  Zonderland; "
                "Wilhelmina alone stays, WILHELMINA ZONDERLAND too"
            },
        )
        group = ChannelRef(platform="p", workspace_id="w", channel_id="c", user_id=USER_ID, members=(USER_ID, "bob"))
        await tx.enqueue(
            team_id=team,
            occurrence_id=occ,
            destination=group,
            at=NOW,
            payload={"type": "notice", "notice": {"title": f"Your consultation pair: {NAME}, Bob"}},
        )
        await tx.enqueue(
            team_id=team,
            occurrence_id=occ,
            destination=replace(here, user_id=USER_ID),
            payload={"type": "prompt", "occurrence_id": occ},
            at=NOW,
        )
        await tx.save_reply(
            occurrence_id=occ,
            team_id=team,
            member_id=her,
            anonymous=False,
            today=NOW.date(),
            now=NOW,
            values={"answer": "zq-her words about the week"},
        )
        await tx.enqueue(
            team_id=team,
            occurrence_id=occ,
            destination=here,
            at=NOW,  # the results, not sent yet
            payload={"type": "notice", "notice": {"text": "• Someone: zq-her words about the week"}},
        )
        await tx.enqueue(
            team_id=team,
            occurrence_id=occ,
            destination=here,
            at=NOW,
            payload={"type": "notice", "notice": {"text": "zq-quoting her answer"}},
        )
    async with repo.session() as s:
        failed = (await s.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()))).first()
        await s.execute(update(OutboxMessage).where(OutboxMessage.id == failed).values(status="failed"))

    assert await repo.forget_member(her) == 1

    async with repo.session() as s:
        row = await s.get(Team, team)
        assert row is not None and row.goal == f"Learn from {MARK}"
        assert row.settings == {
            "pairs_exclude": [bob],
            "pairs_skip": {str(bob): "2026-11-02"},
            "labels": {str(bob): "bovenbouw"},
            "questions": [f"What did {MARK} teach you?"],
        }
        assert row.conversation == {"serviceUrl": "https://smba.test/"}
        assert (await s.scalars(select(Holiday.name))).all() == [f"{MARK}'s farewell"]
        assert (await s.scalars(select(Installation.installer_user_id))).all() == [None]
        answers = (await s.scalars(select(Reply.values))).all()
        assert answers == [{"answer": f"Thanks {MARK} and {MARK}; Wilhelmina alone stays, WILHELMINA ZONDERLAND too"}]
        outbox = (
            await s.execute(select(OutboxMessage.destination, OutboxMessage.payload).order_by(OutboxMessage.id))
        ).all()
        assert [(d["user_id"], d["members"], p) for d, p in outbox] == [
            (
                "bob",
                ["bob"],
                {"type": "notice", "notice": {"title": "Your consultation pair: a former colleague, Bob"}},
            ),
            (
                None,
                [],
                {"type": "notice", "notice": {"text": "\u2022 Someone: \u2026"}},
            ),  # still sent, without her words
            (None, [], DELIVERED_NOTICE),  # it failed, and might have quoted her: its text is gone
        ]
    assert [n for _id, _u, n in await repo.team_members(elsewhere)] == [NAME]  # another workspace's person stays


def test_names_are_matched_as_whole_words_in_their_own_case_and_ids_and_mentions_always() -> None:
    anna = Scrubber("U0ANNA", "Anna")
    assert anna.text("Anna, ANNA and Annabel; <@U0ANNA> and U0ANNA") == f"{MARK}, ANNA and Annabel; {MARK} and {MARK}"
    al = Scrubber("U0AL", "Al")  # too short to be told from others' words: only the id and mentions
    assert (
        al.text("Al said it al before, <@U0AL|Al> and <at>Al</at> know")
        == f"Al said it al before, {MARK} and {MARK} know"
    )
    nameless = Scrubber("U0XY", "")
    assert nameless.text("U0XY and u0xy") == f"{MARK} and {MARK}"
    assert nameless.json({"a": ["U0XY", 3, {"U0XY": "x"}]}) == {"a": [MARK, 3, {"U0XY": "x"}]}  # keys as they are


async def test_vacuum_runs_on_postgresql_and_truncate_wal_on_sqlite(repo: Repo) -> None:
    """After an erasure: PostgreSQL vacuums the touched tables (outside a transaction; a
    refusal would be logged and give False), SQLite truncates its WAL."""
    postgresql = repo.engine.dialect.name == "postgresql"
    assert await vacuum(repo.engine, {"members", "replies", "outbox"}) is postgresql
    assert await truncate_wal(repo.engine) is not postgresql


def test_quotes_are_what_the_person_wrote_not_the_options_they_chose() -> None:
    quotes = Quotes([{"met": "not_yet", "answer": "Something personal", "mood": "Tired", "ok": "ok", "score": 4}])
    assert quotes.texts == ["Something personal"]  # "Tired" is in everyone's words
    assert quotes.in_({"type": "notice", "notice": {"text": "• Chris: Something personal"}})
    assert not quotes.in_({"type": "notice", "notice": {"text": "Not yet (1), not_yet, ok"}})


async def test_postgresql_statistics_keep_no_sample_of_the_erased(fresh_postgres_url: str) -> None:
    """The planner's statistics (``pg_stats``: most common values and histogram bounds of
    each column, sampled at the last ANALYZE, readable by whoever may read the table) hold an
    erased person's platform id and name until the tables are analysed again: forget-me does.
    https://www.postgresql.org/docs/current/view-pg-stats.html"""
    await asyncio.to_thread(upgrade, fresh_postgres_url)
    repo = Repo(create_engine(fresh_postgres_url), SEALER)
    try:
        _team, ids = await team_in(repo, "w", {USER_ID: NAME, "U0BOB": "Bob Bakker", "U0CAROL": "Carol Claes"})

        async def sampled() -> list[tuple[str, str]]:
            async with autocommit_connection(repo.engine) as conn:
                return [
                    tuple(row)
                    for row in (
                        await conn.execute(
                            text(
                                "SELECT tablename, attname FROM pg_stats WHERE schemaname = current_schema() AND "
                                "(coalesce(most_common_vals::text, '') || coalesce(histogram_bounds::text, ''))"
                                " ILIKE ANY(:t)"
                            ),
                            {"t": [f"%{USER_ID}%", f"%{NAME}%"]},
                        )
                    ).all()
                ]

        async with autocommit_connection(repo.engine) as conn:
            await conn.exec_driver_sql("ANALYZE")  # autovacuum's, or an operator's vacuumdb --analyze
        assert ("members", "user_id") in await sampled()
        assert await repo.forget_member(ids[USER_ID]) == 0
        assert await sampled() == []
    finally:
        await repo.dispose()


async def test_an_appreciation_of_her_as_an_extra_colleague_names_her_no_more(repo: Repo) -> None:
    """The colleague an appreciation was for, and the one added as an extra: each becomes the
    marker where it was her, and stays where it was someone else."""
    team, ids = await team_in(repo, "w", {USER_ID: NAME, "bob": "Bob", "carol": "Carol"})
    her, bob, carol = ids[USER_ID], ids["bob"], ids["carol"]
    ritual = await repo.add_ritual(
        team_id=team, kind="appreciation", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )
    async with repo.transaction() as tx:
        occ = await tx.add_occurrence(
            ritual_id=ritual,
            planned_at=NOW,
            status="closed",
            reason=None,
            content={"roster": [[her, NAME], [bob, "Bob"], [carol, "Carol"]]},
            opened_at=NOW,
            closes_at=NOW,
            claimed_by="x",
        )
        assert occ is not None
        for giver, values in (
            (bob, {"colleague": str(carol), "appreciation": "a", "also_colleague": str(her), "also_appreciation": "b"}),
            (carol, {"colleague": str(her), "appreciation": "c", "also_colleague": str(bob), "also_appreciation": "d"}),
        ):
            await tx.save_reply(
                occurrence_id=occ,
                team_id=team,
                member_id=giver,
                anonymous=False,
                today=NOW.date(),
                now=NOW,
                values=values,
            )
    assert await repo.forget_member(her) == 0
    async with repo.session() as s:
        kept = sorted((await s.scalars(select(Reply.values))).all(), key=lambda v: v["appreciation"])
    assert [(v["colleague"], v["also_colleague"]) for v in kept] == [(str(carol), MARK), (MARK, str(bob))]
