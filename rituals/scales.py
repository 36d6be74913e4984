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

from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True, kw_only=True, slots=True)
class Sample:
    """A round's scores as far as the change rule needs them: how many, their mean and their
    sample standard deviation. Made from the scores, or from totals where only those may be
    read (an anonymous round: counts per score, or sums)."""

    n: int
    mean: float
    sd: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Sample:
        return cls(n=len(values), mean=mean(values) if values else 0.0, sd=stdev(values) if len(values) > 1 else 0.0)

    @classmethod
    def of_sums(cls, n: int, total: float, squares: float) -> Sample:
        """From the number of values, their sum and the sum of their squares."""
        if n < 2:
            return cls(n=n, mean=total / n if n else 0.0, sd=0.0)
        variance = max(0.0, (squares - total * total / n) / (n - 1))
        return cls(n=n, mean=total / n, sd=sqrt(variance))

    @classmethod
    def of_counts(cls, counts: Sequence[int]) -> Sample:
        """From how many gave each score, ``counts[0]`` the number of 1s."""
        n = sum(counts)
        total = sum(score * c for score, c in enumerate(counts, start=1))
        squares = sum(score * score * c for score, c in enumerate(counts, start=1))
        return cls.of_sums(n, float(total), float(squares))


def change_beyond_chance(now: Sample, before: Sample) -> float | None:
    """The change of the mean from ``before`` to ``now`` when it exceeds what chance gives at
    these numbers of answers (see the module's docstring); None when it does not."""
    if now.n < 2 or before.n < 2:
        return None
    delta = now.mean - before.mean
    error = sqrt(now.sd**2 / now.n + before.sd**2 / before.n)
    return delta if abs(delta) > CHANCE_FACTOR * error else None


def clear_change(now: list[float], before: list[float]) -> float | None:
    """``change_beyond_chance`` of two rounds' scores."""
    return change_beyond_chance(Sample.of(now), Sample.of(before))
