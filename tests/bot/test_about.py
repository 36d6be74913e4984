"""``/privacy`` and ``/terms``: the pages the Teams app package links to."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.server import create_app
from tests.fakes.clock import Clock


async def test_privacy_and_terms_pages_in_the_readers_language(sqlite_url: str) -> None:
    settings = Settings(RITME_DATABASE_URL=sqlite_url, RITME_DEFAULT_LANGUAGE="en")
    app = create_app(settings, clock=Clock(datetime(2026, 11, 29, 12, 0, tzinfo=UTC)), background=False)
    async with TestClient(TestServer(app)) as client:
        english = await client.get("/privacy")
        assert english.status == 200 and english.content_type == "text/html"
        page = await english.text()
        assert "<h1>Privacy at Ritme</h1>" in page and "/ritme forget-me" in page
        assert "default-src 'self'" in english.headers["Content-Security-Policy"]
        assert 'src="http' not in page and 'href="http' not in page  # nothing from elsewhere
        dutch = await (await client.get("/privacy", headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.8"})).text()
        assert '<html lang="nl">' in dutch and "<h1>Privacy bij Ritme</h1>" in dutch
        assert "<h1>Gebruiksvoorwaarden</h1>" in await (await client.get("/terms?lang=nl")).text()
        assert "<h1>Terms of use</h1>" in await (await client.get("/terms", headers={"Accept-Language": "fr"})).text()
