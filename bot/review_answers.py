"""The review page's answers: per ritual its latest rounds, named answers as they were
given, an anonymous round as totals and written answers in random order, from its
thresholds up (``bot.review_page`` puts it on the page)."""

from __future__ import annotations

import random

from bot.export import Report, aggregates, format_value, ritual_title
from bot.html import esc, section
from rituals.answers import WHO_READS
from rituals.former import readable
from rituals.i18n import Translator
from rituals.kinds.base import words_threshold
from rituals.types import Input, InputKind
from rituals.visibility import round_visibility, who_reads
from storage.queries import NamedAnswer, Round

RECENT_ROUNDS = 3  # rounds per ritual shown before the fold


def named_block(report: Report, round_: Round, _: Translator) -> str:
    """One question: a list of names and answers. Several: a table, one column per question."""
    inputs = report.inputs(round_, _)
    answers = report.named.get(round_.occurrence_id, [])
    if not answers:
        return f'<p class="empty">{esc(_("Nobody answered this time."))}</p>'
    asked = [item for item in inputs if any(item.key in a.values for a in answers)]
    if len(asked) == 1:
        item = asked[0]
        items = "".join(
            f'<li><span class="who">{esc(a.member_name)}</span> '
            f'<span class="text">{esc(format_value(item, a.values[item.key], _))}</span></li>'
            for a in answers
            if item.key in a.values
        )
        return f'<ul class="answers">{items}</ul>'

    def num(item: Input) -> str:
        return ' class="num"' if item.kind is InputKind.SCALE else ""

    def cell(item: Input, a: NamedAnswer) -> str:
        value = esc(format_value(item, a.values[item.key], _)) if item.key in a.values else ""
        return f'<td{num(item)} data-label="{esc(item.label)}">{value}</td>'

    head = f"<th>{esc(_('Member'))}</th>" + "".join(f"<th{num(item)}>{esc(item.label)}</th>" for item in asked)
    rows = "".join(
        f'<tr><td class="who">{esc(a.member_name)}</td>{"".join(cell(item, a) for item in asked)}</tr>' for a in answers
    )
    return (
        f'<div class="scroll"><table class="answers-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


def anonymous_block(report: Report, round_: Round, _: Translator, rng: random.Random) -> str:
    if round_.answered == 0:
        return f'<p class="empty">{esc(_("Nobody answered this time."))}</p>'
    figures = aggregates(report, _, round_)
    totals = report.anonymous.get(round_.occurrence_id)
    if totals is None or totals.answered < max(report.team.anonymity_threshold, 1):
        too_few = _(
            "Too few answers to show results: at least {threshold} are needed to keep answers anonymous.",
            threshold=report.team.anonymity_threshold,
        )
        return f'<p class="empty">{esc(too_few)}</p>'
    rows = "".join(
        f"<tr><td>{esc(a.statement)}</td>"
        f'<td class="num" data-label="{esc(_("Average"))}">{_.decimal(a.average)}</td></tr>'
        for a in figures
    )
    head = f'<tr><th>{esc(_("Statement"))}</th><th class="num">{esc(_("Average"))}</th></tr>'
    written = totals.texts
    texts: list[str] = []
    for item in report.inputs(round_, _):
        if item.kind is InputKind.TEXT:
            texts += written.get(item.key, [])
    rng.shuffle(texts)
    comments = (
        f'<ul class="answers anonymous">{"".join(f"<li>{esc(readable(t, _))}</li>" for t in texts)}</ul>'
        if texts
        else ""
    )
    least = words_threshold(report.team.anonymity_threshold)
    if round_.answered < least and any(item.kind is InputKind.TEXT for item in report.inputs(round_, _)):
        comments = (
            f'<p class="empty">{esc(_("Written answers show only when at least {least} answered.", least=least))}</p>'
        )
    if not figures:  # a round that asked only in words (an anonymous reflection)
        return comments
    return (
        f'<div class="scroll"><table class="figures"><thead>{head}</thead><tbody>{rows}</tbody></table></div>{comments}'
    )


def round_summary(report: Report, round_: Round, _: Translator) -> str:
    day = _.day(report.day(round_.planned_at), year=True)
    inputs = report.inputs(round_, _)
    question = inputs[0].label if len(inputs) == 1 and inputs[0].kind is InputKind.TEXT else ""
    took = _("{answered} of {invited} answered", answered=round_.answered, invited=report.invited_for(round_))
    return " · ".join(p for p in (day, question, took) if p)


def answers_section(report: Report, _: Translator, rng: random.Random) -> str:
    """Per ritual the latest rounds, the newest closed one unfolded; older rounds folded together."""
    blocks = []
    for ritual in report.rituals.values():
        rounds = [r for r in report.rounds if r.ritual_id == ritual.id and r.status in ("open", "closed")]
        if not rounds:
            continue
        anonymous = any(report.is_anonymous(r) for r in rounds)
        details = []
        unfolded = False
        for round_ in reversed(rounds):
            if round_.status == "open" and not anonymous and not report.named.get(round_.occurrence_id):
                body = f'<p class="empty">{esc(_("Nobody has answered yet."))}</p>'
            elif round_.status == "open" and anonymous:
                so_far = _(
                    "{answered} of {invited} answered; revealed when the round closes.",
                    answered=round_.answered,
                    invited=report.invited_for(round_),
                )
                body = f'<p class="empty">{esc(so_far)}</p>'
            elif report.is_anonymous(round_):
                body = anonymous_block(report, round_, _, rng)
            else:  # team and leaders alike: this page is for leaders and admins
                body = named_block(report, round_, _)
            unfold = round_.status == "closed" and not unfolded
            unfolded = unfolded or unfold
            details.append(
                f"<details{' open' if unfold else ''}><summary>{esc(round_summary(report, round_, _))}</summary>"
                f"{body}</details>"
            )
        recent, older = details[:RECENT_ROUNDS], details[RECENT_ROUNDS:]
        if older:
            recent.append(
                f'<details class="earlier"><summary>{esc(_("Earlier rounds ({n})", n=len(older)))}</summary>'
                f"{''.join(older)}</details>"
            )
        level = round_visibility(ritual.kind, rounds[-1].content)  # as the latest round's card said
        note = f'<p class="lead who-reads">{esc(who_reads(level, report.team.anonymity_threshold, _))}</p>'
        if anonymous:
            note += f'<p class="lead">{esc(_("Anonymous: totals only, answers in random order."))}</p>'
        blocks.append(
            f'<div class="ritual-answers"><h3>{esc(ritual_title(ritual, _))}</h3>{note}{"".join(recent)}</div>'
        )
    body = "".join(blocks) or f'<p class="empty">{esc(_("No rounds yet."))}</p>'
    return section("answers", _("Answers"), body, intro=_(WHO_READS))
