"""Headless Debian chromium driven by Playwright, for end-to-end tests of pages we serve.

Fixtures (exposed from tests/conftest.py):

- ``browser_page`` (function): a Playwright async ``Page`` in a new browser (fresh profile)
  for this test. Every request URL it makes is recorded in ``browser_requests``.
- ``browser_requests`` (function): the ``RequestLog`` of that page's browser context;
  ``browser_requests.assert_only_local()`` fails when anything went beyond 127.0.0.1.

Helpers: ``open_browser_page()`` (the same as an async context manager), ``screenshot(page,
name)`` (PNG into tests/artifacts/), ``serve_app(app)`` (an aiohttp app on 127.0.0.1 and a
random port; yields its base URL).

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
async def playground_as(sqlite_url: str, page: Any, persona: str) -> AsyncIterator[web.Application]:
    """The playground of a new ``ritme serve`` (English, Sunday 22 November 2026 at noon) open
    in ``page`` as ``persona``; yields the app."""
    from bot.config import Settings
    from bot.server import create_app
    from tests.fakes.clock import Clock

    settings = Settings(RITME_DATABASE_URL=sqlite_url, RITME_DEFAULT_LANGUAGE="en")
    app = create_app(settings, clock=Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC)))
    async with serve_app(app) as base:
        await page.goto(base + "/")
        await page.get_by_test_id(f"persona-{persona}").click()
        yield app


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
