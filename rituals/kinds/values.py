"""Values: each member picks the three values that guide their work; the team sees its profile."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rituals.i18n import Translator
from rituals.kinds.base import KindDefaults, PlanContext
from rituals.library import VALUES
from rituals.ports import TeamView
from rituals.types import Input, InputKind, Option
from rituals.year import core_values


def value_options(extra: list[Any], _: Translator) -> tuple[Option, ...]:
    """The library's values and the team's own (``values add``), as the round planned them."""
    return tuple(Option(value=v.key, label=_(v.name)) for v in VALUES) + tuple(
        Option(value=f"own:{name}", label=str(name)) for name in extra
    )


def round_values(content: dict[str, Any], _: Translator) -> tuple[Option, ...]:
    """The values a round offers: the team's core values when the round was planned with them
    (``core``), else every value (``value_options``)."""
    core = core_values({"core_values": content.get("core") or []})
    if not core:
        return value_options(content.get("extra", []), _)
    return tuple(Option(value=v.key or f"own:{v.name}", label=v.label(_)) for v in core)


def core_line(content: dict[str, Any], _: Translator) -> str:
    """The core values a round was planned with, and what the team means by each, in one line."""
    core = core_values({"core_values": content.get("core") or []})
    shown = "; ".join(f"{v.label(_)} ({v.meaning})" if v.meaning else v.label(_) for v in core)
    return _("Our core values: {values}", values=shown) if core else ""


class Values(KindDefaults):
    key = "values"
    anonymous = False
    shared = True
    default_open = timedelta(days=3)

    def plan(self, ctx: PlanContext) -> dict[str, Any]:
        return {"extra": list(ctx.team.settings.get("values", []))}

    def title(self, _: Translator) -> str:
        return _("Our values")

    def intro(self, content: dict[str, Any], team: TeamView, _: Translator) -> str:
        return _("Which three values guide your work in this team?")

    def inputs(self, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
        options = value_options(content.get("extra", []), _)
        return (
            Input(key="values", label=_("Pick three values"), kind=InputKind.MULTI, options=options, max_choices=3),
        )
