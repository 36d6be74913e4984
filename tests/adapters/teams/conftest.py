"""The real app with Teams configured against the fake Microsoft side, on a fresh SQLite file.

The engine runs on an injected clock (``Teams.clock``); the platform's pacers and retry
waits sleep on ``Teams.pace``, which records each wait and moves its own time instead of
waiting.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.teams.platform import TENANT_LIMITS, THREAD_LIMITS, Pacer, TeamsPlatform
from bot.config import Settings
from bot.server import ENGINE, REPO, create_app
from storage.db import upgrade
from tests.fakes.botframework import CHANNEL, FakeBotFramework
from tests.fakes.clock import Clock
from tests.fakes.secret_key import SECRET_KEY

TENANT = "tenant-1"
BOT_ID = "28:ritme-bot"
# A team's General channel has the team's own id (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/
# how-to/conversations/subscribe-to-conversation-events: member events come "on the team id"); other channels
# have ids of their own.
GENERAL = "19:general@thread.tacv2"
TEAM = {"id": GENERAL, "name": "Groep 7", "aadGroupId": "group-groep-7"}
PLANNING = "19:planning@thread.tacv2"
CHANNELS = {GENERAL: {"id": GENERAL, "name": "General"}, PLANNING: {"id": PLANNING, "name": "Planning"}}
EVENTS_DOC = "https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/conversations/subscribe-to-conversation-events"

PEOPLE = {
    "anna": {"id": "29:anna", "aadObjectId": "aad-anna", "name": "Anna"},
    "bram": {"id": "29:bram", "aadObjectId": "aad-bram", "name": "Bram"},
    "chris": {"id": "29:chris", "aadObjectId": "aad-chris", "name": "Chris"},
    "dana": {"id": "29:dana", "aadObjectId": "aad-dana", "name": "Dana"},
    "eva": {"id": "29:eva", "aadObjectId": "aad-eva", "name": "Eva"},
}
START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Amsterdam


def account(who: str) -> dict[str, Any]:
    """A member as the roster lists them (TeamsChannelAccount JSON)."""
    return {**PEOPLE[who], "userPrincipalName": f"{who}@school.example", "tenantId": TENANT, "userRole": "user"}


class PaceClock:
    """A monotonic clock for the pacers and retry waits: sleeping records the wait and moves
    this clock, nothing waits for real."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBotFramework]:
    with FakeBotFramework() as bf:
        # The bot's own token comes from the fake login endpoint over https (msal insists).
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", bf.ca_file)
        yield bf


@pytest.fixture
async def teams_db_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'teams.db'}"
    await asyncio.to_thread(upgrade, url)
    return url


class Teams:
    """Sends signed activities to the app, as the Bot Framework channel would."""

    def __init__(self, client: TestClient, app: Any, fake: FakeBotFramework, clock: Clock, pace: PaceClock) -> None:
        self.client, self.app, self.fake, self.clock, self.pace = client, app, fake, clock, pace
        self._ids = itertools.count(1)

    def activity(
        self,
        kind: str,
        who: str = "anna",
        *,
        conversation: str = GENERAL,
        conversation_type: str = "channel",
        **extra: Any,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": kind,
            "id": f"in-{next(self._ids)}",
            "channelId": CHANNEL,
            "serviceUrl": self.fake.service_url,
            "from": PEOPLE[who],
            "recipient": {"id": BOT_ID, "name": "Ritme"},
            "conversation": {"id": conversation, "conversationType": conversation_type, "tenantId": TENANT},
            "channelData": {
                "tenant": {"id": TENANT},
                "team": TEAM,
                "channel": CHANNELS.get(conversation, CHANNELS[GENERAL]),
            },
        }
        data.update(extra)
        return data

    async def post(self, activity: dict[str, Any], token: str | None = "valid") -> int:
        headers = {}
        if token == "valid":
            headers["Authorization"] = self.fake.sign(service_url=activity["serviceUrl"])
        elif token is not None:
            headers["Authorization"] = token
        resp = await self.client.post("/api/messages", json=activity, headers=headers)
        return resp.status

    def installing(self, who: str = "anna", *, channel: str = GENERAL, name: str = "General") -> dict[str, Any]:
        """The bot added to a team, as Teams sends it (``EVENTS_DOC``, "Team members added"): on
        the channel picked, ``from`` with the installer's ids and no name, the team and the
        picked channel in ``channelData``."""
        person = {k: v for k, v in PEOPLE[who].items() if k != "name"}
        return self.activity(
            "conversationUpdate",
            who,
            conversation=channel,
            membersAdded=[{"id": BOT_ID}],
            channelData={
                "settings": {"selectedChannel": {"id": channel}},
                "team": TEAM,
                "channel": {"id": channel, "name": name},
                "eventType": "teamMemberAdded",
                "tenant": {"id": TENANT},
            },
            **{"from": person},
        )

    async def install(self, who: str = "anna", *, channel: str = GENERAL, name: str = "General") -> int:
        return await self.post(self.installing(who, channel=channel, name=name))

    def members(
        self, who: str = "anna", *, added: tuple[str, ...] = (), removed: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """People added to or removed from the team, as Teams sends it (``EVENTS_DOC``, "Team
        members added", "Team members removed"): on the team's id, ``from`` without a name; an
        added member with their account and Entra ids, a removed one with the account id only."""
        extra: dict[str, Any] = {}
        if added:
            extra["membersAdded"] = [{"id": PEOPLE[p]["id"], "aadObjectId": PEOPLE[p]["aadObjectId"]} for p in added]
        if removed:
            extra["membersRemoved"] = [{"id": PEOPLE[p]["id"]} for p in removed]
        return self.activity(
            "conversationUpdate",
            who,
            conversation=TEAM["id"],
            channelData={
                "team": TEAM,
                "eventType": "teamMemberAdded" if added else "teamMemberRemoved",
                "tenant": {"id": TENANT},
            },
            **{"from": {"id": PEOPLE[who]["id"]}},
            **extra,
        )

    async def say(self, who: str, text: str, *, mention: bool = True) -> dict[str, Any]:
        """A message to the bot; returns the card the bot replied with."""
        before = len(self.fake.sent)
        body = f"<at>Ritme</at> {text}" if mention else text
        extra: dict[str, Any] = {"text": body}
        if mention:
            extra["entities"] = [
                {"type": "mention", "text": "<at>Ritme</at>", "mentioned": {"id": BOT_ID, "name": "Ritme"}}
            ]
        status = await self.post(self.activity("message", who, **extra))
        assert status in (200, 201)
        replies = self.fake.sent[before:]
        assert len(replies) == 1, replies
        return replies[0].body["attachments"][0]["content"]

    async def deliver(self) -> None:
        while await self.app[ENGINE].dispatch():
            pass


@pytest.fixture
async def teams(fake: FakeBotFramework, teams_db_url: str) -> AsyncIterator[Teams]:
    async with running(fake, teams_db_url) as harness:
        yield harness


@asynccontextmanager
async def running(fake: FakeBotFramework, db_url: str, **env: str | None) -> AsyncIterator[Teams]:
    """The app with the fake's Bot Framework settings, ``env`` changing them (None: unset)."""
    given = {name: value for name, value in {**fake.env(), **env}.items() if value is not None}
    settings = Settings(RITME_DATABASE_URL=db_url, RITME_DEFAULT_LANGUAGE="en", RITME_SECRET_KEY=SECRET_KEY, **given)
    clock = Clock(START)
    app = create_app(settings, clock=clock, background=False)
    pace = PaceClock()
    platform = app[ENGINE].platforms["teams"]
    assert isinstance(platform, TeamsPlatform)
    platform.pacer = Pacer(THREAD_LIMITS, clock=pace, sleep=pace.sleep)
    platform.tenant_pacer = Pacer(TENANT_LIMITS, clock=pace, sleep=pace.sleep)
    platform.sleep, platform.rng = pace.sleep, random.Random(7)
    async with TestClient(TestServer(app)) as client:
        yield Teams(client, app, fake, clock, pace)


def card_text(card: dict[str, Any]) -> str:
    """Every text on a card, for assertions."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("text", "title", "value", "label"):
                if isinstance(node.get(key), str):
                    parts.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return "\n".join(parts)


__all__ = [
    "BOT_ID",
    "EVENTS_DOC",
    "GENERAL",
    "PEOPLE",
    "PLANNING",
    "REPO",
    "TEAM",
    "TENANT",
    "PaceClock",
    "Teams",
    "account",
    "card_text",
]
