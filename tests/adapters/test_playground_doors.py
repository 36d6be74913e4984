"""The playground answers this machine's browser only: loopback ``Host`` names (or the hosts
remote access was allowed for), and changes only from its own page (``Origin``,
``Sec-Fetch-Site``). Everything else gets 403 and changes nothing. The request headers are
the ones browsers send (Fetch standard, https://fetch.spec.whatwg.org/#origin-header;
https://www.w3.org/TR/fetch-metadata/#sec-fetch-site-header)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.playground.doors import is_loopback, split_host
from bot.config import Settings
from bot.server import create_app
from tests.fakes.clock import Clock
from tests.fakes.playground import Playground

ADD = {"user": "anna", "text": "add reflection every monday at 09:00 team"}


def own_origin(pg: Playground) -> str:
    return f"http://127.0.0.1:{pg.client.port}"


async def rituals(pg: Playground) -> list[Any]:
    return (await pg.command("anna", "list"))["fields"]


async def post(pg: Playground, path: str, body: dict[str, Any], **headers: str) -> tuple[int, str]:
    response = await pg.client.post(path, json=body, headers=headers)
    return response.status, await response.text()


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "null",
        "http://127.0.0.1:1",
        "https://127.0.0.1:{port}",
        "http://localhost:{port}",
        "http://127.0.0.1:{port}/path",
        "not an origin",
    ],
)
async def test_a_post_from_another_origin_is_refused_and_changes_nothing(pg: Playground, origin: str) -> None:
    status, text = await post(pg, "/playground/api/command", ADD, Origin=origin.format(port=pg.client.port))
    assert status == 403 and 0 < len(text) < 100
    assert (await pg.state("anna"))["messages"] == []  # not even the command shows in the feed
    assert await rituals(pg) == []


async def test_an_answer_from_another_site_is_refused(pg: Playground) -> None:
    await pg.command("anna", "add reflection every monday at 09:00 team")
    await pg.command("anna", "run #1")
    (prompt,) = await pg.prompts()
    body = {"user": "chris", "occurrence_id": prompt["occurrence_id"], "values": {"answer": "forged"}}
    assert (await post(pg, "/playground/api/answer", body, Origin="http://evil.example"))[0] == 403
    assert (await post(pg, "/playground/api/answer", body, **{"Sec-Fetch-Site": "cross-site"}))[0] == 403
    review = await pg.command("bram", "review #1")
    assert "forged" not in review["text"] and "0 of 4 answered" in review["text"]


@pytest.mark.parametrize("site", ["cross-site", "same-site", "Cross-Site"])
async def test_a_post_another_sites_page_made_is_refused(pg: Playground, site: str) -> None:
    assert (await post(pg, "/playground/api/command", ADD, **{"Sec-Fetch-Site": site}))[0] == 403
    assert await rituals(pg) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "{origin}", "Sec-Fetch-Site": "same-origin"},  # what the page in a browser sends
        {"Origin": "{origin}"},
        {},  # no page: curl, scripts
    ],
)
async def test_the_own_page_and_clients_without_a_page_are_served(pg: Playground, headers: dict[str, str]) -> None:
    sent = {name: value.format(origin=own_origin(pg)) for name, value in headers.items()}
    status, _text = await post(pg, "/playground/api/command", ADD, **sent)
    assert status == 200
    assert [f[0] for f in await rituals(pg)] == ["#1 Reflection"]


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1.evil.example",
        "localhost.evil",
        "0.0.0.0:{port}",
        "10.0.0.5:{port}",
        "",
        "[::1",
        "127.0.0.1:port",
    ],
)
async def test_a_foreign_host_gets_403_on_pages_the_feed_and_posts(pg: Playground, host: str) -> None:
    """A page of another site whose name points at 127.0.0.1 (DNS rebinding) sends its own
    name: it reads neither the page nor the feed, and posts nothing."""
    await pg.command("anna", "add reflection every monday at 09:00 team")
    name = host.format(port=pg.client.port)
    for path in ("/", "/playground/api/state?user=anna", "/static/playground/app.js"):
        response = await pg.client.get(path, headers={"Host": name})
        assert response.status == 403, path
        body = await response.text()
        assert "Reflection" not in body and len(body) < 100
    status, _text = await post(pg, "/playground/api/command", {"user": "anna", "text": "remove #1"}, Host=name)
    assert status == 403
    assert [f[0] for f in await rituals(pg)] == ["#1 Reflection"]


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:{port}",
        "LOCALHOST:{port}",
        "127.0.0.1",
        "127.1.2.3:{port}",
        "[::1]:{port}",
        "[::1]",
        "localhost.:{port}",
    ],
)
async def test_loopback_names_are_served(pg: Playground, host: str) -> None:
    name = host.format(port=pg.client.port)
    assert (await pg.client.get("/", headers={"Host": name})).status == 200
    assert (await pg.client.get("/playground/api/state", headers={"Host": name})).status == 200
    origin = "http://" + name.lower()
    assert (await post(pg, "/playground/api/command", ADD, Host=name, Origin=origin))[0] == 200


async def test_other_routes_keep_their_own_rules(pg: Playground) -> None:
    """Health checks come from load balancers under any name; the doors are the playground's."""
    response = await pg.client.get("/healthz", headers={"Host": "ritme-1.internal"})
    assert response.status == 200


@asynccontextmanager
async def open_app(sqlite_url: str, clock: Clock, **settings: Any) -> AsyncIterator[Playground]:
    app = create_app(
        Settings(RITME_DATABASE_URL=sqlite_url, RITME_DEFAULT_LANGUAGE="en", **settings), clock=clock, background=False
    )
    async with TestClient(TestServer(app)) as client:
        yield Playground(client, app)


async def test_remote_access_allowed_adds_the_public_and_the_listening_host(sqlite_url: str, clock: Clock) -> None:
    """Behind a TLS proxy the request comes in as http, the page's origin is https."""
    async with open_app(
        sqlite_url,
        clock,
        RITME_PLAYGROUND_ALLOW_REMOTE=True,
        RITME_PUBLIC_URL="https://Ritme.School.example",
        RITME_HOST="192.0.2.7",
    ) as pg:
        public = {"Host": "ritme.school.example", "Origin": "https://ritme.school.example"}
        assert (await pg.client.get("/", headers={"Host": "ritme.school.example"})).status == 200
        assert (await post(pg, "/playground/api/command", ADD, **public))[0] == 200
        assert (await pg.client.get("/", headers={"Host": "192.0.2.7:3978"})).status == 200
        listening = {"Host": "192.0.2.7:3978", "Origin": "http://192.0.2.7:3978"}
        assert (await post(pg, "/playground/api/command", {**ADD, "text": "list"}, **listening))[0] == 200
        assert (await pg.client.get("/", headers={"Host": "evil.example"})).status == 403
        other = {"Host": "ritme.school.example", "Origin": "https://evil.example"}
        assert (await post(pg, "/playground/api/command", {**ADD, "text": "remove #1"}, **other))[0] == 403
        assert len(await rituals(pg)) == 1


async def test_the_public_host_is_no_door_unless_remote_access_is_allowed(sqlite_url: str, clock: Clock) -> None:
    async with open_app(sqlite_url, clock, RITME_PUBLIC_URL="https://ritme.school.example") as pg:
        assert (await pg.client.get("/", headers={"Host": "ritme.school.example"})).status == 403


@pytest.mark.parametrize(
    ("name", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("LocalHost.", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("128.0.0.1", False),
        ("localhost.example", False),
        ("192.168.1.2", False),
    ],
)
def test_loopback_names(name: str, loopback: bool) -> None:
    assert is_loopback(name) is loopback


def test_host_headers_are_read_strictly() -> None:
    assert split_host("[::1]:3978") == ("::1", 3978)
    assert split_host("Localhost") == ("localhost", None)
    assert split_host("localhost:") is None
    assert split_host("localhost:12x") is None
    assert split_host("a:b:c") is None
    assert split_host("[::1]x") is None
