"""What monitoring reads from the database: how much waits in the outbox, since when, and how
many rounds are open. Counts and times only; read at each scrape of ``/metrics``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import Occurrence, OutboxMessage


@dataclass(frozen=True, kw_only=True, slots=True)
class Vitals:
    outbox_pending: int  # messages not yet sent nor given up on (retries waiting included)
    oldest_pending: datetime | None  # when the oldest of them was queued
    open_rounds: int


async def read_vitals(engine: AsyncEngine) -> Vitals:
    """The database's side of the metrics, in one connection (both counts use an index led
    by ``status``)."""
    async with engine.connect() as conn:
        pending, oldest = (
            await conn.execute(
                select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "pending")
            )
        ).one()
        rounds = (
            await conn.execute(select(func.count()).select_from(Occurrence).where(Occurrence.status == "open"))
        ).scalar_one()
    return Vitals(outbox_pending=int(pending), oldest_pending=oldest, open_rounds=int(rounds))
