"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL (replicas)."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import threading
import time
from collections.abc import AsyncIterator, Collection, Coroutine
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
    """An async engine with the settings each backend needs to be safe under load. A SQLite
    database file is made private first (``private_database_file``)."""
    if is_sqlite(url):
        private_database_file(url)
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
    """Every SQLite connection's settings. ``secure_delete``: what a statement deletes or
    overwrites (an erased answer, a name replaced) is overwritten with zeros in the file,
    not only marked free; the WAL keeps its copies until it is checkpointed and truncated
    (``truncate_wal``)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
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


PRIVATE = 0o600


def private_database_file(url: str) -> None:
    """Make the SQLite database file readable by its owner only, before SQLite opens it.

    A new file is created here, empty (SQLite takes an empty file for an empty database),
    with mode 0600 whatever the umask; SQLite gives its ``-wal`` and ``-shm`` files the
    database file's mode. An existing file, ``-wal`` or ``-shm`` that others may read is
    tightened to 0600, with a log line. In-memory databases and ``file:`` URIs are left as
    they are."""
    database = make_url(url).database
    if in_memory(url) or not database or database.startswith("file:"):
        return
    path = Path(database)
    if not path.exists() and path.parent.is_dir():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
        except FileExistsError:  # made meanwhile by another process: checked below
            pass
        else:
            log.info("database file %s created, readable by its owner only", path)
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            try:
                file.chmod(PRIVATE)
            except OSError as err:  # another owner's file: say so, SQLite decides whether it opens
                log.warning("database file %s is readable by others (mode %o) and could not be made private: %s",
                            file, mode, err)
            else:
                log.warning("database file %s was readable by others (mode %o); made readable by its owner only",
                            file, mode)


async def truncate_wal(engine: AsyncEngine) -> bool:
    """Checkpoint SQLite's write-ahead log into the database file and truncate it to zero
    bytes, so that it keeps no copy of rows deleted or overwritten since (an erasure, a
    closed round's answers). True when done; False when a reader held on to the log (the
    next checkpoint empties it) or on PostgreSQL, where there is nothing to do."""
    if engine.dialect.name != "sqlite" or in_memory(engine.url.render_as_string(hide_password=False)):
        return False
    async with engine.connect() as conn:
        busy, _log_frames, _moved = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    if busy:
        log.warning("the SQLite WAL could not be truncated now (a reader held it); the next checkpoint empties it")
        return False
    return True


async def vacuum(engine: AsyncEngine, tables: Collection[str]) -> bool:
    """PostgreSQL: ``VACUUM`` the tables, so that the rows deleted or updated in them are
    removed from their pages and indexes rather than left as dead tuples until autovacuum
    comes (see README on what it does not remove). It cannot run in a transaction: an
    autocommit connection. A refusal (not the tables' owner) is logged, not raised: the
    erasure itself is done. No-op on SQLite (``secure_delete`` and ``truncate_wal``)."""
    if engine.dialect.name != "postgresql" or not tables:
        return False
    quote = engine.dialect.identifier_preparer.quote
    try:
        async with autocommit_connection(engine) as conn:
            await conn.exec_driver_sql("VACUUM " + ", ".join(quote(t) for t in sorted(tables)))
    except Exception as err:  # any refusal: autovacuum will come
        log.warning("VACUUM after an erasure was refused (%s); autovacuum removes the dead rows later", err)
        return False
    return True


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
