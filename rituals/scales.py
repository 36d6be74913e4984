"""Scores on the 1..5 agree scale: reverse-worded items, a scale's mean, and when a change
between two rounds is more than chance.

Why here: the pulse's scale mean and the change shown next to any score (check-out, pulse)
must follow one rule, written once and tested on its own.

The change rule. A round's mean is an estimate: with few answers it moves a lot from round to
round even when nothing changed in the team. A change is shown only when it is larger than
twice its standard error, ``|d| > 2 * sqrt(s1²/n1 + s2²/n2)`` (``s`` the sample standard
deviation, ``n`` the number of answers of each round): about the 95% bound of a Welch test. The
two rounds are treated as independent samples; the same people answering both makes the true
error of the difference smaller, so the rule errs on the side of showing nothing. A round of
fewer than two answers has no spread to estimate, so nothing is compared with it.
"""

from __future__ import annotations

from math import sqrt
from statistics import mean, stdev

SCALE_MAX = 5  # a 1..5 agree scale: a reverse-worded item scores 6 - answer
CHANCE_FACTOR = 2.0  # standard errors a change must exceed to be shown


def scored(answer: int, *, reverse: bool) -> int:
    """The score an answer counts for in the scale: reverse-worded items turned around."""
    if not 1 <= answer <= SCALE_MAX:
        raise ValueError(f"score out of range: {answer}")
    return SCALE_MAX + 1 - answer if reverse else answer


def scale_means(answers: list[dict[str, int]], reverse: dict[str, bool]) -> list[float]:
    """Each answer's mean over the scale's items (``reverse``: item key -> reverse-worded),
    reverse-worded items scored as such; an answer without any of the items is left out."""
    out = []
    for values in answers:
        items = [scored(int(values[key]), reverse=rev) for key, rev in reverse.items() if key in values]
        if items:
            out.append(mean(items))
    return out


def clear_change(now: list[float], before: list[float]) -> float | None:
    """The change of the mean from ``before`` to ``now`` when it exceeds what chance gives at
    these numbers of answers (see the module's docstring); None when it does not."""
    if len(now) < 2 or len(before) < 2:
        return None
    delta = mean(now) - mean(before)
    error = sqrt(stdev(now) ** 2 / len(now) + stdev(before) ** 2 / len(before))
    return delta if abs(delta) > CHANCE_FACTOR * error else None
