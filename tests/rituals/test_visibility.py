"""Who reads an answer: the words of the levels, the defaults per kind, the sensitive questions of
the library, a round that keeps its level, and the one line every card says it in."""

from __future__ import annotations

import pytest

from adapters.slack.blocks import prompt_blocks
from adapters.teams.cards import prompt_card
from rituals.i18n import translator
from rituals.kinds import KINDS
from rituals.library import SENSITIVE, THEMES
from rituals.types import Input, InputKind, Prompt
from rituals.visibility import (
    Visibility,
    default_visibility,
    opening_visibility,
    parse_visibility,
    round_visibility,
    who_reads,
)

SAFE = THEMES["learning"].questions[0]
MISTAKE = "Describe a mistake you made recently. Whom did you tell, and how did they respond?"


def test_the_words_of_both_languages_name_the_levels() -> None:
    assert parse_visibility("team") is Visibility.TEAM
    assert parse_visibility("Leaders") is Visibility.LEADERS and parse_visibility("leiding") is Visibility.LEADERS
    assert parse_visibility("ANONYMOUS") is Visibility.ANONYMOUS and parse_visibility("anoniem") is Visibility.ANONYMOUS
    assert parse_visibility("everyone") is None and parse_visibility("") is None


def test_defaults_per_kind() -> None:
    expected = {
        "pulse": Visibility.ANONYMOUS,
        "checkout": Visibility.ANONYMOUS,  # a meeting's score, read by who chaired it, gets inflated
        "reflection": Visibility.TEAM,
        "appreciation": Visibility.TEAM,
        "goal": Visibility.TEAM,
        "values": Visibility.TEAM,
        "pairs": Visibility.LEADERS,
    }
    assert {key: default_visibility(KINDS[key]) for key in expected} == expected
    assert {key for key, kind in KINDS.items() if kind.fixed_visibility} == {"pairs", "digest"}


def test_every_sensitive_mark_is_a_question_of_the_library() -> None:
    asked = {q for theme in THEMES.values() for q in theme.questions}
    assert SENSITIVE <= asked  # a question reworded in its theme must be reworded in the mark
    assert MISTAKE in SENSITIVE and SAFE not in SENSITIVE
    for key in ("safety", "differences"):  # the themes that ask for mistakes, doubts and friction
        assert any(q in SENSITIVE for q in THEMES[key].questions)


@pytest.mark.parametrize(
    ("chosen", "question", "level"),
    [
        (None, SAFE, Visibility.TEAM),
        (None, MISTAKE, Visibility.ANONYMOUS),  # never named in the channel by default
        ("team", MISTAKE, Visibility.TEAM),  # unless the team chose team
        ("leaders", MISTAKE, Visibility.LEADERS),
        ("anonymous", SAFE, Visibility.ANONYMOUS),
        ("leaders", SAFE, Visibility.LEADERS),
    ],
)
def test_a_reflection_opens_with_the_chosen_level_or_a_safe_default(
    chosen: str | None, question: str, level: Visibility
) -> None:
    assert opening_visibility(KINDS["reflection"], chosen, {"question": question}) is level


def test_a_round_keeps_the_level_it_opened_with_and_older_rounds_what_their_kind_did() -> None:
    assert round_visibility("reflection", {"visibility": "leaders"}) is Visibility.LEADERS
    assert round_visibility("checkout", {}) is Visibility.TEAM  # named before levels existed
    assert round_visibility("pulse", {}) is Visibility.ANONYMOUS
    assert round_visibility("pairs", {}) is Visibility.LEADERS
    assert round_visibility("reflection", {"visibility": "nonsense"}) is Visibility.TEAM


@pytest.mark.parametrize("lang", ["en", "nl"])
@pytest.mark.parametrize("level", list(Visibility))
def test_the_line_shows_on_slack_and_teams_cards(lang: str, level: Visibility) -> None:
    _ = translator(lang)
    line = who_reads(level, 4, _)
    assert line and (("4" in line) is (level is Visibility.ANONYMOUS))
    prompt = Prompt(
        occurrence_id=1,
        ritual_id=1,
        kind="reflection",
        title="#1",
        intro="",
        inputs=(Input(key="answer", label="Q", kind=InputKind.TEXT),),
        context=line,
        anonymous=level is Visibility.ANONYMOUS,
        language=lang,
    )
    assert line in str(prompt_blocks(prompt, _))
    assert line in str(prompt_card(prompt))
    assert len({who_reads(v, 4, _) for v in Visibility}) == 3
