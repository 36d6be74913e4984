"""Appreciation where everyone receives: each member appreciates the colleague the round assigns
(a cycle through the whole team), another colleague is an extra and never instead, and the
results name only who received, with no count that tells how many did not."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rituals.i18n import translator
from rituals.kinds import KINDS
from rituals.kinds.appreciation import assign_colleagues, received, round_seed
from rituals.kinds.base import AnswerError, PlanContext, validate
from rituals.ports import ReplyView, TeamView
from rituals.types import InputKind

_ = translator("en")
KIND = KINDS["appreciation"]
TEAM = TeamView(
    id=1,
    platform="playground",
    workspace_id="w",
    channel_id="c",
    name="Team",
    timezone="Europe/Amsterdam",
    language="en",
    goal=None,
    holiday_country=None,
    anonymity_threshold=3,
)


def plan(size: int, seed: int) -> dict[str, Any]:
    roster = tuple((100 + i, f"Member{i:02d}") for i in range(size))
    ctx = PlanContext(team=TEAM, options={}, day=date(2026, 12, 7), roster=roster, rng=random.Random(seed))
    return KIND.plan(ctx)


def answer(content: dict[str, Any], member: int, values: dict[str, Any]) -> dict[str, Any]:
    """A member's answer as the engine takes it: validated against the form, then the kind's check."""
    clean = validate(KIND.inputs(content, TEAM, _), values)
    KIND.check(content, clean, member)
    return clean


@st.composite
def rounds(draw: st.DrawFn) -> tuple[int, int, list[tuple[int, int | None]]]:
    """A team of 2 to 30, a seed, and per member the colleague they would pick first (anyone,
    themselves included) and an extra one (anyone, or none)."""
    size = draw(st.integers(min_value=2, max_value=30))
    seed = draw(st.integers(min_value=0, max_value=2**31 - 1))
    picks = [
        (draw(st.integers(0, size - 1)), draw(st.one_of(st.none(), st.integers(0, size - 1)))) for _ in range(size)
    ]
    return size, seed, picks


@settings(max_examples=150, deadline=None)
@given(rounds())
def test_everyone_receives_at_least_one_whatever_members_choose(
    case: tuple[int, int, list[tuple[int, int | None]]],
) -> None:
    size, seed, picks = case
    content = plan(size, seed)
    members = [mid for mid, _name in content["roster"]]
    replies = []
    for giver, (first, extra) in zip(members, picks, strict=True):
        values: dict[str, Any] = {"colleague": str(members[first]), "appreciation": f"from {giver}"}
        if extra is not None:
            values |= {"also_colleague": str(members[extra]), "also_appreciation": f"also from {giver}"}
        try:
            clean = answer(content, giver, values)
        except AnswerError:  # the form says why; the member answers for the colleague assigned
            assigned = assign_colleagues(members, round_seed(content, 0))[giver]
            clean = answer(content, giver, {"colleague": str(assigned), "appreciation": f"from {giver}"})
            if extra is not None and members[extra] not in (giver, assigned):  # and keeps a possible extra
                clean = answer(
                    content, giver, {**clean, "also_colleague": str(members[extra]), "also_appreciation": "also"}
                )
        replies.append(ReplyView(member_id=giver, member_name=f"Giver{giver}", values=clean, created_on=date.today()))
    got = received(replies)
    assert {int(m) for m in got} == set(members)  # everyone received, at least once
    assert all(str(r.values["colleague"]) != str(r.member_id) for r in replies)
    notice = KIND.results(content, replies, _)
    assert notice is not None
    for _mid, name in content["roster"]:
        assert f"*{name}*" in notice.text
    assert not notice.footer  # no count of appreciations or of colleagues


def test_another_colleague_is_an_extra_not_a_replacement() -> None:
    content = plan(4, 7)
    members = [mid for mid, _name in content["roster"]]
    assigned = assign_colleagues(members, content["seed"])
    giver = members[0]
    other = next(m for m in members if m not in (giver, assigned[giver]))
    try:
        answer(content, giver, {"colleague": str(other), "appreciation": "instead"})
    except AnswerError as err:
        assert "Another colleague too" in err.msgid
    else:
        raise AssertionError("an appreciation instead of the assigned one was taken")
    clean = answer(
        content,
        giver,
        {
            "colleague": str(assigned[giver]),
            "appreciation": "a",
            "also_colleague": str(other),
            "also_appreciation": "b",
        },
    )
    assert clean["also_colleague"] == str(other)
    for wrong in (
        {"also_colleague": str(giver), "also_appreciation": "me"},  # not oneself
        {"also_colleague": str(assigned[giver]), "also_appreciation": "twice"},  # not the same one twice
        {"also_colleague": str(other)},  # a colleague with nothing said
        {"also_appreciation": "for nobody"},
    ):
        try:
            answer(content, giver, {"colleague": str(assigned[giver]), "appreciation": "a", **wrong})
        except AnswerError:
            continue
        raise AssertionError(f"taken: {wrong}")
    kinds = {i.key: i.kind for i in KIND.inputs(content, TEAM, _)}
    assert kinds["also_colleague"] is InputKind.CHOICE and kinds["also_appreciation"] is InputKind.TEXT


def test_a_round_planned_before_the_seed_keeps_its_free_choice() -> None:
    content = plan(3, 1)
    del content["seed"]
    members = [mid for mid, _name in content["roster"]]
    assert round_seed(content, 42) == 42
    for colleague in members[1:]:
        answer(content, members[0], {"colleague": str(colleague), "appreciation": "ok"})


def test_anonymous_replies_name_nobody_who_gave() -> None:
    content = plan(3, 3)
    members = [mid for mid, _name in content["roster"]]
    replies = [
        ReplyView(
            member_id=None,
            member_name="",
            values={"colleague": str(m), "appreciation": f"zq{m}"},
            created_on=date.today(),
        )
        for m in members
    ]
    notice = KIND.results(content, replies, _)
    assert notice is not None and "\u2014" not in notice.text and all(f"zq{m}" in notice.text for m in members)
