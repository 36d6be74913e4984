"""The statements that store answers, built once per dialect."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    String,
    and_,
    any_,
    bindparam,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.models import (
    Member,
    Occurrence,
    Participation,
    Reply,
    Ritual,
    SealedAnswer,
    Team,
    TeamMember,
    table_of,
)


class AnswerSql:
    """The statements that store answers, built once per dialect: answers arrive by the
    hundreds a second, and building a statement (an ``ON CONFLICT`` clause's ``excluded``
    above all) cost more than running it (bench/answers.py)."""

    def __init__(self, postgresql: bool) -> None:
        insert_ = pg_insert if postgresql else sqlite_insert
        parts = [(Occurrence, "o_"), (Ritual, "r_"), (Team, "t_")]
        one_of = list_filter(postgresql)
        targets = (
            select(*(c.label(prefix + c.key) for model, prefix in parts for c in model.__table__.c))
            .join_from(Occurrence, Ritual, Ritual.id == Occurrence.ritual_id)
            .join(Team, Team.id == Ritual.team_id)
            .where(one_of(Occurrence.id, "ids", BigInteger))
        )
        self.unlocked_targets = targets
        if postgresql:  # a close (an UPDATE of the row) waits for the transaction, and sees its answers
            # (``answer_targets``; the batch read, ``context``, takes no lock: its write does)
            self.targets = targets.with_for_update(read=True, of=table_of(Occurrence))
        else:
            self.targets = targets
        self.open_rounds = select(Occurrence.id).where(
            one_of(Occurrence.id, "ids", BigInteger), Occurrence.status == "open"
        )
        self.target_parts = parts
        members = table_of(Member)
        people, m = _people(postgresql)
        self.members = people
        self.in_teams = people.add_columns(TeamMember.team_id).outerjoin(  # and which of ``teams`` they are in
            table_of(TeamMember), and_(TeamMember.member_id == m.c.id, one_of(TeamMember.team_id, "teams", BigInteger))
        )
        self.new_members = (
            insert_(members)
            .on_conflict_do_nothing()
            .returning(members.c.platform, members.c.workspace_id, members.c.user_id, members.c.id)
        )
        self.rename = (
            update(members).where(members.c.id == bindparam("member_id")).values(display_name=bindparam("name"))
        )
        self.join = insert_(table_of(TeamMember)).on_conflict_do_nothing()
        replies = table_of(Reply)
        self.named_replies = replacing_earlier(insert_(replies))
        participations = table_of(Participation)
        self.participations = (
            insert_(participations)
            .on_conflict_do_nothing()
            .returning(participations.c.occurrence_id, participations.c.member_id)
        )
        self.anonymous_replies = insert(replies)  # at the close, opened from ``sealed``
        self.sealed = insert(table_of(SealedAnswer))
        self.identities = select(members.c.id, members.c.platform, members.c.workspace_id, members.c.user_id).where(
            members.c.id.in_(bindparam("ids", expanding=True))
        )


def replacing_earlier(upsert: Any) -> Any:
    """A named reply's INSERT that replaces the member's earlier answer to the round.
    Batches commit side by side (and replicas): an answer sent earlier, committed later,
    does not replace the later one."""
    replies = table_of(Reply)
    return upsert.on_conflict_do_update(
        index_elements=[replies.c.occurrence_id, replies.c.member_id],
        set_={"values": upsert.excluded["values"], "updated_at": upsert.excluded.updated_at},
        where=or_(replies.c.updated_at.is_(None), replies.c.updated_at <= upsert.excluded.updated_at),
    )


@functools.cache
def answer_sql(postgresql: bool) -> AnswerSql:
    return AnswerSql(postgresql)


def list_filter(postgresql: bool) -> Any:
    """``column`` is one of the list parameter ``name``. On PostgreSQL an array: one statement
    text whatever the number of answers, so that asyncpg prepares it once (an expanding IN is
    a new statement, and a new prepare, for each length)."""
    if postgresql:

        def one_of(column: Any, name: str, type_: Any) -> Any:
            return column == any_(bindparam(name, type_=ARRAY(type_)))

        return one_of

    def expanding(column: Any, name: str, type_: Any) -> Any:
        return column.in_(bindparam(name, expanding=True))

    return expanding


def _people(postgresql: bool) -> tuple[Any, Any]:
    """(user id, member id, name) of the members of a workspace among ``users``, and the
    members' source to join further on.

    On PostgreSQL one probe of the members' unique key (platform, workspace, user) per person
    (LIMIT 1 keeps the subquery apart, a probe per row). Given the people as an IN list or a
    join, PostgreSQL's planner, until the table is first analysed (a new database's first big
    round), took the whole workspace for one row and read it all: some milliseconds a batch,
    most of the database's work."""
    members = table_of(Member)
    same_workspace = and_(members.c.platform == bindparam("platform"), members.c.workspace_id == bindparam("workspace"))
    if not postgresql:
        people = select(members.c.user_id, members.c.id, members.c.display_name).where(
            same_workspace, members.c.user_id.in_(bindparam("users", expanding=True))
        )
        return people, members
    wanted = func.unnest(bindparam("users", type_=ARRAY(String))).table_valued("user_id").render_derived("wanted")
    m = (
        select(members.c.user_id, members.c.id, members.c.display_name)
        .where(same_workspace, members.c.user_id == wanted.c.user_id)
        .limit(1)
        .lateral("m")
    )
    return select(m.c.user_id, m.c.id, m.c.display_name).select_from(wanted).join(m, true()), m
