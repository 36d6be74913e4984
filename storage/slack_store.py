"""Slack installations and OAuth states in our own database, behind slack_sdk's interfaces.

``SlackInstallationStore`` is an ``AsyncInstallationStore`` (bot tokens only: Ritme asks
for no user scopes). Each workspace is one row of ``installations`` (platform ``slack``):
the installer's user id in ``installer_user_id``, everything else in ``data``. The bot
token and its refresh token are encrypted at rest with Fernet; the Fernet key is derived
from ``RITME_SECRET_KEY`` with HKDF-SHA256 (a fixed salt and a purpose label, so the same
secret signing review links yields an unrelated key here). HKDF, not PBKDF2: the secret is
already a high-entropy key, not a password to be stretched.

Deleting (``app_uninstalled``, ``tokens_revoked``) disables the row and wipes the tokens;
the row stays, so that a disabled workspace is known as disabled (nothing more is sent)
rather than unknown. A new install through OAuth enables it again.

``SlackOAuthStateStore`` is an ``AsyncOAuthStateStore`` in ``slack_oauth_states``: a state
is issued by one replica and consumed exactly once by whichever replica Slack redirects the
browser to (the consuming ``DELETE`` is atomic), within ``expiration_seconds``.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation as SlackInstallation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from storage.models import Installation, SlackOAuthState
from storage.repo import Repo

log = logging.getLogger(__name__)

PLATFORM = "slack"
_SALT = b"ritme/slack-installations"
_INFO = b"fernet key for bot tokens, v1"


def token_cipher(secret_key: str) -> Fernet:
    """The Fernet cipher for stored tokens, derived from ``RITME_SECRET_KEY`` (HKDF-SHA256)."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkspaceInstall:
    """What the adapter asks about a workspace: may Ritme speak there, with which token,
    and who installed it (they are treated as an admin of the workspace's teams)."""

    workspace_id: str
    enabled: bool
    installer_user_id: str | None
    bot_token: str | None


def workspace_key(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None) -> str:
    """The ``installations.workspace_id`` of an install: the org for an org-wide install."""
    if is_enterprise_install and enterprise_id:
        return enterprise_id
    return team_id or enterprise_id or ""


class SlackInstallationStore(AsyncInstallationStore):
    """slack_sdk's installation store over our ``installations`` table, tokens encrypted."""

    def __init__(self, repo: Repo, secret_key: str, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.repo = repo
        self.cipher = token_cipher(secret_key)
        self.clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    # -- encryption -------------------------------------------------------------------

    def _seal(self, token: str | None) -> str | None:
        return self.cipher.encrypt(token.encode()).decode() if token else None

    def _open(self, sealed: Any) -> str | None:
        if not sealed:
            return None
        try:
            return self.cipher.decrypt(str(sealed).encode()).decode()
        except InvalidToken:
            log.error("slack: a stored token cannot be decrypted (was RITME_SECRET_KEY changed?)")
            return None

    # -- saving -----------------------------------------------------------------------

    async def async_save(self, installation: SlackInstallation) -> None:
        """Store (or replace) the workspace's installation and enable it."""
        key = workspace_key(installation.enterprise_id, installation.team_id, installation.is_enterprise_install)
        data = {
            "app_id": installation.app_id,
            "enterprise_id": installation.enterprise_id,
            "enterprise_name": installation.enterprise_name,
            "team_id": installation.team_id,
            "team_name": installation.team_name,
            "bot_id": installation.bot_id,
            "bot_user_id": installation.bot_user_id,
            "bot_scopes": list(installation.bot_scopes or []),
            "bot_token": self._seal(installation.bot_token),
            "bot_refresh_token": self._seal(installation.bot_refresh_token),
            "bot_token_expires_at": installation.bot_token_expires_at,
            "is_enterprise_install": bool(installation.is_enterprise_install),
            "installed_at": float(installation.installed_at),
            "token_type": installation.token_type,
        }
        name = installation.team_name or installation.enterprise_name or ""
        await self._upsert(key, name=name, installer=installation.user_id, data=data)

    async def async_save_bot(self, bot: Bot) -> None:
        """Store a rotated bot token (token rotation); the installer is kept."""
        key = workspace_key(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        async with self.repo.session() as s:
            row = await self._row(s, key)
            if row is None:
                return
            row.data = {
                **(row.data or {}),
                "bot_token": self._seal(bot.bot_token),
                "bot_refresh_token": self._seal(bot.bot_refresh_token),
                "bot_token_expires_at": bot.bot_token_expires_at,
                "bot_scopes": list(bot.bot_scopes or []),
            }

    async def _upsert(self, key: str, *, name: str, installer: str | None, data: dict[str, Any]) -> None:
        async with self.repo.session() as s:
            row = await self._row(s, key)
            if row is None:
                try:
                    async with s.begin_nested():
                        s.add(
                            Installation(
                                platform=PLATFORM,
                                workspace_id=key,
                                name=name,
                                installer_user_id=installer,
                                enabled=True,
                                data=data,
                                created_at=self.clock(),
                            )
                        )
                        await s.flush()
                    return
                except IntegrityError:  # installed at the same moment through another replica
                    row = await self._row(s, key)
                    assert row is not None
            row.name, row.installer_user_id, row.enabled, row.data = name, installer, True, data

    @staticmethod
    async def _row(s: Any, key: str) -> Installation | None:
        row: Installation | None = await s.scalar(
            select(Installation).where(Installation.platform == PLATFORM, Installation.workspace_id == key)
        )
        return row

    # -- finding ----------------------------------------------------------------------

    async def _enabled_row(self, key: str) -> Installation | None:
        async with self.repo.session() as s:
            row = await self._row(s, key)
        return row if row is not None and row.enabled else None

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        row = await self._enabled_row(workspace_key(enterprise_id, team_id, is_enterprise_install))
        token = self._open((row.data or {}).get("bot_token")) if row else None
        if row is None or token is None:
            return None
        d = row.data
        return Bot(
            app_id=d.get("app_id"),
            enterprise_id=d.get("enterprise_id"),
            enterprise_name=d.get("enterprise_name"),
            team_id=d.get("team_id"),
            team_name=d.get("team_name"),
            bot_token=token,
            bot_id=str(d.get("bot_id") or ""),
            bot_user_id=str(d.get("bot_user_id") or ""),
            bot_scopes=d.get("bot_scopes") or [],
            bot_refresh_token=self._open(d.get("bot_refresh_token")),
            bot_token_expires_at=d.get("bot_token_expires_at"),
            is_enterprise_install=bool(d.get("is_enterprise_install")),
            installed_at=float(d.get("installed_at") or 0),
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> SlackInstallation | None:
        """The workspace's installation; with ``user_id``, only when that user installed it
        (Ritme keeps one installation per workspace, and no user tokens)."""
        row = await self._enabled_row(workspace_key(enterprise_id, team_id, is_enterprise_install))
        if row is None or (user_id is not None and user_id != row.installer_user_id):
            return None
        d = row.data or {}
        return SlackInstallation(
            app_id=d.get("app_id"),
            enterprise_id=d.get("enterprise_id"),
            enterprise_name=d.get("enterprise_name"),
            team_id=d.get("team_id"),
            team_name=d.get("team_name"),
            bot_token=self._open(d.get("bot_token")),
            bot_id=d.get("bot_id"),
            bot_user_id=d.get("bot_user_id"),
            bot_scopes=d.get("bot_scopes") or [],
            bot_refresh_token=self._open(d.get("bot_refresh_token")),
            bot_token_expires_at=d.get("bot_token_expires_at"),
            user_id=row.installer_user_id or "",
            is_enterprise_install=bool(d.get("is_enterprise_install")),
            installed_at=float(d.get("installed_at") or 0),
            token_type=d.get("token_type"),
        )

    # -- deleting: disable, wipe the tokens, keep the row -------------------------------

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_disable(workspace_key(enterprise_id, team_id, enterprise_id is not None and team_id is None))

    async def async_delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
    ) -> None:
        if user_id is None:  # a user's own token: Ritme holds none
            await self.async_disable(
                workspace_key(enterprise_id, team_id, enterprise_id is not None and team_id is None)
            )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    # -- what the adapter asks ------------------------------------------------------------

    async def async_workspace(self, workspace_id: str) -> WorkspaceInstall | None:
        """The workspace's state, or None when Ritme never heard of an install there."""
        async with self.repo.session() as s:
            row = await self._row(s, workspace_id)
        if row is None:
            return None
        token = self._open((row.data or {}).get("bot_token")) if row.enabled else None
        return WorkspaceInstall(
            workspace_id=workspace_id, enabled=row.enabled, installer_user_id=row.installer_user_id, bot_token=token
        )

    async def async_disable(self, workspace_id: str) -> None:
        """Nothing more is sent to the workspace; its tokens are wiped. A workspace Ritme did
        not know yet (the single-workspace token) gets a disabled row."""
        async with self.repo.session() as s:
            row = await self._row(s, workspace_id)
            if row is None:
                try:
                    async with s.begin_nested():
                        s.add(
                            Installation(
                                platform=PLATFORM,
                                workspace_id=workspace_id,
                                name="",
                                installer_user_id=None,
                                enabled=False,
                                data={},
                                created_at=self.clock(),
                            )
                        )
                        await s.flush()
                    return
                except IntegrityError:
                    row = await self._row(s, workspace_id)
                    assert row is not None
            row.enabled = False
            row.data = {
                **(row.data or {}),
                "bot_token": None,
                "bot_refresh_token": None,
                "disabled_at": self.clock().isoformat(),
            }

    async def async_enable(self, workspace_id: str) -> bool:
        """Enable a disabled workspace again (the single-workspace app came back); True when
        it was disabled."""
        async with self.repo.session() as s:
            result = await s.execute(
                update(Installation)
                .where(
                    Installation.platform == PLATFORM,
                    Installation.workspace_id == workspace_id,
                    Installation.enabled.is_(False),
                )
                .values(enabled=True)
            )
            return bool(getattr(result, "rowcount", 0))


class SlackOAuthStateStore(AsyncOAuthStateStore):
    """OAuth states in the database: shared by every replica, each consumed once."""

    def __init__(self, repo: Repo, *, expiration_seconds: int = 600, clock: Callable[[], datetime] = utcnow) -> None:
        self.repo = repo
        self.expiration_seconds = expiration_seconds
        self.clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        now = self.clock()
        async with self.repo.session() as s:
            await s.execute(delete(SlackOAuthState).where(SlackOAuthState.expires_at <= now))
            s.add(SlackOAuthState(state=state, expires_at=now + timedelta(seconds=self.expiration_seconds)))
        return state

    async def async_consume(self, state: str) -> bool:
        if not state:
            return False
        async with self.repo.session() as s:
            result = await s.execute(
                delete(SlackOAuthState).where(
                    SlackOAuthState.state == state[:100], SlackOAuthState.expires_at > self.clock()
                )
            )
            return bool(getattr(result, "rowcount", 0))
