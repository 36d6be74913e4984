"""Signed, expiring links to a team's review page.

A token is ``TEAM.EXPIRY.SIGNATURE``: the team id, the expiry as Unix seconds, and an
HMAC-SHA256 over both (base64url, unpadded) and the team's link generation. The HMAC key is
derived from the server's secret for this one purpose, so the secret itself never signs
anything else here. ``review link revoke`` moves a team's generation on: every link made
before stops working, while the token format stays the same.

A token is read strictly: ASCII digits without leading zeros, 43 base64url characters, and
nothing else (``int()`` would take Arabic-Indic digits, ``isdigit()`` superscripts). Every
link Ritme makes lasts ``LINK_DAYS``; a token whose expiry lies further ahead (beyond a few
minutes of clock skew between replicas) was not made by this server as it is, and opens
nothing, so a link forged with a leaked secret cannot be made to last for years.

The secret is ``RITME_SECRET_KEY``. Without it (the playground: the configuration demands
it once a platform is set up) a random secret is generated at first start and kept in a
file next to the SQLite database (``ritme.db.secret``, mode 0600), or ``.ritme-secret`` in
the working directory for another database, so that links survive a restart. A secret read
from that file passes the same checks as ``RITME_SECRET_KEY`` (``bot.config.weak_secret``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import SECRET_HINT, ConfigError, weak_secret
from rituals.types import DB_IDS

log = logging.getLogger(__name__)

LINK_DAYS = 7  # every link Ritme makes (review page, export; Teams sends the same ones privately)
MAX_LIFETIME = timedelta(days=LINK_DAYS)
CLOCK_SKEW = timedelta(minutes=5)  # replicas' clocks may differ a little; a link made on one opens on another
# TEAM.EXPIRY.SIGNATURE in ASCII only: ids and Unix seconds without a leading zero, an unpadded
# base64url HMAC-SHA256 (32 bytes: 43 characters).
TOKEN = re.compile(r"([1-9][0-9]{0,18})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})", re.ASCII)
PAGE, EXPORT = "page", "export"  # what a link opens: the review page, or the CSV (admins only)
PURPOSE = b"ritme/review-link/v1"


class LinkError(Exception):
    """A token that opens nothing; ``expired`` tells a stale link from a bad one."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, kw_only=True, slots=True)
class Claims:
    """What a valid token grants: one team's review page until ``expires_at``."""

    team_id: int
    expires_at: datetime


class LinkSigner:
    """Signs and checks review-link tokens with a key derived from the server's secret."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("an empty secret signs nothing")
        if len(secret) < 16:
            log.warning("RITME_SECRET_KEY is short (under 16 bytes): review links are easier to forge")
        self._key = hmac.new(secret, PURPOSE, hashlib.sha256).digest()

    def _mac(self, payload: str, generation: int, scope: str) -> str:
        signed = (
            payload if not generation else f"{payload}.{int(generation)}"
        )  # generation 0: links from before revocation existed
        if scope != PAGE:  # a page link's signature as before; others sign what they open
            signed = f"{signed}:{scope}"
        return _b64(hmac.new(self._key, signed.encode("ascii"), hashlib.sha256).digest())

    def sign(self, team_id: int, expires_at: datetime, generation: int = 0, scope: str = "page") -> str:
        payload = f"{int(team_id)}.{int(expires_at.timestamp())}"
        return f"{payload}.{self._mac(payload, generation, scope)}"

    @staticmethod
    def _parts(token: str) -> tuple[int, int, str]:
        """Team, expiry and signature of a well-formed token; ``LinkError`` otherwise."""
        match = TOKEN.fullmatch(token)
        if match is None:
            raise LinkError("malformed token")
        team, expires = int(match[1]), int(match[2])
        if team not in DB_IDS:
            raise LinkError("no such team")
        return team, expires, match[3]

    @classmethod
    def team_of(cls, token: str) -> int:
        """The team a token names, unchecked (to look up its link generation);
        ``LinkError`` when it is malformed."""
        return cls._parts(token)[0]

    def verify(self, token: str, now: datetime, generation: int = 0, scope: str = "page") -> Claims:
        """What a valid token grants; ``LinkError`` when it is malformed, lasts longer than
        any link Ritme makes, is tampered, revoked (made in another generation of the team's
        links), stale, or made for another use (``scope``: a review page link does not
        download the export, which is for admins)."""
        team, expires, signature = self._parts(token)
        if expires > (now + MAX_LIFETIME + CLOCK_SKEW).timestamp():
            raise LinkError("expiry further ahead than any link lasts")
        if not hmac.compare_digest(self._mac(f"{team}.{expires}", generation, scope), signature):
            raise LinkError("bad signature")
        if expires <= int(now.timestamp()):
            raise LinkError("expired", expired=True)
        return Claims(team_id=team, expires_at=datetime.fromtimestamp(expires, UTC))


@dataclass(frozen=True, kw_only=True, slots=True)
class Link:
    url: str
    token: str
    expires_at: datetime


class ReviewLinks:
    """Review and export links of a team under the public base URL, each lasting ``LINK_DAYS``."""

    def __init__(self, signer: LinkSigner, base_url: str) -> None:
        self.signer = signer
        self.base_url = base_url.rstrip("/")

    def page(self, team_id: int, now: datetime, generation: int = 0) -> Link:
        expires = (now + MAX_LIFETIME).astimezone(UTC).replace(microsecond=0)
        token = self.signer.sign(team_id, expires, generation)
        return Link(url=f"{self.base_url}/review/{token}", token=token, expires_at=expires)

    def export(self, team_id: int, now: datetime, generation: int = 0) -> Link:
        expires = (now + MAX_LIFETIME).astimezone(UTC).replace(microsecond=0)
        token = self.signer.sign(team_id, expires, generation, scope=EXPORT)
        return Link(url=f"{self.base_url}/review/{token}/export.csv", token=token, expires_at=expires)


def secret_file(database_url: str) -> Path | None:
    """Where a generated secret is kept: next to a SQLite file, else in the working directory;
    None for an in-memory SQLite database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file::memory:"):
            return None
        return Path(url.database + ".secret")
    return Path(".ritme-secret")


def load_secret(secret_key: str | None, database_url: str) -> bytes:
    """``RITME_SECRET_KEY``, else the generated secret kept on disk (created once, 0600).

    ``ConfigError`` when the secret is weak (``bot.config.weak_secret``) or the file cannot
    be read: ``ritme serve`` stops with one line naming the variable or the file."""
    if secret_key:
        reason = weak_secret(secret_key)
        if reason:
            raise ConfigError(f"RITME_SECRET_KEY: {reason}; {SECRET_HINT}")
        return secret_key.encode("utf-8")
    path = secret_file(database_url)
    if path is None:
        log.warning("RITME_SECRET_KEY is not set and the database is in memory: review links last until a restart")
        return secrets.token_bytes(32)
    if not path.exists():
        try:
            _generate(path)
        except OSError as err:
            raise ConfigError(
                f"RITME_SECRET_KEY is not set and {path} cannot be made ({err}); set RITME_SECRET_KEY ({SECRET_HINT})"
            ) from None
    try:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            log.warning("%s could be read by other users; it is now readable by its owner only (0600)", path)
            path.chmod(0o600)
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(
            f"RITME_SECRET_KEY is not set and {path} cannot be read ({err}); set RITME_SECRET_KEY ({SECRET_HINT})"
        ) from None
    reason = weak_secret(text)
    if reason:
        raise ConfigError(
            f"RITME_SECRET_KEY is not set and {path} holds no usable secret ({reason}); remove the "
            f"file to have a new one made at the next start, or set RITME_SECRET_KEY ({SECRET_HINT})"
        )
    return text.encode("ascii")


def _generate(path: Path) -> None:
    """A new random secret in ``path``, 0600, unless another process made one meanwhile."""
    generated = secrets.token_hex(32)
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)  # exactly 0600 whatever the umask
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(generated + "\n")
    try:
        os.link(tmp, path)  # atomic and never overwrites: two first starts agree on one secret
        log.info("RITME_SECRET_KEY is not set: generated a secret for review links and sealed answers in %s", path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
