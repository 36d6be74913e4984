"""What a round says beyond its kind's own words: its results when its level holds the
answers back, the teamleider's answer it opens with, and a question for the next meeting."""

from __future__ import annotations

import random
from typing import Any

from rituals.former import readable
from rituals.i18n import Translator
from rituals.kinds.base import RitualKind, words_threshold
from rituals.library import THEMES
from rituals.ports import TeamView
from rituals.types import Notice
from rituals.visibility import Visibility


def limited_results(
    kind: RitualKind,
    visibility: Visibility,
    own: Notice | None,
    count: int,
    invited: int,
    team: TeamView,
    _: Translator,
) -> Notice | None:
    """What a round's results say in the channel when its level holds the answers back: for
    ``leaders``, how many answered (a kind with its own fixed level keeps its own results ``own``);
    for an anonymous round of ``count`` answers, too few to show a kind's own results (they are
    words). None: the round's results are the usual ones."""
    participation = _("{answered} of {invited} answered", answered=count, invited=max(invited, count))
    title = _("{title}: results", title=kind.title(_))
    if visibility is Visibility.LEADERS and not kind.fixed_visibility:
        if not count:
            return Notice(title=title, text=_("Nobody answered this time."), footer=participation)
        return Notice(title=title, text=_("Only leaders and admins read these answers."), footer=participation)
    if visibility is Visibility.ANONYMOUS and own is not None and count:
        least = words_threshold(team.anonymity_threshold)
        if count < least:
            return Notice(
                title=title,
                text=_("Written answers show only when at least {least} answered.", least=least),
                footer=participation,
            )
    return None


def first_intro(content: dict[str, Any], _: Translator) -> str:
    """The teamleider's answer a round opens with (``first #N TEXT``), then a blank line."""
    first = content.get("first")
    if not isinstance(first, dict) or not first.get("text"):
        return ""
    name = readable(str(first.get("name") or ""), _) or _("Our teamleider")
    return _("{name} goes first: \u201c{text}\u201d", name=name, text=readable(str(first["text"]), _)) + "\n\n"


DISCUSSION_THEME = {
    "goal": "goal",
    "checkout": "meetings",
    "pulse": "safety",
    "appreciation": "differences",
    "values": "values",
}


def discussion_question(kind: str, content: dict[str, Any], rng: random.Random) -> str | None:
    """A short question from the library for the team's next meeting about these results."""
    theme = THEMES.get(str(content.get("theme") or DISCUSSION_THEME.get(kind, "")))
    return rng.choice(theme.discussion) if theme and theme.discussion else None
