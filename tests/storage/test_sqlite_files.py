"""SQLite's files keep no more than they must: the database, its WAL and its shared memory
are readable by their owner only; deleted content is overwritten; the WAL is emptied."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import event, text

from storage.answers.writer import SqliteWriter
from storage.db import (
    _sqlite_pragmas,
    create_engine,
    private_database_file,
    truncate_wal,
    upgrade,
)
from tests.fakes.servers import Replica, free_port, poll


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(mask: int) -> Iterator[None]:
    before = os.umask(mask)
    try:
        yield
    finally:
        os.umask(before)


async def test_a_real_start_makes_the_database_wal_and_shm_private(tmp_path: Path) -> None:
    """``ritme serve`` (the playground) on a new database, under the usual umask 022, which
    would make every new file readable by all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RITME_", "SLACK_", "Microsoft"))}
    database = tmp_path / "ritme.db"
    port = free_port()
    with umask(0o022):
        server = Replica("serve", port, {**env, "RITME_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}, tmp_path)
    try:
        async with aiohttp.ClientSession() as http:

            async def ready() -> bool:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        return resp.status == 200
                except aiohttp.ClientConnectionError:
                    return False

            assert await poll(ready, within=60, every=0.2), server.tail()
            command = {"user": "anna", "text": "help"}
            async with http.post(f"http://127.0.0.1:{port}/playground/api/command", json=command) as resp:
                assert resp.status == 200
        files = [database, database.with_name("ritme.db-wal"), database.with_name("ritme.db-shm")]
        assert all(f.exists() for f in files), server.tail()
        assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}
        assert oct(mode(server.log)) == "0o644"  # the umask was in force: the test's own log file
    finally:
        server.close()


def test_an_existing_database_readable_by_others_is_made_private(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "ritme.db"
    url = f"sqlite+aiosqlite:///{database}"
    with umask(0o022):
        upgrade(url)
    assert mode(database) == 0o600
    for name in ("ritme.db", "ritme.db-wal", "ritme.db-shm"):
        (tmp_path / name).touch()
        (tmp_path / name).chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="storage.db"):
        private_database_file(url)
    assert [mode(tmp_path / n) for n in ("ritme.db", "ritme.db-wal", "ritme.db-shm")] == [0o600] * 3
    assert sum("was readable by others (mode 644)" in r.getMessage() for r in caplog.records) == 3
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="storage.db"):
        private_database_file(url)  # private already: nothing to say
    assert caplog.records == []


async def test_every_sqlite_connection_overwrites_what_it_deletes(tmp_path: Path) -> None:
    """``secure_delete`` is set by the connection settings both engines use (the server's
    and the answer writer's). Debian's SQLite has it on by default; the setting is there for
    builds that do not, so the test turns it off first."""
    conn = sqlite3.connect(tmp_path / "r.db")
    conn.execute("PRAGMA secure_delete=OFF")
    assert conn.execute("PRAGMA secure_delete").fetchone() == (0,)
    _sqlite_pragmas(conn, None)
    assert conn.execute("PRAGMA secure_delete").fetchone() == (1,)
    conn.close()
    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    engine = create_engine(url)
    writer = SqliteWriter(url)
    try:
        assert event.contains(engine.sync_engine, "connect", _sqlite_pragmas)
        assert event.contains(writer.engine, "connect", _sqlite_pragmas)
    finally:
        await writer.dispose()
        await engine.dispose()


async def test_truncate_wal_leaves_an_empty_wal_and_is_a_no_op_in_memory(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x TEXT)"))
            await conn.execute(text("INSERT INTO t VALUES ('zq-gone')"))
        wal = tmp_path / "r.db-wal"
        assert wal.stat().st_size > 0
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM t"))
        assert b"zq-gone" in wal.read_bytes()  # the WAL still has the page as it was
        assert await truncate_wal(engine)
        assert wal.stat().st_size == 0
        assert b"zq-gone" not in (tmp_path / "r.db").read_bytes()
    finally:
        await engine.dispose()
    memory = create_engine("sqlite+aiosqlite://")
    try:
        assert not await truncate_wal(memory)
    finally:
        await memory.dispose()
