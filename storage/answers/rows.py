"""Answers in a transaction: the reads and writes of a batch, on SQLite and PostgreSQL.

Two paths, kept apart:

- **Named answers** (reflections, check-outs, ...): a reply with its member; a later answer of
  the same member replaces the earlier one while the round is open (``replacing_earlier``).
- **Anonymous answers** (the pulse): a participation row says who has answered, and the
  answer itself is sealed (``storage.answers.seal``) in a row that names nobody. When the round
  closes ``open_sealed`` opens them all and writes them as replies without a member, in one
  transaction and random order. An anonymous answer is taken once.

SQLite writes a batch in one transaction (``_save_in_one_transaction``); PostgreSQL in one
read and one write statement (``storage.answers.postgres``), and in the write alone when the
batch's rounds are remembered (``storage.answers.memory``). The engine reaches these
through ``rituals.ports.Tx``; ``SqlTx`` (``storage.repo``) is built on ``AnswerRows``.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from rituals.ports import NewAnswer, NewReply, OccurrenceView, RitualView, Saved, TeamView
from rituals.types import Actor, ChannelRef
from storage.answers.memory import AnswerMemory, InTeam, Target
from storage.answers.postgres import postgres_statements, saved
from storage.answers.seal import SealedAnswer as Sealed
from storage.answers.seal import Sealer, UnsealError, person_key
from storage.answers.statements import answer_sql
from storage.answers.writer import WriterConnection
from storage.db import rowcount
from storage.models import Member, Occurrence, Participation, Ritual, SealedAnswer, Team
from storage.views import occurrence_view, ritual_view, team_view

log = logging.getLogger(__name__)

_shuffle = random.SystemRandom().shuffle


@dataclass(frozen=True, slots=True)
class AnswerContext:
    """What a batch's rules need: its rounds by occurrence id, and the member ids by
    (platform, workspace, user, team id) of its people who are in the team of one of them;
    ``remembered``: from ``AnswerMemory``, not read now."""

    targets: dict[int, Target]
    in_team: dict[InTeam, int] = field(default_factory=dict)
    remembered: bool = False


class AnswerRows:
    """The answer operations of ``rituals.ports.Tx`` on one connection or session.
    ``memory``: the answer writer's on PostgreSQL (``answer_context``)."""

    def __init__(
        self,
        session: AsyncSession | AsyncConnection | WriterConnection,
        sealer: Sealer,
        memory: AnswerMemory | None = None,
    ) -> None:
        self.s: Any = session
        self.sealer = sealer
        self.memory = memory
        dialect = session.get_bind().dialect if isinstance(session, AsyncSession) else session.dialect
        # PostgreSQL: a batch is a read (unless remembered) and a write statement, each whole in itself.
        self.in_one_statement = dialect.name == "postgresql"
        self.sql = answer_sql(self.in_one_statement)
        # Members read by ``members_in_teams`` in this transaction ((id, name), None: none),
        # so that ``ensure_members`` after it need not read them again.
        self._seen: dict[tuple[str, str, str], tuple[int, str] | None] = {}
        # PostgreSQL: what the last ``answer_context`` gave, which ``save_answers`` checks.
        self._versions: dict[int, str] = {}
        self._in_team: dict[InTeam, int] = {}

    async def answer_targets(
        self, occurrence_ids: Sequence[int]
    ) -> dict[int, tuple[OccurrenceView, RitualView, TeamView]]:
        """The occurrences answers are for, with ritual and team; each held against a
        concurrent close (FOR SHARE where supported) until the transaction ends."""
        if not occurrence_ids:
            return {}
        found: dict[int, tuple[OccurrenceView, RitualView, TeamView]] = {}
        for row in (await self.s.execute(self.sql.targets, {"ids": list(occurrence_ids)})).mappings():
            occ, ritual, team = self._target(row)
            found[occ.id] = (occ, ritual, team)
        return found

    def _target(self, row: Any) -> tuple[OccurrenceView, RitualView, TeamView]:
        occ, ritual, team = (
            SimpleNamespace(**{k[2:]: v for k, v in row.items() if k.startswith(prefix)})
            for _model, prefix in self.sql.target_parts
        )
        # the namespaces have the models' attributes
        return occurrence_view(occ), ritual_view(ritual), team_view(team)  # type: ignore[arg-type]

    async def answer_context(
        self, occurrence_ids: Sequence[int], people: Sequence[Actor], *, fresh: bool = False
    ) -> AnswerContext:
        """``answer_targets``, and who of ``people`` is in the team of one of the occurrences
        now. On PostgreSQL from ``memory`` when it holds every round, unless ``fresh``; the
        write checks that what it gave still holds (``save_answers``)."""
        if not self.in_one_statement:
            targets = await self.answer_targets(occurrence_ids)
            teams = {team.id for _occ, _ritual, team in targets.values()}
            return AnswerContext(
                targets, await self.members_in_teams([(actor, team) for actor in people for team in teams])
            )
        if not occurrence_ids:
            return AnswerContext({})
        if self.memory is not None and not fresh and (remembered := self.memory.recall(occurrence_ids, people)):
            targets, self._versions, self._in_team = remembered
            return AnswerContext(targets, self._in_team, remembered=True)
        keys = sorted({(a.platform, a.workspace_id, a.user_id) for a in people})
        found: dict[int, Target] = {}
        versions: dict[int, str] = {}
        in_team: dict[InTeam, int] = {}
        rows = await self.s.execute(
            postgres_statements()[0],
            {
                "ids": list(occurrence_ids),
                "people": [{"platform": p, "workspace_id": w, "user_id": u} for p, w, u in keys],
            },
        )
        for row in rows.mappings():
            occ, ritual, team = self._target(row)
            found[occ.id] = (occ, ritual, team)
            versions[occ.id] = row["version"]
            in_team.update(
                {(p, w, u, team.id): member_id for p, w, u, member_id, joined in row["people"] or () if joined}
            )
        if self.memory is not None:
            for gone in set(occurrence_ids) - found.keys():
                self.memory.forget_round(gone)
            self.memory.learn_rounds(found, versions)
            self.memory.learn_people(people, {team.id for _o, _r, team in found.values()}, in_team)
        self._versions, self._in_team = versions, in_team
        return AnswerContext(found, in_team)

    async def save_answers(self, answers: Sequence[NewAnswer], now: datetime) -> list[Saved]:
        """``ensure_members`` and ``save_replies`` for the answers whose round is still
        open, each round held against a concurrent close (FOR SHARE where supported) until
        the write commits. Nothing is written for an answer that is not stored, not even
        its member. At most one answer per (occurrence, person)."""
        if not answers:
            return []
        if self.in_one_statement:
            return await self._save_in_one_statement(answers, now)
        return await self._save_in_one_transaction(answers, now)

    async def _save_in_one_transaction(self, answers: Sequence[NewAnswer], now: datetime) -> list[Saved]:
        """SQLite: one writer at a time, so the rounds stay as they are read here; members,
        then replies (``save_replies``)."""
        still_open = set(
            (await self.s.execute(self.sql.open_rounds, {"ids": sorted({a.occurrence_id for a in answers})})).scalars()
        )
        kept = [a for a in answers if a.occurrence_id in still_open]
        members = await self.ensure_members([(a.actor, a.team_id) for a in kept], now)
        stored = iter(
            await self.save_replies(
                [
                    NewReply(
                        occurrence_id=a.occurrence_id,
                        team_id=a.team_id,
                        member_id=members[(a.actor.platform, a.actor.workspace_id, a.actor.user_id)],
                        anonymous=a.anonymous,
                        values=a.values,
                        today=a.today,
                        sent_at=a.sent_at,
                    )
                    for a in kept
                ],
                now,
            )
        )
        return [
            (Saved.STORED if next(stored) else Saved.ANSWERED) if a.occurrence_id in still_open else Saved.CLOSED
            for a in answers
        ]

    async def _save_in_one_statement(self, answers: Sequence[NewAnswer], now: datetime) -> list[Saved]:
        """PostgreSQL: the write of ``one_read_one_write``, checking what the last
        ``answer_context`` gave (none given: only that each round is open); again for the few
        answers whose member a concurrent batch was creating."""
        _read, write = postgres_statements()
        taken: set[tuple[str, str, str, int]] = set()
        written: dict[tuple[str, str, str, int], int] = {}  # the member of each answer written
        changed: set[tuple[str, str, str, int]] = set()
        waiting = list(answers)
        for _attempt in range(3):
            sealed: list[bytes] = []
            rows = (
                await self.s.execute(
                    write, {"now": now, "answers": [self._written(a, now, sealed) for a in waiting], "sealed": sealed}
                )
            ).all()
            for p, w, u, occ, member_id, was_taken, fresh in rows:
                if not fresh:
                    changed.add((p, w, u, occ))
                elif member_id is not None:
                    written[(p, w, u, occ)] = member_id
                    if was_taken:
                        taken.add((p, w, u, occ))
            # Members a concurrent batch created while this statement ran: not seen by it
            # (nothing was written for them); a new statement sees them. An answer the
            # statement did not return at all was for a round no longer open.
            unseen = {(p, w, u) for p, w, u, _occ, member_id, _taken, fresh in rows if fresh and member_id is None}
            waiting = [a for a in waiting if (a.actor.platform, a.actor.workspace_id, a.actor.user_id) in unseen]
            if not waiting:
                break
        else:  # met a concurrent new member three times over: those few are asked to try again
            log.warning("%d answers not stored: their members were being created by other batches", len(waiting))
        outcomes = [saved(a, written, taken, changed) if a not in waiting else Saved.RETRY for a in answers]
        if self.memory is not None:
            self._remember(answers, outcomes, written)
        return outcomes

    def _written(self, answer: NewAnswer, now: datetime, sealed: list[bytes]) -> dict[str, Any]:
        """An answer as the write statement takes it (one element of its JSON document)."""
        actor = answer.actor
        return {
            "platform": actor.platform,
            "workspace_id": actor.workspace_id,
            "user_id": actor.user_id,
            "name": (actor.display_name or "").replace("\x00", "")[:200],  # as the column's type (``Name``) does
            "team_id": answer.team_id,
            "occurrence_id": answer.occurrence_id,
            "anonymous": answer.anonymous,
            "created_on": answer.today.isoformat(),
            "updated_at": (answer.sent_at or now).isoformat(),
            "seen": self._versions.get(answer.occurrence_id),
            "member_seen": self._in_team.get((actor.platform, actor.workspace_id, actor.user_id, answer.team_id)),
        } | self._content(answer, sealed)

    def _remember(
        self, answers: Sequence[NewAnswer], outcomes: list[Saved], written: dict[tuple[str, str, str, int], int]
    ) -> None:
        """Who is in a team now that their answers are written, and which rounds closed."""
        assert self.memory is not None
        for answer, outcome in zip(answers, outcomes, strict=True):
            actor = answer.actor
            if outcome is Saved.CLOSED:
                self.memory.forget_round(answer.occurrence_id)
            elif member_id := written.get((actor.platform, actor.workspace_id, actor.user_id, answer.occurrence_id)):
                self.memory.joined((actor.platform, actor.workspace_id, actor.user_id, answer.team_id), member_id)

    def _content(self, answer: NewAnswer, sealed: list[bytes]) -> dict[str, Any]:
        """What the write statement takes of an answer's content: a named answer's values;
        an anonymous answer sealed (its values never reach the database in clear), added to
        ``sealed`` and known by its place there (from 1)."""
        if not answer.anonymous:
            return {"values": answer.values, "tag": None, "sealed_at": None}
        actor = answer.actor
        one = self.sealer.seal(
            answer.occurrence_id, person_key(actor.platform, actor.workspace_id, actor.user_id), answer.values
        )
        sealed.append(one.sealed)
        return {"values": None, "tag": one.tag, "sealed_at": len(sealed)}

    async def channel_language(self, channel: ChannelRef) -> str | None:
        """The language of the team of a channel, if it is one."""
        return await self.s.scalar(
            select(Team.language).where(
                Team.platform == channel.platform,
                Team.workspace_id == channel.workspace_id,
                Team.channel_id == channel.channel_id,
            )
        )

    async def members_in_teams(self, people: Sequence[tuple[Actor, int]]) -> dict[tuple[str, str, str, int], int]:
        """Member ids by (platform, workspace, user, team id) of the (actor, team id) pairs
        whose actor is in that team now."""
        wanted = {(a.platform, a.workspace_id, a.user_id, team_id) for a, team_id in people}
        by_workspace: dict[tuple[str, str], tuple[set[str], set[int]]] = {}
        for platform, workspace_id, user_id, team_id in wanted:
            users, teams = by_workspace.setdefault((platform, workspace_id), (set(), set()))
            users.add(user_id)
            teams.add(team_id)
        found: dict[tuple[str, str, str, int], int] = {}
        for (platform, workspace_id), (users, teams) in by_workspace.items():
            rows = await self.s.execute(
                self.sql.in_teams,
                {"platform": platform, "workspace": workspace_id, "users": sorted(users), "teams": sorted(teams)},
            )
            self._seen.update(dict.fromkeys(((platform, workspace_id, u) for u in users), None))
            for user_id, member_id, name, team_id in rows.all():
                self._seen[(platform, workspace_id, user_id)] = (member_id, name)
                if (platform, workspace_id, user_id, team_id) in wanted:
                    found[(platform, workspace_id, user_id, team_id)] = member_id
        return found

    async def ensure_members(
        self, people: Sequence[tuple[Actor, int]], now: datetime
    ) -> dict[tuple[str, str, str], int]:
        """Member ids by (platform, workspace, user) of (actor, team id) pairs: members are
        created on first contact and join the team."""
        # Statements with a list of parameters (executemany), whatever the number of rows.
        names: dict[tuple[str, str, str], str] = {}
        for actor, _team in people:
            key = (actor.platform, actor.workspace_id, actor.user_id)
            names[key] = actor.display_name or names.get(key, "")
        known = {key: seen for key in names if (seen := self._seen.get(key))}
        known.update(await self._members({key: name for key, name in names.items() if key not in self._seen}))
        missing = sorted(key for key in names if key not in known)  # one order for all: no deadlocks
        if missing:  # first contact; a concurrent first contact elsewhere is no conflict
            created = await self.s.execute(
                self.sql.new_members,
                [
                    {
                        "platform": p,
                        "workspace_id": w,
                        "user_id": u,
                        "display_name": names[(p, w, u)],
                        "created_at": now,
                        "mute_reminders": False,
                    }
                    for p, w, u in missing
                ],
            )
            known.update({(p, w, u): (member_id, names[(p, w, u)]) for p, w, u, member_id in created.all()})
            if any(key not in known for key in missing):  # made by someone else meanwhile
                known.update(await self._members(dict.fromkeys((k for k in missing if k not in known), "")))
        self._seen.clear()  # written from here on
        renamed = sorted(
            (
                {"member_id": known[key][0], "name": name}
                for key, name in names.items()
                if name and key not in missing and known[key][1] != name
            ),
            key=lambda row: int(str(row["member_id"])),
        )
        if renamed:
            await self.s.execute(self.sql.rename, renamed)
        joins = {(team_id, known[(a.platform, a.workspace_id, a.user_id)][0]) for a, team_id in people}
        if joins:
            await self.s.execute(
                self.sql.join, [{"team_id": team_id, "member_id": member_id} for team_id, member_id in sorted(joins)]
            )
        return {key: member_id for key, (member_id, _name) in known.items()}

    async def _members(self, keys: dict[tuple[str, str, str], str]) -> dict[tuple[str, str, str], tuple[int, str]]:
        """(id, display name) of the members that exist, by (platform, workspace, user)."""
        by_workspace: dict[tuple[str, str], list[str]] = {}
        for platform, workspace_id, user_id in keys:
            by_workspace.setdefault((platform, workspace_id), []).append(user_id)
        found: dict[tuple[str, str, str], tuple[int, str]] = {}
        for (platform, workspace_id), users in sorted(by_workspace.items()):
            rows = await self.s.execute(
                self.sql.members, {"platform": platform, "workspace": workspace_id, "users": users}
            )
            found.update(
                {(platform, workspace_id, user_id): (member_id, name) for user_id, member_id, name in rows.all()}
            )
        return found

    async def save_replies(self, replies: Sequence[NewReply], now: datetime) -> list[bool]:
        """Store replies, one statement per kind of row. Named: insert or replace (True).
        Anonymous: participation and the sealed answer; False when the member had
        answered already. At most one reply per (occurrence, member) in one call."""
        replies_in_order = sorted(replies, key=lambda r: (r.occurrence_id, r.member_id))  # no deadlocks
        named = [r for r in replies_in_order if not r.anonymous]
        if named:  # insert, or replace the member's earlier answer
            await self.s.execute(
                self.sql.named_replies,
                [
                    {
                        "id": str(uuid.uuid4()),
                        "occurrence_id": r.occurrence_id,
                        "member_id": r.member_id,
                        "team_id": r.team_id,
                        "values": r.values,
                        "created_on": r.today,
                        "updated_at": r.sent_at or now,
                    }
                    for r in named
                ],
            )
        fresh: set[tuple[int, int]] = set()
        anonymous = [r for r in replies_in_order if r.anonymous]
        if anonymous:  # who took part, and apart from it what they said: sealed until the round closes
            rows = await self.s.execute(
                self.sql.participations,
                [{"occurrence_id": r.occurrence_id, "member_id": r.member_id} for r in anonymous],
            )
            fresh = set(rows.all())
            answers = [r for r in anonymous if (r.occurrence_id, r.member_id) in fresh]
            if answers:
                people = {
                    member_id: person_key(p, w, u)
                    for member_id, p, w, u in (
                        await self.s.execute(self.sql.identities, {"ids": sorted({r.member_id for r in answers})})
                    ).all()
                }
                sealed = [self.sealer.seal(r.occurrence_id, people[r.member_id], r.values) for r in answers]
                await self.s.execute(
                    self.sql.sealed,
                    [{"occurrence_id": a.occurrence_id, "tag": a.tag, "sealed": a.sealed} for a in sealed],
                )
        return [not r.anonymous or (r.occurrence_id, r.member_id) in fresh for r in replies]

    async def save_reply(
        self,
        *,
        occurrence_id: int,
        team_id: int,
        member_id: int,
        anonymous: bool,
        values: dict[str, Any],
        today: date,
        now: datetime,
    ) -> bool:
        """One reply (see ``save_replies``)."""
        reply = NewReply(
            occurrence_id=occurrence_id,
            team_id=team_id,
            member_id=member_id,
            anonymous=anonymous,
            values=values,
            today=today,
        )
        return (await self.save_replies([reply], now))[0]

    async def open_sealed(self, occurrence_id: int, now: datetime) -> None:
        """The round's sealed answers become anonymous replies: all in this transaction (on
        PostgreSQL one ``xmin`` for all), in random order, dated the day of the close in the
        team's timezone; then the sealed rows go. An answer this server cannot open (the
        secret changed since it was sealed) stays sealed, and is said in the log."""
        sealed = (
            await self.s.execute(
                select(SealedAnswer.tag, SealedAnswer.sealed).where(SealedAnswer.occurrence_id == occurrence_id)
            )
        ).all()
        if not sealed:
            return
        team_id, timezone = (
            await self.s.execute(
                select(Team.id, Team.timezone)
                .join(Ritual, Ritual.team_id == Team.id)
                .join(Occurrence, Occurrence.ritual_id == Ritual.id)
                .where(Occurrence.id == occurrence_id)
            )
        ).one()
        day = now.astimezone(ZoneInfo(timezone)).date()
        opened: list[dict[str, Any]] = []
        unreadable: list[str] = []
        for tag, blob in sealed:
            try:
                values = self.sealer.open(Sealed(occurrence_id=occurrence_id, tag=tag, sealed=blob))
            except UnsealError:
                unreadable.append(tag)
                continue
            opened.append(
                {
                    "id": str(uuid.uuid4()),
                    "occurrence_id": occurrence_id,
                    "member_id": None,
                    "team_id": team_id,
                    "values": values,
                    "created_on": day,
                    "updated_at": None,
                }
            )
        _shuffle(opened)
        if opened:
            await self.s.execute(self.sql.anonymous_replies, opened)
        gone = delete(SealedAnswer).where(SealedAnswer.occurrence_id == occurrence_id)
        if unreadable:
            log.error(
                "occurrence %s: %d sealed answers could not be opened (was RITME_SECRET_KEY changed while "
                "the round was open?); they stay sealed",
                occurrence_id,
                len(unreadable),
            )
            gone = gone.where(SealedAnswer.tag.not_in(unreadable))
        await self.s.execute(gone)


async def withdraw_sealed(s: AsyncSession, sealer: Sealer, member: Member) -> int:
    """Withdraw a member's sealed answers to the anonymous rounds still open (``forget-me``):
    answering anew after it counts once. Once a round has closed nothing links its answers
    to anyone, so none can be taken back. The number withdrawn."""
    rounds = (
        await s.scalars(
            select(Participation.occurrence_id)
            .join(Occurrence, Occurrence.id == Participation.occurrence_id)
            .where(Participation.member_id == member.id, Occurrence.status == "open")
        )
    ).all()
    person = person_key(member.platform, member.workspace_id, member.user_id)
    withdrawn = 0
    for occurrence_id in rounds:
        result = await s.execute(
            delete(SealedAnswer).where(
                SealedAnswer.occurrence_id == occurrence_id, SealedAnswer.tag == sealer.tag(occurrence_id, person)
            )
        )
        withdrawn += rowcount(result)
    return withdrawn


async def rewrite_sealed(
    s: AsyncSession,
    sealer: Sealer,
    rounds: Any,
    rewrite: Callable[[dict[str, Any]], dict[str, Any]],
) -> bool:
    """Open the sealed answers of ``rounds`` (a select of occurrence ids), ``rewrite`` their
    values (a forgotten colleague's name taken out of what others wrote) and seal again the
    ones that changed. True when one did."""
    changed = False
    rows = (
        await s.execute(
            select(SealedAnswer.occurrence_id, SealedAnswer.tag, SealedAnswer.sealed).where(
                SealedAnswer.occurrence_id.in_(rounds)
            )
        )
    ).all()
    for occurrence_id, tag, blob in rows:
        try:
            values = sealer.open(Sealed(occurrence_id=occurrence_id, tag=tag, sealed=blob))
        except UnsealError:
            continue  # another secret's: left as it is (``open_sealed`` says so at the close)
        new = rewrite(values)
        if new != values:
            await s.execute(
                update(SealedAnswer)
                .where(SealedAnswer.occurrence_id == occurrence_id, SealedAnswer.tag == tag)
                .values(sealed=sealer.seal_as(occurrence_id, tag, new).sealed)
            )
            changed = True
    return changed
