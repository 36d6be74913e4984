"""``GET /privacy`` and ``GET /terms``: what Ritme keeps and the terms of use, in Dutch or
English. The Teams app package links to them (``privacyUrl``, ``termsOfUseUrl``), and so
can any workspace that asks its members to trust a bot.

The language: ``?lang=nl|en``, else the browser's first of the two in ``Accept-Language``,
else ``RITME_DEFAULT_LANGUAGE``. Server-rendered with the review page's stylesheet; no
script, no third-party request.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from bot.config import Settings
from bot.html import HEAD_LINKS, VIEWPORT, esc
from rituals.answers import WHO_READS
from rituals.i18n import LANGUAGES, N_, Translator, translator
from rituals.visibility import LEAST_THRESHOLD, WHO_READS_LEVEL, Visibility

PRIVACY = (
    N_("Privacy at Ritme"),
    N_(
        "Ritme is open-source software for team rituals. It runs on a server of the organisation that installed it, "
        "which is responsible for the data. Nothing is sent to the makers of Ritme."
    ),
    (
        (
            N_("What is stored"),
            N_(
                "Per person: the id and display name the chat platform gives, the teams they are in, their roles, and "
                "the answers they give. Per team: its channel, rituals, timezone, language and settings."
            ),
        ),
        (
            N_("Anonymous rituals"),
            N_(
                "Answers to anonymous rituals, such as the team pulse, are sealed as they arrive: encrypted with a key "
                "of the round that only the server can make from its secret. When the round closes they are opened and "
                "stored all at once, in random order, without anything that points to who gave them; who has answered "
                "is kept apart. Scores show only when at least three members answered (a team can raise that number), "
                "written answers only from five."
            ),
        ),
        (
            N_("A copy of the database"),
            N_(
                "Someone who holds a copy of the database (the file, a backup, a replica) cannot tell who gave which "
                "anonymous answer, while the round is open or after it has closed. Someone who also has the server's "
                "secret can read the answers of the rounds that were open when the copy was made, and who gave them; "
                "nothing more."
            ),
        ),
        (
            N_("Anonymous answers and forget-me"),
            N_(
                "With /ritme forget-me your answer to an anonymous round that is still open is withdrawn; answer again "
                "and you are counted once. After a round has closed nobody, the server included, can tell which answer "
                "was yours, so it stays in the results without any link to you."
            ),
        ),
        (N_("Open rounds"), WHO_READS),
        (N_("Rituals for the team"), WHO_READS_LEVEL[Visibility.TEAM]),
        (N_("Rituals for leaders only"), WHO_READS_LEVEL[Visibility.LEADERS]),
        (N_("Anonymous rituals"), WHO_READS_LEVEL[Visibility.ANONYMOUS]),
        (
            N_("Who sees what"),
            N_(
                "Every prompt says who will see the answers. Leaders and admins see the review of their own team; "
                "review links expire after seven days and can be revoked."
            ),
        ),
        (
            N_("How long"),
            N_(
                "Answers are deleted once they are older than the team's retention period: two years, unless the "
                "team chose a shorter or longer one (/ritme privacy)."
            ),
        ),
        (
            N_("Your own data"),
            N_(
                "Type /ritme forget-me to erase your answers and your identity in every team at once: your name "
                'and id are taken out of everything Ritme keeps, and where colleagues wrote about you it says "a '
                "former colleague\". Anonymous answers never carried your name and stay in the team's totals. For "
                "anything else, ask whoever runs Ritme in your organisation."
            ),
        ),
    ),
)

TERMS = (
    N_("Terms of use"),
    N_("Ritme is free software, provided as it is, without warranty of any kind."),
    (
        (
            N_("Who is responsible"),
            N_(
                "The organisation that runs Ritme decides who may use it and is responsible for how it is used and "
                "for the data it keeps."
            ),
        ),
        (
            N_("Fair use"),
            N_(
                "Use Ritme for your team's own rituals, with the team knowing what is asked and who sees the answers. "
                "Do not use it to collect answers from people without their knowledge."
            ),
        ),
    ),
)


def language(request: web.Request, default: str) -> str:
    asked = request.query.get("lang", "")
    if asked in LANGUAGES:
        return asked
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return default


REVIEW_PATH = re.compile(r"/review/[A-Za-z0-9._~-]+")


def came_from(request: web.Request) -> str:
    """The review page this page was opened from (its link sends the address along, to this
    server only: ``referrerpolicy="same-origin"``), or "" when it was opened otherwise."""
    referer = urlsplit(request.headers.get("Referer", ""))
    # the host alone: behind a proxy that ends TLS the request arrives as http
    return referer.path if referer.netloc == request.host and REVIEW_PATH.fullmatch(referer.path) else ""


def render(page: tuple[str, str, tuple[tuple[str, str], ...]], _: Translator, *, back: str = "") -> str:
    """The page in the review page's layout: a header with the way back, sections as cards."""
    title, lead, sections = page
    links = [("/privacy", _("Privacy")), ("/terms", _("Terms of use"))]
    nav = "".join(f'<a href="{href}?lang={esc(_.lang)}">{esc(text)}</a>' for href, text in links)
    if back:
        nav = f'<a class="back" href="{esc(back)}">{esc(_("Back to the review page"))}</a>' + nav
    # an anonymous ritual's line names the least threshold a team can have; a team may raise it
    body = "".join(
        f"<section><h2>{esc(_(head))}</h2><p>{esc(_(text, n=LEAST_THRESHOLD))}</p></section>" for head, text in sections
    )
    return f"""<!doctype html>
<html lang="{esc(_.lang)}"><head><meta charset="utf-8">{VIEWPORT}
<title>{esc(_(title))}</title>{HEAD_LINKS}</head>
<body class="about"><header class="top"><div class="wrap"><p class="brand">Ritme</p><h1>{esc(_(title))}</h1>
<p class="lead">{esc(_(lead))}</p><nav>{nav}</nav></div></header>
<main class="wrap">{body}</main></body></html>
"""


def about_routes(settings: Settings) -> list[web.RouteDef]:
    def page(
        content: tuple[str, str, tuple[tuple[str, str], ...]],
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.Response:
            _ = translator(language(request, settings.default_language))
            back = came_from(request)
            # a way back names a review link: never kept in a cache
            cache = "no-store" if back else "max-age=3600"
            return web.Response(
                text=render(content, _, back=back),
                content_type="text/html",
                charset="utf-8",
                headers={"Cache-Control": cache, "Vary": "Accept-Language, Referer"},
            )

        return handler

    return [web.get("/privacy", page(PRIVACY)), web.get("/terms", page(TERMS))]
