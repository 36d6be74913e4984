"""Signed review links: the token itself, the secret behind it, and the real app's answers."""

from __future__ import annotations

import re
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.commands import parse
from bot.config import Settings
from bot.links import LinkError, LinkSigner, ReviewLinks, load_secret, secret_file
from bot.review_page import REVIEW_LINKS
from bot.server import REPO, create_app
from tests.fakes.clock import Clock

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PUBLIC = "https://ritme.example.org"


def test_a_token_opens_its_team_until_it_expires() -> None:
    signer = LinkSigner(b"s" * 32)
    token = signer.sign(7, NOW + timedelta(days=7))
    claims = signer.verify(token, NOW)
    assert claims.team_id == 7 and claims.expires_at == NOW + timedelta(days=7)
    assert signer.verify(token, NOW + timedelta(days=7) - timedelta(seconds=1)).team_id == 7
    with pytest.raises(LinkError) as err:
        signer.verify(token, NOW + timedelta(days=7))
    assert err.value.expired


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # the signature
        lambda t: "8" + t[1:],  # the team
        lambda t: t.split(".")[0] + "." + str(int(t.split(".")[1]) + 86400) + "." + t.split(".")[2],  # the expiry
        lambda t: t.replace(".", "", 1),
        lambda t: "",
        lambda t: t + ".x",
        lambda t: "7.99999999999." + "A" * 43,
    ],
)
def test_a_tampered_token_opens_nothing(tamper: Any) -> None:
    signer = LinkSigner(b"s" * 32)
    token = signer.sign(7, NOW + timedelta(days=7))
    with pytest.raises(LinkError) as err:
        signer.verify(tamper(token), NOW)
    assert not err.value.expired


def test_another_secret_opens_nothing() -> None:
    token = LinkSigner(b"a" * 32).sign(7, NOW + timedelta(days=7))
    with pytest.raises(LinkError):
        LinkSigner(b"b" * 32).verify(token, NOW)


def test_links_are_under_the_public_url_and_last_a_week() -> None:
    links = ReviewLinks(LinkSigner(b"s" * 32), PUBLIC + "/")
    page = links.page(3, NOW)
    assert page.url == f"{PUBLIC}/review/{page.token}" and page.expires_at == NOW + timedelta(days=7)
    assert links.export(3, NOW).url.endswith("/export.csv")
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", page.token)


def test_the_configured_secret_key_wins(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ritme.db'}"
    assert load_secret("configured-secret-key", url) == b"configured-secret-key"
    assert not (tmp_path / "ritme.db.secret").exists()


def test_without_a_secret_key_one_is_generated_once_next_to_the_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ritme.db'}"
    first = load_secret(None, url)
    path = secret_file(url)
    assert path == tmp_path / "ritme.db.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 64 and load_secret(None, url) == first  # links survive a restart
    assert list(tmp_path.glob("*.tmp")) == []
    assert secret_file("sqlite+aiosqlite://") is None
    assert load_secret(None, "sqlite+aiosqlite://") != load_secret(None, "sqlite+aiosqlite://")


def test_the_commands_parse_in_english_and_dutch() -> None:
    assert parse("review link").name == "review link"
    assert parse("terugblik link").name == "review link"
    assert parse("review #2").args == {"id": 2}
    assert parse("export").name == "export" and parse("exporteer").name == "export"


# -- through the real app ----------------------------------------------------------------


@dataclass
class App:
    client: TestClient
    app: Any
    clock: Clock

    async def command(self, user: str, text: str) -> dict[str, Any]:
        resp = await self.client.post("/playground/api/command", json={"user": user, "text": text})
        assert resp.status == 200, await resp.text()
        return (await resp.json())["reply"]

    async def link(self, user: str = "anna", text: str = "review link") -> str:
        reply = await self.command(user, text)
        match = re.search(re.escape(PUBLIC) + r"(/review/\S+)", reply["text"])
        assert match, reply
        return match.group(1)


@pytest.fixture
async def real(sqlite_url: str) -> AsyncIterator[App]:
    clock = Clock(NOW)
    settings = Settings(RITME_DATABASE_URL=sqlite_url, RITME_DEFAULT_LANGUAGE="en", RITME_PUBLIC_URL=PUBLIC)
    app = create_app(settings, clock=clock, background=False)
    async with TestClient(TestServer(app)) as client:
        yield App(client, app, clock)


async def test_a_valid_link_opens_the_page_with_strict_headers(real: App) -> None:
    path = await real.link()
    resp = await real.client.get(path)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "Team review: Playground" in await resp.text()
    css = await real.client.get("/static/review/review.css")
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")


async def test_an_expired_link_gets_403(real: App) -> None:
    path = await real.link()
    real.clock.advance(days=7, seconds=1)
    resp = await real.client.get(path)
    assert resp.status == 403
    assert "This link has expired" in await resp.text()
    assert "Content-Security-Policy" in resp.headers
    assert (await real.client.get(path + "/export.csv")).status == 403


async def test_a_tampered_link_gets_403(real: App) -> None:
    path = await real.link()
    for bad in (path[:-3] + "xyz", path + "x", "/review/1.2.3", "/review/" + "9" * 300):
        resp = await real.client.get(bad)
        assert resp.status == 403, bad
        text = await resp.text()
        assert "This link does not open a review page" in text and "Traceback" not in text


async def test_a_link_for_one_team_does_not_open_another(real: App) -> None:
    path = await real.link()
    team_a = int(path.split("/")[2].split(".")[0])
    other, _ = await real.app[REPO].ensure_team(platform="playground", workspace_id="w2", channel_id="other",
                                                name="Team B", timezone="Europe/Amsterdam", language="en", now=NOW)
    assert other.id != team_a
    swapped = path.replace(f"/review/{team_a}.", f"/review/{other.id}.", 1)
    for url in (swapped, swapped + "/export.csv"):
        resp = await real.client.get(url)
        assert resp.status == 403
        assert "Team B" not in await resp.text()
    stranger = LinkSigner(b"not the server's secret!").sign(other.id, NOW + timedelta(days=1))
    assert (await real.client.get(f"/review/{stranger}")).status == 403
    nobody = real.app[REVIEW_LINKS].page(4242, NOW)  # signed well, but no such team
    assert (await real.client.get(f"/review/{nobody.token}")).status == 403


async def test_who_may_make_links(real: App) -> None:
    assert (await real.command("chris", "review link"))["title"] == "Not allowed"
    assert (await real.command("chris", "export"))["title"] == "Not allowed"
    refused = await real.command("bram", "export")  # a leader may review, only an admin exports
    assert refused["title"] == "Not allowed" and "admin" in refused["text"]
    assert (await real.link("bram")).startswith("/review/")
    export = await real.link("anna", "export")
    assert export.endswith("/export.csv")
    resp = await real.client.get(export)
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in resp.headers["Content-Disposition"]
    assert (await real.client.get(export.removesuffix("/export.csv"))).status == 403  # an export link opens the CSV only
    review = await real.link("bram")
    assert (await real.client.get(review + "/export.csv")).status == 403  # a leader's page link downloads nothing
    page = await (await real.client.get(review)).text()
    assert "Review link made" in page and "Export link made" in page  # the admin log shows both


def test_a_new_generation_revokes_the_links_made_before() -> None:
    signer = LinkSigner(b"k" * 32)
    old = signer.sign(7, NOW + timedelta(days=7))
    new = signer.sign(7, NOW + timedelta(days=7), generation=1)
    assert signer.team_of(new) == 7 and signer.verify(old, NOW).team_id == 7
    with pytest.raises(LinkError):
        signer.verify(old, NOW, generation=1)
    assert signer.verify(new, NOW, generation=1).team_id == 7
    with pytest.raises(LinkError):
        signer.verify(new, NOW, generation=2)
    with pytest.raises(LinkError):
        signer.team_of("7.x.y")
