"""A signed Slack request is taken once: the record of signatures already seen.

Slack signs every HTTP request with its timestamp (``v0:TIMESTAMP:BODY``), and slack_sdk's
``SignatureVerifier`` takes a timestamp up to five minutes from now, either way. Within those
five minutes the same request, sent again as it was (by whoever saw it pass, or by a proxy
that sends it twice), verifies again. Each request Slack sends has a signature of its own
("unique to each request", Slack's *Verifying requests from Slack*): a retry of the Events
API (``X-Slack-Retry-Num``) is a new request with a new timestamp and signature, and the
adapter's de-duplication by event id or body answers it. So a signature seen before is a
replay, and the record only needs to hold a signature as long as the verifier would still
take its timestamp, plus a margin.

The signatures are kept by their timestamp (a replay carries the timestamp it was signed
with): a lookup is one dict and one set membership, and whole seconds expire at once, swept
at most once a second. The record is bounded (``size``): past it the oldest seconds go first
and a warning says that replays of them would no longer be recognised.

One process, one record: with several replicas behind a load balancer each sees only the
requests that reach it, so a replay sent to another replica than the original is not
recognised there. A shared record (a store all replicas write to) would close that; it
would cost a round trip on every signed request.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

WINDOW = 5 * 60  # seconds either side of now that slack_sdk's SignatureVerifier accepts
MARGIN = 60  # kept this much longer: a replay just inside the window is still caught


class SeenSignatures:
    """Signatures of the signed requests taken in the last ``WINDOW + MARGIN`` seconds."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self._by_second: dict[int, set[str]] = {}
        self._count = 0
        self._swept = 0  # the second of the last sweep
        self._warned = 0.0  # when the last warning about a full record was given

    def __len__(self) -> int:
        return self._count

    def first(self, signature: str, timestamp: int, now: float) -> bool:
        """Record the signature of a request signed at ``timestamp``; False when it was seen
        before (a replay). Call it only for requests whose signature verified."""
        if int(now) != self._swept:
            self._sweep(now)
        seen = self._by_second.get(timestamp)
        if seen is None:
            seen = self._by_second[timestamp] = set()
        elif signature in seen:
            return False
        seen.add(signature)
        self._count += 1
        if self._count > self.size:
            self._make_room(now)
        return True

    def _sweep(self, now: float) -> None:
        """Forget the seconds the verifier no longer accepts."""
        self._swept = int(now)
        oldest = now - WINDOW - MARGIN
        for second in [s for s in self._by_second if s < oldest]:
            self._count -= len(self._by_second.pop(second))

    def _make_room(self, now: float) -> None:
        """Over the bound: the oldest seconds go, though replays of them could still verify."""
        while self._count > self.size and self._by_second:
            self._count -= len(self._by_second.pop(min(self._by_second)))
        if now - self._warned > WINDOW:
            self._warned = now
            log.warning(
                "slack: more than %d signed requests in %d seconds; replays of the oldest are no longer recognised",
                self.size,
                WINDOW + MARGIN,
            )
