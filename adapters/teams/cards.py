"""Neutral prompts and notices as Adaptive Cards, and card submissions back as neutral values.

Cards use schema version 1.5 (what Teams renders on desktop, web and mobile). Input ids are
prefixed so that they can never collide with the submit data's own keys.
"""

from __future__ import annotations

from typing import Any

from rituals.types import DB_IDS, Input, InputKind, Notice, Prompt

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
INPUT_PREFIX = "q."
SUBMIT_MARK = "ritme"
SCALE = ("1", "2", "3", "4", "5")
EXPANDED_MAX = 8  # more options than this become a dropdown


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if actions:
        card["actions"] = actions
    return card


def teams_words(text: str) -> str:
    """Commands as Teams users type them: '@Ritme list', not Slack's '/ritme list'."""
    return text.replace("/ritme ", "@Ritme ")


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": teams_words(text), "wrap": True, **style}


def _given(item: Input, answer: Any) -> str | None:
    """A member's answer to one input as the input's ``value``; None when it is not one."""
    if item.kind is InputKind.TEXT:
        return answer[: item.max_length] if isinstance(answer, str) and answer else None
    if item.kind is InputKind.SCALE:
        return str(answer) if str(answer) in SCALE else None
    options = {o.value for o in item.options}
    if item.kind is InputKind.MULTI:
        chosen = answer.split(",") if isinstance(answer, str) else answer if isinstance(answer, list) else []
        picked = [str(v) for v in chosen if str(v) in options]
        return ",".join(picked) if picked else None
    return str(answer) if str(answer) in options else None


def _input(item: Input, initial: str | None = None, answer: Any = None) -> list[dict[str, Any]]:
    """One question: its label and the Adaptive Card input that answers it, with ``initial``
    chosen already when it is one of the options, or filled with the member's own ``answer``."""
    ident = INPUT_PREFIX + item.key
    common: dict[str, Any] = {"id": ident, "label": item.label, "isRequired": not item.optional}
    given = _given(item, answer) if answer is not None else None
    if given is not None:
        common["value"] = given
    if item.kind is InputKind.TEXT:
        return [{"type": "Input.Text", "isMultiline": True, "maxLength": item.max_length, **common}]
    if item.kind is InputKind.SCALE:
        choices = []
        for value in SCALE:
            title = value
            if value == "1" and item.low_label:
                title = f"1 · {item.low_label}"
            elif value == "5" and item.high_label:
                title = f"5 · {item.high_label}"
            choices.append({"title": title, "value": value})
        return [{"type": "Input.ChoiceSet", "style": "expanded", "choices": choices, **common}]
    choices = [{"title": o.label, "value": o.value} for o in item.options]
    # A long list (a colleague out of a whole team) is a dropdown, not a wall of radio buttons.
    style = "expanded" if len(choices) <= EXPANDED_MAX else "compact"
    block: dict[str, Any] = {"type": "Input.ChoiceSet", "style": style, "choices": choices, **common}
    if item.kind is InputKind.MULTI:
        block["isMultiSelect"] = True
    if given is None and initial is not None and any(o.value == initial for o in item.options):
        block["value"] = initial
    return [block]


def prompt_card(
    prompt: Prompt,
    *,
    footer: str = "",
    lead: str = "",
    note: str = "",
    initial: dict[str, str] | None = None,
    answer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A prompt as a card: header, intro, who sees the answers, the inputs and a submit button.

    ``lead`` is a line for this reader alone, under the intro (the colleague a 1:1 card asks
    them to appreciate); ``note`` is one more line of context (that everyone gets a 1:1 chat);
    ``initial`` preselects options by input key. ``answer`` is the reader's own answer, by
    input key: it fills the inputs and the prompt's ``answered_mark`` shows under them, so a
    member's 1:1 card after answering shows what they said and can send a change. A closed
    prompt keeps its question but loses its inputs, the lead and the note, so nobody answers
    in vain.
    """
    body: list[dict[str, Any]] = [_text(prompt.title, size="Medium", weight="Bolder", style="heading")]
    if prompt.intro:
        body.append(_text(prompt.intro))
    if prompt.closed:
        body.extend(_text(item.label, weight="Bolder") for item in prompt.inputs)
        body.append(_text(prompt.answer_label, isSubtle=True))
        return _card(body)
    if lead:
        body.append(_text(lead))
    body.append(_text(" · ".join(t for t in (prompt.context, note) if t), isSubtle=True, size="Small"))
    for item in prompt.inputs:
        body.extend(_input(item, (initial or {}).get(item.key), (answer or {}).get(item.key)))
    if answer is not None:
        body.extend(_answered(prompt))
    if footer:
        body.append(_text(footer, isSubtle=True, size="Small"))
    submit = {
        "type": "Action.Submit",
        "title": prompt.answer_label,
        "style": "positive",
        "data": {
            SUBMIT_MARK: "answer",
            "occurrence_id": prompt.occurrence_id,
            "multi": [item.key for item in prompt.inputs if item.kind is InputKind.MULTI],
        },
    }
    return _card(body, [submit])


def answered_card(prompt: Prompt) -> dict[str, Any]:
    """What a member's own (1:1) copy of a prompt shows after they answered, when the answer
    cannot be changed (anonymous): the questions and that it was saved, no inputs."""
    body: list[dict[str, Any]] = [_text(prompt.title, size="Medium", weight="Bolder", style="heading")]
    if prompt.intro:
        body.append(_text(prompt.intro))
    body.extend(_text(item.label, weight="Bolder") for item in prompt.inputs)
    body.extend(_answered(prompt))
    return _card(body)


def _answered(prompt: Prompt) -> list[dict[str, Any]]:
    """What a member's own card says once they answered: the mark every platform shows
    ("Answered ✓ · change", or "Answered ✓" when it cannot be changed), then what that means."""
    if not prompt.answered_mark:
        return [_text("✓ " + prompt.answered_label, color="Good")]
    return [_text(prompt.answered_mark, color="Good", weight="Bolder"), _text(prompt.answered_label, isSubtle=True)]


def notice_card(notice: Notice) -> dict[str, Any]:
    """Results, summaries and command answers: a title, text, a fact list and a footer."""
    body: list[dict[str, Any]] = []
    if notice.title:
        body.append(_text(notice.title, size="Medium", weight="Bolder", style="heading"))
    if notice.text:
        body.append(_text(notice.text))
    if notice.fields:
        body.append(
            {"type": "FactSet", "facts": [{"title": teams_words(a), "value": teams_words(b)} for a, b in notice.fields]}
        )
    if notice.footer:
        body.append(_text(notice.footer, isSubtle=True, size="Small"))
    return _card(body or [_text(" ")])


def attachment(card: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": CARD_CONTENT_TYPE, "content": card}


def parse_submit(data: Any) -> tuple[int, dict[str, Any]] | None:
    """(occurrence id, values by input key) of a Ritme card submission, else None (an
    occurrence id beyond the database's range included: no card of Ritme carries one).

    Multi-select choice sets arrive as one comma-separated string; they become lists here.
    """
    if not isinstance(data, dict) or data.get(SUBMIT_MARK) != "answer":
        return None
    try:
        occurrence_id = int(data["occurrence_id"])
    except (KeyError, TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        return None
    if occurrence_id not in DB_IDS:
        return None
    given = data.get("multi")
    multi: list[Any] = given if isinstance(given, list) else []
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if isinstance(key, str) and key.startswith(INPUT_PREFIX):
            name = key.removeprefix(INPUT_PREFIX)
            if name in multi and isinstance(raw, str):
                raw = [v for v in raw.split(",") if v]
            values[name] = raw
    return occurrence_id, values
