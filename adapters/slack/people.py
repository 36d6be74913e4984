"""People as Slack knows them: ``users.info`` (cached briefly) and a channel's human members.

An id Slack does not know (``user_not_found``) is a ``SlackUser`` with ``found=False``, so that
a command naming someone who does not exist can be refused; it is no human.

``channel_humans`` pages through ``conversations.members`` and keeps the people: bots
(this bot included), deleted accounts and app users are left out, using ``users.info``.
Lookups run a few at a time so that a large channel does not trip Slack's rate limits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

# api(team_id, method, *, errors=False, **params): the answer; None when the call failed.
# With errors=True, Slack's refusal ({"ok": false, "error": ...}) comes back instead of None.
Api = Callable[..., Awaitable[dict[str, Any] | None]]

PAGE_SIZE = 200
MAX_PAGES = 50  # 10,000 members: more than any school team channel


@dataclass(frozen=True, kw_only=True, slots=True)
class SlackUser:
    id: str
    name: str
    admin: bool = False  # workspace admin or owner
    bot: bool = False
    deleted: bool = False
    found: bool = True  # False: Slack knows no such user in the workspace

    @property
    def human(self) -> bool:
        return self.found and not self.bot and not self.deleted


def user_from(data: dict[str, Any], fallback_name: str = "") -> SlackUser:
    profile = data.get("profile") or {}
    return SlackUser(
        id=str(data.get("id", "")),
        name=str(
            profile.get("display_name")
            or profile.get("real_name")
            or data.get("real_name")
            or data.get("name")
            or fallback_name
        ),
        admin=bool(data.get("is_admin") or data.get("is_owner") or data.get("is_primary_owner")),
        bot=bool(data.get("is_bot") or data.get("is_app_user") or data.get("id") == "USLACKBOT"),
        deleted=bool(data.get("deleted")),
    )


class People:
    def __init__(
        self,
        api: Api,
        *,
        cache_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        concurrency: int = 8,
    ) -> None:
        self.api = api
        self.cache_seconds = cache_seconds
        self.clock = clock
        self.concurrency = concurrency
        self._users: dict[tuple[str, str], tuple[float, SlackUser]] = {}

    def known(self, team_id: str, user_id: str) -> SlackUser | None:
        """The user as last looked up, however long ago (names rarely change); no call."""
        cached = self._users.get((team_id, user_id))
        return cached[1] if cached else None

    async def user(self, team_id: str, user_id: str, fallback_name: str = "") -> SlackUser | None:
        """The user from ``users.info`` (``found=False`` when Slack knows no such user); None
        when Slack did not answer."""
        now = self.clock()
        cached = self._users.get((team_id, user_id))
        if cached and now - cached[0] < self.cache_seconds:
            return cached[1]
        data = await self.api(team_id, "users.info", user=user_id, errors=True)
        if data is not None and data.get("ok") is False and data.get("error") == "user_not_found":
            user = SlackUser(id=user_id, name="", found=False)
        elif data is None or data.get("ok") is False or not isinstance(data.get("user"), dict):
            return None
        else:
            user = user_from({"id": user_id, **data["user"]}, fallback_name)
        if len(self._users) > 4096:
            self._users.clear()
        self._users[(team_id, user_id)] = (now, user)
        return user

    async def channel_members(self, team_id: str, channel_id: str) -> list[str] | None:
        """Every member id of the channel (all pages); None when Slack refused."""
        members: list[str] = []
        cursor = ""
        for _page in range(MAX_PAGES):
            data = await self.api(
                team_id, "conversations.members", channel=channel_id, limit=PAGE_SIZE, cursor=cursor or None
            )
            if data is None:
                return None
            members += [str(m) for m in data.get("members") or []]
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        return list(dict.fromkeys(members))

    async def channel_humans(self, team_id: str, channel_id: str) -> list[SlackUser] | None:
        """The people in the channel, bots and deleted accounts left out; None when Slack
        refused the member list. A member whose ``users.info`` fails is kept by id."""
        ids = await self.channel_members(team_id, channel_id)
        if ids is None:
            return None
        limit = asyncio.Semaphore(self.concurrency)

        async def look(user_id: str) -> SlackUser:
            async with limit:
                return await self.user(team_id, user_id) or SlackUser(id=user_id, name=user_id)

        users = await asyncio.gather(*(look(u) for u in ids))
        return [u for u in users if u.human]
