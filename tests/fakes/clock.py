"""An injected clock: tests move time by hand instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
