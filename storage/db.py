"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL (replicas)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Result, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

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
    return create_async_engine(url, pool_pre_ping=True, pool_recycle=1800, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def in_memory(url: str) -> bool:
    database = make_url(url).database
    return not database or database == ":memory:" or database.startswith("file::memory:")


class SqliteWriter:
    """A SQLite database written from one thread of its own, with the synchronous driver.

    Through aiosqlite every statement is four trips between the event loop and the
    connection's thread (cursor, execute, fetch, close), and each trip waits for the loop to
    come round: under load, storing a batch of answers took tens of milliseconds of
    waiting. Here a statement is one trip, and the transaction's start and end one each.
    The database, its pragmas and its locking are the same (WAL: one writer at a time,
    others wait up to ``busy_timeout``)."""

    def __init__(self, url: str) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from sqlalchemy import create_engine as create_sync_engine

        self.engine = create_sync_engine(make_url(url).set(drivername="sqlite"), connect_args={"timeout": 30})
        event.listen(self.engine, "connect", _sqlite_pragmas)
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="ritme-sqlite-writer")

    async def run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.thread, work)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[ThreadConnection]:
        """A transaction that commits on success and rolls back on error (or cancellation)."""

        def begin() -> Connection:
            conn = self.engine.connect()
            conn.begin()
            return conn

        def end(conn: Connection, commit: bool) -> None:
            try:
                if commit:
                    conn.commit()
            finally:
                conn.close()  # rolls back what was not committed

        conn = await self.run(begin)
        try:
            yield ThreadConnection(conn, self)
        except BaseException:
            await asyncio.shield(self.run(lambda: end(conn, False)))
            raise
        await asyncio.shield(self.run(lambda: end(conn, True)))  # a cancelled caller still ends it

    async def dispose(self) -> None:
        await self.run(self.engine.dispose)
        self.thread.shutdown(wait=False)


class ThreadConnection:
    """A synchronous connection used from the event loop: each call runs on the writer's
    thread and comes back with its rows read (``Result`` objects hold the cursor, which
    belongs to that thread)."""

    def __init__(self, conn: Connection, writer: SqliteWriter) -> None:
        self.conn, self.writer = conn, writer
        self.dialect = conn.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> Result[Any] | None:
        def run() -> Result[Any] | None:
            result = self.conn.execute(statement, parameters)
            return result.freeze()() if result.returns_rows else None

        return await self.writer.run(run)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        result = await self.execute(statement, parameters)
        return result.scalar() if result is not None else None


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
