"""The two doors of the engine: the platforms it sends through and the store it keeps state in.

Both are small protocols. Adapters implement ``Platform``; ``storage`` implements ``Store``.
The engine only ever sees the neutral views defined here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, Protocol, TypeVar

from rituals.types import Actor, ChannelRef, MessageRef, Notice, Prompt

T = TypeVar("T")


class Platform(Protocol):
    """How the engine talks to one chat platform.

    Every method raises ``rituals.types.DeliveryError`` when the platform refuses or
    cannot be reached; ``retryable`` on that error tells the dispatcher what to do.
    """

    name: str
    # True when one message reaches a private group as a whole (a Slack group DM); else the
    # engine queues the group's message once per member, so a retry reaches only who missed it.
    group_conversations: bool

    async def send_prompt(self, to: ChannelRef, prompt: Prompt) -> MessageRef:
        """Post a prompt (question with inputs) and return where it landed."""
        ...

    async def update_prompt(self, ref: MessageRef, to: ChannelRef, prompt: Prompt) -> None:
        """Replace a posted prompt, e.g. to show that it closed."""
        ...

    async def send_notice(self, to: ChannelRef, notice: Notice) -> MessageRef:
        """Post a message without inputs: results, reminders, confirmations."""
        ...


class Telemetry(Protocol):
    """What the engine tells monitoring as it works: counts by kind of event, never who, which
    team or what was said. Each method is called in the engine's own task and must not block
    or raise (``bot/metrics.py`` implements it; ``NO_TELEMETRY`` counts nothing)."""

    def sent(self, platform: str, outcome: str) -> None:
        """One outbox message went through a platform: ``outcome`` is one of ``SEND_OUTCOMES``."""
        ...

    def answered(self, stored: bool) -> None:
        """An answer was stored, or refused (closed, answered already, invalid, not in the team)."""
        ...

    def opened(self, kind: str) -> None:
        """A round of a ritual of ``kind`` opened (by the schedule or ``run``)."""
        ...


# sent; retried: the platform failed and another attempt follows; 429: the platform asked to
# wait (a rate limit, Retry-After) and another attempt follows; failed: given up.
SEND_OUTCOMES = ("sent", "retried", "429", "failed")


class _NoTelemetry:
    def sent(self, platform: str, outcome: str) -> None:
        pass

    def answered(self, stored: bool) -> None:
        pass

    def opened(self, kind: str) -> None:
        pass


NO_TELEMETRY: Telemetry = _NoTelemetry()


@dataclass(frozen=True, kw_only=True, slots=True)
class TeamView:
    id: int
    platform: str
    workspace_id: str
    channel_id: str
    name: str
    timezone: str
    language: str
    goal: str | None
    holiday_country: str | None
    anonymity_threshold: int
    settings: dict[str, Any] = field(default_factory=dict)
    retention_days: int = 730

    @property
    def channel(self) -> ChannelRef:
        return ChannelRef(platform=self.platform, workspace_id=self.workspace_id, channel_id=self.channel_id)


@dataclass(frozen=True, kw_only=True, slots=True)
class RitualView:
    id: int
    team_id: int
    kind: str
    schedule: str
    open_seconds: int
    options: dict[str, Any]
    paused: bool
    next_due_at: datetime | None
    visibility: str | None = None  # who reads the answers as the admin chose; None: the kind's default


@dataclass(frozen=True, kw_only=True, slots=True)
class OccurrenceView:
    id: int
    ritual_id: int
    planned_at: datetime
    status: str
    reason: str | None
    content: dict[str, Any]
    opened_at: datetime | None
    closes_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplyView:
    member_id: int | None
    member_name: str
    values: dict[str, Any]
    created_on: date


@dataclass(frozen=True, kw_only=True, slots=True)
class OutboxItem:
    id: int
    team_id: int
    occurrence_id: int | None
    destination: ChannelRef
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True, kw_only=True, slots=True)
class OpeningContext:
    """What opening a batch of occurrences reads, fetched once for the whole batch."""

    teams: dict[int, TeamView]
    holidays: dict[int, list[tuple[date, date, str]]]  # by team: (first day, last day, name)
    rosters: dict[int, list[tuple[int, str, str]]]  # by team: (member id, name, platform user id)
    histories: dict[int, list[dict[str, Any]]]  # by ritual: contents of recent occurrences, newest first
    actions: dict[int, tuple[int, str]]  # by ritual: the latest agreed action not yet asked about
    open_rounds: dict[int, list[OccurrenceView]] = field(default_factory=dict)  # by ritual: still open

    def holiday(self, team_id: int, day: date) -> str | None:
        for first, last, name in self.holidays.get(team_id, ()):
            if first <= day <= last:
                return holiday_label(first, last, name)
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class Outgoing:
    """A message an opening sends once its occurrence is claimed. ``payload`` None is the
    occurrence's prompt (``{"type": "prompt", "occurrence_id": …}``, the id known at insert)."""

    destination: ChannelRef
    payload: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Opening:
    """One occurrence to insert for a planned time, with what it sends and the agreed action
    it asks about. Openings are written a batch at a time (``Tx.open_batch``)."""

    ritual_id: int
    kind: str
    team_id: int
    planned_at: datetime
    status: str  # open | skipped | closed (a digest is posted and done)
    reason: str | None = None
    content: dict[str, Any]
    opened_at: datetime | None = None
    closes_at: datetime | None = None
    remind_at: datetime | None = None
    messages: tuple[Outgoing, ...] = ()
    action_id: int | None = None


def holiday_label(first: date, last: date, name: str) -> str:
    """How a skipped day names its holiday: its name, or its period."""
    return name or f"{first.isoformat()}..{last.isoformat()}"


@dataclass(frozen=True, kw_only=True, slots=True)
class AnswerIn:
    """An answer as a member sent it, before validation."""

    occurrence_id: int
    actor: Actor
    values: dict[str, Any]
    via: ChannelRef | None = None  # the conversation it came from, when the platform says
    sent_at: datetime | None = None  # when it reached Ritme: of two answers, the later one stays


@dataclass(frozen=True, kw_only=True, slots=True)
class NewReply:
    """A validated answer, ready to be stored."""

    occurrence_id: int
    team_id: int
    member_id: int
    anonymous: bool
    values: dict[str, Any]
    today: date  # in the team's timezone; anonymous replies keep the day only
    sent_at: datetime | None = None  # named replies: an earlier answer never replaces a later one


@dataclass(frozen=True, kw_only=True, slots=True)
class NewAnswer:
    """A validated answer of a person, who becomes a member (and joins the team) when
    stored."""

    actor: Actor
    occurrence_id: int
    team_id: int
    anonymous: bool
    values: dict[str, Any]
    today: date  # in the team's timezone
    sent_at: datetime | None = None


class Saved(Enum):
    """What ``save_answers`` did with an answer."""

    STORED = "stored"
    ANSWERED = "answered"  # anonymous, and its member had answered already: not stored
    CLOSED = "closed"  # its round was no longer open when written: not stored
    RETRY = "retry"  # its member was being created by another batch all along: not stored
    # what it was decided on (its round, or whether its person is in the team) changed before
    # the write: not stored; the answer writer decides it again
    CHANGED = "changed"


class AnswerNotStored(Exception):
    """The database did not take an answer; the member is told to try again."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    """What became of an answer, for the member: a message id and its parameters, translated
    where it is shown, in ``language`` (the team's; None when there is no team to take it
    from, as for a round that no longer exists)."""

    stored: bool
    message: str
    params: dict[str, Any] = field(default_factory=dict)
    language: str | None = None
    mendable: bool = False  # refused for what was answered: the member can mend it in the form


@dataclass(frozen=True, kw_only=True, slots=True)
class Answered:
    """What a member hears about an answer: stored or not, the message in their language, and
    whether the refusal is about what they answered (a form shows it under the input and
    lets them mend it) or about the round or themselves (closed, gone, not in the team,
    answered already: nothing typed can change it)."""

    stored: bool
    message: str
    mendable: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class OwnAnswer:
    """A person's answer to a round that is still open, as a card shows it back to them:
    ``values`` fill the form again; None for an anonymous round, whose answer is sealed and
    not read back before the close (that they answered is known, what they said is not)."""

    values: dict[str, Any] | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Accepted:
    """An answer that passed every check, to be written; ``language``: its team's."""

    answer: NewAnswer
    language: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SameAs:
    """An answer replaced by a later one of the same person in the same batch: it shares
    the outcome of the answer at ``index``."""

    index: int


Decision = Accepted | Outcome | SameAs


class AnswerRules(Protocol):
    """What the engine decides about answers, without I/O: the answer writer calls it
    between the batch's read and its write."""

    def check(
        self,
        answers: Sequence[AnswerIn],
        targets: dict[int, tuple[OccurrenceView, RitualView, TeamView]],
        in_team: dict[tuple[str, str, str, int], int],
        now: datetime,
    ) -> list[Decision]:
        """One decision per answer, in order: accepted, refused (an ``Outcome``), or the
        same as a later answer of the batch."""
        ...

    def outcome(self, accepted: Accepted, saved: Saved) -> Outcome | None:
        """What the member hears once the write said what it did; None: not stored, try
        again (``Saved.RETRY``)."""
        ...


class AnswerWriter(Protocol):
    """Answers in, outcomes out: batches of the answers that arrive together, written where
    the store writes them best."""

    async def submit(self, answer: AnswerIn) -> Outcome:
        """Store an answer (its batch committed) or refuse it; ``AnswerNotStored`` when the
        database did not take it."""
        ...

    async def drain(self, within: float) -> None:
        """Wait, at most ``within`` seconds, until the answers received so far are written."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class Delivery:
    """The outcome of one send, written back in one batch."""

    item: OutboxItem
    ref: MessageRef | None = None
    error: str | None = None
    retry_at: datetime | None = None  # None with an error: failed for good
    rate_limited: bool = False  # the platform asked to wait (a rate limit's Retry-After)


class Tx(Protocol):
    """One database transaction, as the engine uses it."""

    async def lock_due_rituals(self, now: datetime, limit: int) -> list[RitualView]:
        """Unpaused rituals whose next_due_at <= now, locked against other replicas."""
        ...

    async def team(self, team_id: int) -> TeamView: ...

    async def ritual(self, ritual_id: int) -> RitualView | None: ...

    async def team_rituals(self, team_id: int) -> list[RitualView]: ...

    async def set_next_due(self, ritual_id: int, when: datetime | None) -> None: ...

    async def open_batch(
        self, openings: Sequence[Opening], next_due: Sequence[tuple[int, datetime | None]], *, claimed_by: str
    ) -> dict[int, int]:
        """Write a batch in a few statements whatever its size: the rituals' next due times,
        the occurrences (one whose (ritual, planned time) exists already is left out, with
        its messages), their outbox messages and followed-up actions. Returns the new
        occurrences' ids by ritual id."""
        ...

    async def add_occurrence(
        self,
        *,
        ritual_id: int,
        planned_at: datetime,
        status: str,
        reason: str | None,
        content: dict[str, Any],
        opened_at: datetime | None,
        closes_at: datetime | None,
        claimed_by: str,
        remind_at: datetime | None = None,
    ) -> int | None:
        """Insert the occurrence; None when (ritual, planned_at) exists already."""
        ...

    async def occurrence(self, occurrence_id: int) -> OccurrenceView | None: ...

    async def recent_occurrences(self, ritual_id: int, limit: int) -> list[OccurrenceView]:
        """Newest first."""
        ...

    async def open_occurrences(self, ritual_id: int) -> list[OccurrenceView]: ...

    async def lock_closable(self, now: datetime, limit: int) -> list[OccurrenceView]:
        """Open occurrences whose window ended, locked against other replicas."""
        ...

    async def close_occurrence(self, occurrence_id: int, now: datetime) -> bool:
        """Mark closed; False when it was not open any more."""
        ...

    async def replies(self, occurrence_id: int) -> list[ReplyView]: ...

    async def invited_count(self, team_id: int) -> int: ...

    async def answered_count(self, occurrence_id: int) -> int: ...

    async def has_answered(self, occurrence_id: int, member_id: int) -> bool: ...

    async def opening_context(
        self, rituals: Sequence[RitualView], first_day: date, last_day: date, history: int
    ) -> OpeningContext:
        """Teams, holidays between the days, rosters, the last ``history`` occurrences'
        contents and open actions of these rituals, in a few queries."""
        ...

    async def enqueue(
        self,
        *,
        team_id: int,
        occurrence_id: int | None,
        destination: ChannelRef,
        payload: dict[str, Any],
        at: datetime,
    ) -> None: ...

    async def prompt_refs(self, occurrence_id: int) -> list[tuple[ChannelRef, MessageRef]]: ...

    async def set_paused(self, ritual_id: int, paused: bool) -> None: ...

    async def lock_remindable(self, now: datetime, limit: int) -> list[OccurrenceView]:
        """Open occurrences whose reminder is due and not sent, locked against other replicas."""
        ...

    async def mark_reminded(self, occurrence_id: int, now: datetime) -> None: ...

    async def unanswered(self, occurrence_id: int, team_id: int) -> list[str]:
        """Platform user ids of team members who have not answered and want reminders."""
        ...


class Store(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """A transaction that commits on success and rolls back on error."""
        ...

    def answer_writer(self, rules: AnswerRules, clock: Callable[[], datetime]) -> AnswerWriter:
        """The writer of answers, deciding with ``rules`` at the time ``clock`` tells."""
        ...

    async def channel_language(self, channel: ChannelRef) -> str | None:
        """The language of the team of a channel, if it is one."""
        ...

    async def drop_deleted_copies(self) -> None:
        """After rounds closed (their sealed answers opened and deleted): let the database drop
        the copies it keeps of deleted rows (SQLite's WAL truncated, PostgreSQL vacuumed)."""
        ...

    async def claim_outbox(self, now: datetime, limit: int, owner: str, lease_s: float) -> list[OutboxItem]:
        """Take due messages for ``lease_s`` seconds (FOR UPDATE SKIP LOCKED where supported)."""
        ...

    async def finish_outbox(self, deliveries: list[Delivery], now: datetime) -> None:
        """Write back a batch of send outcomes in one transaction (sent prompts recorded)."""
        ...

    async def outbox_prompts(
        self, occurrence_ids: Sequence[int]
    ) -> dict[int, tuple[OccurrenceView, RitualView, TeamView]]:
        """The occurrences (with ritual and team) a claimed batch of prompts needs, read at
        once; missing ids are left out."""
        ...


class Inbound(Protocol):
    """What the adapters call when a person does something on a platform."""

    async def command(
        self,
        actor: Actor,
        channel: ChannelRef,
        text: str,
        *,
        channel_name: str = "",
        files: tuple[tuple[str, bytes], ...] = (),
        personal: bool = False,
    ) -> Notice:
        """Run a ``/ritme`` command; the answer is meant for the actor only.
        ``files`` are (name, content) of files sent with it (``holiday import``);
        ``personal``: typed in a one-to-one chat with Ritme, which is no team."""
        ...

    async def answer(
        self,
        actor: Actor,
        occurrence_id: int,
        values: dict[str, Any],
        via: ChannelRef | None = None,
    ) -> Answered:
        """Store an answer to a prompt, sent from the conversation ``via``."""
        ...

    async def own_answers(self, actor: Actor, occurrence_ids: Sequence[int]) -> dict[int, OwnAnswer]:
        """The actor's answers to those of the rounds that are still open and that they
        answered, by occurrence id: what a card shows them back ("answered ✓ · change")."""
        ...
