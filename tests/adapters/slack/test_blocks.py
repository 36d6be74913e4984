"""Block Kit rendering: quick scale buttons, closed prompts, the modal and its state."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from adapters.slack.blocks import (
    first_input_block,
    modal_view,
    prompt_blocks,
    quick_scale,
    refused_input,
    thread_input,
    view_values,
)
from rituals.i18n import translator
from rituals.kinds.base import scale_input
from rituals.types import Input, InputKind, Option, Prompt

_ = translator("en")


def prompt(*inputs: Input, closed: bool = False, anonymous: bool = False) -> Prompt:
    return Prompt(
        occurrence_id=7,
        ritual_id=1,
        kind="x",
        title="#1 Check",
        intro="How was it?",
        inputs=inputs,
        context="Seen by leaders",
        anonymous=anonymous,
        closed=closed,
        closes_at=datetime(2026, 3, 2, 12, tzinfo=UTC),
        answer_label="Answer",
    )


def test_one_scale_gets_quick_buttons() -> None:
    p = prompt(
        scale_input("score", "Score", _, "bad", "good"), Input(key="c", label="C", kind=InputKind.TEXT, optional=True)
    )
    assert quick_scale(p) is not None
    buttons = [e for b in prompt_blocks(p, _) if b["type"] == "actions" for e in b["elements"]]
    assert [e["action_id"] for e in buttons] == [f"ritme_scale_{n}" for n in range(1, 6)] + ["ritme_answer"]
    assert json.loads(buttons[3]["value"]) == {"o": 7, "k": "score", "v": 4}


def test_no_quick_buttons_when_more_is_required_and_none_when_closed() -> None:
    p = prompt(scale_input("score", "Score", _), Input(key="t", label="T", kind=InputKind.TEXT))
    assert quick_scale(p) is None and thread_input(p) is None
    closed = prompt(Input(key="t", label="T", kind=InputKind.TEXT), closed=True)
    assert all(b["type"] != "actions" for b in prompt_blocks(closed, _))
    assert thread_input(prompt(Input(key="t", label="T", kind=InputKind.TEXT), anonymous=True)) is None


def test_modal_elements_and_state() -> None:
    many = tuple(Option(value=str(n), label=f"Name {n}") for n in range(12))
    p = prompt(
        Input(key="t", label="T", kind=InputKind.TEXT),
        scale_input("s", "S", _),
        Input(key="c", label="C", kind=InputKind.CHOICE, options=many),
        Input(key="m", label="M", kind=InputKind.MULTI, options=many[:4], max_choices=2, optional=True),
    )
    view = modal_view(p, "C1", _)
    elements = {b["block_id"]: b["element"]["type"] for b in view["blocks"] if b["type"] == "input"}
    assert elements == {
        "in_t": "plain_text_input",
        "in_s": "radio_buttons",
        "in_c": "static_select",
        "in_m": "checkboxes",
    }
    assert len(view["title"]["text"]) <= 24
    state = {
        "view": None,
        "state": {
            "values": {
                "in_t": {"value": {"type": "plain_text_input", "value": "hi"}},
                "in_s": {"value": {"type": "radio_buttons", "selected_option": {"value": "3"}}},
                "in_c": {"value": {"type": "static_select", "selected_option": None}},
                "in_m": {"value": {"type": "checkboxes", "selected_options": [{"value": "1"}, {"value": "2"}]}},
            }
        },
    }
    assert view_values(state) == {"t": "hi", "s": "3", "m": ["1", "2"]}


def test_a_direct_message_names_the_colleague_and_the_form_chooses_them() -> None:
    colleague = Input(
        key="colleague",
        label="Colleague",
        kind=InputKind.CHOICE,
        options=(Option(value="4", label="Anna"), Option(value="9", label="Bram")),
    )
    p = prompt(colleague, Input(key="appreciation", label="What?", kind=InputKind.TEXT))
    shown = json.dumps(prompt_blocks(p, _, assigned="Bram", note="Everyone gets a DM"))
    assert "*Bram*" in shown and "Everyone gets a DM" in shown
    view = modal_view(p, "D1", _, {"colleague": "9"})
    element = next(b["element"] for b in view["blocks"] if b.get("block_id") == "in_colleague")
    assert element["initial_option"] == {"text": {"type": "plain_text", "text": "Bram", "emoji": True}, "value": "9"}
    unknown = modal_view(p, "D1", _, {"colleague": "77"})  # not an option: nothing chosen
    assert all("initial_option" not in b.get("element", {}) for b in unknown["blocks"])
    closed = prompt(colleague, closed=True)
    assert "Bram" not in json.dumps(prompt_blocks(closed, _, assigned="Bram"))


def test_a_posted_prompt_shows_its_written_questions_and_the_follow_up() -> None:
    follow_up = Input(
        key="action_followup",
        label="Last time we agreed: \u201cread\u201d. How did it go?",
        kind=InputKind.TEXT,
        optional=True,
    )
    asked = Input(key="answer", label="What helps <!channel> & you?", kind=InputKind.TEXT)
    remark = Input(key="more", label="Anything else?", kind=InputKind.TEXT, optional=True)
    sections = [b["text"]["text"] for b in prompt_blocks(prompt(follow_up, asked, remark), _) if b["type"] == "section"]
    assert sections == [
        "How was it?",
        "*What helps &lt;!channel&gt; &amp; you?*",
        "Last time we agreed: \u201cread\u201d. How did it go?",
    ]  # escaped: no mention, no link
    closed = prompt(asked, closed=True)  # the record under the thread keeps its question
    assert "*What helps &lt;!channel&gt; &amp; you?*" in json.dumps(prompt_blocks(closed, _))


def test_the_refused_input_is_the_one_the_engine_checks_first() -> None:
    follow_up = Input(key="action_followup", label="F", kind=InputKind.TEXT, optional=True)
    asked = Input(key="answer", label="A", kind=InputKind.TEXT)
    score = scale_input("score", "S", _)
    inputs = (follow_up, asked, score)
    assert refused_input(inputs, {"answer": "  ", "score": "3"}) is asked
    assert refused_input(inputs, {"action_followup": "ok", "score": "3"}) is asked
    assert refused_input(inputs, {"answer": "fine", "score": "9"}) is score
    assert refused_input(inputs, {"answer": "fine", "score": "3"}) is None  # refused for something else


def test_the_first_required_input_takes_a_refusal_about_no_single_input() -> None:
    view = modal_view(
        prompt(
            Input(key="f", label="F", kind=InputKind.TEXT, optional=True),
            Input(key="t", label="T", kind=InputKind.TEXT),
        ),
        "C1",
        _,
    )
    assert first_input_block(view) == "in_t"
    assert (
        first_input_block(modal_view(prompt(Input(key="f", label="F", kind=InputKind.TEXT, optional=True)), "C1", _))
        == "in_f"
    )


def test_a_long_title_heads_the_form_and_the_modal_title_fits() -> None:
    from dataclasses import replace

    from adapters.slack.blocks import modal_view
    from rituals.i18n import translator
    from rituals.types import Input, InputKind, Prompt

    prompt = Prompt(
        occurrence_id=5,
        ritual_id=2,
        kind="checkout",
        anonymous=False,
        title="#2 Check-out van het overleg",
        intro="",
        context="",
        inputs=(Input(key="score", label="Hoe nuttig?", kind=InputKind.TEXT),),
    )
    view = modal_view(prompt, "C1", translator("nl"))
    assert view["title"]["text"] == "#2 Check-out"
    assert view["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "#2 Check-out van het overleg", "emoji": True},
    }
    short = modal_view(replace(prompt, title="#1 Reflectie"), "C1", translator("nl"))
    assert short["title"]["text"] == "#1 Reflectie" and short["blocks"][0]["type"] == "input"
