"""Neutral data that travels between the engine, storage and the platform adapters.

Every type here is a frozen, keyword-only dataclass: platform payloads are translated into
these at the edge and never travel inward.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Role(enum.StrEnum):
    ADMIN = "admin"
    LEADER = "leader"
    MEMBER = "member"


class InputKind(enum.StrEnum):
    TEXT = "text"
    SCALE = "scale"  # 1..5
    CHOICE = "choice"  # one of options
    MULTI = "multi"  # several of options (max_choices)


# Ids as the database stores them (signed 64 bits): anything outside names nothing, and is
# refused before it reaches the database driver (which would overflow on it).
DB_IDS = range(-(2**63), 2**63)


@dataclass(frozen=True, kw_only=True, slots=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Input:
    """One question of a prompt: what the member is asked and how they answer."""

    key: str
    label: str
    kind: InputKind
    options: tuple[Option, ...] = ()
    optional: bool = False
    max_choices: int = 1
    low_label: str = ""
    high_label: str = ""
    max_length: int = 3000  # characters of a written answer
    reverse: bool = False  # a reverse-worded scale item: counts as 6 - answer in the scale's mean


@dataclass(frozen=True, kw_only=True, slots=True)
class Prompt:
    """What a ritual asks, in the team's language, ready for any platform to render."""

    occurrence_id: int
    ritual_id: int
    kind: str
    title: str
    intro: str
    inputs: tuple[Input, ...]
    context: str  # who sees the answers, anonymous or not
    anonymous: bool
    closes_at: datetime | None = None
    closed: bool = False
    answer_label: str = "Answer"
    answered_label: str = ""
    answered_mark: str = ""  # on a card, for whoever answered the open round: "Answered ✓ · change"
    language: str = ""  # the team's language, so a platform needs no lookup to label its buttons


@dataclass(frozen=True, kw_only=True, slots=True)
class Notice:
    """A plain message in a conversation: results, summaries, confirmations."""

    title: str = ""
    text: str
    fields: tuple[tuple[str, str], ...] = ()  # (label, value) pairs shown as a list
    footer: str = ""
    # False: shown to whoever asked and kept nowhere. forget-me's reply: a stored copy would
    # hold the id of the person just erased, and tell a database's holder who asked.
    keep: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelRef:
    """Where a message goes: a team channel, or a member's direct conversation."""

    platform: str
    workspace_id: str
    channel_id: str
    user_id: str | None = None  # set for a direct conversation with one member
    ephemeral: bool = False  # shown to user_id only, inside channel_id
    members: tuple[str, ...] = ()  # set for a private group conversation (user_id is one of them)


@dataclass(frozen=True, kw_only=True, slots=True)
class MessageRef:
    """A message the platform accepted, so that it can be updated later."""

    channel_id: str
    message_id: str
    thread_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Actor:
    """Who is speaking, as the platform knows them."""

    platform: str
    workspace_id: str
    user_id: str
    display_name: str = ""
    is_platform_admin: bool = False  # e.g. a Slack workspace admin or owner


@dataclass(frozen=True, kw_only=True, slots=True)
class Answer:
    """A member's submitted values for a prompt, keyed by Input.key."""

    occurrence_id: int
    values: dict[str, str | int | list[str]] = field(default_factory=dict)


class DeliveryError(Exception):
    """A platform could not deliver a message.

    ``retryable`` errors are tried again after ``retry_after`` seconds (or a backoff);
    others are permanent (the channel is gone, the bot was removed) and pause the ritual.
    """

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
