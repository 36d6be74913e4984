"""The answer writer: a thread of its own, with an event loop and connections of its own."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Result, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import _sqlite_pragmas, autocommit_connection, create_engine, is_sqlite

log = logging.getLogger(__name__)

T = TypeVar("T")


def _generic_plans(dbapi_connection: Any, _record: Any) -> None:
    """Generic plans on the answer writer's PostgreSQL connections. Given an array of ids,
    the planner planned the answer read anew at every batch (custom plans): half a
    millisecond of the database's time for a tenth of a millisecond's read. Set once a
    connection is made, not as a startup parameter, which a connection pooler such as
    PgBouncer refuses unless told to ignore it; where the setting is refused, the
    connection keeps the default plan choice."""
    try:
        dbapi_connection.run_async(lambda conn: conn.execute("SET plan_cache_mode = force_generic_plan"))
    except Exception as err:  # an old server or a pooler in the way: slower, not wrong
        log.warning("answer writer: plan_cache_mode not set (%s); PostgreSQL chooses its plans", err)


def _driver_autocommit(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class Writer:
    """Where answers are written: a thread of its own, with an event loop and connections of
    its own.

    Work given to ``submit`` (a batch of answers: its reads, checks and writes) runs there
    whole: one trip from the server's event loop and back. On the server's loop each
    statement's round trip waited for that busy loop to come round (through aiosqlite four
    times a statement: cursor, execute, fetch, close); under load a batch of answers spent
    most of its time waiting. SQLite is written with the synchronous driver, its statements
    called directly; PostgreSQL through an async engine made on the writer's loop (asyncpg
    connections belong to the loop that made them). The database, its settings and its
    locking are the same as the server's own engine's."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self.sync_engine: Engine | None = None
        self.async_engine: AsyncEngine | None = None
        if self.sqlite:
            from sqlalchemy import create_engine as create_sync_engine

            self.sync_engine = create_sync_engine(make_url(url).set(drivername="sqlite"), connect_args={"timeout": 30})
            event.listen(self.sync_engine, "connect", _sqlite_pragmas)
            # One transaction from the first read, holding the write lock: what a batch reads
            # (is the round open? who is in the team?) stays true until it commits. The
            # driver's own BEGIN would come only before the first write (SQLAlchemy's
            # recipe for pysqlite).
            event.listen(self.sync_engine, "connect", _driver_autocommit)
            event.listen(self.sync_engine, "begin", _begin_immediate)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="ritme-writer", daemon=True)
        self.thread.start()

    async def submit(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the writer's thread and wait for its outcome."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))

    @asynccontextmanager
    async def transaction(self, *, autocommit: bool = False) -> AsyncIterator[WriterConnection | AsyncConnection]:
        """A transaction that commits on success and rolls back on error; only inside work
        given to ``submit``. ``autocommit`` (PostgreSQL): no transaction around the
        statements, each commits on its own, without the BEGIN and COMMIT round trips;
        SQLite's is one transaction all the same."""
        if threading.current_thread() is not self.thread:
            raise RuntimeError("Writer.transaction runs only inside Writer.submit")
        if self.sync_engine is None:
            if self.async_engine is None:
                self.async_engine = create_engine(self.url, pool_size=3, max_overflow=2)
                event.listen(self.async_engine.sync_engine, "connect", _generic_plans)
            if autocommit:
                async with autocommit_connection(self.async_engine) as async_conn:
                    yield async_conn
                return
            async with self.async_engine.begin() as async_conn:
                yield async_conn
            return
        conn = self.sync_engine.connect()
        try:
            conn.begin()
            yield WriterConnection(conn)
            conn.commit()
        finally:
            conn.close()  # rolls back what was not committed

    async def dispose(self) -> None:
        async def close() -> None:  # the connections belong to the writer's thread
            if self.sync_engine is not None:
                self.sync_engine.dispose()
            if self.async_engine is not None:
                await self.async_engine.dispose()

        await self.submit(close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.to_thread(self.thread.join, 10)
        if not self.thread.is_alive():
            self.loop.close()


class WriterConnection:
    """A synchronous connection with the awaitable ``execute`` and ``scalar`` of an
    ``AsyncConnection``, called on the writer's own thread: the statement runs at once."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> Result[Any]:
        return self.conn.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return self.conn.execute(statement, parameters).scalar()
