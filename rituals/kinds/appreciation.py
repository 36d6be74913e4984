"""Appreciation: everyone names what they value in a colleague; revealed together at the close."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from rituals.former import is_former, readable
from rituals.i18n import N_, Translator
from rituals.kinds.base import AnswerError, KindDefaults, PlanContext
from rituals.kinds.values import core_line, round_values
from rituals.library import APPRECIATION
from rituals.ports import ReplyView, TeamView
from rituals.types import Input, InputKind, Notice, Option


def assign_colleagues(member_ids: Iterable[int], seed: int) -> dict[int, int]:
    """Who is asked to appreciate whom: a random single cycle over the members (a
    derangement in which everyone gives and receives exactly one), the same for the same
    members and seed on every replica. Fewer than two members: nobody is assigned."""
    order = sorted(set(member_ids))
    if len(order) < 2:
        return {}
    random.Random(f"ritme-appreciation-{seed}").shuffle(order)
    return {giver: order[(i + 1) % len(order)] for i, giver in enumerate(order)}


# The answer's keys that hold a colleague's member id: the one appreciated, and the extra one.
COLLEAGUE_KEYS = ("colleague", "also_colleague")


def round_seed(content: dict[str, Any], occurrence_id: int) -> int:
    """What a round's assignment is drawn from: the seed it was planned with, or (a round
    planned before there was one) its occurrence id."""
    seed = content.get("seed")
    return int(seed) if isinstance(seed, int) else occurrence_id


def round_roster(content: dict[str, Any]) -> list[tuple[int, str]]:
    """(member id, name) of an appreciation round, as the engine planned it."""
    out = []
    for entry in content.get("roster") or []:
        try:
            out.append((int(entry[0]), str(entry[1])))
        except (TypeError, ValueError, IndexError):
            continue
    return out


def received(replies: list[ReplyView]) -> dict[str, list[tuple[ReplyView, str, bool]]]:
    """Per colleague (by member id as text) the appreciations they received, as (reply, text,
    whether it is the reply's first one): each reply's one for its assigned colleague, and
    its extra one for another colleague."""
    out: dict[str, list[tuple[ReplyView, str, bool]]] = {}
    for reply in replies:
        for who, what in zip(COLLEAGUE_KEYS, ("appreciation", "also_appreciation"), strict=True):
            chosen, text = reply.values.get(who), reply.values.get(what)
            if chosen not in (None, "") and text not in (None, ""):
                out.setdefault(str(chosen), []).append((reply, str(text), who == "colleague"))
    return out


class Appreciation(KindDefaults):
    """Named answers, shown to the team together when the round closes."""

    key = "appreciation"
    anonymous = False
    shared = True
    default_open = timedelta(days=3)

    def plan(self, ctx: PlanContext) -> dict[str, Any]:
        settings = ctx.team.settings
        return {
            "roster": [list(m) for m in ctx.roster],
            "extra": list(settings.get("values", [])),
            "core": list(settings.get("core_values") or []),
            "seed": ctx.rng.randrange(2**31),  # who appreciates whom (``assign_colleagues``)
        }

    def title(self, _: Translator) -> str:
        return _("Appreciation round")

    def intro(self, content: dict[str, Any], team: TeamView, _: Translator) -> str:
        starters = " / ".join(_(s) for s in APPRECIATION.starters[:3])
        return (
            _(APPRECIATION.free_prompt)
            + " "
            + _("For example: {starters}", starters=starters)
            + ("\n" + core_line(content, _) if content.get("core") else "")
        )

    def inputs(self, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
        # Someone forgotten since the round opened is no longer offered (their entry is the
        # marker; answers about them show it as "a former colleague").
        roster = [entry for entry in content.get("roster") or [] if not is_former(entry[0])]
        options = tuple(Option(value=str(mid), label=str(name)) for mid, name in roster)
        colleague = (
            Input(key="colleague", label=_("Colleague"), kind=InputKind.CHOICE, options=options)
            if roster
            else Input(key="colleague", label=_("Colleague"), kind=InputKind.TEXT)
        )
        value = Input(
            key="value",
            label=_("Which of our values does it show?"),
            kind=InputKind.CHOICE,
            options=round_values(content, _),
            optional=True,
        )
        asked = (
            colleague,
            Input(key="appreciation", label=_("What do you value in them?"), kind=InputKind.TEXT),
            value,
        )
        if not roster:
            return asked
        also = Input(
            key="also_colleague",
            label=_("Another colleague too (optional)"),
            kind=InputKind.CHOICE,
            options=options,
            optional=True,
        )
        also_text = Input(
            key="also_appreciation", label=_("What do you value in that colleague?"), kind=InputKind.TEXT, optional=True
        )
        return (*asked, also, also_text)

    def check(self, content: dict[str, Any], values: dict[str, Any], member_id: int | None) -> None:
        """Everyone receives: a member in the round's roster appreciates the colleague the round
        assigned them (``assign_colleagues``, a cycle through everyone); another colleague is an
        extra, never instead."""
        mine = str(member_id) if member_id is not None else None
        chosen, also = str(values.get("colleague")), values.get("also_colleague")
        if mine is not None and mine in (chosen, str(also)):
            raise AnswerError(N_("Choose a colleague other than yourself."))
        roster = round_roster(content)
        seed = content.get("seed")
        assigned = (
            assign_colleagues([m for m, _n in roster], seed).get(member_id or 0) if isinstance(seed, int) else None
        )
        if assigned is not None and chosen != str(assigned):
            raise AnswerError(
                N_("This round you appreciate {name}; another colleague can go under 'Another colleague too'."),
                name=dict(roster).get(assigned, ""),
            )
        if also is not None and str(also) == chosen:
            raise AnswerError(N_("Choose a different colleague for your second appreciation."))
        if (also is None) != (values.get("also_appreciation") is None):
            raise AnswerError(N_("For a second appreciation, choose the colleague and write what you value in them."))

    def results(self, content: dict[str, Any], replies: list[ReplyView], _: Translator) -> Notice | None:
        """The round as one message: per colleague what others value in them. Only who received
        is named, and no count says how many colleagues that is (nor how many appreciations)."""
        if not replies:
            return Notice(title=_("{title}: results", title=self.title(_)), text=_("Nobody answered this time."))
        names = {str(mid): str(name) for mid, name in content.get("roster") or []}
        values = {o.value: o.label for o in round_values(content, _)}
        by_colleague: dict[str, list[str]] = {}
        for chosen, got in received(replies).items():
            colleague = readable(names.get(chosen, chosen), _)
            for reply, text, first in got:
                line = f"\u201c{readable(text, _)}\u201d"
                if reply.member_id is not None:  # an anonymous round names nobody who gave
                    line += f" \u2014 {reply.member_name}"
                if first and reply.values.get("value") in values:
                    line += " (" + values[reply.values["value"]] + ")"
                by_colleague.setdefault(colleague, []).append(line)
        text = "\n\n".join(
            f"*{who}*\n" + "\n".join(f"\u2022 {line}" for line in lines) for who, lines in sorted(by_colleague.items())
        )
        return Notice(title=_("{title}: results", title=self.title(_)), text=text)
