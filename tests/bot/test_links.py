"""Signed review links: the token itself, the secret behind it, and the real app's answers."""

from __future__ import annotations

import asyncio
import re
import secrets
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.commands import parse
from bot.config import ConfigError, Settings
from bot.links import (
    CLOCK_SKEW,
    EXPORT,
    MAX_LIFETIME,
    LinkError,
    LinkSigner,
    ReviewLinks,
    load_secret,
    secret_file,
)
from bot.review_web import REVIEW_LINKS
from bot.server import REPO, create_app
from tests.fakes.clock import Clock
from tests.fakes.secret_key import SECRET_KEY
from tests.fakes.threaded import request

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PUBLIC = "https://ritme.example.org"


def test_a_token_opens_its_team_until_it_expires() -> None:
    signer = LinkSigner(SECRET_KEY.encode())
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
    signer = LinkSigner(SECRET_KEY.encode())
    token = signer.sign(7, NOW + timedelta(days=7))
    with pytest.raises(LinkError) as err:
        signer.verify(tamper(token), NOW)
    assert not err.value.expired


def test_a_token_lasting_longer_than_any_link_opens_nothing() -> None:
    """Every link lasts a week: a later expiry, though well signed, was not made by this server."""
    signer = LinkSigner(SECRET_KEY.encode())
    latest = NOW + MAX_LIFETIME + CLOCK_SKEW  # made by a replica whose clock runs a little ahead
    assert signer.verify(signer.sign(7, latest), NOW).team_id == 7
    assert signer.verify(signer.sign(7, latest, scope=EXPORT), NOW, scope=EXPORT).team_id == 7
    for far in (latest + timedelta(seconds=1), NOW + timedelta(days=3650), datetime(9999, 1, 1, tzinfo=UTC)):
        for scope in ("page", EXPORT):
            with pytest.raises(LinkError) as err:
                signer.verify(signer.sign(7, far, scope=scope), NOW, scope=scope)
            assert not err.value.expired


@pytest.mark.parametrize(
    "token",
    [
        "\u0661.1797046687." + "A" * 43,
        "7.\u0661\u0667\u0669\u0667." + "A" * 43,
        "\u00b2.1797046687." + "A" * 43,
        "\uff17.1797046687." + "A" * 43,
        "7.1797046687." + "A" * 42 + "\u00e9",
        "07.1797046687." + "A" * 43,
        "+7.1797046687." + "A" * 43,
        " 7.1797046687." + "A" * 43,
        "7_0.1797046687." + "A" * 43,
        "7.1797046687." + "A" * 43 + "\n",
        "7.1797046687.A=",
        "7.1797046687.",
        "..",
        "",
    ],
)
def test_only_ascii_tokens_of_our_own_shape_are_read(token: str) -> None:
    signer = LinkSigner(SECRET_KEY.encode())
    with pytest.raises(LinkError):
        signer.team_of(token)
    with pytest.raises(LinkError):
        signer.verify(token, NOW)


def test_another_secret_opens_nothing() -> None:
    token = LinkSigner(SECRET_KEY.encode()).sign(7, NOW + timedelta(days=7))
    with pytest.raises(LinkError):
        LinkSigner(secrets.token_hex(32).encode()).verify(token, NOW)


def test_links_are_under_the_public_url_and_last_a_week() -> None:
    links = ReviewLinks(LinkSigner(SECRET_KEY.encode()), PUBLIC + "/")
    page = links.page(3, NOW)
    assert page.url == f"{PUBLIC}/review/{page.token}" and page.expires_at == NOW + timedelta(days=7)
    assert links.export(3, NOW).url.endswith("/export.csv")
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", page.token)


def test_the_configured_secret_key_wins(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ritme.db'}"
    assert load_secret(SECRET_KEY, url) == SECRET_KEY.encode()
    assert not (tmp_path / "ritme.db.secret").exists()
    with pytest.raises(ConfigError, match="RITME_SECRET_KEY: too short"):
        load_secret("configured-short-key", url)


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


async def test_a_ten_year_link_signed_with_the_servers_own_key_gets_403(real: App) -> None:
    """What a leaked secret would let anyone make: a link for years. Page and export stay shut."""
    path = await real.link()
    team = int(path.split("/")[2].split(".")[0])
    signer = real.app[REVIEW_LINKS].signer
    far = NOW + timedelta(days=3650)
    for url in (f"/review/{signer.sign(team, far)}", f"/review/{signer.sign(team, far, scope=EXPORT)}/export.csv"):
        resp = await real.client.get(url)
        assert resp.status == 403, url
        text = await resp.text()
        assert "This link does not open a review page" in text and "Traceback" not in text
    assert (await real.client.get(path)).status == 200  # the week-long link the server made opens


SIG = "A" * 43
STRANGE = [  # paths after /review/, percent-encoded as a browser sends them
    pytest.param("1.1797046687.%C3%A9", id="non-ascii-signature"),
    pytest.param("1.1797046687." + SIG[:-1] + "%C3%A9", id="non-ascii-in-a-signature-of-the-right-length"),
    pytest.param("%D9%A1.1797046687." + SIG, id="arabic-indic-digit-team"),
    pytest.param("1.%D9%A1%D9%A7%D9%A9%D9%A7%D9%A0%D9%A4%D9%A6%D9%A6%D9%A8%D9%A7." + SIG, id="arabic-indic-expiry"),
    pytest.param("%C2%B2.1797046687." + SIG, id="superscript-team"),
    pytest.param("1.1797046687%C2%B2." + SIG, id="superscript-in-expiry"),
    pytest.param("%EF%BC%91.1797046687." + SIG, id="fullwidth-digit"),
    pytest.param("1.1797046687." + "A" * 5000, id="long-signature"),
    pytest.param("1." + "9" * 3000 + "." + SIG, id="long-expiry"),
    pytest.param("9" * 7000, id="long-token"),
    pytest.param("1..", id="empty-parts"),
    pytest.param(".1797046687." + SIG, id="empty-team"),
    pytest.param("1.." + SIG, id="empty-expiry"),
    pytest.param("1.1797046687.", id="empty-signature"),
    pytest.param("..", id="dot-dot"),
    pytest.param(".", id="dot"),
    pytest.param("%2E%2E", id="dot-dot-encoded"),
    pytest.param("1.1797046687.%2E%2E", id="dot-dot-as-signature"),
    pytest.param("..%2F..%2Fetc%2Fpasswd", id="traversal"),
    pytest.param("1%00.1797046687." + SIG, id="nul-in-team"),
    pytest.param("%00", id="nul"),
    pytest.param("-1.1797046687." + SIG, id="negative-team"),
    pytest.param("+1.1797046687." + SIG, id="plus-team"),
    pytest.param("%201.1797046687." + SIG, id="space-before-team"),
    pytest.param("1_0.1797046687." + SIG, id="underscore-in-team"),
    pytest.param("1.1797046687." + SIG + "%0A", id="newline-after"),
    pytest.param("1.1797046687.%FF%FE", id="not-utf8"),
    pytest.param("%F0%9F%98%80", id="emoji"),
]


@pytest.mark.parametrize("token", STRANGE)
async def test_a_token_not_of_ours_gets_4xx_never_500(real: App, token: str) -> None:
    """Sent as raw bytes on the wire (no client normalises them), to the page and the export."""
    for path in (f"/review/{token}", f"/review/{token}/export.csv"):
        status, body = await asyncio.to_thread(request, real.client.port, "GET", path)
        assert 400 <= status < 500, (path[:80], status, body[:300])
        if status == 403:
            assert b"This link does not open a review page" in body and b"Traceback" not in body


async def test_a_good_token_with_anything_around_it_gets_403(real: App) -> None:
    token = (await real.link()).split("/")[2]
    for bad in (f"{token}%0A", f"%20{token}", f"0{token}", f"{token}.", token.replace(".", ".0", 1)):
        status, body = await asyncio.to_thread(request, real.client.port, "GET", f"/review/{bad}")
        assert status == 403 and b"This link does not open a review page" in body, bad
    assert (await asyncio.to_thread(request, real.client.port, "GET", f"/review/{token}"))[0] == 200


async def test_a_link_for_one_team_does_not_open_another(real: App) -> None:
    path = await real.link()
    team_a = int(path.split("/")[2].split(".")[0])
    other, _ = await real.app[REPO].ensure_team(
        platform="playground",
        workspace_id="w2",
        channel_id="other",
        name="Team B",
        timezone="Europe/Amsterdam",
        language="en",
        now=NOW,
    )
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
    assert (
        await real.client.get(export.removesuffix("/export.csv"))
    ).status == 403  # an export link opens the CSV only
    review = await real.link("bram")
    assert (await real.client.get(review + "/export.csv")).status == 403  # a leader's page link downloads nothing
    page = await (await real.client.get(review)).text()
    assert "Review link made" in page and "Export link made" in page  # the admin log shows both


def test_a_new_generation_revokes_the_links_made_before() -> None:
    signer = LinkSigner(SECRET_KEY.encode())
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
