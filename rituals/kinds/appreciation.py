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


def round_roster(content: dict[str, Any]) -> list[tuple[int, str]]:
    """(member id, name) of an appreciation round, as the engine planned it."""
    out = []
    for entry in content.get("roster") or []:
        try:
            out.append((int(entry[0]), str(entry[1])))
        except (TypeError, ValueError, IndexError):
            continue
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
        }

    def title(self, _: Translator) -> str:
        return _("Appreciation round")

    def intro(self, content: dict[str, Any], team: TeamView, _: Translator) -> str:
        starters = " / ".join(_(s) for s in APPRECIATION.starters[:3])
        return (
            _(APPRECIATION.free_prompt)
            + " "
            + _("Answers stay private until the round closes. For example: {starters}", starters=starters)
            + ("\n" + core_line(content, _) if content.get("core") else "")
        )

    def inputs(self, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
        # Someone forgotten since the round opened is no longer offered (their entry is the
        # marker; answers about them show it as "a former colleague").
        roster = [entry for entry in content.get("roster") or [] if not is_former(entry[0])]
        colleague = (
            Input(
                key="colleague",
                label=_("Colleague"),
                kind=InputKind.CHOICE,
                options=tuple(Option(value=str(mid), label=str(name)) for mid, name in roster),
            )
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
        return (colleague, Input(key="appreciation", label=_("What do you value in them?"), kind=InputKind.TEXT), value)

    def check(self, content: dict[str, Any], values: dict[str, Any], member_id: int | None) -> None:
        if member_id is not None and str(values.get("colleague")) == str(member_id):
            raise AnswerError(N_("Choose a colleague other than yourself."))

    def results(self, content: dict[str, Any], replies: list[ReplyView], _: Translator) -> Notice | None:
        """The round as one message: per colleague what others value in them."""
        if not replies:
            return Notice(title=_("{title}: results", title=self.title(_)), text=_("Nobody answered this time."))
        names = {str(mid): str(name) for mid, name in content.get("roster") or []}
        values = {o.value: o.label for o in round_values(content, _)}
        by_colleague: dict[str, list[str]] = {}
        for reply in replies:
            chosen = str(reply.values.get("colleague", ""))
            colleague = readable(names.get(chosen, chosen), _)
            text = readable(str(reply.values.get("appreciation", "")), _)
            line = f"\u201c{text}\u201d \u2014 {reply.member_name}"
            if reply.values.get("value") in values:
                line += " (" + values[reply.values["value"]] + ")"
            by_colleague.setdefault(colleague, []).append(line)
        text = "\n\n".join(
            f"*{who}*\n" + "\n".join(f"\u2022 {line}" for line in lines) for who, lines in sorted(by_colleague.items())
        )
        return Notice(
            title=_("{title}: results", title=self.title(_)),
            text=text,
            footer=_.ngettext("{n} appreciation in this round", "{n} appreciations in this round", len(replies)),
        )
