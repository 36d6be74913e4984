"""A client for the playground API, as the page uses it, on the real app with an injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.server import ENGINE, create_app
from tests.fakes.clock import Clock


class Playground:
    """A thin client for the playground API, as the page uses it."""

    def __init__(self, client: TestClient, app: Any) -> None:
        self.client, self.app = client, app

    async def command(self, user: str, text: str) -> dict[str, Any]:
        resp = await self.client.post("/playground/api/command", json={"user": user, "text": text})
        assert resp.status == 200, await resp.text()
        return (await resp.json())["reply"]

    async def answer(self, user: str, occurrence: int, values: dict[str, Any]) -> dict[str, Any]:
        resp = await self.client.post(
            "/playground/api/answer", json={"user": user, "occurrence_id": occurrence, "values": values}
        )
        assert resp.status == 200, await resp.text()
        return await resp.json()

    async def state(self, user: str) -> dict[str, Any]:
        resp = await self.client.get("/playground/api/state", params={"user": user})
        assert resp.status == 200
        return await resp.json()

    async def deliver(self) -> None:
        while await self.app[ENGINE].dispatch():
            pass

    async def prompts(self, user: str = "chris") -> list[dict[str, Any]]:
        await self.deliver()
        return [m["payload"] for m in (await self.state(user))["messages"] if m["payload"]["type"] == "prompt"]

    async def notices(self, user: str = "chris", *, public: bool = True) -> list[dict[str, Any]]:
        return [
            m["payload"]
            for m in (await self.state(user))["messages"]
            if m["payload"]["type"] == "notice" and m["private"] != public
        ]


@asynccontextmanager
async def open_playground(database_url: str, clock: Clock, language: str = "en") -> AsyncIterator[Playground]:
    """The real app (no background tasks: tests tick and deliver by hand) behind a test client."""
    app = create_app(
        Settings(RITME_DATABASE_URL=database_url, RITME_DEFAULT_LANGUAGE=language), clock=clock, background=False
    )
    async with TestClient(TestServer(app)) as client:
        yield Playground(client, app)
