"""What a log line is about: the team, ritual and platform of the work under way, as ids.

Set where that work starts (``about``), read by the log formatter (``bot/logs.py``), so a
JSON log line carries them without every log call passing them. Ids and platform names only:
never a person's name or what they wrote. A ``ContextVar``: each task sees its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType

FIELDS = ("team_id", "ritual_id", "platform")

_NOTHING: Mapping[str, int | str] = MappingProxyType({})
_ABOUT: ContextVar[Mapping[str, int | str]] = ContextVar("ritme_log_about", default=_NOTHING)


@contextmanager
def about(*, team_id: int | None = None, ritual_id: int | None = None, platform: str | None = None) -> Iterator[None]:
    """Log lines inside the block are about these (added to what an outer block said)."""
    given = {"team_id": team_id, "ritual_id": ritual_id, "platform": platform}
    token = _ABOUT.set({**_ABOUT.get(), **{key: value for key, value in given.items() if value is not None}})
    try:
        yield
    finally:
        _ABOUT.reset(token)


def enter(platform: str) -> Token[Mapping[str, int | str]]:
    """``about(platform=...)`` without its block, for a caller that resets it itself
    (``leave``): a request's middleware, where the context manager's own frames cost a
    share of each request."""
    return _ABOUT.set({**_ABOUT.get(), "platform": platform})


def leave(token: Token[Mapping[str, int | str]]) -> None:
    _ABOUT.reset(token)


def current() -> Mapping[str, int | str]:
    """What the log lines of the current task are about."""
    return _ABOUT.get()
