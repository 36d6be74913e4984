"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL (replicas)."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import time
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import CursorResult, Result, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps

T = TypeVar("T")

LOCK_WAIT_SECONDS = 30  # how long a SQLite connection waits for another's write lock


ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}  # the drivers Ritme carries
URL_EXAMPLES = "sqlite+aiosqlite:///ritme.db, or postgresql+asyncpg://user:password@host/ritme for replicas"


def async_url(url: str) -> str:
    """``url`` with the driver Ritme talks to its database through: ``sqlite://…`` and
    ``postgresql://…`` (also ``postgres://…``, as hosting providers write it) get it added. A
    URL of another database or driver is refused (``ValueError``, saying what to write)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"not a database URL; write one such as {URL_EXAMPLES}") from None
    scheme, _plus, given = parsed.drivername.partition("+")
    backend = "postgresql" if scheme == "postgres" else scheme
    driver = ASYNC_DRIVERS.get(backend)
    if driver is None:
        raise ValueError(f"Ritme runs on SQLite or PostgreSQL, not {scheme}; write a URL such as {URL_EXAMPLES}")
    if given == driver:
        return url
    if given:
        raise ValueError(f"Ritme talks to {backend} through {driver}, not {given}: write {backend}+{driver}://…")
    return parsed.set(drivername=f"{backend}+{driver}").render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine with the settings each backend needs to be safe under load. A SQLite
    database file is made private first (``private_database_file``). A failed statement's
    error (logged, perhaps in JSON for a log search) shows the SQL, never its parameters:
    they hold what people answered."""
    kwargs.setdefault("hide_parameters", True)
    if is_sqlite(url):
        private_database_file(url)
        engine = create_async_engine(url, connect_args={"timeout": LOCK_WAIT_SECONDS}, **kwargs)
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
    cursor.execute(f"PRAGMA busy_timeout={LOCK_WAIT_SECONDS * 1000}")
    cursor.close()


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
                log.warning(
                    "database file %s is readable by others (mode %o) and could not be made private: %s",
                    file,
                    mode,
                    err,
                )
            else:
                log.warning(
                    "database file %s was readable by others (mode %o); made readable by its owner only", file, mode
                )


async def truncate_wal(engine: AsyncEngine) -> bool:
    """Checkpoint SQLite's write-ahead log into the database file and truncate it to zero
    bytes, so that it keeps no copy of rows deleted or overwritten since (an erasure, a
    closed round's answers). True when done; False when a reader held on to the log (the
    next checkpoint empties it) or on PostgreSQL, where there is nothing to do."""
    if engine.dialect.name != "sqlite" or in_memory(engine.url.render_as_string(hide_password=False)):
        return False
    async with engine.connect() as conn:
        busy = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).one()[0]  # (busy, log, moved)
    if busy:
        log.warning("the SQLite WAL could not be truncated now (a reader held it); the next checkpoint empties it")
        return False
    return True


async def vacuum(engine: AsyncEngine, tables: Collection[str]) -> bool:
    """PostgreSQL: ``VACUUM (ANALYZE)`` the tables, so that the rows deleted or updated in
    them are removed from their pages and indexes rather than left as dead tuples until
    autovacuum comes (see README on what it does not remove), and the planner's statistics
    (``pg_stats``: most common values, histogram bounds, sampled at the last ANALYZE) are
    taken again from the rows left, not kept with an erased person's id and name in them.
    It cannot run in a transaction: an autocommit connection. A refusal (not the tables'
    owner) is logged, not raised: the erasure itself is done. No-op on SQLite (``secure_delete``
    and ``truncate_wal``)."""
    if engine.dialect.name != "postgresql" or not tables:
        return False
    quote = engine.dialect.identifier_preparer.quote
    try:
        async with autocommit_connection(engine) as conn:
            await conn.exec_driver_sql("VACUUM (ANALYZE) " + ", ".join(quote(t) for t in sorted(tables)))
    except Exception as err:  # any refusal: autovacuum will come
        log.warning(
            "VACUUM of %s was refused (%s); autovacuum removes the dead rows later", ", ".join(sorted(tables)), err
        )
        return False
    return True


@asynccontextmanager
async def autocommit_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection without a transaction around its statements: each commits on its own,
    without the BEGIN and COMMIT round trips."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
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


def head_revisions() -> frozenset[str]:
    """The revisions the migrations shipped with this version end at (read from the scripts)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


async def applied_revisions(engine: AsyncEngine) -> frozenset[str]:
    """The revisions the database is at (empty: no migration applied). Read from Alembic's
    version table directly: ``/readyz`` asks often, and Alembic's own reader logs each time."""
    async with engine.connect() as conn:
        if not await conn.run_sync(lambda c: inspect(c).has_table(VERSION_TABLE)):
            return frozenset()
        rows = await conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        return frozenset(str(row[0]) for row in rows)


async def upgrade_async(url: str) -> None:
    await asyncio.to_thread(upgrade, url)


async def unanswered(engine: AsyncEngine) -> str | None:
    """Why the database does not answer a trivial query (the driver's words); None when it does."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # any driver error means: not answering
        return str(exc) or type(exc).__name__


async def ping(engine: AsyncEngine) -> bool:
    """True when the database answers a trivial query; why not is logged."""
    reason = await unanswered(engine)
    if reason is not None:
        log.warning("database ping failed: %s", reason)
    return reason is None


def rowcount(result: Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE changed (its result is a ``CursorResult``)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)
