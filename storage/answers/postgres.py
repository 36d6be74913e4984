"""Answers on PostgreSQL: a batch in two statements, one read and one write, and mostly in
the write alone.

Under load each round trip waited its turn for the machine's cores, and each statement cost
the writer's thread a third of a millisecond (bench/answers.py): the steps one by one took
seven round trips, these two. The read's rounds and people are remembered
(``storage.answers.memory``), so a batch whose rounds were read before is only the write:
it checks that what the batch was decided on still holds (each round's version, and who of
the people is in the team), and writes only the answers for which it does.
``tests/storage/test_answer_sql.py`` pins the SQL they compile to
(``tests/storage/answer_sql/``).
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    String,
    and_,
    bindparam,
    case,
    cast,
    column,
    false,
    func,
    insert,
    literal_column,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from rituals.ports import NewAnswer, Saved
from storage.answers.statements import answer_sql, replacing_earlier
from storage.models import (
    Member,
    Occurrence,
    Participation,
    Reply,
    Ritual,
    SealedAnswer,
    Team,
    TeamMember,
    UTCDateTime,
    table_of,
)


@functools.cache
def postgres_statements() -> tuple[Any, Any]:
    """(the read, the write) of ``one_read_one_write``, built once."""
    return one_read_one_write(answer_sql(True).unlocked_targets)


def one_read_one_write(targets: Any) -> tuple[Any, Any]:
    """A batch of answers on PostgreSQL in two statements, a read and a write, each whole in
    itself (two round trips, where the steps one by one took seven; the write alone when the
    read is remembered): under load each round trip waited its turn for the machine's cores,
    and each statement cost the writer's thread a third of a millisecond (bench/answers.py).

    The read: ``targets`` with each round's version (``version``) and, for each occurrence,
    the people of the batch who are members, and whether they are in its team (a JSON
    list). The write: the rounds still open, held FOR SHARE (a close, an UPDATE of the row,
    waits for the write and sees its answers; a close before it leaves their answers out);
    of their answers those decided on what still holds (the round's version as read, and
    the member the person was taken for in the team, or none); then members created on
    first contact, renamed, joined to the team, named replies, and for anonymous answers
    the participation and, if it was new, the sealed answer, in data-modifying CTEs. It
    returns each answer to a round still open, whether it was decided on what holds, and
    for those written their member and, anonymous ones, whether taken. The people and the
    answers come as one JSON document each. A member created by a concurrent batch while
    the write ran is not seen by it: nothing is written for that person, and
    ``AnswerRows.save_answers`` writes their answers again in a new statement."""
    return _read(targets), _write()


PERSON = ("platform", "workspace_id", "user_id")


def _version(*tables: Any) -> Any:
    """A round's version: the transaction ids that last wrote its occurrence, ritual and team
    rows (``xmin``; a lock leaves it as it is). Any change to one of them changes it."""
    return func.concat_ws(":", *(cast(literal_column(f"{t.name}.xmin"), String) for t in tables))


def _person() -> tuple[Any, ...]:
    return tuple(column(name, String) for name in PERSON)


def _member_of(who: Any) -> Any:
    """The member with the key of ``who``, looked up by it (one probe of the unique key)."""
    members = table_of(Member)
    return (
        select(members.c.id, members.c.display_name)
        .where(
            members.c.platform == who.c.platform,
            members.c.workspace_id == who.c.workspace_id,
            members.c.user_id == who.c.user_id,
        )
        .limit(1)
        .lateral()
    )


def _read(targets: Any) -> Any:
    """``targets`` with, per occurrence, the batch's people who are members and whether they
    are in its team."""
    team_members = table_of(TeamMember)
    people = (
        func.json_to_recordset(bindparam("people", type_=JSON))
        .table_valued(*_person())
        .render_derived("people", with_types=True)
    )
    member = _member_of(people)
    found = (
        select(
            func.json_agg(
                func.json_build_array(
                    people.c.platform,
                    people.c.workspace_id,
                    people.c.user_id,
                    member.c.id,
                    team_members.c.team_id.is_not(None),
                )
            )
        )
        .select_from(people)
        .join(member, true())
        .outerjoin(team_members, and_(team_members.c.member_id == member.c.id, team_members.c.team_id == Team.id))
        .correlate(Team)
        .scalar_subquery()
    )
    version = _version(table_of(Occurrence), table_of(Ritual), table_of(Team))
    return targets.add_columns(type_coerce(found, JSON).label("people"), version.label("version"))


def _answers() -> tuple[Any, Any]:
    """(checked, answers): the batch's answers (a JSON document) whose rounds are still open,
    held FOR SHARE, each with its member (if any) and whether it was decided on what still
    holds (``fresh``); and of those the fresh ones."""
    team_members = table_of(TeamMember)
    occurrences, rituals, teams = table_of(Occurrence), table_of(Ritual), table_of(Team)
    given = select(
        func.json_to_recordset(bindparam("answers", type_=JSON))
        .table_valued(
            *_person(),
            column("name", String),
            column("team_id", BigInteger),
            column("occurrence_id", BigInteger),
            column("anonymous", Boolean),
            column("values", JSON),
            column("created_on", Date),
            column("updated_at", DateTime(timezone=True)),
            column("tag", String),
            column("sealed_at", Integer),  # an anonymous answer's place in the ``sealed`` array
            column("seen", String),  # the round's version the answer was decided on (None: unchecked)
            column("member_seen", BigInteger),  # the member the person was taken for in the team
        )
        .render_derived("a", with_types=True)
    ).cte("given")
    still_open = (
        select(occurrences.c.id, _version(occurrences, rituals, teams).label("version"))
        .join(rituals, rituals.c.id == occurrences.c.ritual_id)
        .join(teams, teams.c.id == rituals.c.team_id)
        .where(occurrences.c.id.in_(select(given.c.occurrence_id)), occurrences.c.status == "open")
        .with_for_update(read=True, of=occurrences)
        .cte("still_open")
    )
    g = given.c
    member = _member_of(given)
    # The person's place in the team, held FOR KEY SHARE until the write commits (one probe of
    # the key per answer): a leave under way is waited for and seen (the answer is decided
    # again), a later one waits for the write.
    in_team = (
        select(team_members.c.member_id)
        .where(team_members.c.member_id == member.c.id, team_members.c.team_id == g.team_id)
        .with_for_update(read=True, key_share=True)
        .exists()
    )
    fresh = g.seen.is_(None) | and_(
        g.seen == still_open.c.version,
        g.member_seen.is_not_distinct_from(case((in_team, member.c.id))),
    )
    checked = (
        select(given, member.c.id.label("found_id"), member.c.display_name.label("found_name"), fresh.label("fresh"))
        .join(still_open, still_open.c.id == g.occurrence_id)
        .outerjoin(member, true())
        .cte("checked")
    )
    return checked, select(checked).where(checked.c.fresh).cte("answers")


def _member_ids(answers: Any) -> tuple[Any, Any]:
    """(ids, renamed): each person's member id, members made on first contact, and the
    UPDATE that takes a new display name."""
    members = table_of(Member)
    a = answers.c
    known = (
        select(
            a.platform,
            a.workspace_id,
            a.user_id,
            func.max(a.name).label("name"),
            func.max(a.found_id).label("id"),
            func.max(a.found_name).label("display_name"),
        )
        .group_by(a.platform, a.workspace_id, a.user_id)
        .cte("known")
    )
    k = known.c
    created = (
        pg_insert(members)
        .from_select(
            ["platform", "workspace_id", "user_id", "display_name", "created_at", "mute_reminders"],
            select(k.platform, k.workspace_id, k.user_id, k.name, bindparam("now", type_=UTCDateTime), false())
            .where(k.id.is_(None))
            .order_by(k.platform, k.workspace_id, k.user_id),  # one order for all: no deadlocks
        )
        .on_conflict_do_nothing()
        .returning(members.c.id, members.c.platform, members.c.workspace_id, members.c.user_id)
        .cte("created")
    )
    same_person = and_(
        created.c.platform == k.platform, created.c.workspace_id == k.workspace_id, created.c.user_id == k.user_id
    )
    ids = (
        select(k.platform, k.workspace_id, k.user_id, func.coalesce(k.id, created.c.id).label("member_id"))
        .select_from(known)
        .outerjoin(created, same_person)
        .cte("ids")
    )
    renamed = (
        update(members)
        .where(members.c.id == k.id, k.name != "", members.c.display_name != k.name)
        .values(display_name=k.name)
        .returning(members.c.id)
        .cte("renamed")
    )
    return ids, renamed


def _named(r: Any, stored: Any) -> Any:
    """Named replies, replacing the member's earlier answer (``replacing_earlier``)."""
    replies = table_of(Reply)
    return (
        replacing_earlier(
            pg_insert(replies).from_select(
                ["id", "occurrence_id", "member_id", "team_id", "values", "created_on", "updated_at"],
                select(
                    cast(func.gen_random_uuid(), String),
                    r.occurrence_id,
                    r.member_id,
                    r.team_id,
                    r["values"],
                    r.created_on,
                    r.updated_at,
                )
                .where(r.anonymous.is_(False), stored)
                .order_by(r.occurrence_id, r.member_id),
            )
        )
        .returning(replies.c.occurrence_id)
        .cte("named")
    )


def _anonymous(rows: Any, stored: Any) -> tuple[Any, Any]:
    """(took_part, sealed): who took part, and, apart from it, each new participant's sealed
    answer (sealed until the close)."""
    r = rows.c
    participations, sealed_answers = table_of(Participation), table_of(SealedAnswer)
    took_part = (
        pg_insert(participations)
        .from_select(
            ["occurrence_id", "member_id"],
            select(r.occurrence_id, r.member_id)
            .where(r.anonymous.is_(True), stored)
            .order_by(r.occurrence_id, r.member_id),
        )
        .on_conflict_do_nothing()
        .returning(participations.c.occurrence_id, participations.c.member_id)
        .cte("took_part")
    )
    # The sealed answers travel apart from the JSON document, as one bytea[] parameter in the
    # binary protocol: 5 KiB each, read from JSON as base64 text they cost PostgreSQL six
    # times the time (44 µs an answer against 7).
    given = (
        func.unnest(bindparam("sealed", type_=ARRAY(LargeBinary)))
        .table_valued("sealed", with_ordinality="place")
        .render_derived("s")
    )
    sealed = (
        insert(sealed_answers)
        .from_select(
            ["occurrence_id", "tag", "sealed"],
            select(r.occurrence_id, r.tag, given.c.sealed)
            .join_from(
                rows,
                took_part,
                and_(took_part.c.occurrence_id == r.occurrence_id, took_part.c.member_id == r.member_id),
            )
            .join(given, given.c.place == r.sealed_at)
            .order_by(r.occurrence_id, r.tag),
        )
        .returning(sealed_answers.c.occurrence_id)
        .cte("anonymous")
    )
    return took_part, sealed


def _write() -> Any:
    """The write: the answers of rounds still open, decided on what still holds, their
    members, team joins, named replies and anonymous answers; returns per answer to a round
    still open its member (None: not written, or made by a concurrent batch meanwhile),
    whether an anonymous one was taken, and whether it was decided on what holds."""
    team_members = table_of(TeamMember)
    checked, answers = _answers()
    a = answers.c
    ids, renamed = _member_ids(answers)
    rows = (
        select(answers, ids.c.member_id)
        .select_from(answers)
        .join(ids, and_(ids.c.platform == a.platform, ids.c.workspace_id == a.workspace_id, ids.c.user_id == a.user_id))
        .cte("rows")
    )
    r = rows.c
    stored = r.member_id.is_not(None)  # None: created by a concurrent batch meanwhile (see above)
    joined = (
        pg_insert(team_members)
        .from_select(
            ["team_id", "member_id"],
            select(r.team_id, r.member_id).where(stored).distinct().order_by(r.team_id, r.member_id),
        )
        .on_conflict_do_nothing()
        .returning(team_members.c.member_id)
        .cte("joined")
    )
    named = _named(r, stored)
    took_part, sealed = _anonymous(rows, stored)
    c = checked.c
    same_answer = and_(
        r.platform == c.platform,
        r.workspace_id == c.workspace_id,
        r.user_id == c.user_id,
        r.occurrence_id == c.occurrence_id,
    )
    return (
        select(
            c.platform,
            c.workspace_id,
            c.user_id,
            c.occurrence_id,
            r.member_id,
            took_part.c.member_id.is_not(None),
            c.fresh,
        )
        .select_from(checked)
        .outerjoin(rows, same_answer)
        .outerjoin(took_part, and_(took_part.c.occurrence_id == r.occurrence_id, took_part.c.member_id == r.member_id))
        .add_cte(renamed, joined, named, sealed)
    )


def saved(
    answer: NewAnswer,
    written: Collection[tuple[str, str, str, int]],
    taken: Collection[tuple[str, str, str, int]],
    changed: Collection[tuple[str, str, str, int]],
) -> Saved:
    """What the write did with ``answer``, from the keys (person, occurrence) it returned:
    written, anonymous ones taken, decided on what no longer holds; none: its round closed."""
    key = (answer.actor.platform, answer.actor.workspace_id, answer.actor.user_id, answer.occurrence_id)
    if key in changed:
        return Saved.CHANGED
    if key not in written:
        return Saved.CLOSED
    return Saved.ANSWERED if answer.anonymous and key not in taken else Saved.STORED
