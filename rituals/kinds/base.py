"""What every ritual kind provides, and the shared summary of replies."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import mean, pstdev
from typing import Any, Protocol

from rituals.former import readable
from rituals.i18n import Translator
from rituals.ports import ReplyView, TeamView
from rituals.scales import clear_change, scale_means
from rituals.types import Input, InputKind, Notice, Option

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")  # C0 control characters but tab and newline


class AnswerError(ValueError):
    """A reply that does not fit the prompt; ``msgid`` is shown to the member."""

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanContext:
    """What a kind may look at when it decides what an occurrence asks."""

    team: TeamView
    options: dict[str, Any]
    day: date
    history: tuple[dict[str, Any], ...] = ()  # contents of earlier occurrences, newest first
    roster: tuple[tuple[int, str], ...] = ()  # (member id, name) of the team's members
    users: dict[int, str] = field(default_factory=dict)  # member id -> platform user id
    rng: random.Random = field(default_factory=random.Random)
    following: date | None = None  # the day of the ritual's next planned round; None: none planned


class RitualKind(Protocol):
    key: str
    # The default of who reads the answers (``rituals.visibility.default_visibility``), for a
    # ritual whose admin chose no level: anonymous; else the team when shared; else leaders.
    anonymous: bool
    shared: bool  # answers are shown to the team (else: summaries only)
    fixed_visibility: bool  # the level is the kind's own: ``visibility ID ...`` is refused
    default_open: timedelta

    def plan(self, ctx: PlanContext) -> dict[str, Any]:
        """The content of a new occurrence (e.g. which question), stored with it."""
        ...

    def inputs(self, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
        """The questions of the prompt, in the team's language."""
        ...

    def intro(self, content: dict[str, Any], team: TeamView, _: Translator) -> str:
        """The text above the questions."""
        ...

    def title(self, _: Translator) -> str: ...

    # Defaults for these come from ``KindDefaults``.
    remind_fraction: float  # the reminder goes out this share of the window before the close
    private: bool  # the prompt is not posted in the channel; ``groups`` get their own message
    digest: bool  # asks nothing: posts a summary of the team's other rituals

    def groups(self, content: dict[str, Any]) -> list[list[dict[str, Any]]]:
        """Private groups of an occurrence ({id, name, user} each); empty for channel rituals."""
        ...

    def group_notice(
        self, content: dict[str, Any], group: list[dict[str, Any]], team: TeamView, _: Translator
    ) -> Notice:
        """The message a private group gets when the occurrence opens."""
        ...

    def results(self, content: dict[str, Any], replies: list[ReplyView], _: Translator) -> Notice | None:
        """The kind's own results message, or None for the shared summary."""
        ...

    def check(self, content: dict[str, Any], values: dict[str, Any], member_id: int | None) -> None:
        """Refuse (``AnswerError``) a valid answer this member may not give."""
        ...

    def scale_name(self, content: dict[str, Any], _: Translator) -> str:
        """The name of the scale the occurrence's 1..5 items form together (its mean is shown
        first in the results); empty when they form none."""
        ...


class KindDefaults:
    """What most kinds share: a prompt in the channel, a reminder a quarter before the close."""

    remind_fraction = 0.25
    private = False
    digest = False
    fixed_visibility = False

    def groups(self, content: dict[str, Any]) -> list[list[dict[str, Any]]]:
        return []

    def group_notice(
        self, content: dict[str, Any], group: list[dict[str, Any]], team: TeamView, _: Translator
    ) -> Notice:
        raise NotImplementedError("only private kinds have group messages")

    def results(self, content: dict[str, Any], replies: list[ReplyView], _: Translator) -> Notice | None:
        return None

    def check(self, content: dict[str, Any], values: dict[str, Any], member_id: int | None) -> None:
        return None

    def scale_name(self, content: dict[str, Any], _: Translator) -> str:
        return ""


def prompt_inputs(kind: RitualKind, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
    """The kind's questions, preceded by a follow-up on the action the team agreed last time."""
    inputs = kind.inputs(content, team, _)
    action = content.get("action")
    if isinstance(action, dict) and action.get("text"):
        follow_up = Input(
            key="action_followup",
            label=_(
                "Last time we agreed: \u201c{action}\u201d. How did it go?", action=readable(str(action["text"]), _)
            ),
            kind=InputKind.TEXT,
            optional=True,
        )
        return (follow_up, *inputs)
    return inputs


def scale_input(key: str, label: str, _: Translator, low: str = "", high: str = "", *, reverse: bool = False) -> Input:
    return Input(
        key=key,
        label=label,
        kind=InputKind.SCALE,
        options=tuple(Option(value=str(n), label=str(n)) for n in range(1, 6)),
        low_label=low,
        high_label=high,
        reverse=reverse,
    )


MAX_ANONYMOUS_TEXT = 1000  # characters of all of an anonymous answer's written parts (``storage.answers.seal``)


def validate(inputs: tuple[Input, ...], values: dict[str, Any]) -> dict[str, Any]:
    """Check submitted values against the inputs; return the cleaned values. Written answers
    lose their control characters but tab and newline (PostgreSQL refuses a NUL in text)."""
    clean: dict[str, Any] = {}
    for item in inputs:
        raw = values.get(item.key)
        if item.kind is InputKind.TEXT and isinstance(raw, str):
            raw = CONTROL.sub("", raw).strip()  # only spaces or control characters: no answer
        if raw is None or raw == "" or raw == []:
            if not item.optional:
                raise AnswerError("Please answer: {question}", question=item.label)
            continue
        clean[item.key] = VALIDATORS[item.kind](item, raw)
    if not clean:
        raise AnswerError("Please answer at least one question.")
    return clean


def _scale(item: Input, raw: Any) -> int:
    try:
        score = int(str(raw).strip())
    except ValueError:
        raise AnswerError("A score is a whole number from 1 to 5.") from None
    if not 1 <= score <= 5:
        raise AnswerError("A score is a whole number from 1 to 5.")
    return score


def _text(item: Input, raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):  # a client's JSON object is no answer
        raise AnswerError("Please answer: {question}", question=item.label)
    text = str(raw).strip()
    if len(text) > item.max_length:
        raise AnswerError("That answer is too long (at most {most} characters).", most=item.max_length)
    return text


def _choice(item: Input, raw: Any) -> str:
    allowed = {o.value for o in item.options}
    if str(raw) not in allowed:
        raise AnswerError("Please choose one of the options.")
    return str(raw)


def _multi(item: Input, raw: Any) -> list[str]:
    picked = [str(v) for v in (raw if isinstance(raw, list) else [raw])]
    allowed = {o.value for o in item.options}
    if not picked or any(v not in allowed for v in picked) or len(set(picked)) != len(picked):
        raise AnswerError("Please choose from the options.")
    if len(picked) > item.max_choices:
        raise AnswerError("Choose at most {count}.", count=item.max_choices)
    return picked


# One validator per kind of input: the answer given (not empty) in, the value kept out, or AnswerError.
VALIDATORS: dict[InputKind, Callable[[Input, Any], Any]] = {
    InputKind.SCALE: _scale,
    InputKind.TEXT: _text,
    InputKind.CHOICE: _choice,
    InputKind.MULTI: _multi,
}


WORDS_FLOOR = 5  # written answers of an anonymous round need more company than scores


def words_threshold(threshold: int) -> int:
    """From how many answers the written answers of an anonymous round show: words say more
    about who wrote them than a score does, so survey tools show comments only from five
    answers (scores from three); the team's own threshold when it is higher."""
    return max(WORDS_FLOOR, threshold)


def _scores(item: Input, answers: list[Any], previous: list[ReplyView] | None, _: Translator) -> str:
    """Average and spread of a scale, and the change since the previous round when it is more
    than chance (``rituals.scales.clear_change``)."""
    scores = [int(a) for a in answers]
    value = _("average {avg}, spread {spread}", avg=_.decimal(mean(scores)), spread=_.decimal(pstdev(scores)))
    before = [int(r.values[item.key]) for r in previous or [] if item.key in r.values]
    delta = clear_change([float(s) for s in scores], [float(b) for b in before])
    if delta is not None:
        value += " " + _("(change {delta})", delta=_.decimal(delta, sign=True))
    return value


def _scale_mean(
    inputs: tuple[Input, ...], replies: list[ReplyView], previous: list[ReplyView] | None, _: Translator
) -> str:
    """The mean of a multi-item scale over everyone who answered, reverse-worded items scored as
    such, and its change since the previous round when that is more than chance."""
    reverse = {item.key: item.reverse for item in inputs if item.kind is InputKind.SCALE}
    now = scale_means([r.values for r in replies], reverse)
    if not now:
        return ""
    value = _("{avg} (from 1 to 5; higher is safer)", avg=_.decimal(mean(now)))
    delta = clear_change(now, scale_means([r.values for r in previous or []], reverse))
    if delta is not None:
        return value + " " + _("(change {delta})", delta=_.decimal(delta, sign=True))
    if previous:
        return value + " " + _("(no change beyond chance since the previous round)")
    return value


def _choices(item: Input, answers: list[Any], _: Translator) -> str:
    """How often each option was chosen, most chosen first."""
    labels = {o.value: o.label for o in item.options}
    counts: Counter[str] = Counter()
    for a in answers:
        counts.update(a if isinstance(a, list) else [a])
    return ", ".join(f"{readable(labels.get(k, k), _)} ({n})" for k, n in counts.most_common())


def _written(
    item: Input, replies: list[ReplyView], anonymous: bool, rng: random.Random | None, _: Translator
) -> list[str]:
    """The written answers to one question: shuffled and without names when anonymous."""
    if anonymous:
        texts = [readable(str(r.values[item.key]), _) for r in replies if item.key in r.values]
        (rng or random.Random()).shuffle(texts)
        return [f"• {t}" for t in texts]
    named = [(r.member_name, r.values[item.key]) for r in replies if item.key in r.values]
    return [f"• {name}: {readable(str(text), _)}" for name, text in named]


def field_line(label: str, value: str) -> str:
    """A result as one line of text: "label: value", or, after a label that ends a sentence
    (a statement, a question), the value as the next one: "…even if it might fail. Average 3.8"."""
    if label.endswith((".", "?", "!")):
        return f"{label} {value[:1].upper()}{value[1:]}"
    return f"{label}: {value}"


def summarise(
    *,
    inputs: tuple[Input, ...],
    replies: list[ReplyView],
    anonymous: bool,
    shared: bool,
    invited: int,
    threshold: int,
    _: Translator,
    rng: random.Random | None = None,
    previous: list[ReplyView] | None = None,
    scale: str = "",
) -> Notice:
    """The results of one occurrence, as a team reads them together. ``scale`` names the
    scale its 1..5 items form together (the pulse): its mean comes first."""
    count = len(replies)
    lines: list[str] = []
    fields: list[tuple[str, str]] = []
    participation = _("{answered} of {invited} answered", answered=count, invited=max(invited, count))
    if count == 0:
        return Notice(title=_("Results"), text=_("Nobody answered this time."), footer=participation)
    if anonymous and count < threshold:
        return Notice(
            title=_("Results"),
            text=_(
                "Too few answers to show results: at least {threshold} are needed to keep answers anonymous.",
                threshold=threshold,
            ),
            footer=participation,
        )
    mean_of_scale = _scale_mean(inputs, replies, previous, _) if scale else ""
    if mean_of_scale:
        fields.append((scale, mean_of_scale))
    for item in inputs:
        answers = [r.values[item.key] for r in replies if item.key in r.values]
        if not answers:
            continue
        if item.kind is InputKind.SCALE:
            fields.append((item.label, _scores(item, answers, previous, _)))
        elif item.kind in (InputKind.CHOICE, InputKind.MULTI):
            fields.append((item.label, _choices(item, answers, _)))
        elif anonymous and count < words_threshold(threshold):
            least = words_threshold(threshold)
            fields.append((item.label, _("Written answers show only when at least {least} answered.", least=least)))
        elif shared or anonymous:
            lines.append(f"*{item.label}*\n" + "\n".join(_written(item, replies, anonymous, rng, _)))
        else:
            fields.append((item.label, _.ngettext("{n} written answer", "{n} written answers", len(answers))))
    return Notice(title=_("Results"), text="\n\n".join(lines), fields=tuple(fields), footer=participation)
