"""A team's replies as rows: loaded once for the review page, written as CSV for ``export``.

Named answers (rounds at the ``team`` or ``leaders`` level: both page and export are read by
leaders and admins only) are rows per member and question. Anonymous rounds only ever give
aggregates (count and average per statement; for the page also the written answers, without
order), and only for rounds that at least the team's anonymity threshold answered; storage
applies that threshold, and adds up the scores, before anything reaches here. Each round
counts at the level it opened with (``rituals.visibility``).
Answers of rounds that are still open are left out: members were told they are shared
when the round closes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rituals.former import readable
from rituals.i18n import Translator, translator
from rituals.kinds import KINDS
from rituals.kinds.base import prompt_inputs
from rituals.ports import RitualView, TeamView
from rituals.scales import Sample
from rituals.types import Input, InputKind
from rituals.visibility import Visibility, default_visibility, round_visibility
from storage.queries import AnonymousRound, AuditRow, NamedAnswer, Queries, Round

PERIOD = timedelta(days=365)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, kw_only=True, slots=True)
class Report:
    """Everything the page and the export show of one team, for one period."""

    team: TeamView
    since: datetime
    now: datetime
    rituals: dict[int, RitualView]
    rounds: list[Round]  # oldest first
    invited: int
    named: dict[int, list[NamedAnswer]]  # by occurrence
    anonymous: dict[int, AnonymousRound]  # by occurrence, only at or above the threshold
    audit: list[AuditRow]  # newest first
    actions: list[tuple[int, int, str, datetime, int | None]] = field(default_factory=list)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.team.timezone)

    def day(self, when: datetime) -> date:
        return when.astimezone(self.tz).date()

    def invited_for(self, round_: Round) -> int:
        return max(self.invited, round_.answered)

    def is_anonymous(self, round_: Round) -> bool:
        """Whether the round's members answered anonymously (as they were told when it opened)."""
        return _anonymous(self.rituals.get(round_.ritual_id), round_)

    def level(self, ritual_id: int) -> Visibility | None:
        """Who reads the ritual's answers from its next round: chosen, or the kind's default."""
        ritual = self.rituals.get(ritual_id)
        kind = KINDS.get(ritual.kind) if ritual else None
        if ritual is None or kind is None:
            return None
        return Visibility(ritual.visibility) if ritual.visibility else default_visibility(kind)

    def inputs(self, round_: Round, _: Translator) -> tuple[Input, ...]:
        ritual = self.rituals.get(round_.ritual_id)
        kind = KINDS.get(ritual.kind) if ritual else None
        return prompt_inputs(kind, round_.content, self.team, _) if kind else ()


async def load_report(queries: Queries, team: TeamView, now: datetime, period: timedelta | None = PERIOD) -> Report:
    """The team's rituals, rounds and answers of the last ``period`` (None: everything kept).

    One transaction. Anonymous rounds come as totals of the questions they asked, so the
    rounds are read before their answers.
    """
    since = now - period if period is not None else datetime(1970, 1, 1, tzinfo=now.tzinfo)
    async with queries.reading() as read:
        rituals = {r.id: r for r in await read.rituals(team.id)}
        rounds = await read.rounds(team.id, since)
        hidden = [r for r in rounds if _anonymous(rituals.get(r.ritual_id), r)]
        secret = list(dict.fromkeys(r.ritual_id for r in hidden))
        named: dict[int, list[NamedAnswer]] = {}  # a round's named answers: never those of an anonymous one
        for answer in await read.named_answers(list(rituals), since):
            named.setdefault(answer.occurrence_id, []).append(answer)
        scored, written, scale = _questions(team, rituals, hidden)
        anonymous = await read.anonymous_rounds(
            secret, since, team.anonymity_threshold, scored=scored, written=written, scale=scale
        )
        invited = await read.invited_count(team.id)
        audit = await read.audit_log(team.id, since)
        actions = await read.actions(list(rituals))
    return Report(
        team=team,
        since=since,
        now=now,
        rituals=rituals,
        rounds=rounds,
        invited=invited,
        named=named,
        anonymous=anonymous,
        audit=audit,
        actions=actions,
    )


def _anonymous(ritual: RitualView | None, round_: Round) -> bool:
    return ritual is not None and round_visibility(ritual.kind, round_.content) is Visibility.ANONYMOUS


def _questions(
    team: TeamView, rituals: dict[int, RitualView], rounds: list[Round]
) -> tuple[list[str], list[str], dict[str, bool]]:
    """The keys of the scored and of the written questions that ``rounds`` asked, and the items
    of the scales they form (key -> reverse-worded; the pulse's)."""
    _ = translator(team.language)  # the keys are the same in every language
    scored: dict[str, None] = {}
    written: dict[str, None] = {}
    scale: dict[str, bool] = {}
    asked: set[tuple[str, str]] = set()  # a year of rounds asks the same few sets of questions
    for round_ in rounds:
        kind_name = rituals[round_.ritual_id].kind
        same = (kind_name, json.dumps(round_.content, sort_keys=True, default=str))
        if same in asked:
            continue
        asked.add(same)
        named_scale = bool(KINDS[kind_name].scale_name(round_.content, _))
        for item in prompt_inputs(KINDS[kind_name], round_.content, team, _):
            if item.kind is InputKind.SCALE:
                scored[item.key] = None
                if named_scale:
                    scale[item.key] = item.reverse
            elif item.kind is InputKind.TEXT:
                written[item.key] = None
    return list(scored), list(written), scale


def ritual_title(ritual: RitualView | None, _: Translator) -> str:
    if ritual is None:
        return "-"
    kind = KINDS.get(ritual.kind)
    return f"#{ritual.id} {kind.title(_) if kind else ritual.kind}"


def format_value(item: Input, raw: Any, _: Translator) -> str:
    """An answer as text: option labels for choices, the number for a score; someone
    forgotten since (``rituals.former``) as "a former colleague"."""
    labels = {o.value: o.label for o in item.options}
    if isinstance(raw, list):
        return ", ".join(readable(labels.get(str(v), str(v)), _) for v in raw)
    return readable(labels.get(str(raw), str(raw)) if item.kind is not InputKind.TEXT else str(raw), _)


@dataclass(frozen=True, kw_only=True, slots=True)
class AnswerRow:
    day: date
    ritual: RitualView
    member: str
    question: str
    answer: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Aggregate:
    day: date
    ritual: RitualView
    key: str
    statement: str
    count: int
    average: float
    counts: tuple[int, ...] = ()  # how many answered 1..5


def answer_rows(report: Report, _: Translator) -> Iterator[AnswerRow]:
    """One row per named answer and question, rounds oldest first, closed rounds only."""
    for round_ in report.rounds:
        ritual = report.rituals.get(round_.ritual_id)
        if ritual is None or round_.status != "closed" or report.is_anonymous(round_):
            continue
        inputs = report.inputs(round_, _)
        for answer in report.named.get(round_.occurrence_id, []):
            for item in inputs:
                if item.key in answer.values:
                    yield AnswerRow(
                        day=report.day(round_.planned_at),
                        ritual=ritual,
                        member=answer.member_name,
                        question=item.label,
                        answer=format_value(item, answer.values[item.key], _),
                    )


def aggregates(report: Report, _: Translator, round_: Round) -> list[Aggregate]:
    """Count and average per scored statement of one anonymous round; empty below the threshold."""
    totals = report.anonymous.get(round_.occurrence_id)
    ritual = report.rituals.get(round_.ritual_id)
    if ritual is None or totals is None or totals.answered < max(report.team.anonymity_threshold, 1):
        return []
    out = []
    for item in report.inputs(round_, _):
        if item.kind is not InputKind.SCALE:
            continue
        count, total = totals.scores.get(item.key, (0, 0))
        if count >= report.team.anonymity_threshold and count:
            out.append(
                Aggregate(
                    day=report.day(round_.planned_at),
                    ritual=ritual,
                    key=item.key,
                    statement=item.label,
                    count=count,
                    average=total / count,
                    counts=totals.counts.get(item.key, ()),
                )
            )
    return out


def scale_sample(report: Report, round_: Round) -> Sample | None:
    """The scale's mean over the answers of an anonymous round that has one (the pulse) and that
    enough answered: how many, mean and spread of the answers' means."""
    totals = report.anonymous.get(round_.occurrence_id)
    ritual = report.rituals.get(round_.ritual_id)
    kind = KINDS.get(ritual.kind) if ritual else None
    if totals is None or totals.scale is None or kind is None:
        return None
    if not kind.scale_name(round_.content, translator(report.team.language)):
        return None
    n, total, squares = totals.scale
    return Sample.of_sums(n, total, squares) if n >= max(report.team.anonymity_threshold, 1) else None


def aggregate_rows(report: Report, _: Translator) -> Iterator[Aggregate]:
    for round_ in report.rounds:
        if round_.status == "closed" and report.is_anonymous(round_):
            yield from aggregates(report, _, round_)


def number(value: float, lang: str) -> str:
    text = f"{value:.2f}"
    return text.replace(".", ",") if lang == "nl" else text


def _cell(text: str) -> str:
    """A text cell that a spreadsheet will not run as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def export_csv(report: Report, _: Translator) -> bytes:
    """UTF-8 with BOM; ';' for Dutch-speaking teams (their spreadsheets expect it), ',' for English."""
    lang = report.team.language
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if lang == "nl" else ",", lineterminator="\r\n")
    writer.writerow(
        [_("Date"), _("Ritual"), _("Kind"), _("Member"), _("Question"), _("Reply"), _("Count"), _("Average")]
    )
    rows: list[tuple[date, int, list[str]]] = []
    for row in answer_rows(report, _):
        kind = KINDS[row.ritual.kind].title(_)
        rows.append(
            (
                row.day,
                row.ritual.id,
                [
                    row.day.isoformat(),
                    f"#{row.ritual.id}",
                    kind,
                    _cell(row.member),
                    _cell(row.question),
                    _cell(row.answer),
                    "",
                    "",
                ],
            )
        )
    for agg in aggregate_rows(report, _):
        kind = KINDS[agg.ritual.kind].title(_)
        rows.append(
            (
                agg.day,
                agg.ritual.id,
                [
                    agg.day.isoformat(),
                    f"#{agg.ritual.id}",
                    kind,
                    "",
                    _cell(agg.statement),
                    "",
                    str(agg.count),
                    number(agg.average, lang),
                ],
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]))  # stable: answers keep their order within a round
    writer.writerows(r[2] for r in rows)
    return out.getvalue().encode("utf-8-sig")
