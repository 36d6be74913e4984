"""Anonymous answers as someone holding a copy of the database would read them, on SQLite
and PostgreSQL: the bytes of the SQLite files (main, WAL, shm), every column of every
PostgreSQL table, row order, ``ctid`` and ``xmin``.

The promise (README, ``/privacy``): while a round is open the database holds no readable
anonymous answer; after it closed, nothing in it pairs an answer with who took part; a
person is counted once, whatever they do with ``forget-me``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from rituals.engine import Engine
from rituals.types import Actor, ChannelRef
from storage.answers.seal import (
    SEALED_SIZE,
    SealedAnswer,
    Sealer,
    TooLongToSeal,
    UnsealError,
    person_key,
)
from storage.models import Participation, Reply
from storage.models import SealedAnswer as SealedRow
from storage.repo import Repo
from tests.fakes.clock import Clock
from tests.fakes.platform import RecordingPlatform
from tests.rituals.test_engine import add_weekly, make_engine, setup_team

MEMBERS = 10  # a round's answers in random order: 2 chances in 10! that it looks like the order they came in


def comment(n: int) -> str:
    return f"vlinder-{n}-geheim"


def user(n: int) -> Actor:
    return Actor(platform="test", workspace_id="w", user_id=f"u{n}", display_name=f"User {n}")


async def open_pulse(
    repo: Repo, members: int = MEMBERS
) -> tuple[Engine, Clock, RecordingPlatform, int, int, list[str]]:
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    platform = RecordingPlatform()
    engine = make_engine(repo, clock, platform)
    team = await setup_team(repo, clock, members=members)
    ritual = await add_weekly(repo, team, clock, kind="pulse")
    occ = await engine.run_now(ritual)
    assert occ is not None
    await engine.dispatch()
    keys = [i.key for i in platform.prompts[-1][1].inputs if i.kind == "scale"]
    return engine, clock, platform, ritual, occ, keys


def scores(keys: list[str], n: int) -> dict[str, int]:
    return {key: 1 + (n + i) % 5 for i, key in enumerate(keys)}


async def answer_in_order(engine: Engine, occ: int, keys: list[str], members: int = MEMBERS) -> None:
    for n in range(members):  # one by one: each its own batch and commit, as people answer
        stored, message = await engine.submit(
            occurrence_id=occ, actor=user(n), values={**scores(keys, n), "comment": comment(n)}
        )
        assert stored, message


def sqlite_path(repo: Repo) -> Path | None:
    url = repo.engine.url
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


def wal_size(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


async def sqlite_bytes(repo: Repo) -> bytes:
    """The main file, the WAL and the shared memory, as they lie on disk."""
    path = sqlite_path(repo)
    assert path is not None
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


async def postgres_text(repo: Repo) -> str:
    """Every column of every table, as text."""
    found: list[str] = []
    async with repo.engine.connect() as conn:
        columns = (
            await conn.execute(
                text(
                    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
                    "ORDER BY table_name, ordinal_position"
                )
            )
        ).all()
        for table, column in columns:
            values = (await conn.execute(text(f'SELECT "{column}"::text FROM "{table}"'))).scalars().all()
            found += [v for v in values if v is not None]
    return "\n".join(found)


async def readable(repo: Repo) -> str:
    if sqlite_path(repo) is not None:
        return (await sqlite_bytes(repo)).decode("latin-1")
    return await postgres_text(repo)


def score_patterns(keys: list[str]) -> re.Pattern[str]:
    """A stored score: ``"key": 4`` (or ``"key":4``), as JSON keeps it."""
    return re.compile("|".join(rf'"{re.escape(k)}"\s*:\s*[1-5]' for k in keys))


async def test_while_a_round_is_open_the_database_holds_no_answer_word_or_score(repo: Repo) -> None:
    engine, _clock, _platform, _ritual, occ, keys = await open_pulse(repo)
    await answer_in_order(engine, occ, keys)
    everything = await readable(repo)
    assert not [n for n in range(MEMBERS) if comment(n) in everything]
    assert not score_patterns(keys).search(everything)
    async with repo.session() as s:  # what is there: who took part, and sealed answers
        assert len((await s.scalars(select(Participation))).all()) == MEMBERS
        assert len((await s.scalars(select(SealedRow))).all()) == MEMBERS
        assert (await s.scalars(select(Reply))).all() == []


async def test_after_the_close_nothing_pairs_an_answer_with_who_took_part(repo: Repo) -> None:
    engine, _clock, _platform, ritual, occ, keys = await open_pulse(repo)
    await answer_in_order(engine, occ, keys)
    assert await engine.close_now(ritual) == [occ]
    async with repo.session() as s:
        rows = (await s.scalars(select(Reply).where(Reply.occurrence_id == occ))).all()
        assert (await s.scalars(select(SealedRow))).all() == []
    assert sorted(r.values["comment"] for r in rows) == sorted(comment(n) for n in range(MEMBERS))
    assert {r.member_id for r in rows} == {None} and {r.updated_at for r in rows} == {None}
    assert len({r.created_on for r in rows}) == 1  # one day for all: the day of the close
    came_in = [comment(n) for n in range(MEMBERS)]
    path = sqlite_path(repo)
    if path is not None:
        async with repo.engine.connect() as conn:  # whatever the WAL still holds, in the main file too
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        main = path.read_bytes()
        lying = sorted(came_in, key=lambda c: main.index(c.encode()))  # where each lies in the file
        assert lying not in (came_in, came_in[::-1])
        return
    async with repo.engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT ctid, xmin::text, values::text FROM replies WHERE occurrence_id = :occ ORDER BY ctid"),
                {"occ": occ},
            )
        ).all()
        took_part = (
            (await conn.execute(text("SELECT xmin::text FROM participations WHERE occurrence_id = :occ"), {"occ": occ}))
            .scalars()
            .all()
        )
    assert len({xmin for _ctid, xmin, _values in stored}) == 1  # one transaction for all the round's answers
    assert not {xmin for _ctid, xmin, _values in stored} & set(took_part)
    by_ctid = [next(c for c in came_in if c in values) for _ctid, _xmin, values in stored]
    assert by_ctid not in (came_in, came_in[::-1])


async def test_answering_forgetting_and_answering_again_counts_one_person_once(repo: Repo) -> None:
    """The trick: answer, ``forget-me``, answer again, to pass the threshold alone and read
    the others' scores from the total. The first answer is withdrawn with the person."""
    engine, _clock, platform, ritual, occ, keys = await open_pulse(repo, members=4)
    assert (await engine.submit(occurrence_id=occ, actor=user(0), values={**scores(keys, 0), "comment": "first"}))[0]
    me = await repo.find_member(platform="test", workspace_id="w", user_id="u0")
    assert me is not None
    await repo.forget_member(me)
    async with repo.transaction() as tx:
        assert await tx.answered_count(occ) == 0
    channel = ChannelRef(platform="test", workspace_id="w", channel_id="c")  # back in the channel: a newcomer
    assert (
        await engine.submit(
            occurrence_id=occ, actor=user(0), values={**scores(keys, 0), "comment": "again"}, via=channel
        )
    )[0]
    assert (await engine.submit(occurrence_id=occ, actor=user(1), values={**scores(keys, 1), "comment": "other"}))[0]
    async with repo.transaction() as tx:
        assert await tx.answered_count(occ) == 2
    await engine.close_now(ritual)
    await engine.dispatch()
    notice = platform.notices[-1][1]
    assert "Too few answers" in notice.text and notice.footer.startswith("2 of")
    async with repo.session() as s:
        assert sorted(r.values["comment"] for r in (await s.scalars(select(Reply))).all()) == ["again", "other"]


async def test_written_answers_need_five_answers_scores_the_threshold(repo: Repo) -> None:
    for answered, words in ((4, False), (5, True)):
        engine, _clock, platform, ritual, occ, keys = await open_pulse(repo, members=answered)
        await answer_in_order(engine, occ, keys, members=answered)
        await engine.close_now(ritual)
        await engine.dispatch()
        notice = platform.notices[-1][1]
        fields = dict(notice.fields)
        assert any("average" in value for value in fields.values())  # scores from three answers
        assert (comment(0) in notice.text) is words
        if not words:
            assert fields["Anything you want to add?"] == "Written answers show only when at least 5 answered."
        async with repo.session() as s:  # the next team of the loop starts from an empty channel
            await s.execute(text("DELETE FROM teams"))


async def test_a_close_keeps_an_answer_this_server_cannot_open(repo: Repo) -> None:
    """Sealed with another secret (changed while the round was open): not lost, not shown,
    and said in the log."""
    engine, _clock, _platform, ritual, occ, keys = await open_pulse(repo, members=3)
    await answer_in_order(engine, occ, keys, members=2)
    stranger = Sealer(b"another-secret-4f7d1c2b9e8a6d5c3b1a0f9e")
    foreign = stranger.seal(occ, person_key("test", "w", "u2"), {"comment": "elsewhere"})
    async with repo.session() as s:
        s.add(SealedRow(occurrence_id=occ, tag=foreign.tag, sealed=foreign.sealed))
    await engine.close_now(ritual)
    async with repo.session() as s:
        assert len((await s.scalars(select(Reply))).all()) == 2
        assert [r.tag for r in (await s.scalars(select(SealedRow))).all()] == [foreign.tag]


def test_a_sealed_answer_opens_only_in_its_round_with_its_tag_and_its_secret() -> None:
    sealer = Sealer(b"a-secret-for-sealing-1c9e7b3a5d2f8e4a")
    sealed = sealer.seal(7, person_key("slack", "T1", "U1"), {"comment": "ja", "safe": 4})
    assert sealer.open(sealed) == {"comment": "ja", "safe": 4}
    assert (
        sealed.tag == sealer.tag(7, person_key("slack", "T1", "U1")) != sealer.tag(8, person_key("slack", "T1", "U1"))
    )
    for moved in (
        SealedAnswer(occurrence_id=8, tag=sealed.tag, sealed=sealed.sealed),
        SealedAnswer(occurrence_id=7, tag=sealer.tag(7, b"someone else"), sealed=sealed.sealed),
        SealedAnswer(occurrence_id=7, tag=sealed.tag, sealed=sealed.sealed[:-1] + b"\x00"),
    ):
        with pytest.raises(UnsealError):
            sealer.open(moved)
    with pytest.raises(UnsealError):
        Sealer(b"another-secret-4f7d1c2b9e8a6d5c3b1a0f9e").open(sealed)
    sizes = {len(sealer.seal(7, b"p", {"comment": c, "safe": 5}).sealed) for c in ("", "ja", "x" * 700, "😀" * 1000)}
    assert sizes == {len(sealed.sealed)} == {1 + 12 + SEALED_SIZE + 16}  # the longest answer is as long as the shortest
    with pytest.raises(TooLongToSeal):
        sealer.seal(7, b"p", {"a": "😀" * 1000, "b": "😀" * 1000})


async def test_a_close_leaves_no_copy_of_the_sealed_answers_in_the_wal(repo: Repo) -> None:
    """SQLite: the WAL is checkpointed and truncated after the close (``secure_delete`` has
    zeroed the deleted sealed rows in the file); PostgreSQL: ``sealed_answers`` is vacuumed,
    so its deleted rows are gone from its pages."""
    engine, _clock, _platform, ritual, occ, keys = await open_pulse(repo, members=3)
    await answer_in_order(engine, occ, keys, members=3)
    async with repo.session() as s:
        blobs = [bytes(b) for b in (await s.scalars(select(SealedRow.sealed))).all()]
    await engine.close_now(ritual)
    path = sqlite_path(repo)
    if path is not None:
        assert wal_size(path) == 0
        everything = await sqlite_bytes(repo)
        assert not [b for b in blobs if b[1:64] in everything]  # not one sealed answer's bytes left
        return
    async with repo.engine.connect() as conn:
        dead = await conn.scalar(text("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'sealed_answers'"))
        vacuumed = await conn.scalar(
            text("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'sealed_answers'")
        )
    assert vacuumed and vacuumed >= 1 and dead == 0


async def test_forget_me_takes_a_colleague_s_name_out_of_sealed_words_too(repo: Repo) -> None:
    """An anonymous comment that names someone who then uses forget-me: sealed while the
    round is open, it is opened, rewritten and sealed again; at the close it names a former
    colleague."""
    engine, _clock, platform, ritual, occ, keys = await open_pulse(repo, members=5)
    for n in range(5):
        said = "Ik werk graag met User 4 samen" if n == 0 else comment(n)
        assert (await engine.submit(occurrence_id=occ, actor=user(n), values={**scores(keys, n), "comment": said}))[0]
    gone = await repo.find_member(platform="test", workspace_id="w", user_id="u4")
    assert gone is not None
    await repo.forget_member(gone)
    await engine.close_now(ritual)
    async with repo.session() as s:
        said = sorted(r.values["comment"] for r in (await s.scalars(select(Reply))).all())
    assert len(said) == 4 and not [c for c in said if "User 4" in c]
    assert "Ik werk graag met [[former-colleague]] samen" in said


async def test_a_long_anonymous_comment_is_sealed_as_large_as_a_short_one(repo: Repo) -> None:
    """Who took part and a sealed row can be paired from the database alone (they are written
    together); their size must then tell nothing: the long comment would be theirs once the
    round closed. All sealed rows of a round have one size."""
    engine, _clock, _platform, _ritual, occ, keys = await open_pulse(repo, members=3)
    for n, said in enumerate(("", "kort", "lang " * 199 + "😀" * 5)):
        assert (await engine.submit(occurrence_id=occ, actor=user(n), values={**scores(keys, n), "comment": said}))[0]
    async with repo.engine.connect() as conn:
        sizes = (await conn.execute(text("SELECT length(sealed) FROM sealed_answers"))).scalars().all()
    assert len(sizes) == 3 and len(set(sizes)) == 1
    too_long = {**scores(keys, 0), "comment": "x" * 1001}
    stored, message = await engine.submit(occurrence_id=occ, actor=user(0), values=too_long)
    assert not stored and "1000" in message
