"""The review page's queries and the retention clean-up, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from storage.models import Participation, Reply
from storage.queries import Queries
from storage.repo import Repo

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


async def make_team(repo: Repo, channel: str, users: list[str]) -> tuple[int, dict[str, int]]:
    team, _ = await repo.ensure_team(
        platform="p",
        workspace_id="w",
        channel_id=channel,
        name=channel.upper(),
        timezone="Europe/Amsterdam",
        language="en",
        now=NOW,
    )
    ids = {
        u: await repo.ensure_member(
            platform="p", workspace_id="w", user_id=u, display_name=u.title(), now=NOW, team_id=team.id
        )
        for u in users
    }
    return team.id, ids


async def add_round(
    repo: Repo, ritual: int, planned: datetime, status: str = "closed", reason: str | None = None
) -> int:
    async with repo.transaction() as tx:
        occ = await tx.add_occurrence(
            ritual_id=ritual,
            planned_at=planned,
            status=status,
            reason=reason,
            content={},
            opened_at=planned,
            closes_at=planned + timedelta(hours=4),
            claimed_by="t",
        )
    assert occ is not None
    return occ


async def answer(repo: Repo, occ: int, team: int, member: int, values: dict, *, anonymous: bool, day: date) -> None:
    async with repo.transaction() as tx:
        assert await tx.save_reply(
            occurrence_id=occ, team_id=team, member_id=member, anonymous=anonymous, values=values, today=day, now=NOW
        )


async def close_round(repo: Repo, occ: int, day: date) -> None:
    """Close a round on ``day``: its sealed anonymous answers become replies then."""
    async with repo.transaction() as tx:
        assert await tx.close_occurrence(occ, datetime(day.year, day.month, day.day, 12, tzinfo=UTC))


async def test_rounds_count_answers_and_keep_skips_with_their_reason(repo: Repo) -> None:
    team, ids = await make_team(repo, "a", ["ann", "bob", "cas"])
    other, other_ids = await make_team(repo, "b", ["dirk"])
    ritual = await repo.add_ritual(
        team_id=team, kind="checkout", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )
    theirs = await repo.add_ritual(
        team_id=other, kind="checkout", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )
    old = await add_round(repo, ritual, NOW - timedelta(days=400))
    first = await add_round(repo, ritual, NOW - timedelta(days=14))
    skipped = await add_round(repo, ritual, NOW - timedelta(days=7), status="skipped", reason="Kerstvakantie")
    latest = await add_round(repo, ritual, NOW - timedelta(days=1), status="open")
    foreign = await add_round(repo, theirs, NOW - timedelta(days=1))
    for name in ("ann", "bob"):
        await answer(repo, first, team, ids[name], {"score": 4}, anonymous=False, day=(NOW - timedelta(days=14)).date())
    await answer(repo, latest, team, ids["cas"], {"score": 2}, anonymous=False, day=NOW.date())
    await answer(repo, foreign, other, other_ids["dirk"], {"score": 5}, anonymous=False, day=NOW.date())

    q = Queries(repo)
    async with q.reading() as read:
        rounds = await read.rounds(team, NOW - timedelta(days=365))
        named = await read.named_answers([ritual], NOW - timedelta(days=365))
    assert [(r.occurrence_id, r.status, r.reason, r.answered) for r in rounds] == [
        (first, "closed", None, 2),
        (skipped, "skipped", "Kerstvakantie", 0),
        (latest, "open", None, 1),
    ]
    assert old not in [r.occurrence_id for r in rounds]
    assert [(a.occurrence_id, a.member_name, a.values) for a in named] == [
        (first, "Ann", {"score": 4}),
        (first, "Bob", {"score": 4}),
        (latest, "Cas", {"score": 2}),
    ]
    assert (await q.team(team)) is not None and (await q.team(team)).name == "A"  # type: ignore[union-attr]
    assert await q.team(9999) is None


async def test_anonymous_rounds_leave_storage_as_totals_and_only_at_the_threshold(repo: Repo) -> None:
    team, ids = await make_team(repo, "a", ["ann", "bob", "cas", "dirk", "eva"])
    pulse = await repo.add_ritual(
        team_id=team, kind="pulse", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )
    old = await add_round(repo, pulse, NOW - timedelta(days=400), status="open")
    two = await add_round(repo, pulse, NOW - timedelta(days=20), status="open")
    three = await add_round(repo, pulse, NOW - timedelta(days=6), status="open")
    for name, score in (("ann", 1), ("bob", 5)):
        await answer(
            repo,
            two,
            team,
            ids[name],
            {"safe": score, "comment": f"zq-{name}"},
            anonymous=True,
            day=(NOW - timedelta(days=20)).date(),
        )
    for name, values in (
        ("ann", {"safe": 2, "Mood now": 4, "comment": "Ziek"}),
        ("bob", {"safe": 3, "Mood now": 2, "comment": ""}),
        ("cas", {"safe": 5, "comment": "Afspraken helpen"}),
        ("dirk", {"comment": "Alleen tekst"}),
        ("eva", {"comment": "Eerlijk"}),
    ):
        await answer(repo, three, team, ids[name], values, anonymous=True, day=(NOW - timedelta(days=6)).date())
    for name in ("ann", "bob", "cas"):
        await answer(repo, old, team, ids[name], {"safe": 4}, anonymous=True, day=(NOW - timedelta(days=400)).date())
    for occ, days in ((old, 400), (two, 20), (three, 6)):
        await close_round(repo, occ, (NOW - timedelta(days=days)).date())

    q = Queries(repo)
    since = NOW - timedelta(days=365)
    async with q.reading() as read:
        found = await read.anonymous_rounds(
            [pulse], since, 3, scored=["safe", "other", "Mood now"], written=["comment"]
        )
        lower = await read.anonymous_rounds([pulse], since, 2, scored=["safe", "safe", "Mood now"], written=["safe"])
        counted = await read.anonymous_rounds([pulse], since, 3, scored=[], written=[])  # a round asking nothing
        named = await read.named_answers([pulse], since)
        rounds = await read.rounds(team, since)
    assert set(found) == {three}  # two answers are too few; the old round is before the period
    assert found[three].answered == 5
    assert found[three].scores == {"safe": (3, 10)}  # Dirk wrote but did not score; two scores are too few
    assert found[three].texts == {
        "comment": ["Afspraken helpen", "Alleen tekst", "Eerlijk", "Ziek"]
    }  # sorted, no empty ones
    assert set(lower) == {two, three} and lower[two].texts == {}  # written answers need five
    assert lower[two].scores == {"safe": (2, 6)} and lower[three].scores == {"safe": (3, 10), "Mood now": (2, 6)}
    assert {occ: (r.answered, r.scores, r.texts) for occ, r in counted.items()} == {three: (5, {}, {})}
    assert named == []  # anonymous answers never come with a name
    assert {r.occurrence_id: r.answered for r in rounds} == {two: 2, three: 5}


async def test_review_reads_the_latest_rounds_their_replies_and_counts(repo: Repo) -> None:
    team, ids = await make_team(repo, "a", ["ann", "bob"])
    ritual = await repo.add_ritual(
        team_id=team, kind="checkout", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )
    first = await add_round(repo, ritual, NOW - timedelta(days=21))
    await add_round(repo, ritual, NOW - timedelta(days=14), status="skipped", reason="Kerstvakantie")
    second = await add_round(repo, ritual, NOW - timedelta(days=7))
    latest = await add_round(repo, ritual, NOW - timedelta(days=1), status="open")
    await answer(repo, first, team, ids["bob"], {"score": 3}, anonymous=False, day=(NOW - timedelta(days=21)).date())
    await answer(repo, first, team, ids["ann"], {"score": 4}, anonymous=False, day=(NOW - timedelta(days=21)).date())
    await answer(repo, latest, team, ids["bob"], {"score": 5}, anonymous=False, day=NOW.date())

    async with Queries(repo).reading() as read:
        assert await read.invited_count(team) == 2
        recent = await read.latest_rounds(ritual, 3, ("open", "closed"))
        assert [o.id for o in recent] == [latest, second, first]
        replies = await read.replies([latest, first])
        assert [(r.member_name, r.values) for r in replies[first]] == [("Ann", {"score": 4}), ("Bob", {"score": 3})]
        assert [r.member_name for r in replies[latest]] == ["Bob"]
        assert await read.answered([first, second]) == {first: 2, second: 0}
        assert await read.replies([]) == {} and await read.answered([]) == {}


async def test_audit_log_names_the_actor_until_forgotten(repo: Repo) -> None:
    team, ids = await make_team(repo, "a", ["ann", "bob"])
    await repo.audit(team, ids["ann"], "ritual.add", {"ritual": 1}, NOW - timedelta(days=2))
    await repo.audit(team, ids["bob"], "goal.set", {"goal": "x"}, NOW - timedelta(days=1))
    await repo.audit(team, ids["bob"], "team.language", {}, NOW - timedelta(days=500))
    await repo.forget_member(ids["bob"])
    async with Queries(repo).reading() as read:
        rows = await read.audit_log(team, NOW - timedelta(days=365))
    assert [(r.action, r.actor, r.detail) for r in rows] == [
        ("goal.set", None, {"goal": "x"}),
        ("ritual.add", "Ann", {"ritual": 1}),
    ]


async def test_retention_deletes_old_replies_per_team(repo: Repo) -> None:
    short, short_ids = await make_team(repo, "short", ["ann", "bob"])
    long, long_ids = await make_team(repo, "long", ["cas"])
    await repo.update_team(short, retention_days=30)
    r_short = await repo.add_ritual(
        team_id=short, kind="pulse", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )
    r_long = await repo.add_ritual(
        team_id=long, kind="reflection", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )
    old_day = NOW - timedelta(days=40)
    old_anon = await add_round(repo, r_short, old_day, status="open")
    new_anon = await add_round(repo, r_short, NOW - timedelta(days=3), status="open")
    old_named = await add_round(repo, r_long, old_day)
    for name in ("ann", "bob"):
        await answer(repo, old_anon, short, short_ids[name], {"safe": 3}, anonymous=True, day=old_day.date())
        await answer(
            repo, new_anon, short, short_ids[name], {"safe": 4}, anonymous=True, day=(NOW - timedelta(days=3)).date()
        )
    await answer(
        repo,
        old_named,
        long,
        long_ids["cas"],
        {"answer": "kept: 730 days by default"},
        anonymous=False,
        day=old_day.date(),
    )
    await close_round(repo, old_anon, old_day.date())
    await close_round(repo, new_anon, (NOW - timedelta(days=3)).date())

    q = Queries(repo)
    assert await q.delete_expired_replies(NOW) == 2
    assert await q.delete_expired_replies(NOW) == 0
    async with repo.session() as s:
        left = {
            (occ, n)
            for occ, n in (
                await s.execute(select(Reply.occurrence_id, func.count()).group_by(Reply.occurrence_id))
            ).all()
        }
        participations = {occ for (occ,) in (await s.execute(select(Participation.occurrence_id))).all()}
    assert left == {(new_anon, 2), (old_named, 1)}
    assert participations == {new_anon}
    assert await q.delete_expired_replies(NOW + timedelta(days=731)) == 3


async def test_anonymous_rounds_give_the_spread_and_the_scale_mean_only_as_totals(repo: Repo) -> None:
    """How many gave each score, and a scale's mean per answer added up (reverse-worded items as
    6 - score): enough for the page's distribution and its chance rule, never an answer itself."""
    team, ids = await make_team(repo, "a", ["ann", "bob", "cas", "dirk"])
    pulse = await repo.add_ritual(
        team_id=team, kind="pulse", schedule="", open_seconds=3600, options={}, next_due_at=None, now=NOW
    )
    three = await add_round(repo, pulse, NOW - timedelta(days=6), status="open")
    two = await add_round(repo, pulse, NOW - timedelta(days=3), status="open")
    # "up" is worded positively, "down" reverse-worded: ann (4, 2) -> (4 + 4) / 2 = 4.0;
    # bob (5, 5) -> (5 + 1) / 2 = 3.0; cas scored only "up": 2 -> 2.0
    for name, values in (("ann", {"up": 4, "down": 2}), ("bob", {"up": 5, "down": 5}), ("cas", {"up": 2})):
        await answer(repo, three, team, ids[name], values, anonymous=True, day=(NOW - timedelta(days=6)).date())
    for name in ("ann", "dirk"):
        await answer(repo, two, team, ids[name], {"up": 3}, anonymous=True, day=(NOW - timedelta(days=3)).date())
    for occ, days in ((three, 6), (two, 3)):
        await close_round(repo, occ, (NOW - timedelta(days=days)).date())
    async with Queries(repo).reading() as read:
        found = await read.anonymous_rounds(
            [pulse], NOW - timedelta(days=30), 2, scored=["up", "down"], written=[], scale={"up": False, "down": True}
        )
        plain = await read.anonymous_rounds([pulse], NOW - timedelta(days=30), 2, scored=["up"], written=[])
    assert found[three].counts == {"up": (0, 1, 0, 1, 1), "down": (0, 1, 0, 0, 1)}
    assert found[three].scale is not None
    n, total, squares = found[three].scale
    assert n == 3 and abs(total - 9.0) < 1e-9 and abs(squares - (16 + 9 + 4)) < 1e-9
    assert found[two].counts == {"up": (0, 0, 2, 0, 0)}  # nobody scored "down" in it
    assert found[two].scale == (2, 6.0, 18.0)
    assert plain[three].scale is None and plain[three].counts == {"up": (0, 1, 0, 1, 1)}
