"""Signed, expiring links to a team's review page.

A token is ``TEAM.EXPIRY.SIGNATURE``: the team id, the expiry as Unix seconds, and an
HMAC-SHA256 over both (base64url, unpadded) and the team's link generation. The HMAC key is
derived from the server's secret for this one purpose, so the secret itself never signs
anything else here. ``review link revoke`` moves a team's generation on: every link made
before stops working, while the token format stays the same.

The secret is ``RITME_SECRET_KEY``. Without it (the playground: the configuration demands
it once a platform is set up) a random secret is generated at first start and kept in a
file next to the SQLite database (``ritme.db.secret``, mode 0600), or ``.ritme-secret`` in
the working directory for another database, so that links survive a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from rituals.types import DB_IDS

log = logging.getLogger(__name__)

LINK_DAYS = 7
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
        signed = payload if not generation else f"{payload}.{int(generation)}"  # generation 0: links from before revocation existed
        if scope != PAGE:  # a page link's signature as before; others sign what they open
            signed = f"{signed}:{scope}"
        return _b64(hmac.new(self._key, signed.encode("ascii"), hashlib.sha256).digest())

    def sign(self, team_id: int, expires_at: datetime, generation: int = 0, scope: str = "page") -> str:
        payload = f"{int(team_id)}.{int(expires_at.timestamp())}"
        return f"{payload}.{self._mac(payload, generation, scope)}"

    @staticmethod
    def team_of(token: str) -> int:
        """The team a token names, unchecked (to look up its link generation);
        ``LinkError`` when it is malformed."""
        parts = token.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(token) > 200:
            raise LinkError("malformed token")
        if int(parts[0]) not in DB_IDS:
            raise LinkError("no such team")
        return int(parts[0])

    def verify(self, token: str, now: datetime, generation: int = 0, scope: str = "page") -> Claims:
        """What a valid token grants; ``LinkError`` when it is malformed, tampered, revoked
        (made in another generation of the team's links), stale, or made for another use
        (``scope``: a review page link does not download the export, which is for admins)."""
        self.team_of(token)
        parts = token.split(".")
        payload = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._mac(payload, generation, scope), parts[2]):
            raise LinkError("bad signature")
        expires = int(parts[1])
        if expires <= int(now.timestamp()):
            raise LinkError("expired", expired=True)
        return Claims(team_id=int(parts[0]), expires_at=datetime.fromtimestamp(expires, UTC))


@dataclass(frozen=True, kw_only=True, slots=True)
class Link:
    url: str
    token: str
    expires_at: datetime


class ReviewLinks:
    """Review and export links of a team under the public base URL."""

    def __init__(self, signer: LinkSigner, base_url: str, days: int = LINK_DAYS) -> None:
        self.signer = signer
        self.base_url = base_url.rstrip("/")
        self.days = days

    def page(self, team_id: int, now: datetime, generation: int = 0) -> Link:
        expires = (now + timedelta(days=self.days)).astimezone(UTC).replace(microsecond=0)
        token = self.signer.sign(team_id, expires, generation)
        return Link(url=f"{self.base_url}/review/{token}", token=token, expires_at=expires)

    def export(self, team_id: int, now: datetime, generation: int = 0) -> Link:
        expires = (now + timedelta(days=self.days)).astimezone(UTC).replace(microsecond=0)
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
    """``RITME_SECRET_KEY``, else the generated secret kept on disk (created once, 0600)."""
    if secret_key:
        return secret_key.encode("utf-8")
    path = secret_file(database_url)
    if path is None:
        log.warning("RITME_SECRET_KEY is not set and the database is in memory: review links last until a restart")
        return secrets.token_bytes(32)
    if not path.exists():
        generated = secrets.token_hex(32)
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(generated + "\n")
        try:
            os.link(tmp, path)  # atomic and never overwrites: two first starts agree on one secret
            log.info("RITME_SECRET_KEY is not set: generated a secret for review links in %s", path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    text = path.read_text(encoding="ascii").strip()
    if len(text) < 32:
        log.error("%s holds no usable secret; review links last until a restart (remove the file to fix)", path)
        return secrets.token_bytes(32)
    return text.encode("ascii")
