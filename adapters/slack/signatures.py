"""Slack's signature on an HTTP request, checked before anything reads the body, and taken once.

Slack signs every HTTP request (``v0:TIMESTAMP:BODY``, HMAC-SHA256 with the app's signing
secret, https://docs.slack.dev/authentication/verifying-requests-from-slack). Bolt checks
the same signature in its ``RequestVerification`` middleware, but only after its request has
parsed the body; here a body nobody signed is never read, and a verified signature seen
before is a replay (``adapters.slack.replays``). So bolt's own check is off
(``request_verification_enabled=False``) and this one runs in ``adapters.slack.http`` in
front of bolt. Socket Mode messages arrive over the authenticated WebSocket, unsigned: this
check is for HTTP only.
"""

from __future__ import annotations

import enum
import logging
import secrets
from collections.abc import Mapping

from slack_sdk.signature import SignatureVerifier

from adapters.slack.replays import SeenSignatures

log = logging.getLogger(__name__)


class Verdict(enum.Enum):
    SIGNED = "signed"
    UNSIGNED = "unsigned"  # missing, wrong or stale: 401
    REPLAYED = "replayed"  # verified, but taken before: 401 too


class Signatures:
    """Verifies Slack's ``v0`` signature (slack_sdk's verifier: five minutes either way) and
    keeps the record of signatures taken (one record per process)."""

    def __init__(self, signing_secret: str | None, *, replay_size: int) -> None:
        # Without a signing secret (Socket Mode only) no HTTP request may ever verify: an
        # unguessable secret, never an empty one (an empty HMAC key is anybody's key).
        self.secret = signing_secret or secrets.token_hex(32)
        self.verifier = SignatureVerifier(self.secret)
        self.seen = SeenSignatures(replay_size)

    def check(self, raw: bytes, headers: Mapping[str, str]) -> Verdict:
        """The verdict on a request as received (``headers`` read without regard to case, as
        aiohttp's are, or with lower-case names). No await
        between the check and the record: two copies arriving together cannot both pass."""
        timestamp = headers.get("x-slack-request-timestamp", "")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return Verdict.UNSIGNED  # the verifier would raise on it
        try:
            body = raw.decode()
        except UnicodeDecodeError:
            return Verdict.UNSIGNED  # Slack signs UTF-8 text; nothing else can carry its signature
        signature = headers.get("x-slack-signature", "")
        if not self.verifier.is_valid(body, timestamp, signature):
            return Verdict.UNSIGNED
        if not self.seen.first(signature, int(timestamp), self.verifier.clock.now()):
            log.warning("slack: a signed request sent again (same signature) refused")
            return Verdict.REPLAYED
        return Verdict.SIGNED
