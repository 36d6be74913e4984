"""The PostgreSQL pool: a connection that rested is pinged before use, one in steady use
is not (asyncpg's ping is three round trips)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

import storage.db
from storage.db import create_engine


async def _backend(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


@asynccontextmanager
async def _database_gone_after_one_use(url: str) -> AsyncIterator[tuple[AsyncEngine, int]]:
    """A pool of one connection, used once; then the server ends that connection. Yields
    the engine and the connection's backend pid."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        first = await _backend(engine)
        dsn = make_url(url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        admin = await asyncpg.connect(dsn, timeout=30)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        yield engine, first
    finally:
        await engine.dispose()


async def test_a_rested_connection_whose_database_went_away_is_replaced_unseen(
    fresh_postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(storage.db, "PING_AFTER_REST", 0.0)
    async with _database_gone_after_one_use(fresh_postgres_url) as (engine, first):
        assert await _backend(engine) != first  # the ping found it gone; the pool made another


async def test_a_connection_in_steady_use_is_not_pinged_and_is_dropped_after_its_error(
    fresh_postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(storage.db, "PING_AFTER_REST", 3600.0)
    async with _database_gone_after_one_use(fresh_postgres_url) as (engine, first):
        with pytest.raises(DBAPIError) as failed:
            await _backend(engine)
        assert failed.value.connection_invalidated
        assert await _backend(engine) != first
