"""The ritual library: enough good questions per theme, and every text translated."""

from __future__ import annotations

import dataclasses
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from rituals import library
from rituals.i18n import catalog_path, translator
from rituals.library import (
    APPRECIATION,
    CHECKOUT,
    GOAL_QUESTIONS,
    PAIRS_PROMPTS,
    PULSE_STATEMENTS,
    QUARTERLY_GOAL_QUESTIONS,
    SCALE_LABELS,
    THEME_ALIASES,
    THEMES,
    VALUES,
    Statement,
    Theme,
    discussion_questions,
    find_theme,
    find_value,
    reflection_questions,
)

EXPECTED_THEMES = {
    "safety",
    "goal",
    "interdependence",
    "learning",
    "meetings",
    "rhythm",
    "values",
    "differences",
    "ownership",
    "happiness",
}
# Texts whose Dutch may equal the English (proper names and the like); keep this short.
SAME_IN_BOTH = frozenset[str]()
YES_NO_OPENERS = (
    "Is ",
    "Are ",
    "Do ",
    "Does ",
    "Did ",
    "Can ",
    "Could ",
    "Have ",
    "Has ",
    "Will ",
    "Would ",
    "Should ",
    "Was ",
    "Were ",
)


def library_msgids() -> list[str]:
    path = Path(library.__file__)
    found = extract_from_file("python", str(path), keywords={"N_": None})
    return [msgid for _lineno, msgid, _comments, _context in found]


def load_catalog(lang: str):
    with catalog_path(lang, "library").open("rb") as fh:
        return read_po(fh)


def catalog_entries(lang: str) -> dict[str, str]:
    return {m.id: m.string for m in load_catalog(lang) if m.id}


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def all_data_texts() -> list[str]:
    """Every text reachable from the library's public data, by walking it."""
    texts: list[str] = []
    for theme in THEMES.values():
        texts += [theme.name, theme.description, *theme.questions, *theme.discussion]
    texts += [s.text for s in (*PULSE_STATEMENTS, *library.EARLIER_PULSE_STATEMENTS)]
    texts += [*library.KICKOFF_QUESTIONS, *library.END_OF_YEAR_QUESTIONS, *library.PERIOD_GOAL_QUESTIONS]
    texts += [library.PERIOD_END_QUESTION, library.PERIOD_END_THEME_QUESTION, library.MIDYEAR_QUESTION]
    texts += [*library.VALUE_QUESTIONS, library.VALUE_QUESTION_WITHOUT_MEANING, *library.REQUIRES]
    texts += [
        CHECKOUT.score_question,
        CHECKOUT.low_label,
        CHECKOUT.high_label,
        CHECKOUT.takeaway_question,
        CHECKOUT.improvement_question,
    ]
    texts += [*GOAL_QUESTIONS, *QUARTERLY_GOAL_QUESTIONS]
    texts += [APPRECIATION.prompt, APPRECIATION.free_prompt, *APPRECIATION.starters]
    texts += [v.name for v in VALUES]
    texts += [*PAIRS_PROMPTS]
    texts += [*SCALE_LABELS.labels, SCALE_LABELS.low_label, SCALE_LABELS.high_label]
    return texts


def all_questions() -> list[str]:
    questions: list[str] = []
    for theme in THEMES.values():
        questions += [*theme.questions, *theme.discussion]
    questions += [*GOAL_QUESTIONS, *QUARTERLY_GOAL_QUESTIONS, *PAIRS_PROMPTS]
    questions += [s.text for s in PULSE_STATEMENTS]
    return questions


# --- Themes ------------------------------------------------------------------------------


def test_the_ten_themes_are_there_under_their_own_key():
    assert EXPECTED_THEMES <= set(THEMES)
    for key, theme in THEMES.items():
        assert theme.key == key
        assert re.fullmatch(r"[a-z]+", key)
        assert theme.name and theme.description


@pytest.mark.parametrize("key", sorted(EXPECTED_THEMES))
def test_every_theme_has_enough_questions(key):
    theme = THEMES[key]
    assert len(theme.questions) >= 6
    assert len(theme.discussion) >= 3


def test_questions_are_open_questions():
    for theme in THEMES.values():
        for question in (*theme.questions, *theme.discussion):
            assert "?" in question, question
            assert not question.startswith(YES_NO_OPENERS), question
    for question in (*GOAL_QUESTIONS, *QUARTERLY_GOAL_QUESTIONS):
        assert question.endswith("?"), question
        assert not question.startswith(YES_NO_OPENERS), question


def test_no_question_appears_twice():
    questions = all_questions()
    assert len(questions) == len(set(questions))
    normalised = [q.casefold().rstrip("?.") for q in questions]
    assert len(normalised) == len(set(normalised))


def test_reflection_and_discussion_helpers():
    assert reflection_questions("safety") == THEMES["safety"].questions
    assert reflection_questions("werkgeluk") == THEMES["happiness"].questions
    assert discussion_questions("goal") == THEMES["goal"].discussion
    with pytest.raises(KeyError):
        reflection_questions("nonsense")
    with pytest.raises(KeyError):
        discussion_questions("nonsense")


# --- find_theme ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(EXPECTED_THEMES))
def test_find_theme_by_key_and_case(key):
    assert find_theme(key) is THEMES[key]
    assert find_theme(key.upper()) is THEMES[key]
    assert find_theme(f"  {key.title()} ") is THEMES[key]


@pytest.mark.parametrize(
    ("word", "key"),
    [
        ("veiligheid", "safety"),
        ("psychologische-veiligheid", "safety"),
        ("Psychologische veiligheid", "safety"),
        ("doel", "goal"),
        ("afhankelijkheid", "interdependence"),
        ("samen-leren", "learning"),
        ("Samen Leren", "learning"),
        ("samen_leren", "learning"),
        ("overleggen", "meetings"),
        ("RITME", "rhythm"),
        ("waarden", "values"),
        ("verschillen", "differences"),
        ("Eigenaarschap", "ownership"),
        ("werkgeluk", "happiness"),
    ],
)
def test_find_theme_by_dutch_alias(word, key):
    assert find_theme(word) is THEMES[key]


def test_find_theme_by_english_name():
    for theme in THEMES.values():
        assert find_theme(theme.name) is theme
        assert find_theme(theme.name.upper()) is theme


def test_find_theme_by_dutch_name():
    nl = translator("nl")
    for theme in THEMES.values():
        assert find_theme(nl(theme.name)) is theme, nl(theme.name)


def test_find_theme_unknown():
    assert find_theme("") is None
    assert find_theme("koffie") is None


def test_aliases_are_normalised_and_point_at_themes():
    for alias, key in THEME_ALIASES.items():
        assert key in THEMES, alias
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", alias), alias


# --- Pulse, check-out, goal, appreciation, values, pairs, scale ----------------------------


def test_pulse_statements():
    assert 5 <= len(PULSE_STATEMENTS) <= 7
    keys = [s.key for s in PULSE_STATEMENTS]
    assert len(keys) == len(set(keys))
    for statement in PULSE_STATEMENTS:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", statement.key)
        assert not statement.text.endswith("?"), "pulse items are statements to agree with"


def test_checkout():
    assert CHECKOUT.score_question.endswith("?")
    assert CHECKOUT.takeaway_question.endswith("?")
    assert CHECKOUT.low_label and CHECKOUT.high_label


def test_goal_questions():
    assert len(GOAL_QUESTIONS) >= 3
    assert len(QUARTERLY_GOAL_QUESTIONS) >= 3


def test_appreciation():
    assert fields(APPRECIATION.prompt) == {"colleague"}
    assert fields(APPRECIATION.free_prompt) == set()
    assert len(APPRECIATION.starters) >= 3


def test_values():
    assert 12 <= len(VALUES) <= 15
    keys = [v.key for v in VALUES]
    assert len(keys) == len(set(keys))
    assert len({v.name for v in VALUES}) == len(VALUES)
    assert find_value("trust") is not None
    assert find_value(" Trust ") == find_value("trust")
    assert find_value("nonsense") is None


def test_pairs_prompts():
    assert len(PAIRS_PROMPTS) >= 6


def test_scale_labels():
    assert len(SCALE_LABELS.labels) == 5
    assert SCALE_LABELS.label(1) == SCALE_LABELS.low_label
    assert SCALE_LABELS.label(5) == SCALE_LABELS.high_label
    with pytest.raises(ValueError):
        SCALE_LABELS.label(0)
    with pytest.raises(ValueError):
        SCALE_LABELS.label(6)


def test_dataclasses_are_frozen_keyword_only_and_slotted():
    theme = THEMES["safety"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        theme.key = "other"  # type: ignore[misc]
    for cls in (
        Theme,
        Statement,
        type(CHECKOUT),
        type(APPRECIATION),
        type(VALUES[0]),
        type(SCALE_LABELS),
    ):
        assert hasattr(cls, "__slots__"), cls
        assert all(f.kw_only for f in dataclasses.fields(cls)), cls
    with pytest.raises(TypeError):
        Statement("key", "text")  # type: ignore[misc]


# --- Catalogs ------------------------------------------------------------------------------


def test_every_text_is_marked_for_translation():
    assert set(all_data_texts()) == set(library_msgids())


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_catalog_header(lang):
    catalog = load_catalog(lang)
    assert catalog.charset.lower() == "utf-8"
    assert str(catalog.locale) == lang


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_msgid_is_translated(lang):
    entries = catalog_entries(lang)
    msgids = library_msgids()
    missing = [m for m in msgids if not entries.get(m)]
    assert not missing, missing
    stale = sorted(set(entries) - set(msgids))
    assert not stale, stale
    fuzzy = [m.id for m in load_catalog(lang) if m.id and m.fuzzy]
    assert not fuzzy, fuzzy


def test_english_catalog_repeats_the_source():
    for msgid, msgstr in catalog_entries("en").items():
        assert msgstr == msgid


def test_dutch_differs_from_english():
    same = {m for m, s in catalog_entries("nl").items() if m == s}
    assert same <= SAME_IN_BOTH, sorted(same)


def test_placeholders_survive_translation():
    for lang in ("nl", "en"):
        for msgid, msgstr in catalog_entries(lang).items():
            assert fields(msgid) == fields(msgstr), (lang, msgid)


def test_translator_looks_up_the_library():
    nl = translator("nl")
    en = translator("en")
    assert nl(THEMES["safety"].name) == "Psychologische veiligheid"
    assert nl(THEMES["learning"].name) == "Samen leren"
    assert en(THEMES["safety"].name) == "Psychological safety"
    assert nl(SCALE_LABELS.label(5)) == "Helemaal mee eens"
    assert "Sarah" in nl(APPRECIATION.prompt, colleague="Sarah")
    assert "{colleague}" not in nl(APPRECIATION.prompt, colleague="Sarah")
    for msgid in library_msgids():
        if msgid not in SAME_IN_BOTH:
            assert nl(msgid) != msgid, msgid


@pytest.mark.parametrize("raw", [{"x": 1}, ["a"], True, None])
def test_a_written_answer_is_text(raw: object) -> None:
    """A client may send any JSON; only text (or a number typed as one) answers a written question."""
    from rituals.kinds.base import AnswerError, validate
    from rituals.types import Input, InputKind

    question = (Input(key="answer", label="What went well?", kind=InputKind.TEXT),)
    with pytest.raises(AnswerError):
        validate(question, {"answer": raw})
    assert validate(question, {"answer": " Calm week "}) == {"answer": "Calm week"}
    assert validate(question, {"answer": 42}) == {"answer": "42"}


def test_figures_are_written_as_the_language_writes_them() -> None:
    assert translator("nl").decimal(3.5) == "3,5" and translator("nl").decimal(1.0, sign=True) == "+1,0"
    assert translator("en").decimal(3.5) == "3.5" and translator("en").decimal(-1.0, sign=True) == "-1.0"
