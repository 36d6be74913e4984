"""What becomes of answers: the checks of a batch, and what a member hears, without I/O.

The answer writer (``storage.answers.writer``) reads what a batch needs (its rounds, and who
of the people is in their team), asks ``Rules.check``, writes the accepted answers and asks
``Rules.outcome`` what each member hears. Messages are message ids with their parameters,
translated where they are shown.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rituals.i18n import N_, translator
from rituals.kinds import KINDS
from rituals.kinds.base import MAX_ANONYMOUS_TEXT, AnswerError, prompt_inputs, validate
from rituals.ports import (
    Accepted,
    AnswerIn,
    Decision,
    NewAnswer,
    OccurrenceView,
    Outcome,
    RitualView,
    SameAs,
    Saved,
    TeamView,
)
from rituals.types import Input
from rituals.visibility import Visibility, round_visibility

log = logging.getLogger(__name__)

GONE = N_("That question no longer exists.")
CLOSED = N_("This round has closed; answers are no longer taken.")
NOT_IN_TEAM = N_("Only the members of this team can answer its questions.")
ANSWERED = N_("You have answered already. Anonymous answers cannot be changed.")
SAVED = N_("Answer saved. You can change it until the round closes.")
SAVED_ANONYMOUSLY = N_("Answer saved anonymously.")
TOO_LONG_ANONYMOUS = N_("An anonymous answer is at most {most} characters in all.")
# What a card shows the person who answered an open round: a named answer can be changed
# (the form opens with it filled in), an anonymous one cannot.
ANSWERED_MARK = N_("Answered ✓ · change")
ANSWERED_MARK_ANONYMOUS = N_("Answered ✓")
# Who reads the answers of an open round, said in the same words in the chat's review, on the
# review page and on /privacy; a card says its own round's level of it
# (``rituals.visibility.who_reads``).
WHO_READS = N_(
    "While a round is open, leaders and admins read the named answers as they come in; the team reads them "
    "when the round closes, unless the ritual's answers are for leaders only; anonymous answers are never "
    "shown with a name."
)

Targets = dict[int, tuple[OccurrenceView, RitualView, TeamView]]


class Rules:
    """The engine's answer rules (``rituals.ports.AnswerRules``).

    Only the team answers its rounds: someone in the team, or someone answering in the
    team's own channel (``via``: the platform shows the prompt to the people there, so they
    join the team). A named answer replaces the member's earlier one; an anonymous answer is
    taken once. Of two answers of one person in one batch, the later counts."""

    def check(
        self,
        answers: Sequence[AnswerIn],
        targets: Targets,
        in_team: dict[tuple[str, str, str, int], int],
        now: datetime,
    ) -> list[Decision]:
        decisions: list[Decision] = []
        inputs: dict[int, tuple[Input, ...]] = {}
        latest: dict[tuple[int, str, str, str], int] = {}  # the same person twice: the last counts
        for i, answer in enumerate(answers):
            decision = self._one(answer, targets, in_team, now, inputs)
            if isinstance(decision, Accepted):
                who = (answer.occurrence_id, answer.actor.platform, answer.actor.workspace_id, answer.actor.user_id)
                if who in latest and decision.answer.anonymous:
                    decision = Outcome(stored=False, message=ANSWERED, language=decision.language)
                elif who in latest:  # the earlier one shares this one's outcome
                    decisions[latest[who]] = SameAs(index=i)
                    latest[who] = i
                else:
                    latest[who] = i
            decisions.append(decision)
        return decisions

    def _one(
        self,
        answer: AnswerIn,
        targets: Targets,
        in_team: dict[tuple[str, str, str, int], int],
        now: datetime,
        inputs: dict[int, tuple[Input, ...]],
    ) -> Decision:
        found = targets.get(answer.occurrence_id)
        if found is None:
            return Outcome(stored=False, message=GONE)  # no team: the language of the channel, if any
        occ, ritual, team = found
        if occ.status != "open" or (occ.closes_at and occ.closes_at <= now):
            return Outcome(stored=False, message=CLOSED, language=team.language)
        actor = answer.actor
        member_id = in_team.get((actor.platform, actor.workspace_id, actor.user_id, team.id))
        in_channel = answer.via is not None and (answer.via.platform, answer.via.channel_id) == (
            team.platform,
            team.channel_id,
        )
        if member_id is None and not in_channel:
            log.info(
                "answer to occurrence %s refused: %s %s is not in team %s",
                occ.id,
                actor.platform,
                actor.user_id,
                team.id,
            )
            return Outcome(stored=False, message=NOT_IN_TEAM, language=team.language)
        kind = KINDS[ritual.kind]
        anonymous = round_visibility(ritual.kind, occ.content) is Visibility.ANONYMOUS
        if occ.id not in inputs:
            inputs[occ.id] = prompt_inputs(kind, occ.content, team, translator(team.language))
        try:
            clean = validate(inputs[occ.id], answer.values)
            kind.check(occ.content, clean, member_id)
            if anonymous and sum(len(v) for v in clean.values() if isinstance(v, str)) > MAX_ANONYMOUS_TEXT:
                # sealed answers all have one size, room for this much (``storage.answers.seal``)
                raise AnswerError(TOO_LONG_ANONYMOUS, most=MAX_ANONYMOUS_TEXT)
        except AnswerError as err:
            return Outcome(
                stored=False, message=err.msgid, params=dict(err.params), language=team.language, mendable=True
            )
        return Accepted(
            answer=NewAnswer(
                actor=actor,
                occurrence_id=occ.id,
                team_id=team.id,
                anonymous=anonymous,
                values=clean,
                today=now.astimezone(ZoneInfo(team.timezone)).date(),
                sent_at=answer.sent_at,
            ),
            language=team.language,
        )

    def outcome(self, accepted: Accepted, saved: Saved) -> Outcome | None:
        language = accepted.language
        if saved in (Saved.RETRY, Saved.CHANGED):  # the writer decides a changed one again
            return None
        if saved is Saved.CLOSED:  # closed between the read and the write
            return Outcome(stored=False, message=CLOSED, language=language)
        if saved is Saved.ANSWERED:
            return Outcome(stored=False, message=ANSWERED, language=language)
        return Outcome(
            stored=True, message=SAVED_ANONYMOUSLY if accepted.answer.anonymous else SAVED, language=language
        )


def said(outcome: Outcome, language: str) -> str:
    """An outcome's message in ``language``."""
    params: dict[str, Any] = outcome.params
    return translator(language)(outcome.message, **params)
