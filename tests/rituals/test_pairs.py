"""Pairs for collegial consultation: no repeats before every pair met, trios, skips, nudges."""

from __future__ import annotations

import itertools
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.server import ENGINE
from rituals.kinds.base import PlanContext
from rituals.kinds.pairs import Pairs, circle_round
from rituals.ports import TeamView
from tests.fakes.clock import Clock
from tests.fakes.playground import Playground

AMS = ZoneInfo("Europe/Amsterdam")


def team(**settings: object) -> TeamView:
    return TeamView(
        id=7,
        platform="p",
        workspace_id="w",
        channel_id="c",
        name="T",
        timezone="Europe/Amsterdam",
        language="en",
        goal=None,
        holiday_country=None,
        anonymity_threshold=3,
        settings=dict(settings),
    )


def rounds(size: int, count: int, **settings: object) -> list[list[list[int]]]:
    kind, history = Pairs(), []
    roster = tuple((m, f"M{m}") for m in range(1, size + 1))
    for n in range(count):
        ctx = PlanContext(
            team=team(**settings),
            options={},
            day=date(2026, 9, 1) + timedelta(days=30 * n),
            history=tuple(reversed(history)),
            roster=roster,
            rng=random.Random(n),
        )
        history.append(kind.plan(ctx))
    return [[[m["id"] for m in g] for g in h["groups"]] for h in history]


@pytest.mark.parametrize("size", [2, 4, 6, 8, 10])
def test_no_pair_repeats_before_all_combinations_were_used(size: int) -> None:
    seen: list[frozenset[int]] = []
    for groups in rounds(size, size - 1):
        assert sorted(m for g in groups for m in g) == list(range(1, size + 1))
        seen += [frozenset(g) for g in groups]
    assert len(seen) == len(set(seen)) == size * (size - 1) // 2


@pytest.mark.parametrize("size", [3, 5, 7])
def test_an_odd_count_makes_one_trio(size: int) -> None:
    for groups in rounds(size, 4):
        assert sorted(len(g) for g in groups) == [2] * (size // 2 - 1) + [3]
        assert sorted(m for g in groups for m in g) == list(range(1, size + 1))


def test_excluded_members_are_left_out() -> None:
    for groups in rounds(6, 3, pairs_exclude=[2, 5]):
        members = {m for g in groups for m in g}
        assert members == {1, 3, 4, 6}


def test_circle_round_handles_tiny_teams() -> None:
    assert circle_round([], 0) == [] and circle_round([1], 3) == []
    for r in range(3):
        (trio,) = circle_round([1, 2, 3], r)
        assert sorted(trio) == [1, 2, 3]
    assert {frozenset(p) for r in range(5) for p in circle_round(list(range(6)), r)} == {
        frozenset(c) for c in itertools.combinations(range(6), 2)
    }


async def test_pairs_round_through_the_playground(pg: Playground, clock: Clock) -> None:
    added = await pg.command("anna", "add pairs every month on the first monday at 09:00")
    assert added["title"] == "Ritual #1 added"
    assert (await pg.command("dewi", "pairs skip"))["title"] == "Skipped"
    clock.set(datetime(2026, 12, 7, 9, 0, 1, tzinfo=AMS))
    await pg.app[ENGINE].tick()
    await pg.deliver()
    channel = await pg.notices("bram")
    assert (
        channel[-1]["title"] == "#1 Pairs for collegial consultation"
        and "Pairs made for this round: 1;" in channel[-1]["text"]
    )
    private = {
        u: [
            m["payload"]
            for m in (await pg.state(u))["messages"]
            if m["private"]
            and m["payload"]["type"] == "notice"
            and m["payload"]["title"].startswith("Your consultation pair")
        ]
        for u in ("anna", "bram", "chris", "dewi")
    }
    assert [len(v) for v in private.values()] == [1, 1, 1, 0]  # Dewi skipped: Anna, Bram, Chris are a trio
    assert "Anna" in private["chris"][0]["title"] and "Bram" in private["chris"][0]["title"]

    clock.set(datetime(2026, 12, 21, 12, 0, tzinfo=AMS))  # halfway: the nudge, to the trio only
    await pg.app[ENGINE].tick()
    await pg.deliver()
    nudges = {
        u: [m["payload"] for m in (await pg.state(u))["messages"] if m["private"] and m["payload"]["type"] == "prompt"]
        for u in ("anna", "bram", "chris", "dewi")
    }
    assert [len(v) for v in nudges.values()] == [1, 1, 1, 0]
    nudge = nudges["chris"][0]
    assert nudge["inputs"][0]["key"] == "met"
    assert (await pg.answer("chris", nudge["occurrence_id"], {"met": "yes"}))["ok"]
    assert (await pg.answer("bram", nudge["occurrence_id"], {"met": "not_yet"}))["ok"]
    review = await pg.command("anna", "review #1")
    assert "Pairs that met this round: 1 of 1." in review["text"]
    assert (await pg.command("anna", "close #1"))["title"] == "Ritual #1 closed"
    await pg.deliver()
    assert (await pg.notices())[-1]["text"] == "Pairs that met this round: 1 of 1."

    clock.set(datetime(2027, 1, 4, 9, 0, 1, tzinfo=AMS))  # next round: Dewi is back, two pairs
    await pg.app[ENGINE].tick()
    await pg.deliver()
    assert "Pairs made for this round: 2;" in (await pg.notices("bram"))[-1]["text"]


def test_mix_pairs_colleagues_with_different_labels() -> None:
    labels = {1: "teacher", 2: "teacher", 3: "teacher", 4: "support", 5: "support", 6: "support"}
    settings = {"pairs_mix": True, "labels": {str(k): v for k, v in labels.items()}}
    first = rounds(6, 1, **settings)[0]
    assert all(labels[a] != labels[b] for a, b in first)
    seen = [frozenset(g) for groups in rounds(6, 5, **settings) for g in groups]
    assert len(seen) == len(set(seen)) == 15  # mixing never costs a repeat


async def test_pairs_label_and_mix_commands(pg: Playground) -> None:
    assert (await pg.command("anna", "pairs label chris support"))["title"] == "Label set"
    assert (await pg.command("anna", "pairs mix on"))["title"] == "Mixing on"
    assert (await pg.command("chris", "pairs mix off"))["title"] == "Not allowed"


def test_a_skip_on_a_rounds_own_day_counts_once() -> None:
    """'pairs skip' on the morning of a round leaves the member out of that round only; said
    after that round went out, it leaves them out of the next."""
    kind = Pairs()
    roster = tuple((m, f"M{m}") for m in range(1, 6))

    def next_round(last_skipped: list[int]) -> list[int]:
        last = {"day": "2026-12-07", "skipped": last_skipped, "groups": [[{"id": 1}, {"id": 2}]]}
        ctx = PlanContext(
            team=team(pairs_skip={"4": "2026-12-07"}),
            options={},
            day=date(2027, 1, 4),
            history=(last,),
            roster=roster,
            rng=random.Random(1),
        )
        return kind.plan(ctx)["skipped"]

    assert next_round(last_skipped=[4]) == []  # the morning skip was used by the round of 7 December
    assert next_round(last_skipped=[]) == [4]  # said after that round: the next one leaves them out


def test_after_a_skip_pairs_still_do_not_repeat_while_they_need_not() -> None:
    """Six members, the sixth skips the first round (one trio then): the next three rounds
    still find partners who have not met, though the circle no longer lines up."""
    kind, history = Pairs(), []
    roster = tuple((m, f"M{m}") for m in range(1, 7))
    for n in range(4):
        day = date(2026, 9, 1) + timedelta(days=30 * n)
        ctx = PlanContext(
            team=team(pairs_skip={"6": "2026-09-01"}),
            options={},
            day=day,
            history=tuple(reversed(history)),
            roster=roster,
            rng=random.Random(n),
        )
        history.append(kind.plan(ctx))
    assert history[0]["skipped"] == [6] and all(h["skipped"] == [] for h in history[1:])
    seen: list[frozenset[int]] = []
    for content in history:
        ids = [[m["id"] for m in g] for g in content["groups"]]
        seen += [frozenset((a, b)) for g in ids for i, a in enumerate(g) for b in g[i + 1 :]]
    assert len(seen) == len(set(seen)) == 4 + 3 * 3
