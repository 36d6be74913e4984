"""The command grammar: English and Dutch words, one parse, never an unexpected exception."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import Command, CommandError, parse
from rituals.schedule import parse_schedule


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Command(name="help")),
        ("/ritme help", Command(name="help")),
        ("hulp", Command(name="help")),
        ("lijst", Command(name="list")),
        (
            "add reflection every monday at 09:00",
            Command(name="add", args={"kind": "reflection", "schedule": "every monday at 09:00"}),
        ),
        (
            "toevoegen reflectie elke maandag om 09:00",
            Command(name="add", args={"kind": "reflection", "schedule": "elke maandag om 09:00"}),
        ),
        (
            "add pulse every 2 weeks on friday at 15:00 open 2d",
            Command(name="add", args={"kind": "pulse", "schedule": "every 2 weeks on friday at 15:00 open 2d"}),
        ),
        ("pause #3", Command(name="pause", args={"id": 3})),
        ("pauzeer 3", Command(name="pause", args={"id": 3})),
        ("hervat #3", Command(name="resume", args={"id": 3})),
        ("run #12", Command(name="run", args={"id": 12})),
        ("sluit #2", Command(name="close", args={"id": 2})),
        ("review", Command(name="review")),
        ("terugblik #4", Command(name="review", args={"id": 4})),
        ("goal", Command(name="goal")),
        (
            "doel zet Elke leerling leest met plezier",
            Command(name="goal set", args={"text": "Elke leerling leest met plezier"}),
        ),
        ("language EN", Command(name="language", args={"language": "en"})),
        ("taal nl", Command(name="language", args={"language": "nl"})),
        ("timezone Europe/London", Command(name="timezone", args={"zone": "Europe/London"})),
        (
            "holiday add 2026-12-21..2027-01-01 Kerstvakantie",
            Command(
                name="holiday add", args={"start": date(2026, 12, 21), "end": date(2027, 1, 1), "name": "Kerstvakantie"}
            ),
        ),
        (
            "vakantie toevoegen 21-12-2026..01-01-2027",
            Command(name="holiday add", args={"start": date(2026, 12, 21), "end": date(2027, 1, 1), "name": ""}),
        ),
        ("holiday list", Command(name="holiday list")),
        ("holidays nl", Command(name="holidays", args={"country": "NL"})),
        ("role add leader <@U123|anna>", Command(name="role add", args={"role": "leader", "user": "<@U123|anna>"})),
        ("rol toevoegen beheerder @bram", Command(name="role add", args={"role": "admin", "user": "@bram"})),
        ("question add What surprised you?", Command(name="question add", args={"text": "What surprised you?"})),
        ("thema veiligheid samen-leren", Command(name="theme", args={"themes": ["veiligheid", "samen-leren"]})),
        ("appreciation start 3d", Command(name="appreciation start", args={"duration": "3d"})),
        ("waardering sluit", Command(name="appreciation close")),
        ("vergeet-mij", Command(name="forget-me")),
    ],
)
def test_parses(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "example"),
    [
        ("add", "add reflection every monday at 09:00"),
        ("add dance every monday", "add reflection every monday at 09:00"),
        ("add goal", "add goal every monday at 09:00"),
        ("pause", "pause #1"),
        ("pause #abc", "pause #1"),
        ("holiday add 2026-13-40", "holiday add 2026-12-21..2027-01-01 Christmas"),
        ("holiday add 2027-01-02..2026-12-21", "holiday add 2026-12-21..2027-01-01 Christmas"),
        ("role add boss @x", "role add leader @anna"),
        ("language klingon", "language en"),
        ("nonsense", "help"),
    ],
)
def test_errors_carry_an_example(text: str, example: str) -> None:
    with pytest.raises(CommandError) as err:
        parse(text)
    assert err.value.example == example and err.value.msgid


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=120))
def test_any_text_parses_or_gives_a_clear_error(text: str) -> None:
    try:
        assert isinstance(parse(text), Command)
    except CommandError as err:
        assert err.msgid


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["add", "pause", "role", "holiday", "goal", "language", "appreciation", "theme"]),
    st.text(max_size=60),
)
def test_known_verbs_with_any_arguments(verb: str, rest: str) -> None:
    try:
        parse(f"{verb} {rest}")
    except CommandError:
        pass


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("goal set a\x00b", Command(name="goal set", args={"text": "ab"})),
        ("\x00goal set Read\x07 together", Command(name="goal set", args={"text": "Read together"})),
        (
            "question add What\x1b[31m surprised you?\r",
            Command(name="question add", args={"text": "What[31m surprised you?"}),
        ),
        ("goal set Line one\nline\ttwo", Command(name="goal set", args={"text": "Line one\nline\ttwo"})),
        ("run\x00 #2", Command(name="run", args={"id": 2})),
        ("\x00\x01\x1f", Command(name="help")),
    ],
)
def test_control_characters_are_dropped_but_tab_and_newline(text: str, expected: Command) -> None:
    """No one types them, and PostgreSQL refuses a NUL in text."""
    assert parse(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=80))
def test_no_control_character_but_tab_and_newline_survives_a_parse(text: str) -> None:
    try:
        command = parse("goal set x" + text)
    except CommandError:
        return
    kept = "".join(str(v) for v in command.args.values())
    assert not any(ord(c) < 0x20 and c not in "\t\n" for c in kept)


@pytest.mark.parametrize(
    "example",
    [
        "goal set Every pupil reads with pleasure",
        "question add What surprised you this week?",
        "action add #1 We start every meeting with the goal",
        "holiday add 2026-12-21..2027-01-01 Christmas",
        "add reflection every monday at 09:00",
    ],
)
def test_examples_shown_with_errors_work_in_both_languages(example: str) -> None:
    from rituals.i18n import translator

    english = parse(example)
    dutch = parse(translator("nl")(example))
    assert translator("nl")(example) != example
    assert dutch.name == english.name
    if "schedule" in english.args:
        now, amsterdam = datetime(2026, 11, 22, 12, 0, tzinfo=UTC), ZoneInfo("Europe/Amsterdam")
        assert parse_schedule(dutch.args["schedule"]).next_after(now, amsterdam) == parse_schedule(
            english.args["schedule"]
        ).next_after(now, amsterdam)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("privacy", Command(name="privacy")),
        ("privacy threshold 5", Command(name="privacy threshold", args={"least": 5})),
        ("privacy drempel 3", Command(name="privacy threshold", args={"least": 3})),
        ("privacy retention 2y", Command(name="privacy retention", args={"days": 730})),
        ("privacy bewaartermijn 18 maanden", Command(name="privacy retention", args={"days": 540})),
        ("privacy retention 30d", Command(name="privacy retention", args={"days": 30})),
        ("privacy retention 10 jaar", Command(name="privacy retention", args={"days": 3650})),
    ],
)
def test_privacy_settings_parse(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("privacy threshold 2", "from {low} to {high}"),
        ("privacy threshold 51", "from {low} to {high}"),
        ("privacy threshold five", "least number of answers"),
        ("privacy retention 29d", "30 days to 10 years"),
        ("privacy retention 11y", "30 days to 10 years"),
        ("privacy retention 2 fortnights", "days, weeks, months or years"),
        ("privacy retention", "days, weeks, months or years"),
        ("privacy everything", "Use 'privacy'"),
    ],
)
def test_privacy_settings_out_of_range_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(CommandError) as err:
        parse(text)
    assert reason in err.value.msgid
    parse(err.value.example)  # the example shown parses


def test_help_examples_work_in_both_languages() -> None:
    """The help shows its examples in the team's words: each parses, in Dutch as in English,
    to the same command (``tests/bot/test_registry.py`` checks it is the command they help with)."""
    from bot.commands.registry import COMMANDS
    from rituals.i18n import translator

    dutch = translator("nl")
    for example, _what in (line for spec in COMMANDS.values() for line in spec.help):
        english, translated = parse(example), parse(dutch(example))
        assert english.name == translated.name, (example, dutch(example))
        if english.name == "add":
            now, amsterdam = datetime(2026, 11, 22, 12, 0, tzinfo=UTC), ZoneInfo("Europe/Amsterdam")
            assert parse_schedule(translated.args["schedule"]).next_after(now, amsterdam) == parse_schedule(
                english.args["schedule"]
            ).next_after(now, amsterdam), example


def test_kinds_named_in_help_add_that_kind_in_both_languages() -> None:
    from bot.commands import KIND_WORDS
    from bot.commands.rituals import KIND_WORDS_SHOWN
    from rituals.i18n import translator
    from rituals.kinds import KINDS

    for lang in ("en", "nl"):
        _ = translator(lang)
        assert {KIND_WORDS[_(KIND_WORDS_SHOWN[kind])] for kind in KINDS} == set(KINDS)


@pytest.mark.parametrize(
    ("lang", "typed", "named"),
    [
        ("en", "add dance every monday at 09:00", ["checkout", "pulse-short", "reflection"]),
        ("nl", "toevoegen dans elke maandag om 09:00", ["check-out", "korte-teampuls", "reflectie"]),
    ],
)
def test_an_unknown_kind_is_answered_with_the_kinds_in_the_teams_words_each_of_which_adds_one(
    lang: str, typed: str, named: list[str]
) -> None:
    """A Dutch team is offered the Dutch words (the short pulse among them), and every word
    offered adds a ritual when typed."""
    from rituals.i18n import translator

    _ = translator(lang)
    with pytest.raises(CommandError) as err:
        parse(typed)
    said = _(err.value.msgid, **err.value.params)
    offered = said.rsplit(": ", 1)[1].rstrip(".").split(", ")
    assert set(named) <= set(offered), said
    verb = "toevoegen" if lang == "nl" else "add"
    for word in offered:
        assert parse(f"{verb} {word} every monday at 09:00").name == "add", word


def test_forget_me_with_other_words_is_refused() -> None:
    with pytest.raises(CommandError):
        parse("forget-me x")
    assert parse("vergeet-mij").name == "forget-me"


@pytest.mark.parametrize(
    ("lang", "typed", "example"),
    [
        ("en", 'add pulse cron "0 9 * *"', 'add pulse cron "0 9 * * 1"'),
        ("nl", 'toevoegen pulse cron "0 9 * *"', 'toevoegen teampuls cron "0 9 * * 1"'),
        ("nl", "toevoegen reflectie elke maandag om 25:00", "toevoegen reflectie elke maandag om 09:00"),
        ("nl", "toevoegen check-out elke maandag open 0d", "toevoegen check-out elke maandag om 09:00 open 2d"),
        ("nl", "toevoegen doel elke 0 weken op vrijdag", "toevoegen doel elke 2 weken op vrijdag om 15:00"),
    ],
)
async def test_a_schedule_refused_is_answered_with_an_example_in_the_teams_words_that_works(
    sqlite_url: str, lang: str, typed: str, example: str
) -> None:
    """The example under a refused schedule is the team's own command for the same kind, in
    its language; typed as shown, it adds the ritual."""
    from aiohttp.test_utils import TestClient, TestServer

    from tests.bot.test_review_page import Real, start_real

    app, clock = await start_real(sqlite_url, language=lang)
    async with TestClient(TestServer(app)) as client:
        real = Real(client, app, clock)
        refused = await real.command("anna", typed)
        prefix = "Bijvoorbeeld: /ritme " if lang == "nl" else "For example: /ritme "
        assert refused["footer"] == prefix + example, refused
        added = await real.command("anna", example)
        assert added["title"] != refused["title"], added
        assert len((await real.command("anna", "lijst" if lang == "nl" else "list"))["fields"]) == 1
