"""The answer writer's memory of rounds and people (``storage.answers.memory``): a batch is
recalled only whole, a read's news replaces what was remembered, and the memory stays
bounded. That the writes check what it gave is tested in ``tests/rituals/test_engine.py``."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from rituals.types import Actor
from storage.answers.memory import AnswerMemory

ANN = Actor(platform="p", workspace_id="w", user_id="ann")
BOB = Actor(platform="p", workspace_id="w", user_id="bob")


def target(occurrence_id: int, team_id: int) -> Any:
    """An (occurrence, ritual, team) with the ids the memory reads."""
    return (
        SimpleNamespace(id=occurrence_id),
        SimpleNamespace(id=occurrence_id * 10),
        SimpleNamespace(id=team_id),
    )


def test_a_batch_is_recalled_only_when_every_round_is_remembered() -> None:
    memory = AnswerMemory()
    memory.learn_rounds({1: target(1, 7)}, {1: "5:6:7"})
    memory.learn_people([ANN, BOB], [7], {("p", "w", "ann", 7): 42})
    assert memory.recall([1, 2], [ANN]) is None
    recalled = memory.recall([1], [ANN, BOB])
    assert recalled is not None
    targets, versions, in_team = recalled
    assert list(targets) == [1] and versions == {1: "5:6:7"} and in_team == {("p", "w", "ann", 7): 42}
    memory.forget_round(1)
    assert memory.recall([1], [ANN]) is None


def test_a_fresh_read_replaces_who_is_in_the_team() -> None:
    memory = AnswerMemory()
    memory.learn_rounds({1: target(1, 7)}, {1: "5:6:7"})
    memory.joined(("p", "w", "bob", 7), 43)
    assert memory.recall([1], [BOB]) == ({1: target(1, 7)}, {1: "5:6:7"}, {("p", "w", "bob", 7): 43})
    memory.learn_people([BOB], [7], {})  # bob left the team
    assert memory.recall([1], [BOB]) == ({1: target(1, 7)}, {1: "5:6:7"}, {})
    memory.learn_rounds({1: target(1, 7)}, {1: "8:6:7"})  # the round changed
    recalled = memory.recall([1], [BOB])
    assert recalled is not None and recalled[1] == {1: "8:6:7"}


def test_the_memory_keeps_the_newest_up_to_its_bound() -> None:
    memory = AnswerMemory(most=3)
    for occurrence_id in range(1, 6):
        memory.learn_rounds({occurrence_id: target(occurrence_id, 7)}, {occurrence_id: "v"})
    memory.learn_rounds({3: target(3, 7)}, {3: "w"})  # learnt again: the newest
    memory.learn_rounds({6: target(6, 7)}, {6: "v"})
    assert [o for o in range(1, 7) if memory.recall([o], []) is not None] == [3, 5, 6]
    for n in range(5):
        memory.joined(("p", "w", f"u{n}", 7), n)
    assert memory.recall([6], [Actor(platform="p", workspace_id="w", user_id=f"u{n}") for n in range(5)]) == (
        {6: target(6, 7)},
        {6: "v"},
        {("p", "w", f"u{n}", 7): n for n in (2, 3, 4)},
    )
