"""Prompts as Adaptive Cards, and card submissions back as the values the engine validates."""

from __future__ import annotations

from dataclasses import replace

from adapters.teams.cards import parse_submit, prompt_card
from rituals.types import Input, InputKind, Option, Prompt


def prompt(**extra: object) -> Prompt:
    options = (Option(value="a", label="Alpha"), Option(value="b", label="Beta"))
    fields: dict = {
        "occurrence_id": 7,
        "ritual_id": 2,
        "kind": "pulse",
        "title": "#2 Pulse",
        "intro": "How is it going?",
        "context": "Anonymous.",
        "anonymous": True,
        "inputs": (
            Input(key="mood", label="Mood", kind=InputKind.SCALE, low_label="bad", high_label="great"),
            Input(key="pick", label="Pick one", kind=InputKind.CHOICE, options=options),
            Input(key="many", label="Pick some", kind=InputKind.MULTI, options=options, max_choices=2, optional=True),
            Input(key="why", label="Why?", kind=InputKind.TEXT, optional=True),
        ),
    }
    fields.update(extra)
    return Prompt(**fields)


def test_inputs_render_as_adaptive_card_inputs() -> None:
    card = prompt_card(prompt())
    assert card["version"] == "1.5"
    inputs = {b["id"]: b for b in card["body"] if b["type"].startswith("Input.")}
    mood, pick, many, why = inputs["q.mood"], inputs["q.pick"], inputs["q.many"], inputs["q.why"]
    assert mood["type"] == "Input.ChoiceSet" and mood["style"] == "expanded"
    assert [c["value"] for c in mood["choices"]] == ["1", "2", "3", "4", "5"]
    assert "bad" in mood["choices"][0]["title"] and "great" in mood["choices"][4]["title"]
    assert pick["type"] == "Input.ChoiceSet" and not pick.get("isMultiSelect") and pick["isRequired"]
    assert many["isMultiSelect"] is True and many["isRequired"] is False
    assert why["type"] == "Input.Text" and why["isMultiline"]
    action = card["actions"][0]
    assert action["type"] == "Action.Submit"
    assert action["data"]["ritme"] == "answer" and action["data"]["occurrence_id"] == 7


def test_a_submission_becomes_neutral_values() -> None:
    data = dict(prompt_card(prompt())["actions"][0]["data"])
    data.update({"q.mood": "4", "q.pick": "a", "q.many": "a,b", "q.why": "fine"})
    assert parse_submit(data) == (7, {"mood": "4", "pick": "a", "many": ["a", "b"], "why": "fine"})
    assert parse_submit({"something": "else"}) is None
    assert parse_submit({"ritme": "answer", "occurrence_id": "x"}) is None


def test_a_submission_with_an_id_beyond_the_database_is_none() -> None:
    assert parse_submit({"ritme": "answer", "occurrence_id": 2**63 - 1}) == (2**63 - 1, {})
    for huge in (2**63, -(2**63) - 1, 10**30, str(10**30), float("inf")):
        assert parse_submit({"ritme": "answer", "occurrence_id": huge}) is None


def test_a_closed_prompt_has_no_inputs() -> None:
    card = prompt_card(prompt(closed=True, answer_label="This round has closed"))
    assert "actions" not in card
    assert not [b for b in card["body"] if b["type"].startswith("Input.")]


def test_a_1on1_card_names_the_colleague_and_has_them_chosen() -> None:
    names = ("Anna", "Bram", "Chris", "Dana", "Eva", "Fien", "Gijs", "Hans", "Ilse")
    colleague = Input(
        key="colleague",
        label="Colleague",
        kind=InputKind.CHOICE,
        options=tuple(Option(value=str(i), label=n) for i, n in enumerate(names, start=1)),
    )
    p = prompt(inputs=(colleague, Input(key="appreciation", label="What?", kind=InputKind.TEXT)))
    card = prompt_card(
        p,
        lead="You are asked to appreciate **Bram**.",
        note="Everyone gets a 1:1 chat.",
        initial={"colleague": "2", "appreciation": "ignored"},
    )
    texts = [b.get("text") for b in card["body"] if b["type"] == "TextBlock"]
    assert "You are asked to appreciate **Bram**." in texts
    assert "Anonymous. · Everyone gets a 1:1 chat." in texts
    choice = next(b for b in card["body"] if b.get("id") == "q.colleague")
    assert choice["value"] == "2" and choice["style"] == "compact"  # nine colleagues: a dropdown
    text = next(b for b in card["body"] if b.get("id") == "q.appreciation")
    assert "value" not in text
    assert "value" not in next(
        b for b in prompt_card(p, initial={"colleague": "99"})["body"] if b.get("id") == "q.colleague"
    )
    closed = prompt_card(replace(p, closed=True), lead="You are asked to appreciate **Bram**.", note="x")
    assert "Bram" not in str(closed) and "actions" not in closed


def test_a_members_own_answer_fills_the_inputs() -> None:
    p = prompt(
        anonymous=False,
        answered_label="Answer saved. You can change it until the round closes.",
        answered_mark="Answered ✓ · change",
    )
    assert "Answered ✓" not in str(prompt_card(p))
    card = prompt_card(p, answer={"mood": 4, "pick": "b", "many": ["a", "b", "zz"], "why": "fine"})
    assert {
        "type": "TextBlock",
        "text": "Answered ✓ · change",
        "wrap": True,
        "color": "Good",
        "weight": "Bolder",
    } in card["body"]
    values = {b["id"]: b.get("value") for b in card["body"] if b["type"].startswith("Input.")}
    assert values == {"q.mood": "4", "q.pick": "b", "q.many": "a,b", "q.why": "fine"}
    assert card["actions"][0]["data"]["occurrence_id"] == 7
    assert "You can change it" in str(card)
    assert parse_submit({**card["actions"][0]["data"], "q.many": values["q.many"]}) == (7, {"many": ["a", "b"]})
    unknown = prompt_card(p, answer={"pick": "nope"}, initial={"pick": "a"})
    assert next(b for b in unknown["body"] if b.get("id") == "q.pick")["value"] == "a"
