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
from bot.charts import FEW_ROUNDS, Point, bar_chart, distribution_chart, line_chart
from bot.export import Report, aggregates, ritual_title, scale_sample
from bot.html import HEAD_LINKS, esc, section
from bot.review_answers import answers_section
from rituals.former import readable
from rituals.i18n import N_, Translator
from rituals.kinds import KINDS
from rituals.library import THEMES
from rituals.ports import RitualView
from rituals.scales import Sample, change_beyond_chance
from rituals.schedule import ScheduleError, parse_schedule
from rituals.visibility import NAMES
from storage.queries import Round

log = logging.getLogger(__name__)

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
        *pulse_sections(report, _),
        *checkout_sections(report, _),
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
    period = _(
        "From {start} to {end}", start=_.day(start, year=True, weekday=False), end=_.day(end, year=True, weekday=False)
    )
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
        when=_.when_year(report.now, report.tz),
        until=_.when_year(expires, report.tz),
    )
    # the address goes along to this server only, so /privacy and /terms can offer the way back
    links = " · ".join(
        f'<a href="{href}?lang={esc(_.lang)}" referrerpolicy="same-origin">{esc(text)}</a>'
        for href, text in (("/privacy", _("Privacy")), ("/terms", _("Terms of use")))
    )
    return f"""<footer class="wrap">
<p>{esc(totals_only)}</p>
<p>{esc(made)}</p>
<p>{links}</p>
</footer>"""


def plan_section(report: Report, _: Translator) -> str:
    """The year plan: which theme reflections draw from in which period."""
    plan = report.team.settings.get("plan", [])
    if not plan:
        return ""
    today = report.day(report.now).isoformat()
    rows = "".join(
        f'<tr class="{"current" if p["start"] <= today <= p["end"] else ""}">'
        f'<td data-label="{esc(_("Period"))}">{esc(plan_day(p["start"], _))} \u2013 {esc(plan_day(p["end"], _))}</td>'
        f'<td data-label="{esc(_("Theme"))}">'
        f"{esc(_(THEMES[p['theme']].name) if p['theme'] in THEMES else p['theme'])}</td></tr>"
        for p in plan
    )
    head = f"<tr><th>{esc(_('Period'))}</th><th>{esc(_('Theme'))}</th></tr>"
    return section(
        "plan",
        _("Year plan"),
        f'<div class="scroll"><table class="plan"><thead>{head}</thead><tbody>{rows}</tbody></table></div>',
    )


def plan_day(day: str, _: Translator) -> str:
    """A day of the year plan as the team reads it; kept as it was stored when it is no date."""
    try:
        return _.day(date.fromisoformat(day), year=True, weekday=False)
    except ValueError:
        return day


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
            f'<p class="meta">{esc(title)} \u00b7 {esc(_.when_year(created, report.tz))}</p>{status}</div>'
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
            else (_("next: {when}", when=_.when(r.next_due_at, report.tz)) if r.next_due_at else "")
        )
        shown = KINDS.get(r.kind)
        level = report.level(r.id) if shown and not shown.digest else None
        anon = f' <span class="tag">{esc(_(NAMES[level]))}</span>' if level else ""
        rows.append(
            f'<tr><td class="id">#{r.id}</td>'
            f'<td data-label="{esc(_("Kind"))}">{esc(kind_title(r.kind, _))}{anon}</td>'
            f'<td data-label="{esc(_("Schedule"))}">{esc(describe(r.schedule, _))}</td>'
            f'<td data-label="{esc(_("State"))}">{esc(state)}</td></tr>'
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


def change_badge(now: Sample | None, before: Sample | None, _: Translator) -> str:
    """The change since the round before, only when it is more than chance
    (``rituals.scales.change_beyond_chance``, the rule the chat's results follow)."""
    delta = change_beyond_chance(now, before) if now and before else None
    if delta is None:
        return ""
    title = _("A change beyond chance since the round before")
    return f'<small class="change" title="{esc(title)}">{esc(_.decimal(delta, sign=True))}</small>'


def trend_or_spread(
    points: list[tuple[date, Sample, tuple[int, ...]]], *, label: str, css: str, _: Translator, wide: bool = False
) -> str:
    """A round or two: how the answers fell (stacked bars). More: the trend over the rounds'
    span, with a band for the spread once there are enough of them."""
    if len(points) <= FEW_ROUNDS and all(sum(c) for _d, _s, c in points):
        return distribution_chart(
            [(_.day(day, year=True), counts) for day, _s, counts in points],
            label=label,
            _=_,
            low=_("strongly disagree"),
            high=_("strongly agree"),
        )
    trend = [Point(day=day, mean=s.mean, sd=s.sd, n=s.n) for day, s, _c in points]
    if not wide:
        return line_chart([(css, trend)], label=label, _=_, width=320, height=150)
    return line_chart([(css, trend)], label=label, _=_, width=860, height=240, css="wide") + line_chart(
        [(css, trend)], label=label, _=_, width=360, height=200, css="narrow"
    )


def pulse_sections(report: Report, _: Translator) -> list[str]:
    out = []
    for ritual in report.rituals.values():
        if ritual.kind != "pulse":
            continue
        rounds = closed_rounds(report, ritual.id)
        shown = {r.occurrence_id: i for i, r in enumerate(rounds)}  # a round's place among the closed ones
        trend: dict[str, list[tuple[int, date, Sample, tuple[int, ...]]]] = {}
        labels: dict[str, str] = {}
        reverse: dict[str, bool] = {}
        scale: list[tuple[int, date, Sample]] = []
        scale_label = ""
        for round_ in rounds:
            for item in report.inputs(round_, _):
                reverse[item.key] = item.reverse
            for agg in aggregates(report, _, round_):
                sample = Sample.of_counts(agg.counts) if agg.counts else Sample(n=agg.count, mean=agg.average, sd=0)
                trend.setdefault(agg.key, []).append((shown[round_.occurrence_id], agg.day, sample, agg.counts))
                labels.setdefault(agg.key, agg.statement)
            mean_of_scale = scale_sample(report, round_)
            if mean_of_scale is not None:
                scale.append((shown[round_.occurrence_id], report.day(round_.planned_at), mean_of_scale))
                scale_label = KINDS["pulse"].scale_name(round_.content, _)
        hidden = sum(1 for r in rounds if r.answered and r.answered < report.team.anonymity_threshold)
        if not trend:
            body = f'<p class="empty">{esc(_("No round of this pulse had enough answers to show results yet."))}</p>'
        else:
            cards = [scale_card(scale, scale_label, _)] if scale else []
            for key, points in trend.items():
                (place, _day, latest, _c), before = points[-1], points[-2] if len(points) > 1 else None
                earlier = before[2] if before and before[0] == place - 1 else None  # never a hidden round
                chart = trend_or_spread([(d, s, c) for _p, d, s, c in points], label=labels[key], css="pulse", _=_)
                tag = (
                    f' <span class="tag">{esc(_("reverse-worded: lower is safer"))}</span>' if reverse.get(key) else ""
                )
                cards.append(
                    f'<figure class="card"><figcaption><span class="statement">{esc(labels[key])}{tag}</span>'
                    f'<span class="latest">{_.decimal(latest.mean)}{change_badge(latest, earlier, _)}</span>'
                    f"</figcaption>{chart}</figure>"
                )
            body = f'<div class="multiples">{"".join(cards)}</div>'
        note = _("Average per statement per round, from 1 (strongly disagree) to 5 (strongly agree).")
        note += " " + _(
            "A change is shown only when it is larger than chance at these numbers of answers "
            "(twice its standard error); the band around a line shows how far the answers lay apart."
        )
        if hidden:
            note += " " + _(
                "Rounds with fewer than {threshold} answers are not shown ({n}).",
                n=hidden,
                threshold=report.team.anonymity_threshold,
            )
        out.append(section(f"pulse-{ritual.id}", ritual_title(ritual, _), body, note))
    return out


def scale_card(scale: list[tuple[int, date, Sample]], label: str, _: Translator) -> str:
    """The scale's mean (reverse-worded items turned around) per round: the pulse's one figure."""
    place, _day, latest = scale[-1]
    before = scale[-2] if len(scale) > 1 and scale[-2][0] == place - 1 else None
    badge = change_badge(latest, before[2] if before else None, _)
    if len(scale) > FEW_ROUNDS:
        trend = [Point(day=d, mean=s.mean, sd=s.sd, n=s.n) for _p, d, s in scale]
        chart = line_chart([("scale", trend)], label=label, _=_, width=320, height=150)
    else:
        chart = f'<p class="figure">{esc(_("{avg} (from 1 to 5; higher is safer)", avg=_.decimal(latest.mean)))}</p>'
    return (
        f'<figure class="card scale"><figcaption><span class="statement">{esc(label)}</span>'
        f'<span class="latest">{_.decimal(latest.mean)}{badge}</span></figcaption>{chart}</figure>'
    )


def checkout_sections(report: Report, _: Translator) -> list[str]:
    out = []
    for ritual in report.rituals.values():
        if ritual.kind != "checkout":
            continue
        by_round: list[tuple[date, list[int]]] = []
        for round_ in closed_rounds(report, ritual.id):
            scores = [int(a.values["score"]) for a in report.named.get(round_.occurrence_id, []) if "score" in a.values]
            if scores:
                by_round.append((report.day(round_.planned_at), scores))
        if not by_round:
            body = f'<p class="empty">{esc(_("No scores in this period yet."))}</p>'
            note = _("Weekly average of: how useful was the meeting, from 1 to 5.")
        else:
            label = _("Check-out scores over time")
            if len(by_round) <= FEW_ROUNDS:
                points = [(day, Sample.of(scores), counts_of(scores)) for day, scores in by_round]
                note = _("How the scores fell per round: how useful was the meeting, from 1 to 5.")
            else:
                weeks: dict[date, list[int]] = {}
                for day, scores in by_round:
                    weeks.setdefault(day - timedelta(days=day.weekday()), []).extend(scores)
                points = [(monday, Sample.of(s), counts_of(s)) for monday, s in sorted(weeks.items())]
                note = _("Weekly average of: how useful was the meeting, from 1 to 5.")
            body = trend_or_spread(points, label=label, css="checkout", _=_, wide=True)
            every = [s for _d, scores in by_round for s in scores]
            average = _.ngettext(
                "Average over the period: {avg} ({n} score)",
                "Average over the period: {avg} ({n} scores)",
                len(every),
                avg=_.decimal(mean(every)),
            )
            body += f'<p class="figure">{esc(average)}</p>'
        out.append(section(f"checkout-{ritual.id}", ritual_title(ritual, _), body, note))
    return out


def counts_of(scores: list[int]) -> tuple[int, ...]:
    """How many gave 1, 2 .. 5."""
    found = Counter(scores)
    return tuple(found.get(score, 0) for score in range(1, 6))


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
                f'<tr class="{esc(round_.status)}"><td>{esc(_.day(report.day(round_.planned_at)))}</td>'
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
