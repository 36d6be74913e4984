"""The checks every request from Slack passes before a listener runs, over HTTP and Socket Mode.

``Guards`` is one bolt ``AsyncMiddleware``, given to bolt as ``before_authorize`` (so it runs
after bolt's ``ssl_check`` and before bolt's authorization, for requests from both
transports); ``adapters.slack.http`` calls the same object's ``check`` for the answer form,
which it answers without bolt's dispatch (see ``adapters.slack.answers``). In order:

1. the payload's shape (``adapters.slack.payloads.payload_problem``): 400 with the reason;
2. an answer form from a workspace where Ritme is not installed (OAuth; cached, see
   ``Tokens``): 401. For every other request bolt's authorization asks the same question;
   the answer form asks it here so that it gets the same answer over both transports;
3. a retry of a request already handled (``X-Slack-Retry-Num``, and over Socket Mode the
   envelope's ``retry_attempt``, https://docs.slack.dev/apis/events-api/#retries): acked, dropped;
4. with a configured token, a request from a workspace that had removed Ritme means it was
   installed again: the workspace is enabled (its rituals stay paused until resumed).

The HTTP signature and replay check come before all of this, before the body is read
(``adapters.slack.signatures``); Socket Mode messages are not signed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from adapters.slack.installs import NotInstalled, Tokens
from adapters.slack.payloads import INSTALLATION_EVENTS, is_answer_form, payload_problem, workspace_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class Incoming:
    """What the guards read of a request, whichever way it came."""

    payload: Any  # what bolt reads as the body; the shape check says whether it is an object
    key: str  # what a retry of it has in common with the original
    retry: str | None  # Slack's retry number: None, or "0", for a first attempt

    @classmethod
    def from_http(cls, text: str, payload: Any, headers: Mapping[str, str]) -> Incoming:
        """A request read by ``adapters.slack.payloads`` (``headers`` read without regard to
        case, as aiohttp's are, or with lower-case names)."""
        return cls(payload=payload, key=request_key(payload, text), retry=headers.get("x-slack-retry-num"))

    @classmethod
    def from_bolt(cls, req: AsyncBoltRequest) -> Incoming:
        """A bolt request: over HTTP it holds the text it was read from; over Socket Mode
        only the payload (bolt keeps no text of it)."""
        retry = req.headers.get("x-slack-retry-num")
        return cls(payload=req.body, key=request_key(req.body, req.raw_body), retry=retry[0] if retry else None)


def request_key(payload: Any, text: str) -> str:
    """An Events API request is known by its event_id, anything else by its body."""
    if isinstance(payload, dict) and payload.get("event_id"):
        return "event:" + str(payload["event_id"])
    raw = text or json.dumps(payload, sort_keys=True, default=str)  # Socket Mode: no text
    return "body:" + hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True, slots=True)
class Stop:
    """The answer to a request that goes no further: a refusal, or the ack of a retry."""

    status: int
    text: str = ""
    json: bool = False

    def bolt(self) -> BoltResponse:
        headers: dict[str, str | Sequence[str]] = {
            "content-type": "application/json" if self.json else "text/plain;charset=utf-8"
        }
        return BoltResponse(status=self.status, body=self.text, headers=headers)


RETRY_HANDLED = Stop(status=200)
NOT_INSTALLED = Stop(status=401, text=json.dumps({"error": "not installed"}), json=True)


class SeenRequests:
    """A bounded LRU of request keys already handled, against Slack's retries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """Remember the key; False when it was there already."""
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        while len(self._keys) > self.size:
            self._keys.popitem(last=False)
        return True


class Guards(AsyncMiddleware):
    """The checks, in order; bolt runs them as middleware, the HTTP answer form calls ``check``."""

    def __init__(self, tokens: Tokens, came_back: Callable[[str], Awaitable[None]], *, dedupe_size: int) -> None:
        self.tokens = tokens
        self.came_back = came_back  # the bot's side: the workspace's teams are active again
        self.seen = SeenRequests(dedupe_size)

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:  # noqa: A002 (bolt's name)
        stop = await self.check(Incoming.from_bolt(req))
        return await next() if stop is None else stop.bolt()

    async def check(self, incoming: Incoming) -> Stop | None:
        """None when the request may go on to the listeners; else how to answer it."""
        problem = payload_problem(incoming.payload)
        if problem:
            log.info("slack: request refused: %s", problem)
            return Stop(status=400, text=problem)
        payload: dict[str, Any] = incoming.payload
        if is_answer_form(payload) and not await self.installed(workspace_of(payload)):
            return NOT_INSTALLED
        if self.handled_already(incoming):
            return RETRY_HANDLED
        event = payload.get("event")
        if not (isinstance(event, dict) and event.get("type") in INSTALLATION_EVENTS):
            await self.workspace_seen(str(payload.get("team_id") or workspace_of(payload)))
        return None

    def handled_already(self, incoming: Incoming) -> bool:
        """A retry (Slack says so) of a request seen before."""
        if not self.seen.add(incoming.key) and incoming.retry not in (None, "", "0"):
            log.info("slack: retry %s of a handled request ignored", incoming.retry)
            return True
        return False

    async def installed(self, workspace_id: str) -> bool:
        """With OAuth, as bolt's authorization asks: has the workspace an installation that
        is not disabled? With a configured token every workspace that reaches Ritme may answer."""
        if not self.tokens.multi_workspace:
            return True
        try:
            await self.tokens.token(workspace_id)
        except NotInstalled:
            log.info("slack: answer form from workspace %s, where Ritme is not installed, refused", workspace_id)
            return False
        except Exception as err:
            log.warning("slack: installation lookup failed: %r", err)
            return False
        return True

    async def workspace_seen(self, team_id: str) -> None:
        """With a configured token, a request from a disabled workspace means the app was
        installed there again: speak to it again (OAuth installs re-enable on save)."""
        if team_id and not self.tokens.multi_workspace:
            try:
                if await self.tokens.came_back(team_id):
                    log.warning("slack: workspace %s is back; its rituals stay paused until resumed", team_id)
                    await self.came_back(team_id)
            except Exception:
                log.exception("slack: re-enabling workspace %s failed", team_id)
