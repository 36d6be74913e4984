"""``review``: a summary of recent answers, short enough to read in a channel."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rituals.engine import Engine
from rituals.i18n import Translator
from rituals.kinds import KINDS
from rituals.kinds.base import prompt_inputs, summarise
from rituals.ports import RitualView, TeamView
from rituals.types import Notice
from storage.queries import Queries
from storage.repo import Repo

RECENT = 3


async def review_notice(repo: Repo, engine: Engine, team: TeamView, rituals: list[RitualView], _: Translator) -> Notice:
    """Per ritual: the latest round in full, and participation of the rounds before it.

    One transaction: per ritual its latest rounds, then the replies of the latest two rounds
    of every ritual in one query and the counts of the others in another.
    """
    tz = ZoneInfo(team.timezone)
    shown = [(ritual, KINDS[ritual.kind]) for ritual in rituals if not KINDS[ritual.kind].digest]
    async with Queries(repo).reading() as read:
        invited = await read.invited_count(team.id)
        recent = {
            ritual.id: await read.latest_rounds(ritual.id, RECENT + 1, ("open", "closed")) for ritual, _kind in shown
        }
        replies = await read.replies([o.id for occurrences in recent.values() for o in occurrences[:2]])
        # the earlier rounds, and an open anonymous one, whose answers are sealed until it closes
        counts = await read.answered(
            [o.id for occurrences in recent.values() for i, o in enumerate(occurrences) if i >= 2 or o.status == "open"]
        )
    sections: list[str] = []
    for ritual, kind in shown:
        occurrences = recent[ritual.id]
        header = f"*#{ritual.id} {kind.title(_)}*"
        if not occurrences:
            sections.append(header + "\n" + _("No rounds yet."))
            continue
        latest, earlier = occurrences[0], occurrences[1 : RECENT + 1]
        answers = replies[latest.id]
        previous = replies[earlier[0].id] if earlier else None
        if kind.anonymous and previous is not None and len(previous) < team.anonymity_threshold:
            previous = None  # a change against a round too small to show would reveal its answers
        day = latest.planned_at.astimezone(tz).strftime("%Y-%m-%d")
        state = _("open") if latest.status == "open" else _("closed")
        lines = [header, _("Latest round {day} ({state})", day=day, state=state)]
        # While a round is open, appreciations stay a surprise, and anonymous figures stay
        # unseen: two looks at a growing round would tell what its newest answer said.
        hidden = latest.status == "open" and (ritual.kind == "appreciation" or kind.anonymous)
        own = None if hidden else kind.results(latest.content, answers, _)
        if own is not None:
            lines.append(own.text)
        elif hidden:
            answered = counts.get(latest.id, len(answers))
            lines.append(
                _(
                    "{answered} of {invited} answered; revealed when the round closes.",
                    answered=answered,
                    invited=max(invited, answered),
                )
            )
        else:
            summary = summarise(
                inputs=prompt_inputs(kind, latest.content, team, _),
                replies=answers,
                anonymous=kind.anonymous,
                shared=True,
                invited=invited,
                threshold=team.anonymity_threshold,
                _=_,
                rng=engine.rng,
                previous=previous,
            )
            lines += [f"{label}: {value}" for label, value in summary.fields]
            if summary.text:
                lines.append(summary.text)
            lines.append(summary.footer)
        for occ in earlier:
            count = len(replies[occ.id]) if occ.id in replies else counts[occ.id]
            lines.append(
                _(
                    "{day}: {answered} of {invited} answered",
                    day=occ.planned_at.astimezone(tz).strftime("%Y-%m-%d"),
                    answered=count,
                    invited=max(invited, count),
                )
            )
        sections.append("\n".join(line for line in lines if line))
    if not sections:
        return Notice(title=_("Review"), text=_("This channel has no rituals yet."))
    return Notice(title=_("Review"), text="\n\n".join(sections))
