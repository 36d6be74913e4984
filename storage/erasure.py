"""Erasing a person (``forget-me``): their own rows, and every copy of their member id,
platform user id and display name in what others keep, in one transaction; then the
database's own copies (the SQLite WAL, PostgreSQL's dead rows).

Where a person is kept (keep this list in step with storage/models.py and the writers of
its JSON columns: rituals/kinds/*, rituals/engine.py, bot/*, adapters/*):

- ``members``: the person (platform user id, display name): deleted, last.
- ``team_members``, ``role_grants``, ``participations``, ``replies`` with their member id
  (their named answers): deleted. Anonymous answers carry nothing of them and stay.
- ``actions.member_id``, ``audit_log.member_id`` (who agreed, who changed what): emptied.
- ``audit_log.detail``: ``member`` (their id, of ``role add/remove``, ``pairs
  exclude/include/label``) dropped; their name or user id in a text (``goal.set``,
  ``action.add``, ``question.add``...) replaced by the marker.
- ``occurrences.content``: an appreciation's ``roster`` entry becomes the marker (the round
  still works: nobody is asked about them any more); a pairs round's ``groups`` lose their
  entry (``id``, ``name``, ``user``) and ``skipped`` their id; their name in a text (the
  ``action`` a round follows up) replaced by the marker.
- ``replies.values`` of others: an appreciation's ``colleague`` (or ``also_colleague``) that is
  their id becomes the marker; their name or user id in a written answer too.
- ``outbox``: a message to them alone deleted; a group message (``destination.members``,
  pairs) without them; a notice waiting to be sent (rendered already, in the team's
  language, often another round's results that others wait for) keeps its place: where it
  quotes one of their answers the quote becomes "…", where it names them it names "a former
  colleague" instead; one that failed loses its text (it may quote them), as a delivered
  one does.
- ``sent_prompts.user_id``: where their prompts landed: deleted.
- ``teams.settings``: ``pairs_exclude``, ``pairs_skip`` and ``labels`` (by member id) without
  them; their name in a text (``questions``, ``values``) replaced by the marker; likewise
  ``teams.goal`` and ``teams.name``, ``holidays.name``, ``actions.text``, ``rituals.options``.
- ``teams.conversation`` (a Teams conversation reference): its ``user``, when it is them.
- ``installations.installer_user_id``: emptied.
- ``channel_messages`` (the playground's channel): theirs deleted, and the commands they
  typed; others' that quote one of their answers (a round's results) or name them rewritten.
  The reply to ``forget-me`` itself is stored nowhere (``Notice.keep``).

The marker is ``rituals.former.FORMER_COLLEAGUE``, shown as "a former colleague" in the
reader's language. The platform user id and a mention (``<@U123>``, ``<@U123|Anna>``, Teams'
``<at>Anna</at>``) are always replaced. The display name is matched as whole words in its
own case, so "Anna" does not change "Annabel" or "ANNA", and a first name alone is not
touched; a name of fewer than three characters or of common words only ("Will", "The",
``COMMON_WORDS``) is not matched at all: any member may choose their display name, and
forget-me must not rewrite everyone's "will" (their id and mentions still go). Quotes of
their answers are texts of ``MIN_QUOTE`` characters or more: a shorter one ("Thanks")
says nothing of them and is found in everyone's words.
Answers, the audit log and rounds are read only where the database finds the name or id in
them (a ``LIKE`` on the JSON as stored, which escapes what is not ASCII), or where they keep
people by id (appreciation and pairs rounds): an erasure reads what may name the person, not
a workspace's years of answers.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, cast, delete, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from rituals.former import FORMER_COLLEAGUE, SHOWN_AS
from rituals.i18n import translator
from rituals.kinds.appreciation import COLLEAGUE_KEYS
from storage.answers.rows import rewrite_sealed, withdraw_sealed
from storage.answers.seal import Sealer
from storage.db import rowcount, sessionmaker, truncate_wal, vacuum
from storage.models import (
    DELIVERED_NOTICE,
    Action,
    AuditEntry,
    ChannelMessage,
    Holiday,
    Installation,
    Member,
    Occurrence,
    OutboxMessage,
    Participation,
    Reply,
    Ritual,
    RoleGrant,
    SentPrompt,
    Team,
    TeamMember,
)

log = logging.getLogger(__name__)

# Kinds whose rounds keep people by member id (``occurrences.content``).
PEOPLE_IN_CONTENT = ("appreciation", "pairs")
# Settings keyed by member id, or listing member ids (bot/service.py, the pairs commands).
SETTINGS_BY_MEMBER = ("pairs_skip", "labels")
SETTINGS_OF_MEMBERS = ("pairs_exclude",)
OPTION_VALUE = re.compile(r"[a-z0-9_-]+")
MIN_NAME = 3  # a shorter display name ("Al", "we") is found in others' words, not only as them
MIN_QUOTE = 12  # characters of an answer before a text that holds it is taken to quote it
QUOTE_MARK = "\u2026"  # what a quote of them becomes in a message others wait for
# Frequent words of English and Dutch, compared without case: a display name made of these
# only is not looked for in texts (a member named "Will" or "The" would rewrite everyone's).
COMMON_WORDS = frozenset(
    """
    a about after again all also always am an and any are as ask at away back be because been before being best
    better big both but by call can come could day did do does done down each even every first for from get give go
    good got great had has have he help her here him his hope how i if in into is it its just keep know last let
    like little long look made make many may me more most much must my need never new next no not now of off old
    on once one only or other our out over own part people place play please put read really right said same say
    see she should show so some still such sure take team tell than thank thanks that the their them then there
    these they thing think this those time to today together too try turn two up us use very want was way we week
    well went were what when where which while who why will with work would year yes yet you your
    aan al alle alles als altijd ben bij daar dag dan dat de deze die dit doe doen door dus een eens en er ga gaan
    geen goed graag had heb hebben heeft hem het hier hij hoe hun iets ik in is ja je jij jou jouw kan keer kom
    komen kunnen laat maar mag me meer met mij mijn moet na naar niet niets nog nu of ok om omdat ons onze ook op
    over samen te tijd toch tot u uit van veel voor vraag waar wat we week wel werk werd weten wie wij wil wilt
    word worden zal ze zei zich zij zijn zo zou
""".split()
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Erased:
    """What an erasure did: how many of the person's own answers went, and which tables it
    changed (for ``VACUUM``)."""

    answers: int
    tables: frozenset[str] = field(default_factory=frozenset)


def named_in_texts(name: str) -> bool:
    """Whether a display name is precise enough to be looked for in texts: three characters
    or more, and not common words only ("Will", "The", "Hope", "Wij")."""
    words = name.split()
    return len(" ".join(words)) >= MIN_NAME and not all(w.lower() in COMMON_WORDS for w in words)


def _spaced(words: str) -> str:
    """A pattern of the words with any white space between them."""
    return r"\s+".join(re.escape(w) for w in words.split())


class Scrubber:
    """Finds a person's platform user id, their mentions and (where ``named_in_texts``)
    their display name in texts, and replaces them."""

    def __init__(self, user_id: str, name: str) -> None:
        self.user_id, self.name = user_id, " ".join(name.split())
        parts = [rf"<@{re.escape(user_id)}(?:\|[^>]*)?>"]  # a Slack mention (Teams' too), with or without its name
        needles = {user_id.lower()} if len(user_id) >= 2 else set()
        if self.name:
            parts.append(rf"(?i:<at>{_spaced(self.name)}</at>)")  # a Teams mention as a message carries it
            needles.add(f"<at>{self.name.lower()}</at>")
        words = [(user_id, "(?i:")] if len(user_id) >= 2 else []  # an id is no word of anyone's
        if named_in_texts(self.name):
            words.append((self.name, "(?:"))  # in its own case: "Mark" is not "mark"
            needles.add(self.name.lower())
        for word, flags in sorted(words, key=lambda w: len(w[0]), reverse=True):
            parts.append(rf"(?<!\w){flags}{_spaced(word)})(?!\w)")
        self.pattern = re.compile("|".join(parts))
        self.needles = sorted(needles)

    def text(self, value: str, replacement: str = FORMER_COLLEAGUE) -> str:
        return self.pattern.sub(replacement, value)

    def json(self, value: Any, replacement: str = FORMER_COLLEAGUE) -> Any:
        """A JSON value with every string in it scrubbed (keys as they are)."""
        if isinstance(value, str):
            return self.text(value, replacement)
        if isinstance(value, list):
            return [self.json(v, replacement) for v in value]
        if isinstance(value, dict):
            return {k: self.json(v, replacement) for k, v in value.items()}
        return value

    def found_in(self, column: Any, *, stored_as_json: bool) -> Any:
        """SQL: the column's text holds the name or the user id, in any case (ASCII)."""
        needles = [json.dumps(n)[1:-1] for n in self.needles] if stored_as_json else self.needles
        text = func.lower(cast(column, Text))
        return or_(*(text.contains(n, autoescape=True) for n in needles)) if needles else false()


class Quotes:
    """What the person wrote in their answers, to find messages rendered already that quote
    them (a round's results). Texts of ``MIN_QUOTE`` characters or more that are not an
    option's value (``not_yet``, ``curiosity``: lower case, no spaces): a shorter one ("ok",
    "Thanks") says nothing of them and is found in everyone's words."""

    def __init__(self, answers: Iterable[dict[str, Any]]) -> None:
        self.texts = sorted(
            {
                t
                for values in answers
                for t in _strings(values)
                if len(t) >= MIN_QUOTE and not OPTION_VALUE.fullmatch(t)
            },
            key=lambda t: (-len(t), t),
        )

    def in_(self, value: Any) -> bool:
        found = list(_strings(value))
        return any(q in t for q in self.texts for t in found)

    def cut(self, value: Any) -> Any:
        """A JSON value with every quote of them in its strings as "…" (keys as they are):
        the message still says what the others said."""
        if isinstance(value, str):
            for quote in self.texts:  # the longest first: one answer may hold another
                value = value.replace(quote, QUOTE_MARK)
            return value
        if isinstance(value, list):
            return [self.cut(v) for v in value]
        if isinstance(value, dict):
            return {k: self.cut(v) for k, v in value.items()}
        return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value.strip()
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


async def erase_member(s: AsyncSession, member_id: int, sealer: Sealer) -> Erased | None:
    """Erase one member in the session's transaction; None when there is no such member.
    Sealed anonymous answers of open rounds (``storage.answers``): the member's own is
    withdrawn; others' that name them are opened, rewritten and sealed again."""
    member = await s.get(Member, member_id)
    if member is None:
        return None
    platform, workspace, user_id = member.platform, member.workspace_id, member.user_id
    scrub = Scrubber(user_id, member.display_name or "")
    touched: set[str] = {"members"}
    teams = {
        tid: language
        for tid, language in (
            await s.execute(
                select(Team.id, Team.language).where(Team.platform == platform, Team.workspace_id == workspace)
            )
        ).all()
    }
    rituals = select(Ritual.id).where(Ritual.team_id.in_(list(teams)))
    rounds = select(Occurrence.id).where(Occurrence.ritual_id.in_(rituals))

    async def changed(table: str, stmt: Any) -> None:
        if rowcount(await s.execute(stmt)):
            touched.add(table)

    own = (await s.scalars(select(Reply.values).where(Reply.member_id == member_id))).all()
    answers, quotes = len(own), Quotes([*own, *await _first_words(s, scrub, member_id, list(teams), rounds)])
    await _others_answers(s, scrub, member_id, rituals, touched)
    answers += await withdraw_sealed(s, sealer, member)
    if await rewrite_sealed(s, sealer, rounds, scrub.json):
        touched.add("sealed_answers")
    for model in (Reply, Participation, RoleGrant, TeamMember):
        await changed(model.__tablename__, delete(model).where(model.member_id == member_id))
    await changed("actions", update(Action).where(Action.member_id == member_id).values(member_id=None))
    await changed("audit_log", update(AuditEntry).where(AuditEntry.member_id == member_id).values(member_id=None))
    await _named_in_texts(s, scrub, member_id, list(teams), rituals, touched)
    await _teams(s, scrub, member_id, list(teams), touched)
    await _outbox(s, scrub, quotes, teams, touched)
    await changed(
        "sent_prompts",
        delete(SentPrompt).where(
            SentPrompt.platform == platform, SentPrompt.user_id == user_id, SentPrompt.occurrence_id.in_(rounds)
        ),
    )
    await _channel_messages(s, scrub, quotes, platform, touched)
    await changed(
        "installations",
        update(Installation)
        .where(Installation.platform == platform, Installation.installer_user_id == user_id)
        .values(installer_user_id=None),
    )
    await s.execute(delete(Member).where(Member.id == member_id))
    return Erased(answers=answers, tables=frozenset(touched))


async def _named_in_texts(
    s: AsyncSession, scrub: Scrubber, member_id: int, teams: list[int], rituals: Any, touched: set[str]
) -> None:
    """Where texts and settings of the workspace's teams name the member: agreed actions, the
    audit log, rounds' content (rosters, pairs), rituals' options and holiday names."""
    in_content = or_(
        Occurrence.ritual_id.in_(rituals.where(Ritual.kind.in_(PEOPLE_IN_CONTENT))),
        scrub.found_in(Occurrence.content, stored_as_json=True),
    )
    in_audit = or_(
        cast(AuditEntry.detail, Text).contains('"member"'), scrub.found_in(AuditEntry.detail, stored_as_json=True)
    )
    places: list[tuple[Any, Any, Callable[[Any], Any], Any, Any]] = [  # (model, column, rewrite, scope, names them)
        (
            Action,
            Action.text,
            scrub.text,
            Action.ritual_id.in_(rituals),
            scrub.found_in(Action.text, stored_as_json=False),
        ),
        (
            AuditEntry,
            AuditEntry.detail,
            lambda d: _audit_detail(d, scrub, member_id),
            AuditEntry.team_id.in_(teams),
            in_audit,
        ),
        (
            Occurrence,
            Occurrence.content,
            lambda c: _content(c, scrub, member_id),
            Occurrence.ritual_id.in_(rituals),
            in_content,
        ),
        (
            Ritual,
            Ritual.options,
            scrub.json,
            Ritual.id.in_(rituals),
            scrub.found_in(Ritual.options, stored_as_json=True),
        ),
        (
            Holiday,
            Holiday.name,
            scrub.text,
            Holiday.team_id.in_(teams),
            scrub.found_in(Holiday.name, stored_as_json=False),
        ),
    ]
    for model, column, rewrite, scope, names in places:
        await _rewrite(s, touched, model, column, rewrite, scope, names)


async def forget_member(engine: AsyncEngine, member_id: int, sealer: Sealer) -> int:
    """Erase a member (``erase_member``) and commit; then let the database drop its own
    copies: SQLite's WAL is checkpointed and truncated, PostgreSQL's touched tables are
    vacuumed. The number of the member's own answers erased."""
    async with sessionmaker(engine)() as s, s.begin():
        erased = await erase_member(s, member_id, sealer)
    if erased is None:
        return 0
    await truncate_wal(engine)
    await vacuum(engine, erased.tables)
    return erased.answers


# -- the parts --------------------------------------------------------------------------


async def _rewrite(
    s: AsyncSession,
    touched: set[str],
    model: Any,
    column: Any,
    rewrite: Callable[[Any], Any],
    *where: Any,
) -> None:
    """Rewrite ``column`` of the rows ``where`` selects; only changed rows are written."""
    key = model.__mapper__.primary_key
    rows = (await s.execute(select(*key, column).where(*where))).all()
    for *ids, value in rows:
        if value is None:
            continue
        new = rewrite(value)
        if new != value:
            this = (k == i for k, i in zip(key, ids, strict=True))
            await s.execute(
                update(model).where(*this).values({column.key: new}).execution_options(synchronize_session=False)
            )
            touched.add(model.__tablename__)


async def _others_answers(s: AsyncSession, scrub: Scrubber, member_id: int, rituals: Any, touched: set[str]) -> None:
    """Answers of others: an appreciation of the person, and texts that name them."""
    appreciations = (
        select(Occurrence.id)
        .join(Ritual, Ritual.id == Occurrence.ritual_id)
        .where(Ritual.id.in_(rituals), Ritual.kind == "appreciation")
    )
    about = str(member_id)

    def rewrite(values: dict[str, Any]) -> dict[str, Any]:
        new = scrub.json(values)
        for key in COLLEAGUE_KEYS:  # the colleague appreciated, and the extra one
            if str(new.get(key, "")) == about:
                new[key] = FORMER_COLLEAGUE
        return dict(new)

    await _rewrite(
        s,
        touched,
        Reply,
        Reply.values,
        rewrite,
        Reply.occurrence_id.in_(select(Occurrence.id).where(Occurrence.ritual_id.in_(rituals))),
        or_(Reply.member_id.is_(None), Reply.member_id != member_id),
        or_(Reply.occurrence_id.in_(appreciations), scrub.found_in(Reply.values, stored_as_json=True)),
    )


def _audit_detail(detail: dict[str, Any], scrub: Scrubber, member_id: int) -> dict[str, Any]:
    new = {k: v for k, v in detail.items() if not (k == "member" and str(v) == str(member_id))}
    return dict(scrub.json(new))


async def _first_words(
    s: AsyncSession, scrub: Scrubber, member_id: int, team_ids: list[int], rounds: Any
) -> list[dict[str, Any]]:
    """The person's answers given to go first (``first #N``), waiting in team settings or
    opening a round: messages that quote them are cut like those quoting an answer."""
    settings = (await s.scalars(select(Team.settings).where(Team.id.in_(team_ids)))).all()
    waiting = [first for one in settings for first in dict((one or {}).get("first") or {}).values()]
    contents = (await s.scalars(select(Occurrence.content).where(Occurrence.id.in_(rounds)))).all()
    opened = [content.get("first") for content in contents if content and content.get("first")]
    return [{"text": str(first.get("text"))} for first in (*waiting, *opened) if _theirs(first, scrub, member_id)]


def _theirs(first: Any, scrub: Scrubber, member_id: int) -> bool:
    """Whether a teamleider's answer given to go first (``first #N``) is the person's: by
    their member id, or (stored before ids were kept with it) by their name."""
    if not isinstance(first, dict):
        return False
    return _is(first.get("member"), member_id) or bool(scrub.name) and first.get("name") == scrub.name


def _content(content: dict[str, Any], scrub: Scrubber, member_id: int) -> dict[str, Any]:
    """A round's content without the person: roster entry as the marker, groups and skips
    without them, their answer given to go first gone, texts scrubbed (others' names in the
    roster and groups as they are)."""
    new: dict[str, Any] = {
        k: scrub.json(v)
        for k, v in content.items()
        if k not in ("roster", "groups", "skipped") and not (k == "first" and _theirs(v, scrub, member_id))
    }
    if "roster" in content:
        new["roster"] = [
            [FORMER_COLLEAGUE, FORMER_COLLEAGUE] if _is(entry[0] if entry else None, member_id) else entry
            for entry in content["roster"] or []
        ]
    if "groups" in content:
        new["groups"] = [
            [m for m in group if not (_is(m.get("id"), member_id) or str(m.get("user")) == scrub.user_id)]
            for group in content["groups"] or []
        ]
    if "skipped" in content:
        new["skipped"] = [m for m in content["skipped"] or [] if not _is(m, member_id)]
    return new


def _is(value: Any, member_id: int) -> bool:
    return str(value) == str(member_id)


async def _teams(s: AsyncSession, scrub: Scrubber, member_id: int, team_ids: list[int], touched: set[str]) -> None:
    """Settings by member id, texts, and a Teams conversation reference that is theirs."""
    rows = (
        await s.execute(
            select(Team.id, Team.settings, Team.goal, Team.name, Team.conversation).where(Team.id.in_(team_ids))
        )
    ).all()
    for team_id, settings, goal, name, conversation in rows:
        new_settings = dict(scrub.json(dict(settings or {})))
        for key in SETTINGS_BY_MEMBER:
            if isinstance(new_settings.get(key), dict):
                new_settings[key] = {k: v for k, v in new_settings[key].items() if not _is(k, member_id)}
        for key in SETTINGS_OF_MEMBERS:
            if isinstance(new_settings.get(key), list):
                new_settings[key] = [m for m in new_settings[key] if not _is(m, member_id)]
        if isinstance((settings or {}).get("first"), dict):  # by ritual: their answers given to go first go
            new_settings["first"] = {
                ritual: first
                for ritual, first in new_settings["first"].items()
                if not _theirs(settings["first"].get(ritual), scrub, member_id)
            }
        values: dict[str, Any] = {}
        if new_settings != (settings or {}):
            values["settings"] = new_settings
        if goal and scrub.text(goal) != goal:
            values["goal"] = scrub.text(goal)
        if name and scrub.text(name) != name:
            values["name"] = scrub.text(name)
        user = (conversation or {}).get("user")
        if isinstance(user, dict) and (
            scrub.user_id in (user.get("id"), user.get("aadObjectId"))
            or scrub.text(str(user.get("name") or "")) != str(user.get("name") or "")
        ):
            values["conversation"] = {k: v for k, v in conversation.items() if k != "user"}
        if values:
            await s.execute(update(Team).where(Team.id == team_id).values(**values))
            touched.add("teams")


async def _outbox(s: AsyncSession, scrub: Scrubber, quotes: Quotes, teams: dict[int, str], touched: set[str]) -> None:
    """Messages to the person go; group messages go on without them. A notice waiting to be
    sent (rendered already, in the team's language) is still sent: their answers quoted in
    it become "…", their name "a former colleague". One that failed loses its text, as a
    delivered one does (``Repo.finish_outbox``): it may quote them in a way not found here."""
    o = OutboxMessage
    user_id = scrub.user_id
    result = await s.execute(
        update(o)
        .where(o.team_id.in_(list(teams)), o.status == "failed", cast(o.payload, Text).contains('"type": "notice"'))
        .values(payload=DELIVERED_NOTICE)
    )
    if rowcount(result):
        touched.add("outbox")
    rows = (
        await s.execute(
            select(o.id, o.team_id, o.destination, o.payload).where(
                o.team_id.in_(list(teams)),
                or_(
                    o.status == "pending", scrub.found_in(o.destination, stored_as_json=True)
                ),  # a sent one keeps no text
            )
        )
    ).all()
    for message_id, team_id, destination, payload in rows:
        to = dict(destination or {})
        members = [str(m) for m in to.get("members") or []]
        gone = to.get("user_id") == user_id and members in ([], [user_id])
        if user_id in members:
            members.remove(user_id)
            to["members"] = members
            if to.get("user_id") == user_id:
                to["user_id"] = members[0] if members else None
        if gone:
            await s.execute(delete(o).where(o.id == message_id))
            touched.add("outbox")
            continue
        said = scrub.json(quotes.cut(payload), translator(teams.get(team_id, "en"))(SHOWN_AS))
        if to != destination or said != payload:
            await s.execute(update(o).where(o.id == message_id).values(destination=to, payload=said))
            touched.add("outbox")


async def _channel_messages(s: AsyncSession, scrub: Scrubber, quotes: Quotes, platform: str, touched: set[str]) -> None:
    """The playground's channel: the person's messages go, and the commands they typed;
    in others' their answers quoted (a round's results) become "…", their name "a former
    colleague"."""
    result = await s.execute(delete(ChannelMessage).where(ChannelMessage.user_id == scrub.user_id))
    if rowcount(result):
        touched.add("channel_messages")
    languages = dict((await s.execute(select(Team.channel_id, Team.language).where(Team.platform == platform))).all())
    rows = (
        await s.execute(
            select(ChannelMessage.id, ChannelMessage.channel_id, ChannelMessage.payload).where(
                ChannelMessage.channel_id.in_(list(languages))
            )
        )
    ).all()
    for message_id, channel_id, payload in rows:
        if (payload or {}).get("user") == scrub.user_id:  # a command they typed
            await s.execute(delete(ChannelMessage).where(ChannelMessage.id == message_id))
        else:
            said = scrub.json(quotes.cut(payload), translator(languages.get(channel_id, "en"))(SHOWN_AS))
            if said == payload:
                continue
            await s.execute(update(ChannelMessage).where(ChannelMessage.id == message_id).values(payload=said))
        touched.add("channel_messages")
