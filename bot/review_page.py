"""The team review page: one server-rendered HTML report, opened through a signed link.

Routes: ``GET /review/{token}`` (the page), ``GET /review/{token}/export.csv`` (the answers
as CSV) and ``GET /static/review/review.css``. No script, no third-party request: the
charts are inline SVG drawn here, styled by classes from the same-origin stylesheet, so
the strict Content-Security-Policy of ``bot.server.guard`` holds.

Who may open a page is decided by the token alone (``bot.links``); a bad, stale or
tampered token gets a short 403 page.
"""

from __future__ import annotations

import html
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from statistics import mean
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.config import Settings
from bot.export import Report, aggregates, export_csv, format_value, load_report, ritual_title
from bot.links import EXPORT, PAGE, Claims, LinkError, LinkSigner, ReviewLinks, load_secret
from rituals.former import readable
from rituals.i18n import N_, Translator, translator
from rituals.kinds import KINDS
from rituals.kinds.base import summarise, words_threshold
from rituals.library import THEMES
from rituals.ports import ReplyView, RitualView, TeamView
from rituals.schedule import ScheduleError, parse_schedule
from rituals.types import Input, InputKind, Notice
from storage.queries import NamedAnswer, Queries, Round
from storage.repo import Repo

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static" / "review"
REVIEW_LINKS = web.AppKey("review_links", ReviewLinks)
RECENT_ROUNDS = 3  # rounds per ritual shown before the fold
PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'
# The icon travels inside the page (a pulse line on a teal tile): no request beyond the one stylesheet.
FAVICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E"
    "%3Crect width='32' height='32' rx='8' fill='%233c6e71'/%3E"
    "%3Cpath d='M6 18h5l3-8 4 14 3-6h5' fill='none' stroke='white' stroke-width='2.5'"
    " stroke-linecap='round' stroke-linejoin='round'/%3E%3C/svg%3E"
)
HEAD_LINKS = f'<link rel="icon" href="{FAVICON}"><link rel="stylesheet" href="/static/review/review.css">'

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
SHORT_MONTHS = (
    N_("Jan"),
    N_("Feb"),
    N_("Mar"),
    N_("Apr"),
    N_("May"),
    N_("Jun"),
    N_("Jul"),
    N_("Aug"),
    N_("Sep"),
    N_("Oct"),
    N_("Nov"),
    N_("Dec"),
)
ACTIONS = {
    "ritual.add": N_("Ritual added"),
    "ritual.pause": N_("Ritual paused"),
    "ritual.resume": N_("Ritual resumed"),
    "ritual.remove": N_("Ritual removed"),
    "goal.set": N_("Shared goal set"),
    "team.timezone": N_("Timezone set"),
    "team.language": N_("Language set"),
    "holiday.add": N_("Holiday added"),
    "holiday.remove": N_("Holiday removed"),
    "team.holidays": N_("Public holidays"),
    "role.add": N_("Role given"),
    "role.remove": N_("Role removed"),
    "question.add": N_("Question added"),
    "team.themes": N_("Themes set"),
    "appreciation.start": N_("Appreciation round started"),
    "review.link": N_("Review link made"),
    "export": N_("Export link made"),
    "review.links_revoked": N_("Review and export links revoked"),
    "team.anonymity_threshold": N_("Threshold set"),
    "team.retention": N_("Retention set"),
    "values.add": N_("Value added"),
    "values.remove": N_("Value removed"),
    "action.add": N_("Action recorded"),
    "holiday.import": N_("Holidays imported"),
    "pairs.exclude": N_("Left out of pairs"),
    "pairs.include": N_("Back in pairs"),
    "pairs.label": N_("Label set"),
    "pairs.mix": N_("Pairs mixing set"),
    "plan.add": N_("Year plan updated"),
    "plan.remove": N_("Year plan updated"),
    "teams.install": N_("Installed in Teams"),
}


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


# -- wiring ----------------------------------------------------------------------------


def setup_review(
    app: web.Application, settings: Settings, repo: Repo, ritme: Any, clock: Callable[[], datetime]
) -> ReviewLinks:
    """Add the review routes and give the service its link maker (``ritme.review_links``)."""
    links = ReviewLinks(LinkSigner(load_secret(settings.secret_key, settings.database_url)), settings.base_url)
    app[REVIEW_LINKS] = links
    setattr(ritme, "review_links", links)  # noqa: B010 - the service is built before the links
    app.router.add_routes(routes(Queries(repo), links.signer, clock, settings.default_language))
    return links


def retention_job(repo: Repo, clock: Callable[[], datetime]) -> Callable[[], Awaitable[None]]:
    """The daily clean-up: replies older than their team's ``retention_days`` are deleted, and
    the database drops its copies of what was deleted (``Store.drop_deleted_copies``)."""
    queries = Queries(repo)

    async def purge() -> None:
        try:
            deleted = await queries.delete_expired_replies(clock())
            messages = await queries.delete_old_messages(clock())
            await repo.drop_deleted_copies(("replies", "participations", "outbox"))
        except Exception:
            log.exception("retention clean-up failed; trying again at the next run")
            return
        log.info(
            "retention: %d replies past their team's retention period deleted, and %d old sent messages",
            deleted,
            messages,
        )

    return purge


async def link_notice(ritme: Any, team: TeamView, member_id: int, _: Translator, *, export: bool) -> Notice:
    """The answer to ``review link`` and ``export``: a signed link, for the asker only."""
    links: ReviewLinks | None = getattr(ritme, "review_links", None)
    if links is None:
        return Notice(title=_("Not available"), text=_("Review pages are not served by this installation."))
    now = ritme.clock()
    generation = link_generation(team)
    link = links.export(team.id, now, generation) if export else links.page(team.id, now, generation)
    await ritme.repo.audit(
        team.id, member_id, "export" if export else "review.link", {"expires": link.expires_at.isoformat()}, now
    )
    until = f"{format_when(link.expires_at, ZoneInfo(team.timezone))} ({team.timezone})"
    if export:
        return Notice(
            title=_("Export"),
            text=_("Download this channel's answers as a CSV file: {url}", url=link.url),
            footer=_("The link works until {when}. Anonymous rituals are in it as totals only.", when=until),
        )
    return Notice(
        title=_("Review page"),
        text=_("The team's review page: {url}", url=link.url),
        footer=_(
            "The link works until {when}. Anyone with the link can read the page: share it with the team only.",
            when=until,
        ),
    )


def link_generation(team: TeamView) -> int:
    """Which generation of the team's links is valid (``review link revoke`` moves it on)."""
    value = team.settings.get("link_generation", 0)
    return value if isinstance(value, int) else 0


def format_when(when: datetime, tz: Any) -> str:
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M")


# -- routes ----------------------------------------------------------------------------


def routes(
    queries: Queries, signer: LinkSigner, clock: Callable[[], datetime], default_language: str
) -> web.RouteTableDef:
    r = web.RouteTableDef()

    async def opened(request: web.Request, scope: str = PAGE) -> tuple[TeamView, Claims] | web.Response:
        """The team and claims of the request's token, or the 403 page."""
        token = request.match_info["token"]
        team: TeamView | None = None
        try:
            team = await queries.team(signer.team_of(token))
            if team is None:
                return refused(translator(default_language), expired=False)
            claims = signer.verify(token, clock(), link_generation(team), scope)
        except LinkError as err:
            return refused(
                translator(default_language),
                expired=err.expired,
                revoked=team is not None and revoked(token, team, scope),
            )
        return team, claims

    def revoked(token: str, team: TeamView, scope: str) -> bool:
        """Whether the token was good in one of the team's earlier link generations."""
        for generation in range(link_generation(team)):
            try:
                signer.verify(token, clock(), generation, scope)
            except LinkError:
                continue
            return True
        return False

    @r.get("/review/{token}")
    async def page(request: web.Request) -> web.Response:
        found = await opened(request)
        if isinstance(found, web.Response):
            return found
        team, claims = found
        report = await load_report(queries, team, clock())
        body = render_page(
            report, translator(team.language), token=request.match_info["token"], expires=claims.expires_at
        )
        return web.Response(text=body, content_type="text/html", charset="utf-8", headers=PRIVATE)

    @r.get("/review/{token}/export.csv")
    async def export(request: web.Request) -> web.Response:
        found = await opened(request, EXPORT)
        if isinstance(found, web.Response):
            return found
        team, _claims = found
        now = clock()
        report = await load_report(queries, team, now, period=None)
        data = export_csv(report, translator(team.language))
        name = f"ritme-team-{team.id}-{report.day(now).isoformat()}.csv"
        headers = dict(PRIVATE)
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return web.Response(body=data, content_type="text/csv", charset="utf-8", headers=headers)

    @r.get("/static/review/review.css")
    async def stylesheet(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "review.css", headers={"Cache-Control": "max-age=3600"})

    return r


def refused(_: Translator, *, expired: bool, revoked: bool = False) -> web.Response:
    title = _("This link has expired") if expired else _("This link does not open a review page")
    if expired:
        text = _("Review links work for a week. Ask an admin or leader of your team for a new one: /ritme review link")
    elif revoked:
        text = _(
            "The team's links were revoked, this one too. "
            "Ask an admin or leader of your team for a new one: /ritme review link"
        )
    else:
        text = _(
            "Check that you copied the whole link, "
            "or ask an admin or leader of your team for a new one: /ritme review link"
        )
    body = f"""<!doctype html>
<html lang="{esc(_.lang)}"><head><meta charset="utf-8">{VIEWPORT}
<meta name="robots" content="noindex"><title>{esc(title)}</title>{HEAD_LINKS}</head>
<body class="refused"><main><p class="brand">Ritme</p><h1>{esc(title)}</h1><p>{esc(text)}</p></main></body></html>
"""
    return web.Response(status=403, text=body, content_type="text/html", charset="utf-8", headers=PRIVATE)


# -- charts: inline SVG ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Axis:
    """A time axis from ``start`` to ``end`` mapped onto ``left``..``right`` pixels."""

    start: date
    end: date
    left: float
    right: float

    def x(self, day: date) -> float:
        span = max((self.end - self.start).days, 1)
        return self.left + (day - self.start).days / span * (self.right - self.left)


def month_ticks(start: date, end: date, every: int = 1) -> list[date]:
    ticks, day = [], date(start.year, start.month, 1)
    while day <= end:
        if day >= start and (day.month - 1) % every == 0:
            ticks.append(day)
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return ticks


def line_chart(
    series: Sequence[tuple[str, Sequence[tuple[date, float]]]],
    *,
    start: date,
    end: date,
    label: str,
    _: Translator,
    width: int = 480,
    height: int = 200,
    lo: float = 1,
    hi: float = 5,
    month_every: int = 1,
    css: str = "",
) -> str:
    """A line chart of scores over time; ``series`` are (css class, points by day).

    ``css`` "wide" or "narrow" marks one of two renderings of the same chart: the stylesheet
    shows the one that fits the screen, so the text keeps its size on a phone.
    """
    top, bottom, left, right = 12, height - 24, 28, width - 10
    axis = Axis(start=start, end=end, left=left, right=right)

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * (bottom - top)

    parts = [
        (
            f'<svg class="chart line {css}" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
            f' role="img" aria-label="{esc(label)}">'
        ),
        f"<title>{esc(label)}</title>",
        '<g class="grid">',
    ]
    for level in range(int(lo), int(hi) + 1):
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y(level):.1f}" y2="{y(level):.1f}"/>')
        parts.append(f'<text class="ylabel" x="{left - 8}" y="{y(level) + 4:.1f}" text-anchor="end">{level}</text>')
    parts.append('</g><g class="ticks">')
    for tick in month_ticks(start, end, month_every):
        x = axis.x(tick)
        name = str(tick.year) if tick.month == 1 else _(SHORT_MONTHS[tick.month - 1])
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle">{esc(name)}</text>')
    parts.append("</g>")
    for css, points in series:
        if not points:
            continue
        coords = [(axis.x(d), y(v)) for d, v in sorted(points)]
        path = "M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in coords)
        parts.append(f'<path class="series {css}" d="{path}" fill="none"/>')
        for (d, v), (px, py) in zip(sorted(points), coords, strict=True):
            parts.append(
                f'<circle class="dot {css}" cx="{px:.1f}" cy="{py:.1f}" r="3">'
                f"<title>{d.isoformat()}: {_.decimal(v)}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(rows: Sequence[tuple[str, float, str]], *, label: str, css: str, scale: float | None = None) -> str:
    """Horizontal bars: each row an HTML label and value (readable at any width) over an SVG bar.

    Rows are (label, value, value as text); bars are drawn relative to ``scale`` (default: the
    largest value). The SVG stretches to the row's width, so the bar needs no inline style.
    """
    most = scale if scale is not None else max([v for _l, v, _t in rows] + [1e-9])
    parts = [f'<div class="barchart" role="img" aria-label="{esc(label)}">']
    for name, value, text in rows:
        length = max(0.0, min(1.0, value / most)) * 100
        parts.append(
            f'<div class="barrow"><span class="barlabel">{esc(name)}</span><span class="barvalue">{esc(text)}</span>'
            f'<svg class="chart bar-svg" viewBox="0 0 100 10" preserveAspectRatio="none" width="100%" height="14"'
            f' aria-hidden="true">'
            f'<rect class="track" x="0" y="0" width="100" height="10"/>'
            f'<rect class="bar {css}" x="0" y="0" width="{length:.2f}" height="10"/></svg></div>'
        )
    parts.append("</div>")
    return "".join(parts)


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
    totals_only = _(
        "Anonymous rituals show totals only, and only for rounds that at least {n} members answered.",
        n=team.anonymity_threshold,
    )
    made = _(
        "This page was made on {when}; its link works until {until}.",
        when=format_when(report.now, report.tz),
        until=format_when(expires, report.tz),
    )
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
<header class="top">
<div class="wrap">
<p class="brand">Ritme</p>
<h1>{esc(_("Team review: {team}", team=name))}</h1>
{goal}
<p class="meta">{esc(period)} · {esc(times)}</p>
<nav>{"".join(f'<a href="#{key}">{esc(text)}</a>' for key, text in nav)}</nav>
<p class="meta">{esc(_("The answers as a CSV file: an admin types /ritme export in the channel."))}</p>
</div>
</header>
<main class="wrap">
{"".join(sections)}
</main>
<footer class="wrap">
<p>{esc(totals_only)}</p>
<p>{esc(made)}</p>
</footer>
</body>
</html>
"""


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
        elif report.is_anonymous(ritual_id):
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


def section(key: str, title: str, body: str, intro: str = "") -> str:
    lead = f'<p class="lead">{esc(intro)}</p>' if intro else ""
    return f'<section id="{esc(key)}"><h2>{esc(title)}</h2>{lead}{body}</section>\n'


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
        anon = f' <span class="tag">{esc(_("anonymous"))}</span>' if report.is_anonymous(r.id) else ""
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
            average = _("Average over the period: {avg} ({count} scores)", avg=_.decimal(mean(every)), count=len(every))
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


def summary_block(report: Report, round_: Round, _: Translator) -> str:
    """A ritual whose answers only leaders see: the same summary the chat shows, no names."""
    answers = report.named.get(round_.occurrence_id, [])
    if not answers:
        return f'<p class="empty">{esc(_("Nobody answered this time."))}</p>'
    replies = [
        ReplyView(member_id=None, member_name="", values=a.values, created_on=report.day(round_.planned_at))
        for a in answers
    ]
    notice = summarise(
        inputs=report.inputs(round_, _),
        replies=replies,
        anonymous=False,
        shared=False,
        invited=report.invited_for(round_),
        threshold=report.team.anonymity_threshold,
        _=_,
    )
    rows = "".join(f"<tr><td>{esc(label)}</td><td>{esc(value)}</td></tr>" for label, value in notice.fields)
    return f'<div class="scroll"><table class="figures"><tbody>{rows}</tbody></table></div>'


def anonymous_block(report: Report, round_: Round, _: Translator, rng: random.Random) -> str:
    if round_.answered == 0:
        return f'<p class="empty">{esc(_("Nobody answered this time."))}</p>'
    figures = aggregates(report, _, round_)
    if not figures:
        too_few = _(
            "Too few answers to show results: at least {threshold} are needed to keep answers anonymous.",
            threshold=report.team.anonymity_threshold,
        )
        return f'<p class="empty">{esc(too_few)}</p>'
    rows = "".join(f'<tr><td>{esc(a.statement)}</td><td class="num">{_.decimal(a.average)}</td></tr>' for a in figures)
    head = f'<tr><th>{esc(_("Statement"))}</th><th class="num">{esc(_("Average"))}</th></tr>'
    totals = report.anonymous.get(round_.occurrence_id)
    written = totals.texts if totals else {}
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
        anonymous = report.is_anonymous(ritual.id)
        details = []
        unfolded = False
        for round_ in reversed(rounds):
            if round_.status == "open":
                so_far = _(
                    "{answered} of {invited} answered; revealed when the round closes.",
                    answered=round_.answered,
                    invited=report.invited_for(round_),
                )
                body = f'<p class="empty">{esc(so_far)}</p>'
            elif anonymous:
                body = anonymous_block(report, round_, _, rng)
            elif not report.is_shared(ritual.id):
                body = summary_block(report, round_, _)
            else:
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
    return section("answers", _("Answers"), body)


def audit_text(action: str, detail: dict[str, Any], _: Translator) -> str:
    text = _(ACTIONS[action]) if action in ACTIONS else action
    if "ritual" in detail:
        text += f" #{detail['ritual']}"
    return text


def audit_section(report: Report, _: Translator) -> str:
    entries = report.audit
    if not entries:
        return section("audit", _("Admin log"), f'<p class="empty">{esc(_("No admin actions in this period."))}</p>')
    body = "".join(
        f"<tr><td>{esc(format_when(e.created_at, report.tz))}</td><td>{esc(audit_text(e.action, e.detail, _))}</td>"
        f"<td>{esc(e.actor or _('someone (forgotten)'))}</td></tr>"
        for e in entries
    )
    head = f"<tr><th>{esc(_('When'))}</th><th>{esc(_('What'))}</th><th>{esc(_('Who'))}</th></tr>"
    return section(
        "audit",
        _("Admin log"),
        f'<div class="scroll"><table class="audit"><thead>{head}</thead><tbody>{body}</tbody></table></div>',
    )
