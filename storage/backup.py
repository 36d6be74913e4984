"""A consistent copy of a SQLite database while Ritme runs, and putting one back.

``ritme backup`` uses SQLite's online backup API: the copy is taken in one read transaction,
so it shows the database at one moment, and in WAL mode Ritme's writers do not wait for it.
The copy is a single file (journal mode DELETE), readable by its owner only, and written
under a temporary name first, so that a half-made copy never carries the backup's name.

``ritme restore`` checks a copy before it is used (SQLite's ``quick_check``; a migration
revision this Ritme knows), brings it to the current migrations on a staging copy, and only
then writes it into the configured database file, again through the backup API: SQLite
itself replaces the pages, its WAL and shared memory included, so no stale ``-wal`` file is
ever applied to a database it does not belong to.

PostgreSQL has its own tools; ``postgres_commands`` says which commands to run instead.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from storage.db import LOCK_WAIT_SECONDS, PRIVATE, alembic_config, in_memory, private_database_file, upgrade


class BackupError(Exception):
    """Why a backup or a restore was not made, in one line for the person running it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Copied:
    """What a backup or a restore did: the file written, its size, its migration revisions."""

    path: Path
    size: int
    revision: str
    before: str | None = None  # restore: the copy's revision before it was upgraded


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for another database (PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if in_memory(url) or not parsed.database or parsed.database.startswith("file:"):
        raise BackupError("RITME_DATABASE_URL: an in-memory or file: URI database cannot be backed up here")
    return Path(parsed.database).resolve()


def backup(url: str, path: Path, *, force: bool = False) -> Copied:
    """Copy the SQLite database of ``url`` to ``path`` (a file, or a directory to hold a
    dated ``ritme-YYYYMMDD-HHMMSS.db``), consistently, while Ritme may go on writing."""
    source = sqlite_file(url)
    if source is None:
        raise BackupError("RITME_DATABASE_URL: not a SQLite database")
    if not source.is_file():
        raise BackupError(f"RITME_DATABASE_URL: there is no database file at {source}")
    if path.is_dir():
        path = path / f"ritme-{datetime.now(UTC):%Y%m%d-%H%M%S}.db"
    if path.resolve() == source:
        raise BackupError(f"{path} is the database itself; choose another file for the copy")
    if path.exists() and not force:
        raise BackupError(f"{path} exists; choose a new name, or add --force to replace it")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a directory")
    with _partial(path) as partial:
        with contextlib.closing(sqlite3.connect(source, timeout=LOCK_WAIT_SECONDS)) as src:
            with contextlib.closing(sqlite3.connect(partial)) as dst:
                src.backup(dst)  # pages=-1: one step, one read transaction, one moment
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                _check(dst, path)
                revision = _revision(dst, path)
        _settle(partial, path)
    return Copied(path=path, size=path.stat().st_size, revision=revision)


def restore(url: str, path: Path, *, force: bool = False) -> Copied:
    """Put the copy at ``path`` in place of the SQLite database of ``url``, upgraded to the
    current migrations. An existing database is replaced only with ``force``."""
    target = sqlite_file(url)
    if target is None:
        raise BackupError("RITME_DATABASE_URL: not a SQLite database")
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    if path.resolve() == target:
        raise BackupError(f"{path} is the database itself; restore from a copy made with ritme backup")
    if not target.parent.is_dir():
        raise BackupError(f"RITME_DATABASE_URL: {target.parent} is not a directory")
    if _holds_tables(target) and not force:
        raise BackupError(
            f"RITME_DATABASE_URL: {target} already holds a database. Stop Ritme, keep a copy of it "
            f"(ritme backup), then run ritme restore {shlex.quote(str(path))} --force to replace it"
        )
    staging = target.with_name(f".{target.name}.restore-{os.getpid()}")
    try:
        with _partial(staging) as partial:
            _copy_checked(path, partial)
            staging_url = f"sqlite+aiosqlite:///{partial}"
            before, after = upgrade(staging_url)
            private_database_file(url)  # a new database file is made 0600 before SQLite opens it
            with contextlib.closing(sqlite3.connect(partial, timeout=LOCK_WAIT_SECONDS)) as src:
                with contextlib.closing(sqlite3.connect(target, timeout=LOCK_WAIT_SECONDS)) as dst:
                    src.backup(dst)
                    _check(dst, target)
    finally:
        for leftover in _with_journals(staging):
            leftover.unlink(missing_ok=True)
    return Copied(path=target, size=target.stat().st_size, revision=after or "", before=before)


def _copy_checked(path: Path, staging: Path) -> None:
    """Copy the backup at ``path`` to ``staging`` and check it is a Ritme database that this
    Ritme's migrations know: at or below their head, never from a newer Ritme."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        with contextlib.closing(sqlite3.connect(_read_only(path), uri=True)) as src:
            with contextlib.closing(sqlite3.connect(staging)) as dst:
                src.backup(dst)
                _check(dst, path)
                revision = _revision(dst, path)
    except sqlite3.DatabaseError as err:
        raise BackupError(f"{path} is not a SQLite database Ritme can read ({err})") from None
    scripts = ScriptDirectory.from_config(alembic_config(f"sqlite+aiosqlite:///{staging}"))
    try:
        known = scripts.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(
            f"{path} is at migration revision {revision}, which this Ritme does not know: it was made by "
            "a newer Ritme; restore it with that version"
        )


def _check(conn: sqlite3.Connection, path: Path) -> None:
    result = conn.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{path} is damaged (SQLite quick_check: {result})")


def _revision(conn: sqlite3.Connection, path: Path) -> str:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        row = None
    if not row:
        raise BackupError(f"{path} is not a Ritme database (it has no migration revision)")
    return str(row[0])


def _holds_tables(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    with contextlib.closing(sqlite3.connect(_read_only(path), uri=True, timeout=LOCK_WAIT_SECONDS)) as conn:
        try:
            return conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] > 0
        except sqlite3.DatabaseError:
            return True  # not a database we can read: not ours to overwrite without --force


@contextlib.contextmanager
def _partial(path: Path) -> Iterator[Path]:
    """A new, empty file beside ``path``, mode 0600 whatever the umask (SQLite gives its
    journal files the database file's mode); removed again unless it was moved into place."""
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    for leftover in _with_journals(partial):
        leftover.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    try:
        yield partial
    finally:
        for leftover in _with_journals(partial):
            leftover.unlink(missing_ok=True)


def _read_only(path: Path) -> str:
    return path.resolve().as_uri() + "?mode=ro"


def _with_journals(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]


def _settle(partial: Path, path: Path) -> None:
    """Make the copy durable, then give it its name in one step (a rename in one directory)."""
    fd = os.open(partial, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def postgres_commands(url: str, path: str) -> tuple[str, str]:
    """The ``pg_dump`` and ``pg_restore`` commands for the PostgreSQL database of ``url``
    (its password left out: give it in ``PGPASSWORD`` or ``~/.pgpass``)."""
    given = make_url(url)
    libpq = URL.create("postgresql", username=given.username, host=given.host, port=given.port, database=given.database)
    target = shlex.quote(libpq.render_as_string(hide_password=False))
    file = shlex.quote(path)
    dump = f"pg_dump --format=custom --no-owner --no-privileges --file={file} {target}"
    load = f"pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --dbname={target} {file}"
    return dump, load
