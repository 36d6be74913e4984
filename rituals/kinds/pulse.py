"""Pulse: an anonymous look at the team's psychological safety on a 1-5 scale.

The full round asks Edmondson's seven items (``rituals.library.PULSE_STATEMENTS``, reviewed
there against the 1999 items), three of them reverse-worded; the short variant (``add pulse-short
...``) asks three of them, for a monthly look, and says so in its title.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rituals.i18n import Translator
from rituals.kinds.base import MAX_ANONYMOUS_TEXT, KindDefaults, PlanContext, scale_input
from rituals.library import EARLIER_PULSE_STATEMENTS, PULSE_STATEMENTS, SCALE_LABELS, SHORT_PULSE
from rituals.ports import TeamView
from rituals.types import Input, InputKind

SHORT = "short"  # the ritual option ``variant`` of the short pulse


class Pulse(KindDefaults):
    key = "pulse"
    anonymous = True
    shared = False
    default_open = timedelta(days=2)

    def plan(self, ctx: PlanContext) -> dict[str, Any]:
        if ctx.options.get("variant") == SHORT:
            return {"statements": list(SHORT_PULSE), "variant": SHORT}
        return {"statements": [s.key for s in PULSE_STATEMENTS]}

    def title(self, _: Translator) -> str:
        return _("Team climate pulse")

    def intro(self, content: dict[str, Any], team: TeamView, _: Translator) -> str:
        if content.get("variant") == SHORT:
            lead = _("Short team pulse: three of the seven statements on how safe our team is, for a quick look.")
        else:
            lead = _("How safe is our team to speak up, ask and try? Seven statements, after Edmondson (1999).")
        return lead + " " + _("Score each statement from 1 (strongly disagree) to 5 (strongly agree).")

    def scale_name(self, content: dict[str, Any], _: Translator) -> str:
        """What the mean of the round's items is called in its results."""
        if content.get("variant") == SHORT:
            return _("Short team pulse (mean of 3 statements)")
        if set(content.get("statements") or ()) <= {s.key for s in EARLIER_PULSE_STATEMENTS}:
            return ""  # a round of the earlier pulse: its items were no one scale
        return _("Psychological safety (mean of the 7 statements)")

    def inputs(self, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
        keys = content.get("statements") or [s.key for s in PULSE_STATEMENTS]
        chosen = [s for s in (*PULSE_STATEMENTS, *EARLIER_PULSE_STATEMENTS) if s.key in keys]
        low, high = _(SCALE_LABELS.low_label), _(SCALE_LABELS.high_label)
        items = tuple(scale_input(s.key, _(s.text), _, low, high, reverse=s.reverse) for s in chosen)
        return items + (
            Input(
                key="comment",
                label=_("Anything you want to add?"),
                kind=InputKind.TEXT,
                optional=True,
                max_length=MAX_ANONYMOUS_TEXT,
            ),
        )
