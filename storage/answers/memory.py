"""What the answer writer remembers of earlier batches on PostgreSQL, so that most batches
are one statement, the write, and not a read and a write.

A batch's rules need its rounds (occurrence, ritual, team) and who of its people is in the
team. At the peak the same few rounds get answers from many people: the rounds are read
once, with their version (``storage.answers.postgres``), and remembered; so is each person
the writer saw in a team. Nothing here is taken on trust: the write checks, under the
round's lock, that the round's version and each person's place in the team are still what
the batch was decided on, and an answer decided on anything else is decided again on a
fresh read (``AnswerWriter``). A refusal decided on what was remembered is decided again
too. So the memory makes batches faster, never different.

It lives as long as the store, on the writer's thread only, and holds at most ``most`` of
each (the oldest go first): platform ids of people, in this process's memory only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from rituals.ports import OccurrenceView, RitualView, TeamView
from rituals.types import Actor

Target = tuple[OccurrenceView, RitualView, TeamView]
InTeam = tuple[str, str, str, int]  # (platform, workspace, user, team id)
K = TypeVar("K")
V = TypeVar("V")


class AnswerMemory:
    def __init__(self, most: int = 4096) -> None:
        self.most = most
        self._rounds: dict[int, tuple[Target, str]] = {}  # occurrence id: (target, version)
        self._members: dict[InTeam, int] = {}  # member id of a person in a team

    def recall(
        self, occurrence_ids: Sequence[int], people: Iterable[Actor]
    ) -> tuple[dict[int, Target], dict[int, str], dict[InTeam, int]] | None:
        """(targets, versions, in team) of a batch, when every one of its rounds is
        remembered; a person not remembered in a team is taken to be outside it."""
        targets: dict[int, Target] = {}
        versions: dict[int, str] = {}
        for occurrence_id in occurrence_ids:
            if (remembered := self._rounds.get(occurrence_id)) is None:
                return None
            targets[occurrence_id], versions[occurrence_id] = remembered
        teams = {team.id for _occ, _ritual, team in targets.values()}
        in_team = {
            key: member_id
            for actor in people
            for team_id in teams
            if (member_id := self._members.get(key := (actor.platform, actor.workspace_id, actor.user_id, team_id)))
            is not None
        }
        return targets, versions, in_team

    def learn_rounds(self, targets: dict[int, Target], versions: dict[int, str]) -> None:
        for occurrence_id, target in targets.items():
            self._keep(self._rounds, occurrence_id, (target, versions[occurrence_id]))

    def learn_people(self, people: Iterable[Actor], teams: Iterable[int], in_team: dict[InTeam, int]) -> None:
        """What a read found of ``people`` in ``teams``: those in ``in_team`` are in, the others not."""
        for actor in people:
            for team_id in teams:
                key = (actor.platform, actor.workspace_id, actor.user_id, team_id)
                if key in in_team:
                    self._keep(self._members, key, in_team[key])
                else:
                    self._members.pop(key, None)

    def joined(self, key: InTeam, member_id: int) -> None:
        """A person whose answer was written is in its team."""
        self._keep(self._members, key, member_id)

    def forget_round(self, occurrence_id: int) -> None:
        self._rounds.pop(occurrence_id, None)

    def _keep(self, memory: dict[K, V], key: K, value: V) -> None:
        """``key`` is the newest; the oldest go beyond ``most``."""
        memory.pop(key, None)
        memory[key] = value
        while len(memory) > self.most:
            del memory[next(iter(memory))]
