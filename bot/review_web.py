"""The review pages over HTTP: ``GET /review/{token}`` (the page), ``GET
/review/{token}/export.csv`` (the answers as CSV) and ``GET /static/review/review.css``; the
signed links that open them (``review link``, ``export``), and the nightly retention clean-up.

Who may open a page is decided by the token alone (``bot.links``); a bad, stale, tampered
or revoked token gets a short 403 page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.about import language
from bot.config import Settings
from bot.export import export_csv, load_report
from bot.html import HEAD_LINKS, VIEWPORT, esc
from bot.links import EXPORT, PAGE, Claims, LinkError, LinkSigner, ReviewLinks
from bot.review_page import render_page
from rituals.i18n import Translator, translator
from rituals.ports import TeamView
from rituals.types import Notice
from storage.queries import Queries
from storage.repo import Repo

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static" / "review"


REVIEW_LINKS = web.AppKey("review_links", ReviewLinks)


PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


def setup_review(
    app: web.Application, settings: Settings, secret: bytes, repo: Repo, ritme: Any, clock: Callable[[], datetime]
) -> ReviewLinks:
    """Add the review routes and give the service its link maker (``ritme.review_links``),
    signing with a key derived from the server's ``secret``."""
    links = ReviewLinks(LinkSigner(secret), settings.base_url)
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
        (log.info if deleted or messages else log.debug)(  # nothing to say at every start: not said
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
    until = f"{_.when(link.expires_at, ZoneInfo(team.timezone))} ({team.timezone})"
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


class Tokens:
    """Which team a review or export link opens, or the 403 page that says why it does not."""

    def __init__(
        self, queries: Queries, signer: LinkSigner, clock: Callable[[], datetime], default_language: str
    ) -> None:
        self.queries, self.signer, self.clock, self.default_language = queries, signer, clock, default_language

    async def opened(self, request: web.Request, scope: str = PAGE) -> tuple[TeamView, Claims] | web.Response:
        """The team and claims of the request's token, or the 403 page."""
        token = request.match_info["token"]
        team: TeamView | None = None
        try:
            team = await self.queries.team(self.signer.team_of(token))
            if team is None:
                return refused(self.speaking(request), expired=False)
            claims = self.signer.verify(token, self.clock(), link_generation(team), scope)
        except LinkError as err:
            return refused(
                self.speaking(request),
                expired=err.expired,
                revoked=team is not None and self.revoked(token, team, scope),
            )
        return team, claims

    def speaking(self, request: web.Request) -> Translator:
        """The refusal's language: the browser's (``Accept-Language``), else the server's default;
        the link may name no team, so the team's language is not known."""
        return translator(language(request, self.default_language))

    def revoked(self, token: str, team: TeamView, scope: str) -> bool:
        """Whether the token was good in one of the team's earlier link generations."""
        for generation in range(link_generation(team)):
            try:
                self.signer.verify(token, self.clock(), generation, scope)
            except LinkError:
                continue
            return True
        return False


def routes(
    queries: Queries, signer: LinkSigner, clock: Callable[[], datetime], default_language: str
) -> web.RouteTableDef:
    r = web.RouteTableDef()
    opened = Tokens(queries, signer, clock, default_language).opened

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
    headers = PRIVATE | {"Vary": "Accept-Language", "Content-Language": _.lang}
    return web.Response(status=403, text=body, content_type="text/html", charset="utf-8", headers=headers)
