"""Pulse: an anonymous check of the team climate (psychological safety) on a 1-5 scale."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rituals.i18n import Translator
from rituals.kinds.base import MAX_ANONYMOUS_TEXT, KindDefaults, PlanContext, scale_input
from rituals.library import PULSE_STATEMENTS, SCALE_LABELS
from rituals.ports import TeamView
from rituals.types import Input, InputKind


class Pulse(KindDefaults):
    key = "pulse"
    anonymous = True
    shared = False
    default_open = timedelta(days=2)

    def plan(self, ctx: PlanContext) -> dict[str, Any]:
        return {"statements": [s.key for s in PULSE_STATEMENTS]}

    def title(self, _: Translator) -> str:
        return _("Team climate pulse")

    def intro(self, content: dict[str, Any], team: TeamView, _: Translator) -> str:
        return _(
            "How do you experience our team right now? "
            "Score each statement from 1 (strongly disagree) to 5 (strongly agree)."
        )

    def inputs(self, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
        keys = content.get("statements") or [s.key for s in PULSE_STATEMENTS]
        chosen = [s for s in PULSE_STATEMENTS if s.key in keys]
        low, high = _(SCALE_LABELS.low_label), _(SCALE_LABELS.high_label)
        return tuple(scale_input(s.key, _(s.text), _, low, high) for s in chosen) + (
            Input(
                key="comment",
                label=_("Anything you want to add?"),
                kind=InputKind.TEXT,
                optional=True,
                max_length=MAX_ANONYMOUS_TEXT,
            ),
        )
