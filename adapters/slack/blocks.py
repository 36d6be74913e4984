"""Neutral prompts and notices out as Block Kit; Slack's modal state in as neutral values.

Pure functions only: no client, no I/O. Slack's size limits (header 150, modal title 24,
option text 75, section 3000 characters) are applied here so that a long question never
turns into an ``invalid_blocks`` error at delivery time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rituals.i18n import Translator
from rituals.kinds.base import AnswerError, validate
from rituals.types import Input, InputKind, Notice, Prompt

if TYPE_CHECKING:
    from adapters.slack.inbound import HomeRound

ANSWER_ACTION = "ritme_answer"  # the button that opens the modal (the App Home's: ritme_answer_N); value: occurrence id
SCALE_ACTION = "ritme_scale_"  # quick scale buttons ritme_scale_1..5; value: JSON
MODAL_CALLBACK = "ritme_answer_modal"  # view_submission; private_metadata: JSON
INPUT_ACTION = "value"  # every input element's action_id; its block_id names the input
FOLLOW_UP = "action_followup"  # the input asking how the agreed action went (rituals.kinds.base.prompt_inputs)


def clip(text: str, limit: int) -> str:
    """Slack refuses over-long texts; cut them with an ellipsis instead."""
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def mrkdwn(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, limit) or " "}


def escape(text: str) -> str:
    """Text as mrkdwn shows it literally: a question never turns into a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_date(when: datetime) -> str:
    """A time Slack shows in each reader's own timezone (with a UTC fallback)."""
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def quick_scale(prompt: Prompt) -> Input | None:
    """The prompt's one scale input when it is the only thing required, else None."""
    scales = [i for i in prompt.inputs if i.kind is InputKind.SCALE]
    required = [i for i in prompt.inputs if not i.optional]
    if len(scales) == 1 and all(i is scales[0] for i in required) and required:
        return scales[0]
    return None


def thread_input(prompt: Prompt) -> Input | None:
    """The text input a thread reply answers: only for named prompts asking one text."""
    required = [i for i in prompt.inputs if not i.optional]
    if prompt.anonymous or len(required) != 1 or required[0].kind is not InputKind.TEXT:
        return None
    return required[0]


def question_blocks(prompt: Prompt) -> list[dict[str, Any]]:
    """What a posted prompt asks in words: its required written questions in bold, then the
    follow-up on the action the team agreed. The rest (scales, choices, optional remarks)
    the form shows; a reply in the thread answers the first of these."""
    asked = [i for i in prompt.inputs if i.kind is InputKind.TEXT and not i.optional]
    follow_up = [i for i in prompt.inputs if i.key == FOLLOW_UP and i.kind is InputKind.TEXT]
    blocks = [{"type": "section", "text": mrkdwn(f"*{escape(clip(i.label, 2900))}*")} for i in asked[:5]]
    blocks += [{"type": "section", "text": mrkdwn(escape(clip(i.label, 2900)))} for i in follow_up]
    return blocks


def prompt_blocks(
    prompt: Prompt, _: Translator, *, assigned: str | None = None, note: str = ""
) -> list[dict[str, Any]]:
    """A posted prompt: header, intro, the questions, who sees the answers, and the ways to
    answer. A closed prompt keeps its questions: the thread under it stays readable.

    ``assigned`` names the colleague a direct message asks this member to appreciate;
    ``note`` is one more line of context (e.g. that everyone gets a direct message).
    """
    blocks: list[dict[str, Any]] = [{"type": "header", "text": plain(prompt.title, 150)}]
    if prompt.intro:
        blocks.append({"type": "section", "text": mrkdwn(prompt.intro)})
    if assigned and not prompt.closed:
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn(
                    _(
                        "This round you are asked to appreciate *{name}*. "
                        "You can appreciate another colleague in the form too.",
                        name=clip(assigned, 200),
                    )
                ),
            }
        )
    blocks += question_blocks(prompt)
    context = [prompt.context] if prompt.context else []
    if note and not prompt.closed:
        context.append(note)
    if prompt.closes_at and not prompt.closed:
        context.append(_("Closes {when}", when=slack_date(prompt.closes_at)))
    if context:
        blocks.append({"type": "context", "elements": [mrkdwn(" · ".join(context), 2000)]})
    if prompt.closed:
        blocks.append(
            {"type": "context", "elements": [mrkdwn(prompt.answer_label or _("This round has closed"), 2000)]}
        )
        return blocks
    return blocks + _scale_blocks(prompt) + _answer_blocks(prompt, _)


def _answer_blocks(prompt: Prompt, _: Translator) -> list[dict[str, Any]]:
    """The button that opens the answer form, and the hint that a thread reply answers too."""
    blocks: list[dict[str, Any]] = []
    blocks.append(
        {
            "type": "actions",
            "block_id": "ritme_answer",
            "elements": [
                {
                    "type": "button",
                    "action_id": ANSWER_ACTION,
                    "style": "primary",
                    "text": plain(prompt.answer_label or _("Answer"), 75),
                    "value": str(prompt.occurrence_id),
                }
            ],
        }
    )
    if thread_input(prompt) is not None:
        blocks.append(
            {
                "type": "context",
                "elements": [mrkdwn(_("You can also answer by replying in this message's thread."), 2000)],
            }
        )
    return blocks


def _scale_blocks(prompt: Prompt) -> list[dict[str, Any]]:
    """The buttons that answer a one-scale prompt in one click (``quick_scale``), or none."""
    scale = quick_scale(prompt)
    if scale is None:
        return []
    blocks: list[dict[str, Any]] = []
    blocks.append({"type": "section", "text": mrkdwn(f"*{escape(clip(scale.label, 2900))}*")})
    blocks.append(
        {
            "type": "actions",
            "block_id": "ritme_scale",
            "elements": [
                {
                    "type": "button",
                    "action_id": f"{SCALE_ACTION}{n}",
                    "text": plain(str(n), 75),
                    "value": json.dumps({"o": prompt.occurrence_id, "k": scale.key, "v": n}),
                }
                for n in range(1, 6)
            ],
        }
    )
    if scale.low_label or scale.high_label:
        blocks.append(
            {"type": "context", "elements": [mrkdwn(f"1 = {scale.low_label} · 5 = {scale.high_label}", 2000)]}
        )
    return blocks


def _options(item: Input) -> list[dict[str, Any]]:
    options = []
    for o in item.options:
        label = o.label
        if item.kind is InputKind.SCALE and o.value == "1" and item.low_label:
            label = f"1 · {item.low_label}"
        elif item.kind is InputKind.SCALE and o.value == "5" and item.high_label:
            label = f"5 · {item.high_label}"
        options.append({"text": plain(label, 75), "value": clip(o.value, 150)})
    return options


def input_element(item: Input, initial: Any = None) -> dict[str, Any]:
    """Text → multiline input; scale and choice → radio (select when long); multi → checkboxes.
    ``initial`` fills it in: the text, the option of a scale or choice by value, the options
    of a multi by values (those that are among its options)."""
    if item.kind is InputKind.TEXT:
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": INPUT_ACTION,
            "multiline": True,
            "max_length": item.max_length,
        }
        if isinstance(initial, str) and initial:
            element["initial_value"] = initial[: item.max_length]
        return element
    options = _options(item)
    if item.kind in (InputKind.SCALE, InputKind.CHOICE):
        kind = "radio_buttons" if len(options) <= 10 else "static_select"
        element = {"type": kind, "action_id": INPUT_ACTION, "options": options[:100]}
        chosen = [o for o in element["options"] if initial is not None and o["value"] == str(initial)]
        if chosen:
            element["initial_option"] = chosen[0]
        return element
    if len(options) <= 10:
        element = {"type": "checkboxes", "action_id": INPUT_ACTION, "options": options}
    else:
        element = {
            "type": "multi_static_select",
            "action_id": INPUT_ACTION,
            "options": options[:100],
            "max_selected_items": max(1, item.max_choices),
        }
    wanted = {str(v) for v in initial} if isinstance(initial, list) else set()
    picked = [o for o in element["options"] if o["value"] in wanted]
    if picked:
        element["initial_options"] = picked
    return element


def block_id(item: Input) -> str:
    return f"in_{item.key}"


def modal_view(
    prompt: Prompt, channel_id: str, _: Translator, initial: dict[str, Any] | None = None, *, answered: bool = False
) -> dict[str, Any]:
    """The answer form; the occurrence, the channel, the team's language and whether the round
    is anonymous travel in ``private_metadata``.
    ``initial`` fills the inputs by key (the colleague a member was assigned, or the member's
    own earlier answer); ``answered``: they answered, and the form says it changes that."""
    initial = initial or {}
    blocks: list[dict[str, Any]] = []
    title = prompt.title
    if len(title) > 24:  # Slack's limit for a modal title: the full title heads the form instead
        words = title.split()
        title = (
            " ".join(words[:2]) if title.startswith("#") and len(" ".join(words[:2])) <= 24 else title[:23] + "\u2026"
        )
        blocks.append({"type": "header", "text": plain(prompt.title, 150)})
    if answered and prompt.answered_mark:  # first under the title: this form changes an answer
        blocks.append({"type": "context", "elements": [mrkdwn(prompt.answered_mark, 2000)]})
    if prompt.intro:
        blocks.append({"type": "section", "text": mrkdwn(prompt.intro)})
    if prompt.context:
        blocks.append({"type": "context", "elements": [mrkdwn(prompt.context, 2000)]})
    for item in prompt.inputs:
        label = item.label
        if item.kind is InputKind.MULTI and item.max_choices > 1:
            label = f"{label} ({_('Choose at most {count}.', count=item.max_choices)})"
        blocks.append(
            {
                "type": "input",
                "block_id": block_id(item),
                "label": plain(label, 2000),
                "optional": item.optional,
                "element": input_element(item, initial.get(item.key)),
            }
        )
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "private_metadata": json.dumps(
            {"o": prompt.occurrence_id, "c": channel_id, "l": prompt.language} | ({"a": 1} if prompt.anonymous else {})
        ),
        "title": plain(title, 24),
        "submit": plain(_("Submit"), 24),
        "close": plain(_("Cancel"), 24),
        "blocks": blocks,
    }


def first_input_block(view: dict[str, Any]) -> str | None:
    """The form's first required input (else its first input): where a refusal that concerns
    no single input is shown."""
    inputs = [b for b in view.get("blocks") or [] if b.get("type") == "input" and b.get("block_id")]
    required = [b for b in inputs if not b.get("optional")]
    return str((required or inputs)[0]["block_id"]) if inputs else None


# Always answered: checking one input next to it, an optional input left empty is no refusal.
_ANSWERED = Input(key="\x00answered", label="", kind=InputKind.TEXT, optional=True)


def refused_input(inputs: tuple[Input, ...], values: dict[str, Any]) -> Input | None:
    """The input an answer is refused for, with the engine's own checks in the engine's
    order; None when the refusal is about none of them (a closed round, nothing answered)."""
    for item in inputs:
        given = {item.key: values[item.key]} if item.key in values else {}
        try:
            validate((item, _ANSWERED), {**given, _ANSWERED.key: "x"})
        except AnswerError:
            return item
    return None


def notice_view(title: str, text: str, _: Translator, *, mark: str = "") -> dict[str, Any]:
    """A modal that only says something (the answer is saved, the round closed meanwhile),
    with a close button; ``mark``, under it: that the member has answered ("Answered ✓ · change")."""
    blocks: list[dict[str, Any]] = [{"type": "section", "text": mrkdwn(text)}]
    if mark:
        blocks.append({"type": "context", "elements": [mrkdwn(mark, 2000)]})
    return {"type": "modal", "title": plain(title, 24), "close": plain(_("Close"), 24), "blocks": blocks}


def form_title(view: dict[str, Any]) -> str:
    """The submitted form's title, for the view that takes its place."""
    title = view.get("title")
    text = title.get("text") if isinstance(title, dict) else None
    return text if isinstance(text, str) and text.strip() else "Ritme"


def view_values(view: dict[str, Any]) -> dict[str, Any]:
    """The submitted modal state as {input key: str | list[str]}; empty fields are left out."""
    values: dict[str, Any] = {}
    state = (view.get("state") or {}).get("values") or {}
    for bid, actions in state.items():
        if not bid.startswith("in_"):
            continue
        element = (actions or {}).get(INPUT_ACTION) or {}
        key = bid[3:]
        if "selected_options" in element:
            picked = [o.get("value") for o in element.get("selected_options") or []]
            if picked:
                values[key] = picked
        elif "selected_option" in element:
            if element["selected_option"]:
                values[key] = element["selected_option"].get("value")
        elif element.get("value"):
            values[key] = element["value"]
    return values


def notice_blocks(notice: Notice) -> list[dict[str, Any]]:
    """A notice: header, text, fields (in pairs of ten, Slack's limit), context footer."""
    blocks: list[dict[str, Any]] = []
    if notice.title:
        blocks.append({"type": "header", "text": plain(notice.title, 150)})
    if notice.text:
        blocks.append({"type": "section", "text": mrkdwn(notice.text)})
    fields = [mrkdwn(f"*{clip(label, 300)}*\n{clip(value, 1600)}", 2000) for label, value in notice.fields]
    for start in range(0, min(len(fields), 400), 10):
        blocks.append({"type": "section", "fields": fields[start : start + 10]})
    if notice.footer:
        blocks.append({"type": "context", "elements": [mrkdwn(notice.footer, 2000)]})
    return blocks[:50]


def notice_text(notice: Notice) -> str:
    """The plain fallback shown in notifications and by screen readers."""
    parts = [p for p in (notice.title, notice.text) if p]
    return clip("\n".join(parts) or notice.footer or " ", 3000)


def home_buttons(rounds: Sequence[HomeRound]) -> list[dict[str, Any]]:
    """The App Home's buttons that open the forms of a team's open rounds (the answer button of
    a posted prompt, ``ANSWER_ACTION``): at most 25, Slack's limit for one actions block."""
    if not rounds:
        return []
    buttons = [
        {
            "type": "button",
            "action_id": f"{ANSWER_ACTION}_{r.occurrence_id}",  # unique in the block; the value says which
            "text": plain(r.label, 75),
            "value": str(r.occurrence_id),
        }
        | ({} if r.answered else {"style": "primary"})
        for r in rounds[:25]
    ]
    return [{"type": "actions", "elements": buttons}]
