"""What Ritme's own pages share: escaping, the head (viewport, icon, stylesheet), a section,
and times as people read them."""

from __future__ import annotations

import html

VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


FAVICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E"
    "%3Crect width='32' height='32' rx='8' fill='%233c6e71'/%3E"
    "%3Cpath d='M6 18h5l3-8 4 14 3-6h5' fill='none' stroke='white' stroke-width='2.5'"
    " stroke-linecap='round' stroke-linejoin='round'/%3E%3C/svg%3E"
)


HEAD_LINKS = f'<link rel="icon" href="{FAVICON}"><link rel="stylesheet" href="/static/review/review.css">'


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def section(key: str, title: str, body: str, intro: str = "") -> str:
    lead = f'<p class="lead">{esc(intro)}</p>' if intro else ""
    return f'<section id="{esc(key)}"><h2>{esc(title)}</h2>{lead}{body}</section>\n'
