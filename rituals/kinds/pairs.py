"""Pairs: duos for collegial consultation, a new partner each round for as long as possible.

Pairing follows the circle method of a round-robin tournament over the team in a fixed,
team-specific order: with an even, stable team every pair meets once before any pair
repeats. When skips or newcomers make every circle round repeat a pair, a bounded search of
the pairings looks for a round that repeats fewer (``fewest_repeats``). An odd count gives
one trio. Members who skip a round or are excluded are left out of that round. Halfway
through the period each member gets one private nudge
("did you meet?"); the results say how many pairs met, never what they discussed.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from rituals.i18n import Translator
from rituals.kinds.base import KindDefaults, PlanContext
from rituals.library import PAIRS_PROMPTS
from rituals.ports import ReplyView, TeamView
from rituals.types import Input, InputKind, Notice, Option


def circle_round(members: list[int], round_no: int) -> list[list[int]]:
    """Round ``round_no`` of the circle method; an odd member out joins the first pair."""
    if len(members) < 2:
        return []
    seats: list[int | None] = list(members)
    if len(seats) % 2:
        seats.append(None)
    n = len(seats)
    shift = round_no % (n - 1)
    rest = seats[1:]
    rest = rest[-shift:] + rest[:-shift] if shift else rest
    seats = [seats[0], *rest]
    groups: list[list[int]] = []
    odd_one: int | None = None
    for i in range(n // 2):
        a, b = seats[i], seats[n - 1 - i]
        if a is None or b is None:
            odd_one = b if a is None else a
        else:
            groups.append([a, b])
    if odd_one is not None:
        if groups:
            groups[0].append(odd_one)
        else:
            groups.append([odd_one])
    return [g for g in groups if len(g) > 1]


def met_before(history: tuple[dict[str, Any], ...]) -> set[frozenset[int]]:
    """Every two members who were in one group in an earlier round."""
    pairs: set[frozenset[int]] = set()
    for content in history:
        for group in content.get("groups", []):
            ids = [int(m["id"]) for m in group]
            pairs.update(frozenset((a, b)) for i, a in enumerate(ids) for b in ids[i + 1 :])
    return pairs


def best_round(members: list[int], round_no: int, met: set[frozenset[int]], labels: dict[int, str]) -> list[list[int]]:
    """Of the circle method's rounds, the one with fewest repeated pairs, then (when labels
    are given: "mix different roles") most pairs across labels, then the next in turn."""
    if len(members) < 2:
        return []
    size = len(members) + len(members) % 2

    def cost(offset: int) -> tuple[int, int, int]:
        groups = circle_round(members, offset)
        pairs = [frozenset((a, b)) for g in groups for i, a in enumerate(g) for b in g[i + 1 :]]
        repeats = sum(1 for p in pairs if p in met)
        mixed = sum(1 for p in pairs if len({labels.get(m, "") for m in p}) > 1) if labels else 0
        return repeats, -mixed, (offset - round_no) % (size - 1)

    offset = min(range(size - 1), key=cost)
    if cost(offset)[0] == 0:
        return circle_round(members, offset)
    # Someone skipped or joined, so the circle no longer lines up: search the pairings
    # themselves (bounded) for one with fewer repeats.
    found = fewest_repeats(members, met, cost(offset)[0])
    return found if found is not None else circle_round(members, offset)


def fewest_repeats(
    members: list[int], met: set[frozenset[int]], to_beat: int, budget: int = 10_000
) -> list[list[int]] | None:
    """A round with fewer than ``to_beat`` repeated pairs, found by a depth-first search of
    the pairings (with an odd count, each member in turn is the one who joins the group
    where that repeats least); None when none turns up within ``budget`` steps."""
    best: list[list[list[int]] | None] = [None]
    limit, steps = [to_beat], [0]

    def match(left: list[int], groups: list[list[int]], repeats: int, odd: int | None) -> None:
        steps[0] += 1
        if repeats >= limit[0] or steps[0] > budget:
            return
        if not left:
            done = [list(g) for g in groups]
            if odd is not None and done:
                costs = [sum(frozenset((odd, m)) in met for m in g) for g in done]
                at = min(range(len(done)), key=costs.__getitem__)
                done[at].append(odd)
                repeats += costs[at]
            if repeats < limit[0]:
                best[0], limit[0] = done, repeats
            return
        first, rest = left[0], left[1:]
        for i, other in enumerate(rest):
            match(
                rest[:i] + rest[i + 1 :], [*groups, [first, other]], repeats + (frozenset((first, other)) in met), odd
            )

    if len(members) % 2:
        for odd in members:
            match([m for m in members if m != odd], [], 0, odd)
    else:
        match(list(members), [], 0, None)
    return best[0]


class Pairs(KindDefaults):
    key = "pairs"
    anonymous = False
    shared = False
    private = True
    fixed_visibility = True  # whether a pair met: the count of pairs that met is the round's result
    remind_fraction = 0.5  # the nudge goes out halfway
    default_open = timedelta(days=28)

    def plan(self, ctx: PlanContext) -> dict[str, Any]:
        excluded = set(ctx.team.settings.get("pairs_exclude", []))
        last = ctx.history[0] if ctx.history else {}
        last_round, left_out = last.get("day", ""), set(last.get("skipped", []))
        # 'pairs skip' leaves someone out of the next round: one asked for since the last round
        # (on its day too, unless that round left them out already).
        skipping = {
            int(mid)
            for mid, when in ctx.team.settings.get("pairs_skip", {}).items()
            if when >= last_round and int(mid) not in left_out
        }
        names = dict(ctx.roster)
        order = sorted(names)
        random.Random(ctx.team.id).shuffle(order)  # a stable order per team
        present = [m for m in order if m not in excluded and m not in skipping]
        rounds = sum(1 for h in ctx.history if h.get("groups"))
        labels = (
            {int(k): v for k, v in ctx.team.settings.get("labels", {}).items()}
            if ctx.team.settings.get("pairs_mix")
            else {}
        )
        groups = best_round(present, rounds, met_before(ctx.history), labels)
        prompt = PAIRS_PROMPTS[rounds % len(PAIRS_PROMPTS)]
        return {
            "day": ctx.day.isoformat(),
            "prompt": prompt,
            "skipped": sorted(skipping | (excluded & set(names))),
            "groups": [[{"id": m, "name": names[m], "user": ctx.users.get(m, str(m))} for m in g] for g in groups],
        }

    def groups(self, content: dict[str, Any]) -> list[list[dict[str, Any]]]:
        return list(content.get("groups", []))

    def title(self, _: Translator) -> str:
        return _("Pairs for collegial consultation")

    def intro(self, content: dict[str, Any], team: TeamView, _: Translator) -> str:
        count = len(content.get("groups", []))
        return _(
            "{count} pairs are made for this round; each pair has a private message. "
            "Not this time? /ritme pairs skip leaves you out of the next round.",
            count=count,
        )

    def group_notice(
        self, content: dict[str, Any], group: list[dict[str, Any]], team: TeamView, _: Translator
    ) -> Notice:
        names = ", ".join(str(m["name"]) for m in group)
        return Notice(
            title=_("Your consultation pair: {names}", names=names),
            text=_(
                "Find half an hour together this period. A suggestion: {prompt}",
                prompt=_(str(content.get("prompt", PAIRS_PROMPTS[0]))),
            ),
            footer=_("Halfway through, Ritme asks whether you met. What you discuss stays between you."),
        )

    def inputs(self, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
        return (
            Input(
                key="met",
                label=_("Did you and your pair meet?"),
                kind=InputKind.CHOICE,
                options=(Option(value="yes", label=_("Yes")), Option(value="not_yet", label=_("Not yet"))),
            ),
        )

    def results(self, content: dict[str, Any], replies: list[ReplyView], _: Translator) -> Notice | None:
        groups = content.get("groups", [])
        met_by = {r.member_id for r in replies if r.values.get("met") == "yes"}
        met = sum(1 for g in groups if any(m["id"] in met_by for m in g))
        return Notice(
            title=_("{title}: results", title=self.title(_)),
            text=_("{met} of {count} pairs met this round.", met=met, count=len(groups)),
        )
