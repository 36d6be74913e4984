"""The team review page: one server-rendered HTML report, opened through a signed link.

The page's sections, rendered on the server (``bot.review_web`` serves it). No script, no
third-party request: the charts are inline SVG (``bot.charts``), so the strict
Content-Security-Policy of ``bot.server.guard`` holds.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from datetime import date, datetime, timedelta
from statistics import mean

from bot.audit import audit_section
from bot.charts import bar_chart, line_chart
from bot.export import Report, aggregates, format_value, ritual_title
from bot.html import HEAD_LINKS, esc, format_when, section
from rituals.answers import WHO_READS
from rituals.former import readable
from rituals.i18n import N_, Translator
from rituals.kinds import KINDS
from rituals.kinds.base import words_threshold
from rituals.library import THEMES
from rituals.ports import RitualView
from rituals.schedule import ScheduleError, parse_schedule
from rituals.types import Input, InputKind
from rituals.visibility import NAMES
from storage.queries import NamedAnswer, Round

log = logging.getLogger(__name__)

RECENT_ROUNDS = 3  # rounds per ritual shown before the fold
# The icon travels inside the page (a pulse line on a teal tile): no request beyond the one stylesheet.

MONTHS = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)


# -- wiring ----------------------------------------------------------------------------


# -- routes ----------------------------------------------------------------------------


# -- charts: inline SVG ------------------------------------------------------------------


# -- the page --------------------------------------------------------------------------


def render_page(
    report: Report, _: Translator, *, token: str, expires: datetime, rng: random.Random | None = None
) -> str:
    """The whole page; anonymous texts are shuffled with ``rng`` (a system random by default)."""
    rng = rng or random.SystemRandom()
    team = report.team
    start, end = report.day(report.since), report.day(report.now)
    sections = [
        rituals_section(report, _),
        participation_section(report, _),
        *pulse_sections(report, _, start, end),
        *checkout_sections(report, _, start, end),
        *values_sections(report, _),
        timeline_section(report, _),
        plan_section(report, _),
        actions_section(report, _),
        answers_section(report, _, rng),
        audit_section(report, _),
    ]
    name = team.name or team.channel_id
    return f"""<!doctype html>
<html lang="{esc(_.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{esc(_("Team review: {team}", team=name))}</title>
{HEAD_LINKS}
</head>
<body>
{_page_header(report, _, start, end)}
<main class="wrap">
{"".join(sections)}
</main>
{_page_footer(report, _, expires)}
</body>
</html>
"""


def _page_header(report: Report, _: Translator, start: date, end: date) -> str:
    """The team's name and goal, the period, the sections' links."""
    team = report.team
    nav = [
        ("rituals", _("Rituals")),
        ("participation", _("Participation")),
        ("timeline", _("Timeline")),
        ("answers", _("Answers")),
        ("audit", _("Admin log")),
    ]
    name = team.name or team.channel_id
    goal = f'<p class="goal">{esc(_("Our goal: {goal}", goal=readable(team.goal, _)))}</p>' if team.goal else ""
    period = _("From {start} to {end}", start=start.isoformat(), end=end.isoformat())
    times = _("Times in {tz}", tz=team.timezone)
    return f"""<header class="top">
<div class="wrap">
<p class="brand">Ritme</p>
<h1>{esc(_("Team review: {team}", team=name))}</h1>
{goal}
<p class="meta">{esc(period)} · {esc(times)}</p>
<nav>{"".join(f'<a href="#{key}">{esc(text)}</a>' for key, text in nav)}</nav>
<p class="meta">{esc(_("The answers as a CSV file: an admin types /ritme export in the channel."))}</p>
</div>
</header>"""


def _page_footer(report: Report, _: Translator, expires: datetime) -> str:
    """What anonymous rituals show, and how long the link works."""
    totals_only = _(
        "Anonymous rituals show totals only, and only for rounds that at least {n} members answered.",
        n=report.team.anonymity_threshold,
    )
    made = _(
        "This page was made on {when}; its link works until {until}.",
        when=format_when(report.now, report.tz),
        until=format_when(expires, report.tz),
    )
    return f"""<footer class="wrap">
<p>{esc(totals_only)}</p>
<p>{esc(made)}</p>
</footer>"""


def plan_section(report: Report, _: Translator) -> str:
    """The year plan: which theme reflections draw from in which period."""
    plan = report.team.settings.get("plan", [])
    if not plan:
        return ""
    today = report.day(report.now).isoformat()
    rows = "".join(
        f'<tr class="{"current" if p["start"] <= today <= p["end"] else ""}">'
        f"<td>{esc(p['start'])} \u2013 {esc(p['end'])}</td>"
        f"<td>{esc(_(THEMES[p['theme']].name) if p['theme'] in THEMES else p['theme'])}</td></tr>"
        for p in plan
    )
    head = f"<tr><th>{esc(_('Period'))}</th><th>{esc(_('Theme'))}</th></tr>"
    return section(
        "plan",
        _("Year plan"),
        f'<div class="scroll"><table class="plan"><thead>{head}</thead><tbody>{rows}</tbody></table></div>',
    )


def actions_section(report: Report, _: Translator) -> str:
    """What the team agreed after its rounds, and how the next round said it went."""
    if not report.actions:
        return ""
    blocks = []
    for _id, ritual_id, text, created, followup in report.actions:
        title = ritual_title(report.rituals.get(ritual_id), _)
        answers = [
            a.values.get("action_followup")
            for a in report.named.get(followup or -1, [])
            if a.values.get("action_followup")
        ]
        if followup is None:
            status = esc(_("Asked about in the next round."))
        elif any(r.occurrence_id == followup and report.is_anonymous(r) for r in report.rounds):
            status = esc(_("Asked about in the next round; its answers are anonymous."))
        elif answers:
            status = "<ul>" + "".join(f"<li>{esc(readable(str(a), _))}</li>" for a in answers) + "</ul>"
        else:
            status = esc(_("Nobody wrote how it went."))
        blocks.append(
            f'<div class="action"><h3>{esc(readable(text, _))}</h3>'
            f'<p class="meta">{esc(title)} \u00b7 {esc(format_when(created, report.tz))}</p>{status}</div>'
        )
    return section("actions", _("Agreed actions"), "".join(blocks))


def describe(spec: str, _: Translator) -> str:
    if not spec:
        return _("on demand")
    try:
        return parse_schedule(spec).describe(_)
    except ScheduleError:
        return spec


def kind_title(kind: str, _: Translator) -> str:
    k = KINDS.get(kind)
    return k.title(_) if k else kind


def rituals_section(report: Report, _: Translator) -> str:
    if not report.rituals:
        return section("rituals", _("Rituals"), f'<p class="empty">{esc(_("This channel has no rituals yet."))}</p>')
    rows = []
    for r in report.rituals.values():
        state = (
            _("paused")
            if r.paused
            else (_("next: {when}", when=format_when(r.next_due_at, report.tz)) if r.next_due_at else "")
        )
        shown = KINDS.get(r.kind)
        level = report.level(r.id) if shown and not shown.digest else None
        anon = f' <span class="tag">{esc(_(NAMES[level]))}</span>' if level else ""
        rows.append(
            f"<tr><td>#{r.id}</td><td>{esc(kind_title(r.kind, _))}{anon}</td>"
            f"<td>{esc(describe(r.schedule, _))}</td><td>{esc(state)}</td></tr>"
        )
    head = f"<tr><th>#</th><th>{esc(_('Kind'))}</th><th>{esc(_('Schedule'))}</th><th>{esc(_('State'))}</th></tr>"
    return section(
        "rituals",
        _("Rituals"),
        f'<div class="scroll"><table class="rituals"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div>',
    )


def rounds_text(n: int, _: Translator) -> str:
    return _("1 round") if n == 1 else _("{n} rounds", n=n)


def closed_rounds(report: Report, ritual_id: int | None = None) -> list[Round]:
    return [r for r in report.rounds if r.status == "closed" and (ritual_id is None or r.ritual_id == ritual_id)]


def _asks_nothing(ritual: RitualView | None) -> bool:
    """A digest posts; nobody is asked, so no participation is counted for it."""
    kind = KINDS.get(ritual.kind) if ritual else None
    return bool(kind and kind.digest)


def participation_section(report: Report, _: Translator) -> str:
    rows = []
    for ritual in report.rituals.values():
        rounds = closed_rounds(report, ritual.id)
        if not rounds or _asks_nothing(ritual):
            continue
        answered = sum(r.answered for r in rounds)
        invited = sum(report.invited_for(r) for r in rounds)
        share = answered / invited if invited else 0.0
        name = f"{ritual_title(ritual, _)} · {rounds_text(len(rounds), _)}"
        rows.append((name, share, f"{round(share * 100)}%"))
    if not rows:
        body = f'<p class="empty">{esc(_("No closed rounds in this period yet."))}</p>'
    else:
        body = bar_chart(rows, label=_("Participation per ritual"), css="participation", scale=1.0)
    return section(
        "participation",
        _("Participation"),
        body,
        _("Of everyone invited, how many answered: all closed rounds of the period together."),
    )


def pulse_sections(report: Report, _: Translator, start: date, end: date) -> list[str]:
    out = []
    for ritual in report.rituals.values():
        if ritual.kind != "pulse":
            continue
        rounds = closed_rounds(report, ritual.id)
        trend: dict[str, list[tuple[date, float]]] = {}
        labels: dict[str, str] = {}
        for round_ in rounds:
            for agg in aggregates(report, _, round_):
                trend.setdefault(agg.key, []).append((agg.day, agg.average))
                labels.setdefault(agg.key, agg.statement)
        hidden = sum(1 for r in rounds if r.answered and r.answered < report.team.anonymity_threshold)
        if not trend:
            body = f'<p class="empty">{esc(_("No round of this pulse had enough answers to show results yet."))}</p>'
        else:
            cards = []
            for key, points in trend.items():
                latest = points[-1][1]
                change = f" ({_.decimal(points[-1][1] - points[-2][1], sign=True)})" if len(points) > 1 else ""
                chart = line_chart(
                    [("pulse", points)],
                    start=start,
                    end=end,
                    label=labels[key],
                    _=_,
                    width=320,
                    height=150,
                    month_every=3,
                )
                cards.append(
                    f'<figure class="card"><figcaption><span class="statement">{esc(labels[key])}</span>'
                    f'<span class="latest">{_.decimal(latest)}<small>{esc(change)}</small></span></figcaption>'
                    f"{chart}</figure>"
                )
            body = f'<div class="multiples">{"".join(cards)}</div>'
        note = _("Average per statement per round, from 1 (strongly disagree) to 5 (strongly agree).")
        if hidden:
            note += " " + _(
                "Rounds with fewer than {threshold} answers are not shown ({n}).",
                n=hidden,
                threshold=report.team.anonymity_threshold,
            )
        out.append(section(f"pulse-{ritual.id}", ritual_title(ritual, _), body, note))
    return out


def checkout_sections(report: Report, _: Translator, start: date, end: date) -> list[str]:
    out = []
    for ritual in report.rituals.values():
        if ritual.kind != "checkout":
            continue
        weeks: dict[date, list[int]] = {}
        for round_ in closed_rounds(report, ritual.id):
            day = report.day(round_.planned_at)
            monday = day - timedelta(days=day.weekday())
            for answer in report.named.get(round_.occurrence_id, []):
                if "score" in answer.values:
                    weeks.setdefault(monday, []).append(int(answer.values["score"]))
        if not weeks:
            body = f'<p class="empty">{esc(_("No scores in this period yet."))}</p>'
        else:
            points = [(d, mean(scores)) for d, scores in sorted(weeks.items())]
            every = [s for scores in weeks.values() for s in scores]
            series = [("checkout", points)]
            label = _("Check-out scores over time")
            body = line_chart(
                series, start=start, end=end, label=label, _=_, width=860, height=240, css="wide"
            ) + line_chart(
                series, start=start, end=end, label=label, _=_, width=360, height=200, month_every=3, css="narrow"
            )
            average = _.ngettext(
                "Average over the period: {avg} ({n} score)",
                "Average over the period: {avg} ({n} scores)",
                len(every),
                avg=_.decimal(mean(every)),
            )
            body += f'<p class="figure">{esc(average)}</p>'
        out.append(
            section(
                f"checkout-{ritual.id}",
                ritual_title(ritual, _),
                body,
                _("Weekly average of: how useful was the meeting, from 1 to 5."),
            )
        )
    return out


def values_sections(report: Report, _: Translator) -> list[str]:
    out = []
    for ritual in report.rituals.values():
        if ritual.kind != "values":
            continue
        counts: Counter[str] = Counter()
        labels: dict[str, str] = {}
        answers = 0
        for round_ in closed_rounds(report, ritual.id):
            for item in report.inputs(round_, _):
                labels.update({o.value: o.label for o in item.options})
            for answer in report.named.get(round_.occurrence_id, []):
                picked = answer.values.get("values") or []
                counts.update(str(v) for v in picked)
                answers += 1
        if not counts:
            body = f'<p class="empty">{esc(_("No values picked in this period yet."))}</p>'
        else:
            rows = [(labels.get(k, k.removeprefix("own:")), float(n), str(n)) for k, n in counts.most_common()]
            body = bar_chart(rows, label=_("Our values profile"), css="values")
        out.append(
            section(
                f"values-{ritual.id}",
                ritual_title(ritual, _),
                body,
                _("How often each value was picked ({answers} answers).", answers=answers),
            )
        )
    return out


def status_text(round_: Round, _: Translator) -> str:
    if round_.status == "skipped":
        return _("skipped: {reason}", reason=round_.reason or "-")
    return _("open") if round_.status == "open" else _("closed")


def timeline_section(report: Report, _: Translator) -> str:
    months: dict[tuple[int, int], list[Round]] = {}
    for round_ in report.rounds:
        day = report.day(round_.planned_at)
        months.setdefault((day.year, day.month), []).append(round_)
    if not months:
        return section("timeline", _("Timeline"), f'<p class="empty">{esc(_("No rounds yet."))}</p>')
    blocks = []
    for i, ((year, month), rounds) in enumerate(sorted(months.items(), reverse=True)):
        rows = []
        for round_ in reversed(rounds):
            ritual = report.rituals.get(round_.ritual_id)
            took = (
                ""
                if round_.status == "skipped" or _asks_nothing(ritual)
                else _("{answered} of {invited} answered", answered=round_.answered, invited=report.invited_for(round_))
            )
            rows.append(
                f'<tr class="{esc(round_.status)}"><td>{report.day(round_.planned_at).isoformat()}</td>'
                f"<td>{esc(ritual_title(ritual, _))}</td><td>{esc(status_text(round_, _))}</td>"
                f"<td>{esc(took)}</td></tr>"
            )
        skipped = sum(1 for r in rounds if r.status == "skipped")
        summary = (
            _("{month} {year}", month=_(MONTHS[month - 1]), year=year) + " · " + rounds_text(len(rounds) - skipped, _)
        )
        if skipped:
            summary += " · " + _("{n} skipped", n=skipped)
        blocks.append(
            f"<details{' open' if i == 0 else ''}><summary>{esc(summary)}</summary>"
            f'<div class="scroll"><table class="timeline">'
            f"<tbody>{''.join(rows)}</tbody></table></div></details>"
        )
    return section("timeline", _("Timeline"), "".join(blocks))


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
        return f"<td{num(item)}>{esc(format_value(item, a.values[item.key], _)) if item.key in a.values else ''}</td>"

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
    rows = "".join(f'<tr><td>{esc(a.statement)}</td><td class="num">{_.decimal(a.average)}</td></tr>' for a in figures)
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
    day = report.day(round_.planned_at).isoformat()
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
        note = f'<p class="lead">{esc(_("Anonymous: totals only, answers in random order."))}</p>' if anonymous else ""
        blocks.append(
            f'<div class="ritual-answers"><h3>{esc(ritual_title(ritual, _))}</h3>{note}{"".join(recent)}</div>'
        )
    body = "".join(blocks) or f'<p class="empty">{esc(_("No rounds yet."))}</p>'
    return section("answers", _("Answers"), body, intro=_(WHO_READS))
