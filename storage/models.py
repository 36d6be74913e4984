"""SQLAlchemy 2 models: the one schema, the same on SQLite and PostgreSQL.

All times are stored as UTC. Anonymous replies carry no member: who answered an anonymous
ritual is kept in ``participations``, a table with no key, order or time that links a row
to a reply. While an anonymous round is open its answers are sealed (``sealed_answers``);
they become replies when it closes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite's INTEGER PRIMARY KEY is its rowid; BigInteger there would not autoincrement.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Name(TypeDecorator[str]):
    """A name people or platforms gave (a display name, a channel, a holiday): stored
    without NUL, which PostgreSQL refuses in text, and cut to fit the column on every
    backend rather than refused."""

    impl = String(200)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else value.replace("\x00", "")[:200]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Installation(Base):
    """A workspace (Slack) or tenant (Teams) where Ritme is installed."""

    __tablename__ = "installations"
    __table_args__ = (UniqueConstraint("platform", "workspace_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    workspace_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(Name, default="")
    installer_user_id: Mapped[str | None] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class SlackOAuthState(Base):
    """An OAuth ``state`` handed to a browser on ``/slack/install``, until it comes back."""

    __tablename__ = "slack_oauth_states"

    state: Mapped[str] = mapped_column(String(100), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Team(Base):
    """A team is one channel on one platform."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("platform", "workspace_id", "channel_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    workspace_id: Mapped[str] = mapped_column(String(100))
    channel_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(Name, default="")
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(5))
    goal: Mapped[str | None] = mapped_column(Text)
    holiday_country: Mapped[str | None] = mapped_column(String(64), default="NL")  # NL, GB-ENG, DE-BY
    anonymity_threshold: Mapped[int] = mapped_column(Integer, default=3)
    retention_days: Mapped[int] = mapped_column(Integer, default=730)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    conversation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Member(Base):
    """A person as one platform knows them."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("platform", "workspace_id", "user_id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    workspace_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(Name, default="")
    mute_reminders: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class TeamMember(Base):
    """Who belongs to a team: the people a ritual invites."""

    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)


class RoleGrant(Base):
    __tablename__ = "role_grants"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    created_at: Mapped[datetime]


class Ritual(Base):
    """A ritual of a team. ``next_due_at`` is what the engine's tick looks at."""

    __tablename__ = "rituals"
    # Ids people see and cards carry are never handed out twice (SQLite reuses the highest
    # id of a deleted row without AUTOINCREMENT; PostgreSQL sequences never do).
    __table_args__ = (Index("ix_rituals_due", "paused", "next_due_at", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    schedule: Mapped[str] = mapped_column(String(300))
    open_seconds: Mapped[int] = mapped_column(Integer)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # team, leaders or anonymous as the admin chose (``rituals.visibility``); None: the kind's default
    visibility: Mapped[str | None] = mapped_column(String(16), default=None)


class Occurrence(Base):
    """One planned run of a ritual; unique per ritual and planned time (the claim)."""

    __tablename__ = "occurrences"
    __table_args__ = (
        UniqueConstraint("ritual_id", "planned_at"),
        Index("ix_occurrences_open", "status", "closes_at"),
        Index("ix_occurrences_remind", "status", "remind_at"),
        {"sqlite_autoincrement": True},  # see Ritual
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ritual_id: Mapped[int] = mapped_column(ForeignKey("rituals.id", ondelete="CASCADE"))
    planned_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12))  # open, closed, skipped
    reason: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opened_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    remind_at: Mapped[datetime | None]  # when the one reminder goes out; None: no reminder
    reminded_at: Mapped[datetime | None]


class SentPrompt(Base):
    """Where a prompt landed on a platform, so it can be updated or answered in thread."""

    __tablename__ = "sent_prompts"
    __table_args__ = (Index("ix_sent_prompts_message", "platform", "channel_id", "message_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    channel_id: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(200))
    thread_id: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Reply(Base):
    """One member's answer to one occurrence; anonymous replies have no member."""

    __tablename__ = "replies"

    id: Mapped[str] = mapped_column(String(36))  # random, so order says nothing (key: see below)
    # No index of its own: the primary key and the unique constraint both start with it.
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_on: Mapped[date] = mapped_column(Date)  # a day only: no time to correlate with
    updated_at: Mapped[datetime | None]

    __table_args__ = (
        # A round's replies together, in random order within it; on SQLite no rowid, so no
        # insertion order either (migration 0004).
        PrimaryKeyConstraint("occurrence_id", "id"),
        UniqueConstraint("occurrence_id", "member_id"),
        Index("ix_replies_team_created", "team_id", "created_on"),
        {"sqlite_with_rowid": False},
    )


class Participation(Base):
    """Who has answered an anonymous occurrence; nothing here points at a reply."""

    __tablename__ = "participations"
    __table_args__ = ({"sqlite_with_rowid": False},)  # kept in member order, not answer order (migration 0004)

    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)


class SealedAnswer(Base):
    """An anonymous answer while its round is open: encrypted with a key of the round, its
    person a tag only the server can compute (``storage.answers.seal``). Opened into
    ``replies`` when the round closes, all at once and in random order, then deleted."""

    __tablename__ = "sealed_answers"
    __table_args__ = ({"sqlite_with_rowid": False},)  # kept in tag order, not answer order

    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


DELIVERED_NOTICE = {"type": "notice", "delivered": True}  # a notice's text is not kept once sent


class OutboxMessage(Base):
    """A message to deliver. Written in the same transaction as what caused it."""

    __tablename__ = "outbox"
    # The claim's whole order (next_attempt_at, id): a tick's messages share their time.
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"))
    destination: Mapped[dict[str, Any]]
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class Action(Base):
    """What a team agreed after a round; the next occurrence asks how it went."""

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ritual_id: Mapped[int] = mapped_column(ForeignKey("rituals.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    source_occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("occurrences.id", ondelete="SET NULL"))
    followup_occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("occurrences.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class Holiday(Base):
    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("team_id", "start_date", "end_date"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(Name, default="")
    source: Mapped[str] = mapped_column(String(20), default="manual")


class AuditEntry(Base):
    """What an admin changed, and when. The actor is forgotten with ``forget-me``."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class ChannelMessage(Base):
    """Messages shown in a playground channel (the playground has no platform to keep them)."""

    __tablename__ = "channel_messages"
    __table_args__ = (Index("ix_channel_messages_channel", "channel_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[str | None] = mapped_column(String(200))  # private to this user when set
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]


def table_of(model: type[Base]) -> Table:
    """A model's ``Table`` (typed: ``__table__`` is declared a ``FromClause``), for Core
    statements."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
