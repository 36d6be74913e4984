"""Check-out: after a meeting, a 1-5 score and what each member takes with them (anonymous by default)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rituals.i18n import Translator
from rituals.kinds.base import KindDefaults, PlanContext, scale_input
from rituals.library import CHECKOUT
from rituals.ports import TeamView
from rituals.types import Input, InputKind


class Checkout(KindDefaults):
    key = "checkout"
    # Anonymous by default: a meeting's score is about the meeting its teamleider chaired, and
    # a score the chair reads with a name on it gets inflated (README, "Who reads an answer").
    anonymous = True
    shared = False
    default_open = timedelta(hours=4)

    def plan(self, ctx: PlanContext) -> dict[str, Any]:
        return {}

    def title(self, _: Translator) -> str:
        return _("Meeting check-out")

    def intro(self, content: dict[str, Any], team: TeamView, _: Translator) -> str:
        return _("Before we go: how was this meeting for you?")

    def inputs(self, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
        return (
            scale_input("score", _(CHECKOUT.score_question), _, _(CHECKOUT.low_label), _(CHECKOUT.high_label)),
            Input(key="takeaway", label=_(CHECKOUT.takeaway_question), kind=InputKind.TEXT),
            Input(key="better", label=_(CHECKOUT.improvement_question), kind=InputKind.TEXT, optional=True),
        )
