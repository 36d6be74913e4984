"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL (replicas)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Result, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"

T = TypeVar("T")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine with the settings each backend needs to be safe under load."""
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    engine = create_async_engine(url, pool_recycle=1800, **kwargs)
    _ping_after_rest(engine)
    return engine


PING_AFTER_REST = 1.0  # seconds a pooled connection rests before it is pinged again


def _ping_after_rest(engine: AsyncEngine) -> None:
    """Pessimistic disconnect handling (SQLAlchemy's "checkout" recipe): a connection that
    rested in the pool for a second or more is pinged before use, and replaced when the
    database does not answer. ``pool_pre_ping`` pings at every checkout, and asyncpg's ping
    is three round trips (BEGIN, a query, ROLLBACK): for the answer writer, which checks a
    connection out per batch, as many as the batch's own. A connection in steady use that
    loses its database fails its statement instead, and the pool drops the connections
    made before (SQLAlchemy invalidates them on a disconnect error)."""
    dialect = engine.dialect

    @event.listens_for(engine.sync_engine, "connect")
    def fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info["rested_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def rests(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["rested_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("rested_since", 0.0) < PING_AFTER_REST:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as err:  # the pool tries again with a new connection
            raise DisconnectionError(f"a pooled connection lost the database: {err!r}") from err


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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _driver_autocommit(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def in_memory(url: str) -> bool:
    database = make_url(url).database
    return not database or database == ":memory:" or database.startswith("file::memory:")


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


@asynccontextmanager
async def autocommit_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection without a transaction around its statements: each commits on its own,
    without the BEGIN and COMMIT round trips."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Apply migrations (blocking; call from a thread when a loop is running). Returns the
    revision before and after (None: an empty database)."""
    before = current_revision(url)
    command.upgrade(alembic_config(url), revision)
    return before, current_revision(url)


def current_revision(url: str) -> str | None:
    """The database's migration revision (blocking)."""
    from alembic.migration import MigrationContext

    async def read() -> str | None:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
        finally:
            await engine.dispose()

    return asyncio.run(read())


async def upgrade_async(url: str) -> None:
    await asyncio.to_thread(upgrade, url)


async def ping(engine: AsyncEngine) -> bool:
    """True when the database answers a trivial query."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:  # any driver error means: not answering
        log.warning("database ping failed: %s", exc)
        return False
