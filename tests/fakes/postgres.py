"""A throwaway PostgreSQL server for the test session.

Fixtures (exposed from tests/conftest.py):

- ``postgres_url`` (session): SQLAlchemy async URL of the database ``ritme_test`` on a
  private cluster started for this test session (``postgresql+asyncpg://postgres@127.0.0.1:PORT/ritme_test``).
  When ``RITME_TEST_POSTGRES_URL`` is set, that server is used instead and nothing is started.
- ``fresh_postgres_url`` (function): URL of a new, empty database of its own, dropped afterwards.

``fresh_database(url)`` creates such a database from any test or fixture (sync or async code)
and returns its URL.

``make test`` installs the server (Debian ``postgresql``) when missing; if it cannot be
found the fixtures fail, they never skip.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import URL, make_url

ENV_URL = "RITME_TEST_POSTGRES_URL"
DATABASE = "ritme_test"
SUPERUSER = "postgres"
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "200",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "'64MB'",
    "log_min_messages": "warning",
}


# --------------------------------------------------------------------------- binaries


def find_pg_bindir() -> Path | None:
    """Directory holding initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        bindir = Path(on_path).resolve().parent
        if (bindir / "initdb").exists():
            return bindir
    candidates = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")

    def version(path: str) -> tuple[int, ...]:
        part = Path(path).parent.parent.name
        return tuple(int(p) for p in part.split(".") if p.isdigit())

    for pg_ctl in sorted(candidates, key=version, reverse=True):
        bindir = Path(pg_ctl).parent
        if (bindir / "initdb").exists():
            return bindir
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- server


class PostgresServer:
    """A private cluster in a temporary directory, on 127.0.0.1 and a free port."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.basedir = Path(tempfile.mkdtemp(prefix="ritme-pg-"))
        self.datadir = self.basedir / "data"
        self.logfile = self.basedir / "server.log"
        self.port = 0
        self.started = False

    # Commands run as the `postgres` user when we are root: initdb refuses to run as root.
    def _cmd(self, binary: str, *args: str) -> list[str]:
        cmd = [str(self.bindir / binary), *args]
        if self.as_root:
            cmd = ["runuser", "-u", SUPERUSER, "--", *cmd]
        return cmd

    def _run(self, binary: str, *args: str, timeout: float = 120) -> None:
        cmd = self._cmd(binary, *args)
        proc = subprocess.run(
            cmd,
            cwd=self.basedir,  # a directory the postgres user may enter
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} failed with status {proc.returncode}:\n"
                f"{proc.stdout}\n{proc.stderr}\n{self.log_tail()}"
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.logfile.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "server log:\n" + "\n".join(text)

    def _prepare_owner(self) -> None:
        if not self.as_root:
            return
        try:
            user = pwd.getpwnam(SUPERUSER)
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/var/lib/postgresql",
                    "--shell",
                    "/bin/sh",
                    SUPERUSER,
                ],
                check=True,
            )
            user = pwd.getpwnam(SUPERUSER)
        os.chown(self.basedir, user.pw_uid, user.pw_gid)
        os.chmod(self.basedir, 0o700)

    def start(self) -> None:
        self._prepare_owner()
        self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        conf = self.datadir / "postgresql.conf"
        settings = dict(SERVER_SETTINGS, unix_socket_directories=f"'{self.basedir}'")
        last_error: Exception | None = None
        for _attempt in range(3):  # the free port may be taken between lookup and start
            self.port = _free_port()
            lines = [f"{k} = {v}" for k, v in settings.items()] + [f"port = {self.port}"]
            with conf.open("a") as f:  # later lines win in postgresql.conf
                f.write("\n# ritme tests\n" + "\n".join(lines) + "\n")
            try:
                self._run(
                    "pg_ctl",
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(self.logfile),
                    "-w",
                    "-t",
                    "60",
                    "start",
                )
            except RuntimeError as exc:
                last_error = exc
                continue
            self.started = True
            return
        raise RuntimeError(f"could not start PostgreSQL: {last_error}")

    def stop(self) -> None:
        try:
            if self.started:
                self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")
                self.started = False
        finally:
            shutil.rmtree(self.basedir, ignore_errors=True)

    def url(self, database: str = DATABASE) -> str:
        return URL.create(
            "postgresql+asyncpg",
            username=SUPERUSER,
            host="127.0.0.1",
            port=self.port,
            database=database,
        ).render_as_string(hide_password=False)


# --------------------------------------------------------------------------- databases


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _normalize(url: str) -> str:
    """Accept plain postgresql:// URLs too; always hand out the asyncpg dialect."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=30)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _run_coro(coro) -> None:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


async def create_fresh_database(url: str, *, template: str | None = None, prefix: str = "ritme_t") -> str:
    """Create a new empty database (or a copy of `template`) on url's server; return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    sql = f"CREATE DATABASE {_quote_ident(name)}"
    if template:
        sql += f" TEMPLATE {_quote_ident(template)}"
    await _execute(url, sql)
    return _with_database(_normalize(url), name)


def fresh_database(url: str, *, template: str | None = None, prefix: str = "ritme_t") -> str:
    """Sync form of create_fresh_database; safe to call from async tests (it blocks briefly)."""
    result: list[str] = []

    async def create() -> None:
        result.append(await create_fresh_database(url, template=template, prefix=prefix))

    _run_coro(create())
    return result[0]


async def drop_database_async(url: str) -> None:
    """Drop the database named in url (closing its connections), from its server's `postgres` DB."""
    name = make_url(url).database
    await _execute(
        _with_database(url, "postgres"),
        f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)",
    )


def drop_database(url: str) -> None:
    _run_coro(drop_database_async(url))


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLAlchemy async URL of `ritme_test` on this session's PostgreSQL server."""
    external = os.environ.get(ENV_URL)
    if external:
        yield _normalize(external)
        return

    bindir = find_pg_bindir()
    if bindir is None:
        pytest.fail(
            "PostgreSQL server not found (no pg_ctl/initdb on PATH or under "
            "/usr/lib/postgresql/*/bin). Run `make test` as root, which installs it with "
            f"apt-get, or `apt-get install postgresql`, or set {ENV_URL}.",
            pytrace=False,
        )
    server = PostgresServer(bindir)
    request.addfinalizer(server.stop)  # also runs when start() fails half-way
    try:
        server.start()
        _run_coro(_execute(server.url("postgres"), f"CREATE DATABASE {DATABASE}"))
    except Exception as exc:  # noqa: BLE001 - report any start-up problem as a test failure
        pytest.fail(f"could not start the test PostgreSQL server: {exc}", pytrace=False)
    yield server.url()


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """URL of a new empty database for one test; dropped afterwards."""
    url = fresh_database(postgres_url)
    yield url
    drop_database(url)
