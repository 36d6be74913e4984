"""``review``: a summary of recent answers, short enough to read in a channel."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from rituals.answers import WHO_READS
from rituals.engine import Engine
from rituals.i18n import Translator
from rituals.kinds import KINDS
from rituals.kinds.base import RitualKind, field_line, prompt_inputs, summarise, words_threshold
from rituals.ports import OccurrenceView, ReplyView, RitualView, TeamView
from rituals.types import Notice
from rituals.visibility import Visibility, round_visibility, who_reads
from storage.queries import Queries
from storage.repo import Repo

RECENT = 3


@dataclass(frozen=True, kw_only=True, slots=True)
class _Read:
    """What one review reads: per ritual its latest rounds, the replies of the latest two,
    and how many answered the others (and an open anonymous one, sealed until it closes)."""

    invited: int
    recent: dict[int, list[OccurrenceView]]
    replies: dict[int, list[ReplyView]]
    counts: dict[int, int]


async def review_notice(repo: Repo, engine: Engine, team: TeamView, rituals: list[RitualView], _: Translator) -> Notice:
    """Per ritual: the latest round in full, and participation of the rounds before it.

    One transaction: per ritual its latest rounds, then the replies of the latest two rounds
    of every ritual in one query and the counts of the others in another.
    """
    shown = [(ritual, KINDS[ritual.kind]) for ritual in rituals if not KINDS[ritual.kind].digest]
    read = await _read(repo, team, [ritual for ritual, _kind in shown])
    sections = [_section(read, ritual, kind, team, engine, _) for ritual, kind in shown]
    if not sections:
        return Notice(title=_("Review"), text=_("This channel has no rituals yet."))
    return Notice(title=_("Review"), text="\n\n".join(sections), footer=_(WHO_READS))


async def _read(repo: Repo, team: TeamView, rituals: list[RitualView]) -> _Read:
    async with Queries(repo).reading() as read:
        invited = await read.invited_count(team.id)
        recent = {ritual.id: await read.latest_rounds(ritual.id, RECENT + 1, ("open", "closed")) for ritual in rituals}
        replies = await read.replies([o.id for occurrences in recent.values() for o in occurrences[:2]])
        # the earlier rounds, and an open anonymous one, whose answers are sealed until it closes
        counts = await read.answered(
            [o.id for occurrences in recent.values() for i, o in enumerate(occurrences) if i >= 2 or o.status == "open"]
        )
    return _Read(invited=invited, recent=recent, replies=replies, counts=counts)


def _section(read: _Read, ritual: RitualView, kind: RitualKind, team: TeamView, engine: Engine, _: Translator) -> str:
    """One ritual: its latest round in full, then how many answered the rounds before it."""
    tz = ZoneInfo(team.timezone)
    occurrences = read.recent[ritual.id]
    header = f"*#{ritual.id} {kind.title(_)}*"
    if not occurrences:
        return header + "\n" + _("No rounds yet.")
    latest, earlier = occurrences[0], occurrences[1 : RECENT + 1]
    day = _.day(latest.planned_at.astimezone(tz).date())
    state = _("open") if latest.status == "open" else _("closed")
    level = round_visibility(ritual.kind, latest.content)
    lines = [
        header,
        _("Latest round {day} ({state})", day=day, state=state),
        "_" + who_reads(level, team.anonymity_threshold, _) + "_",
    ]
    lines += _latest(read, ritual, kind, team, engine, latest, earlier, _)
    for occ in earlier:
        count = len(read.replies[occ.id]) if occ.id in read.replies else read.counts[occ.id]
        lines.append(
            _(
                "{day}: {answered} of {invited} answered",
                day=_.day(occ.planned_at.astimezone(tz).date()),
                answered=count,
                invited=max(read.invited, count),
            )
        )
    return "\n".join(line for line in lines if line)


def _latest(
    read: _Read,
    ritual: RitualView,
    kind: RitualKind,
    team: TeamView,
    engine: Engine,
    latest: OccurrenceView,
    earlier: list[OccurrenceView],
    _: Translator,
) -> list[str]:
    """The latest round's results, or how many answered while it is open and hidden."""
    answers = read.replies[latest.id]
    anonymous = round_visibility(ritual.kind, latest.content) is Visibility.ANONYMOUS
    previous = read.replies[earlier[0].id] if earlier else None
    if previous is not None and len(previous) < team.anonymity_threshold:
        if round_visibility(ritual.kind, earlier[0].content) is Visibility.ANONYMOUS:
            previous = None  # a change against a round too small to show would reveal its answers
    # While a round is open, leaders read its named answers as they come in (``WHO_READS``);
    # anonymous figures stay unseen: two looks at a growing round would tell what its newest
    # answer said.
    hidden = latest.status == "open" and anonymous
    own = None if hidden else kind.results(latest.content, answers, _)
    if own is not None and anonymous and len(answers) < words_threshold(team.anonymity_threshold):
        own = None  # a kind's own results are words: below the threshold, the summary says too few
    if own is not None:
        return [own.text]
    if hidden:
        answered = read.counts.get(latest.id, len(answers))
        return [
            _(
                "{answered} of {invited} answered; revealed when the round closes.",
                answered=answered,
                invited=max(read.invited, answered),
            )
        ]
    summary = summarise(
        inputs=prompt_inputs(kind, latest.content, team, _),
        replies=answers,
        anonymous=anonymous,
        shared=True,  # the review is read by leaders and admins only
        invited=read.invited,
        threshold=team.anonymity_threshold,
        _=_,
        rng=engine.rng,
        previous=previous,
    )
    lines = [field_line(label, value) for label, value in summary.fields]
    if summary.text:
        lines.append(summary.text)
    return [*lines, summary.footer]
