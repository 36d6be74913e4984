"""Headless Debian chromium driven by Playwright, for end-to-end tests of pages we serve.

Fixtures (exposed from tests/conftest.py):

- ``browser_page`` (function): a Playwright async ``Page`` in a new browser (fresh profile)
  for this test. Every request URL it makes is recorded in ``browser_requests``.
- ``browser_requests`` (function): the ``RequestLog`` of that page's browser context;
  ``browser_requests.assert_only_local()`` fails when anything went beyond 127.0.0.1.

Helpers: ``open_browser_page()`` (the same as an async context manager), ``screenshot(page,
name)`` (PNG into tests/artifacts/), ``serve_app(app)`` (an aiohttp app on 127.0.0.1 and a
random port; yields its base URL), ``playground_as(...)`` (a new playground open in the page),
``low_contrast(page)`` (visible texts below WCAG AA contrast, from the computed colours) and
``horizontal_overflow(page)`` (what sticks out to the side or is cut off).

Never downloads a browser (no ``playwright install``): it launches /usr/bin/chromium, which
``make test`` installs with apt-get when missing. Without it the fixtures fail, never skip.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DEFAULT_TIMEOUT_MS = 15_000
LOCAL_HOSTS = frozenset({"127.0.0.1"})
# Schemes that never reach the network.
NON_NETWORK_SCHEMES = frozenset({"data", "blob", "about", "chrome-error"})


@dataclass
class RequestLog:
    """Every request URL a browser context made, in order."""

    urls: list[str] = field(default_factory=list)

    def record(self, request) -> None:
        self.urls.append(request.url)

    def non_local(self, allowed_hosts: frozenset[str] = LOCAL_HOSTS) -> list[str]:
        """URLs that went anywhere but the allowed hosts (127.0.0.1 by default)."""
        out = []
        for url in self.urls:
            parts = urlsplit(url)
            if parts.scheme in NON_NETWORK_SCHEMES:
                continue
            if parts.hostname not in allowed_hosts:
                out.append(url)
        return out

    def assert_only_local(self, allowed_hosts: frozenset[str] = LOCAL_HOSTS) -> None:
        outside = self.non_local(allowed_hosts)
        assert not outside, f"the page made requests beyond {sorted(allowed_hosts)}: {outside}"


@dataclass
class BrowserSession:
    page: object  # playwright.async_api.Page
    context: object  # playwright.async_api.BrowserContext
    requests: RequestLog


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests use Debian's chromium. Run `make test` "
            "as root (it installs it) or `apt-get install chromium`. "
            "Never `playwright install`.",
            pytrace=False,
        )


@contextlib.asynccontextmanager
async def open_browser_session() -> AsyncIterator[BrowserSession]:
    """A new headless chromium with an empty profile, one context and one page."""
    require_chromium()
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory(prefix="ritme-chromium-") as profile:
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 900},
            )
            try:
                log = RequestLog()
                context.on("request", log.record)
                context.set_default_timeout(DEFAULT_TIMEOUT_MS)
                page = context.pages[0] if context.pages else await context.new_page()
                yield BrowserSession(page=page, context=context, requests=log)
            finally:
                await context.close()


@contextlib.asynccontextmanager
async def open_browser_page() -> AsyncIterator[object]:
    """Just the page of open_browser_session()."""
    async with open_browser_session() as session:
        yield session.page


async def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of the page as tests/artifacts/NAME.png and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "screenshot"
    path = ARTIFACTS / f"{safe}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


@contextlib.asynccontextmanager
async def serve_app(app: web.Application, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve an aiohttp app on host and a random free port; yields 'http://host:port'."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, 0)
        await site.start()
        port = runner.addresses[0][1]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def playground_as(
    sqlite_url: str, page: Any, persona: str | None, *, language: str = "en"
) -> AsyncIterator[web.Application]:
    """The playground of a new ``ritme serve`` (in ``language``, Sunday 22 November 2026 at
    noon) open in ``page`` as ``persona`` (None: as the page opens for a new user); yields the app."""
    from bot.config import Settings
    from bot.server import create_app
    from tests.fakes.clock import Clock

    settings = Settings(RITME_DATABASE_URL=sqlite_url, RITME_DEFAULT_LANGUAGE=language)
    app = create_app(settings, clock=Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC)))
    async with serve_app(app) as base:
        await page.goto(base + "/")
        if persona is not None:
            await page.get_by_test_id(f"persona-{persona}").click()
        yield app


# WCAG 2.1 contrast (1.4.3, level AA) of every visible text in the page, from the colours the
# browser computed: the text's colour against the background it is drawn on (the element's and its
# ancestors' background colours composed, opacity included). Returns the texts below the minimum:
# 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold). Placeholders count as text; disabled
# controls are exempt (as WCAG says), and so is what an open modal dialog's backdrop covers.
_CONTRAST_JS = """
() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, below) => {  // top composed over an opaque colour
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + below[i] * (1 - a)).concat([1]);
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const page = parse(getComputedStyle(document.documentElement).backgroundColor);
  const canvas = page[3] === 0 ? parse(getComputedStyle(document.body).backgroundColor) : page;
  const base = canvas[3] === 0 ? [255, 255, 255, 1] : over(canvas, [255, 255, 255, 1]);
  const background = (el) => {  // the colours under el, from the top layer (dialog, popover) or the page
    const layers = [];
    let opacity = 1;
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      const s = getComputedStyle(n);
      opacity *= Number(s.opacity);
      const c = parse(s.backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] === 1) break;
      if (n.matches('dialog[open], :popover-open')) break;
    }
    let bg = base;
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
    return [bg, opacity];
  };
  const modal = document.querySelector('dialog:modal');  // what is under its backdrop is inert: not read
  const shown = (el) => {
    if (modal && !modal.contains(el) && !el.closest(':popover-open')) return false;
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) return false;
    if (el.closest('.visually-hidden, [hidden], [aria-hidden="true"] svg')) return false;
    const s = getComputedStyle(el);
    if (s.visibility !== 'visible' || s.clip === 'rect(0px, 0px, 0px, 0px)') return false;
    if (el.closest('dialog:not([open])')) return false;
    return el.checkVisibility ? el.checkVisibility({ opacityProperty: true }) : true;
  };
  const bad = [];
  const check = (el, color, text) => {
    if (el.closest(':disabled, [disabled]')) return;
    const s = getComputedStyle(el);
    const [bg, opacity] = background(el);
    const fg = parse(color);
    fg[3] *= opacity;
    const r = ratio(over(fg, bg), bg);
    const px = parseFloat(s.fontSize);
    const large = px >= 24 || (px >= 18.66 && Number(s.fontWeight) >= 700);
    const need = large ? 3 : 4.5;
    if (r < need - 0.005) {
      bad.push({ text: text.slice(0, 60), ratio: Math.round(r * 100) / 100, need, size: px,
                 color: color, background: 'rgb(' + bg.slice(0, 3).map(Math.round).join(', ') + ')',
                 element: el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
                   ? '.' + el.className.trim().split(/\\s+/).join('.') : '') });
    }
  };
  let count = 0;
  for (const el of document.querySelectorAll('body *')) {
    if (['SCRIPT', 'STYLE', 'svg', 'path'].includes(el.tagName)) continue;
    const own = Array.from(el.childNodes).filter((n) => n.nodeType === 3 && n.textContent.trim());
    if (own.length && shown(el)) {
      count++;
      check(el, getComputedStyle(el).color, own.map((n) => n.textContent.trim()).join(' '));
    }
    if ((el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') && el.placeholder && !el.value && shown(el)) {
      count++;
      check(el, getComputedStyle(el, '::placeholder').color, el.placeholder);
    }
  }
  return { count, bad };
}
"""


async def low_contrast(page: Any) -> list[dict[str, Any]]:
    """Every visible text of ``page`` below WCAG AA contrast (see ``_CONTRAST_JS``); fails when
    the page shows no text at all (a check of nothing)."""
    found = await page.evaluate(_CONTRAST_JS)
    assert found["count"] > 0, "no visible text to check"
    return found["bad"]


async def horizontal_overflow(page: Any) -> list[str]:
    """What sticks out of the page, or of a box that clips it, to the side: the page's own
    scroll width beyond the window, and every visible element whose right edge passes the window's
    or whose content is wider than its box (text cut off); empty when nothing does."""
    return await page.evaluate(
        """
() => {
  const out = [];
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > width) {
    out.push('page: ' + document.documentElement.scrollWidth + ' px in ' + width + ' px');
  }
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1 || el.closest('.visually-hidden, [hidden], dialog:not([open])')) continue;
    const s = getComputedStyle(el);  // (a box of 1 px or less is one hidden for screen readers only)
    const testid = el.getAttribute('data-testid');
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (testid ? '[' + testid + ']' : '');
    if (r.right > width + 1) out.push(name + ': right edge at ' + Math.round(r.right) + ' px of ' + width);
    const clips = ['hidden', 'clip', 'auto', 'scroll'].includes(s.overflowX);
    if (clips && el.scrollWidth > el.clientWidth + 1 && s.textOverflow !== 'ellipsis') {
      out.push(name + ': content ' + el.scrollWidth + ' px in ' + el.clientWidth + ' px');
    }
  }
  return out;
}
"""
    )


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
async def browser_session() -> AsyncIterator[BrowserSession]:
    async with open_browser_session() as session:
        yield session


@pytest.fixture
def browser_page(browser_session: BrowserSession):
    """A Playwright async Page in a fresh headless chromium, for this test."""
    return browser_session.page


@pytest.fixture
def browser_requests(browser_session: BrowserSession) -> RequestLog:
    """Every request URL made by browser_page's context."""
    return browser_session.requests
