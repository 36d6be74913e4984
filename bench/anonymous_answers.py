"""Anonymous answers in: ``bench/answers.py`` with a pulse round, whose answers are sealed
(encrypted with a key of the round) as they are written; against the same bare bolt app.
The difference with ``answers`` is what sealing costs."""

from __future__ import annotations

from bench import Database, Figure
from bench.answers import run as run_answers


async def run(db: Database, scale: float = 1.0) -> list[Figure]:
    return await run_answers(db, scale, kind="pulse")
