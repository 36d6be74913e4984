"""The team pulse measures what it says: Edmondson's seven items, three reverse-worded and scored
as such, one subject, a scale mean, and changes shown only beyond chance."""

from __future__ import annotations

import random
from datetime import date

import pytest

from rituals.i18n import translator
from rituals.kinds.base import PlanContext, summarise
from rituals.kinds.pulse import Pulse
from rituals.library import EARLIER_PULSE_STATEMENTS, PULSE_STATEMENTS, SHORT_PULSE
from rituals.ports import ReplyView
from rituals.scales import Sample, change_beyond_chance, clear_change, scale_means, scored
from tests.fakes.teams import team_view

TEAM = team_view()
REVERSED = {"mistake_held_against", "left_out_for_difference", "hard_to_ask_help"}


def replies(*answers: dict[str, int]) -> list[ReplyView]:
    return [ReplyView(member_id=None, member_name="", values=dict(a), created_on=date(2027, 1, 1)) for a in answers]


def test_the_seven_items_three_of_them_reverse_worded() -> None:
    assert len(PULSE_STATEMENTS) == 7
    assert {s.key for s in PULSE_STATEMENTS if s.reverse} == REVERSED
    assert not {s.key for s in PULSE_STATEMENTS} & {s.key for s in EARLIER_PULSE_STATEMENTS}  # new meaning, new key


@pytest.mark.parametrize(("lang", "subject"), [("en", "In our team, "), ("nl", "In ons team ")])
def test_one_subject_in_both_languages(lang: str, subject: str) -> None:
    _ = translator(lang)
    assert all(_(s.text).startswith(subject) for s in PULSE_STATEMENTS), [_(s.text) for s in PULSE_STATEMENTS]


@pytest.mark.parametrize(("answer", "expected"), [(1, 5), (2, 4), (3, 3), (4, 2), (5, 1)])
def test_a_reverse_worded_item_scores_six_minus_the_answer(answer: int, expected: int) -> None:
    assert scored(answer, reverse=True) == expected
    assert scored(answer, reverse=False) == answer


def test_a_score_outside_the_scale_is_refused() -> None:
    with pytest.raises(ValueError):
        scored(6, reverse=True)


def test_the_scale_mean_scores_reverse_items_as_such() -> None:
    reverse = {s.key: s.reverse for s in PULSE_STATEMENTS}
    # Agreeing fully with every safe item and disagreeing fully with every unsafe one: all 5.
    safest = {s.key: 1 if s.reverse else 5 for s in PULSE_STATEMENTS}
    # The same answer everywhere says nothing either way: the reversed items pull it to the middle.
    all_fives = {s.key: 5 for s in PULSE_STATEMENTS}
    assert scale_means([safest, all_fives], reverse) == [5.0, pytest.approx((4 * 5 + 3 * 1) / 7)]


def test_the_pulse_results_show_the_scale_mean_first_and_items_as_answered() -> None:
    _ = translator("en")
    pulse = Pulse()
    content = pulse.plan(PlanContext(team=TEAM, options={}, day=date(2027, 1, 11)))
    inputs = pulse.inputs(content, TEAM, _)
    safest = {s.key: 1 if s.reverse else 5 for s in PULSE_STATEMENTS}
    notice = summarise(
        inputs=inputs,
        replies=replies(safest, safest, safest),
        anonymous=True,
        shared=False,
        invited=4,
        threshold=3,
        _=_,
        scale=pulse.scale_name(content, _),
    )
    assert notice.fields[0] == ("Psychological safety (mean of the 7 statements)", "5.0 (from 1 to 5; higher is safer)")
    held_against = _(PULSE_STATEMENTS[0].text)
    assert (held_against, "average 1.0, spread 0.0") in notice.fields  # the item as answered


def test_the_short_pulse_asks_three_and_says_so() -> None:
    _ = translator("en")
    pulse = Pulse()
    content = pulse.plan(PlanContext(team=TEAM, options={"variant": "short"}, day=date(2027, 1, 11)))
    scales = [i for i in pulse.inputs(content, TEAM, _) if i.kind.value == "scale"]
    assert [i.key for i in scales] == [s.key for s in PULSE_STATEMENTS if s.key in SHORT_PULSE]
    assert any(i.reverse for i in scales)
    assert pulse.scale_name(content, _) == "Short team pulse (mean of 3 statements)"
    assert pulse.intro(content, TEAM, _).startswith("Short team pulse")


def test_an_earlier_round_keeps_its_own_statements_and_no_scale() -> None:
    _ = translator("en")
    content = {"statements": [s.key for s in EARLIER_PULSE_STATEMENTS]}
    keys = [i.key for i in Pulse().inputs(content, TEAM, _) if i.kind.value == "scale"]
    assert keys == [s.key for s in EARLIER_PULSE_STATEMENTS]
    assert Pulse().scale_name(content, _) == ""


def test_a_change_shows_only_beyond_twice_its_standard_error() -> None:
    # Six answers a round, 3 and 4 mixed: +0.3 is what chance gives, not a change.
    assert clear_change([4, 4, 3, 4, 3, 4], [3, 4, 3, 4, 3, 3]) is None
    # Everyone moved from 2 to 4: no spread, a clear change.
    assert clear_change([4, 4, 4], [2, 2, 2]) == 2.0
    # The same shift with much spread at three answers: not shown.
    assert clear_change([2, 4, 5], [1, 3, 4]) is None
    # With many answers the same mean shift is clear: SE = sqrt(0.29/30 + 0.29/30) = 0.14.
    many_before, many_now = [3, 4] * 15, [4, 5] * 15
    assert clear_change([float(x) for x in many_now], [float(x) for x in many_before]) == pytest.approx(1.0)
    # One answer has no spread to judge by.
    assert clear_change([5], [1, 1, 1]) is None


def test_the_rule_reads_totals_as_it_reads_scores() -> None:
    """The review page knows an anonymous round only by totals (counts per score, or sums):
    the same samples, so the same changes, as from the scores themselves."""
    scores = [2, 4, 4, 5, 3]
    by_counts = Sample.of_counts((0, 1, 1, 2, 1))
    by_sums = Sample.of_sums(5, float(sum(scores)), float(sum(s * s for s in scores)))
    for sample in (by_counts, by_sums):
        assert sample.n == 5
        assert sample.mean == pytest.approx(3.6)
        assert sample.sd == pytest.approx(Sample.of([float(s) for s in scores]).sd)  # sqrt(5.2 / 4) = 1.14
    assert change_beyond_chance(Sample.of_counts((0, 0, 0, 3, 0)), Sample.of_counts((0, 3, 0, 0, 0))) == 2.0
    assert change_beyond_chance(by_counts, Sample.of_counts((0, 1, 1, 2, 1))) is None
    assert change_beyond_chance(Sample.of_counts((0, 0, 0, 1, 0)), by_counts) is None  # one answer: no spread


def test_the_scale_mean_names_no_change_within_chance() -> None:
    _ = translator("en")
    pulse = Pulse()
    content = pulse.plan(PlanContext(team=TEAM, options={}, day=date(2027, 1, 11), rng=random.Random(1)))
    inputs = pulse.inputs(content, TEAM, _)
    before = [{s.key: (2 if s.reverse else 4) + d for s in PULSE_STATEMENTS} for d in (-1, 0, 1)]
    now = [{s.key: (2 if s.reverse else 4) + d for s in PULSE_STATEMENTS} for d in (0, 1, -1)]
    notice = summarise(
        inputs=inputs,
        replies=replies(*now),
        anonymous=True,
        shared=False,
        invited=4,
        threshold=3,
        _=_,
        previous=replies(*before),
        scale=pulse.scale_name(content, _),
    )
    assert notice.fields[0][1].endswith("(no change beyond chance since the previous round)")
