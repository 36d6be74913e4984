"""Which bot token speaks for a workspace, and whether Ritme may still speak there.

Two ways to run:

- one workspace: ``SLACK_BOT_TOKEN`` is the token everywhere;
- several workspaces (OAuth, ``SLACK_CLIENT_ID``): each workspace's token comes from the
  installation store (``storage/slack_store.py``, through slack_sdk's interface), saved
  when someone installs Ritme at ``/slack/install``.

Either way an uninstalled workspace (``app_uninstalled``, ``tokens_revoked``) is *disabled*
in the store, and ``Tokens.token`` refuses it with ``NotInstalled``: nothing more is sent.
Answers are cached for ``ttl`` seconds per process; this process forgets its cache as soon
as it disables or enables a workspace itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol


class NotInstalled(Exception):
    """Ritme is not (or no longer) installed in the workspace."""

    def __init__(self, workspace_id: str) -> None:
        super().__init__(f"not installed in workspace {workspace_id}")
        self.workspace_id = workspace_id


class WorkspaceState(Protocol):
    @property
    def enabled(self) -> bool: ...

    @property
    def installer_user_id(self) -> str | None: ...

    @property
    def bot_token(self) -> str | None: ...


class Installations(Protocol):
    """What the adapter needs of the installation store besides slack_sdk's own interface
    (``AsyncInstallationStore``, which bolt uses for the OAuth flow and authorization)."""

    async def async_workspace(self, workspace_id: str) -> WorkspaceState | None:
        """The workspace's install, or None when Ritme never heard of one there."""
        ...

    async def async_disable(self, workspace_id: str) -> None:
        """Stop speaking to the workspace (and forget its token)."""
        ...

    async def async_enable(self, workspace_id: str) -> bool:
        """Speak to a disabled workspace again; True when it was disabled."""
        ...


class Tokens:
    """The bot token for a workspace: the configured one, or the installation's."""

    def __init__(
        self,
        *,
        bot_token: str | None,
        installations: Installations | None,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot_token = bot_token
        self.installations = installations
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[float, WorkspaceState | None]] = {}
        self._reading: dict[str, asyncio.Task[WorkspaceState | None]] = {}

    @property
    def multi_workspace(self) -> bool:
        return self.bot_token is None

    async def state(self, workspace_id: str) -> WorkspaceState | None:
        """The workspace's install as the store knows it (cached); may raise what the store
        raises. Requests that find the cache out of date together share one read: every
        signed request asks, and hundreds a second each reading the store stalled them all."""
        if self.installations is None:
            return None
        cached = self._cache.get(workspace_id)
        if cached and self.clock() - cached[0] < self.ttl:
            return cached[1]
        reading = self._reading.get(workspace_id)
        if reading is None:
            reading = asyncio.ensure_future(self._read(workspace_id))
            self._reading[workspace_id] = reading
            reading.add_done_callback(
                lambda done: self._reading.pop(workspace_id, None) if self._reading.get(workspace_id) is done else None
            )
        return await asyncio.shield(reading)

    async def _read(self, workspace_id: str) -> WorkspaceState | None:
        assert self.installations is not None
        read_at = self.clock()
        state = await self.installations.async_workspace(workspace_id)
        if self._reading.get(workspace_id) is asyncio.current_task():  # not forgotten meanwhile
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[workspace_id] = (read_at, state)
        return state

    async def token(self, workspace_id: str) -> str:
        """The token to call the Web API with for this workspace; ``NotInstalled`` when the
        workspace is disabled, or (OAuth) was never installed."""
        state = await self.state(workspace_id)
        if state is not None and not state.enabled:
            raise NotInstalled(workspace_id)
        if self.bot_token is not None:
            return self.bot_token
        if state is None or not state.bot_token:
            raise NotInstalled(workspace_id)
        return state.bot_token

    async def installer(self, workspace_id: str) -> str | None:
        """Who installed Ritme in the workspace through OAuth (None with a configured token)."""
        state = await self.state(workspace_id)
        return state.installer_user_id if state is not None and state.enabled else None

    async def disable(self, workspace_id: str) -> None:
        if self.installations is not None:
            await self.installations.async_disable(workspace_id)
        self.forget(workspace_id)

    async def came_back(self, workspace_id: str) -> bool:
        """A signed request arrived from the workspace with the configured token: if it was
        disabled, the app was installed again. True when it was re-enabled just now."""
        if self.installations is None or self.bot_token is None:
            return False
        state = await self.state(workspace_id)
        if state is None or state.enabled:
            return False
        changed = await self.installations.async_enable(workspace_id)
        self.forget(workspace_id)
        return changed

    def forget(self, workspace_id: str) -> None:
        self._cache.pop(workspace_id, None)
        self._reading.pop(workspace_id, None)  # a read under way may predate the change: not cached
