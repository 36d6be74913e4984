"""A real Ritme server with Slack configured, pointed at the fake Slack.

``slack`` yields a ``Harness`` for one workspace (``SLACK_BOT_TOKEN``): it signs requests
exactly as Slack does, waits for the work the adapter does after its acks, and runs the
outbox dispatcher on demand (the app is built with ``background=False``; the engine's clock
is a fixed, movable ``Clock``). The platform's per-channel pacer keeps its one-second rule
but sleeps on a fake clock: ``Harness.waits`` records each (channel, wait in seconds).

``slack_oauth`` is the same server installed through OAuth (``SLACK_CLIENT_ID``), with no
workspace installed yet; ``slack_socket`` runs over Socket Mode (``SLACK_APP_TOKEN``).

``Harness.submit`` sends an interaction the way ``Harness.via`` says: ``"http"``, signed to
``POST /slack/events``; ``"socket"``, as bolt's ``AsyncSocketModeHandler`` hands a Socket Mode
envelope to the app (the envelope's payload as the body of an ``AsyncBoltRequest`` in
``socket_mode``, its ``retry_attempt`` and ``retry_reason`` as the retry headers: bolt's
``slack_bolt.adapter.socket_mode`` does exactly that with each envelope,
https://docs.slack.dev/apis/events-api/using-socket-mode#acknowledge). The acks are compared
as Slack sees them: the status (over Socket Mode, Slack gets no ack for anything but 200)
and what the ack carries. ``slack_both`` is ``slack`` once for each way.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy import func, select

from adapters.slack.app import SLACK_ADAPTER
from adapters.slack.pacing import ChannelPacer
from bot.config import Settings
from bot.server import ENGINE, REPO, create_app
from storage.db import upgrade
from storage.models import Participation, Reply, SealedAnswer
from tests.fakes.secret_key import SECRET_KEY
from tests.fakes.slack_api import APP_TOKEN, CLIENT_ID, CLIENT_SECRET, FakeSlackApi

SECRET = "test-signing-secret"
TEAM = "T1"
CHANNEL = "C1"
ADMIN = "UADMIN"
MEMBER = "UMEMBER"


class Clock:
    """The engine's time: fixed, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def sign(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


class PaceClock:
    """The pacer's monotonic clock: sleeping moves it, nothing waits for real."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@dataclass(frozen=True, kw_only=True)
class Ack:
    """An interaction's ack as Slack gets it: the status, and the JSON (``body``) or text it carries."""

    status: int
    body: dict[str, Any] | None = None
    text: str = ""


@dataclass
class Harness:
    client: TestClient
    fake: FakeSlackApi
    clock: Clock
    pace: PaceClock
    triggers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    via: str = "http"  # how ``submit`` sends an interaction: "http" or "socket"

    async def submit(self, payload: dict[str, Any], *, retry: int = 0) -> Ack:
        """An interaction (``payload`` as Slack documents it) sent ``self.via``; ``retry``: Slack's
        retry number (``X-Slack-Retry-Num``; a Socket Mode envelope's ``retry_attempt``)."""
        if self.via == "http":
            headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
            response = await self.interact(payload, **headers)
            text = (await response.read()).decode()
            is_json = response.content_type == "application/json"
            return Ack(status=response.status, body=json.loads(text) if is_json and text else None, text=text)
        request = AsyncBoltRequest(
            mode="socket_mode",
            body=payload,
            headers={"x-slack-retry-num": str(retry), "x-slack-retry-reason": "timeout" if retry else ""},
        )
        answer = await self.adapter.bolt.async_dispatch(request)
        await self.adapter.drain()
        is_json = (answer.headers.get("content-type") or [""])[0].startswith("application/json")
        return Ack(
            status=answer.status, body=json.loads(answer.body) if is_json and answer.body else None, text=answer.body
        )

    @property
    def app(self) -> Any:
        return self.client.server.app

    @property
    def adapter(self) -> Any:
        return self.app[SLACK_ADAPTER]

    async def post(
        self, body: str, content_type: str, *, headers: dict[str, str] | None = None, signed: bool = True
    ) -> Any:
        retry = (headers or {}).get("X-Slack-Retry-Num")
        # Slack signs a retry when it sends it, seconds after the original (its first retry follows a 3 s
        # timeout): a timestamp and a signature of its own.
        stamp = int(time.time()) + 3 * int(retry) if retry else None
        all_headers = {"Content-Type": content_type, **(sign(body, stamp) if signed else {}), **(headers or {})}
        response = await self.client.post("/slack/events", data=body.encode(), headers=all_headers)
        await response.read()
        await self.adapter.drain()
        return response

    async def command(self, text: str, user: str = MEMBER, **extra: Any) -> dict[str, Any]:
        """``/ritme TEXT`` as ``user``; returns what was posted to the response_url."""
        before = len(self.fake.called("response_url"))
        form = {
            "token": "x",
            "team_id": TEAM,
            "team_domain": "school",
            "channel_id": CHANNEL,
            "channel_name": "team-a",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/ritme",
            "text": text,
            "response_url": self.fake.response_url(),
            **extra,
        }
        form.setdefault("trigger_id", f"trig.{next(self.triggers)}")  # each command its own, as Slack gives
        response = await self.post(urlencode(form), "application/x-www-form-urlencoded")
        assert response.status == 200
        answers = self.fake.called("response_url")
        assert len(answers) == before + 1, "no answer on the response_url"
        return answers[-1].body

    async def interact(self, payload: dict[str, Any], **headers: str) -> Any:
        return await self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", headers=headers
        )

    async def event(self, event: dict[str, Any], event_id: str, *, team: str = TEAM, **headers: str) -> Any:
        body = {
            "token": "x",
            "team_id": team,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
        }
        return await self.post(json.dumps(body), "application/json", headers=headers)

    async def dispatch(self) -> int:
        """Deliver everything due in the outbox (bounded: never loops forever)."""
        handled = 0
        for _ in range(20):
            n = await self.app[ENGINE].dispatch()
            if not n:
                break
            handled += n
        return handled

    async def count(self, model: Any) -> int:
        async with self.app[REPO].session() as s:
            return int(await s.scalar(select(func.count()).select_from(model)) or 0)

    async def replies(self) -> list[dict[str, Any]]:
        async with self.app[REPO].session() as s:
            return [dict(r.values) for r in (await s.scalars(select(Reply).order_by(Reply.id))).all()]

    async def participations(self) -> int:
        return await self.count(Participation)

    async def sealed(self) -> int:
        """Anonymous answers of open rounds, sealed until their round closes."""
        return await self.count(SealedAnswer)


@asynccontextmanager
async def harness(tmp_path: Any, **credentials: str) -> AsyncIterator[Harness]:
    """A server with the given Slack credentials, against a fresh fake and database."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'ritme.db'}"
    await asyncio.to_thread(upgrade, url)
    async with FakeSlackApi(team_id=TEAM) as fake:
        fake.admins.add(ADMIN)
        settings = Settings(
            **{
                "RITME_DATABASE_URL": url,
                "RITME_SECRET_KEY": SECRET_KEY,
                "RITME_DEFAULT_LANGUAGE": "en",
                "RITME_DEFAULT_TIMEZONE": "Europe/Amsterdam",
                "RITME_PUBLIC_URL": "https://ritme.example.org",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.api_url,
                **credentials,
            }
        )
        clock = Clock()
        app = create_app(settings, clock=clock, background=False)
        pace = PaceClock()
        app[SLACK_ADAPTER].platform.pacer = ChannelPacer(1.0, clock=pace, sleep=pace.sleep)
        async with TestClient(TestServer(app)) as client:
            yield Harness(client=client, fake=fake, clock=clock, pace=pace)


@pytest.fixture
async def slack(tmp_path: Any) -> AsyncIterator[Harness]:
    async with harness(tmp_path, SLACK_BOT_TOKEN="xoxb-test") as h:
        yield h


@pytest.fixture(params=["http", "socket"])
async def slack_both(tmp_path: Any, request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """``slack``, its interactions sent over HTTP and, once more, as over Socket Mode."""
    async with harness(tmp_path, SLACK_BOT_TOKEN="xoxb-test") as h:
        h.via = request.param
        yield h


@pytest.fixture(params=["http", "socket"])
async def slack_oauth_both(tmp_path: Any, request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """``slack_oauth``, its interactions sent over HTTP and, once more, as over Socket Mode."""
    async with harness(tmp_path, SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET) as h:
        h.via = request.param
        yield h


@pytest.fixture
async def slack_oauth(tmp_path: Any) -> AsyncIterator[Harness]:
    async with harness(tmp_path, SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET) as h:
        yield h


@pytest.fixture
async def slack_socket(tmp_path: Any) -> AsyncIterator[Harness]:
    async with harness(tmp_path, SLACK_BOT_TOKEN="xoxb-test", SLACK_APP_TOKEN=APP_TOKEN) as h:
        yield h
