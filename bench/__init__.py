"""Benchmarks that compare Ritme with a baseline measured in the same run.

``make bench`` (``.venv/bin/python -m bench``) runs each benchmark on SQLite and on a
throwaway PostgreSQL server and prints, per figure, Ritme's value, the baseline's value
and their ratio. Absolute figures drift between machines; the ratios are what to compare
(see docs/benchmarks.md). Everything runs on 127.0.0.1, bounded in count and time.

One module per benchmark: ``fanout``, ``answers``, ``anonymous_answers``, ``many_rituals``, ``review``. Each has
``async def run(db: Database) -> list[Figure]``.
"""

from __future__ import annotations

import asyncio
import os
import platform
import resource
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, kw_only=True, slots=True)
class Figure:
    """One measured figure of Ritme next to the baseline's, measured in the same run."""

    bench: str
    what: str
    unit: str
    ritme: float
    baseline: float | None = None
    baseline_name: str = ""
    higher_is_better: bool = True
    target: str = ""  # the goal, in words, e.g. ">= 0.8 of baseline"
    met: bool | None = None  # whether the target was met, when it has one
    notes: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0) or self.ritme == 0 and not self.higher_is_better:
            return None
        return self.ritme / self.baseline  # type: ignore[operator]


@dataclass
class Database:
    """Where a benchmark keeps its data: a fresh database per ``fresh()`` call."""

    backend: str  # "sqlite" or "postgresql"
    tmp: Path
    server_url: str | None = None
    made: list[str] = field(default_factory=list)

    async def fresh(self, name: str) -> str:
        """The URL of a new, empty, migrated database."""
        from storage.db import upgrade

        if self.backend == "sqlite":
            path = self.tmp / f"{name}-{len(self.made)}.db"
            url = f"sqlite+aiosqlite:///{path}"
        else:
            from tests.fakes.postgres import fresh_database

            assert self.server_url is not None
            url = await asyncio.to_thread(fresh_database, self.server_url, prefix=f"bench_{name}")
        self.made.append(url)
        await asyncio.to_thread(upgrade, url)
        return url

    def drop_all(self) -> None:
        if self.backend != "postgresql":
            return
        from tests.fakes.postgres import drop_database

        for url in self.made:
            try:
                drop_database(url)
            except Exception as err:  # noqa: BLE001 - clean-up only
                print(f"  (could not drop {make_url(url).database}: {err})")
        self.made.clear()


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """A throwaway PostgreSQL cluster (the tests' machinery); None when there is none here."""
    from tests.fakes.postgres import (
        ENV_URL,
        PostgresServer,
        _execute,
        _normalize,
        _run_coro,
        find_pg_bindir,
    )

    external = os.environ.get(ENV_URL)
    if external:
        yield _normalize(external)
        return
    bindir = find_pg_bindir()
    if bindir is None:
        yield None
        return
    server = PostgresServer(bindir)
    try:
        server.start()
        _run_coro(_execute(server.url("postgres"), "CREATE DATABASE ritme_test"))
        yield server.url()
    finally:
        server.stop()


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process, in MB (``/proc``; the peak when that is unreadable)."""
    try:
        status = Path(f"/proc/{pid or 'self'}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


async def wait_until(check: object, *, within: float, every: float = 0.05) -> bool:
    """Poll an async ``check()`` until it is true or ``within`` seconds passed."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return True
        await asyncio.sleep(every)
    return False


@asynccontextmanager
async def quiet_logs() -> AsyncIterator[None]:
    """Logs per message (429s are expected here) would measure the terminal; keep errors."""
    import logging

    root = logging.getLogger()
    before = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(before)


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    packages = ("slack-bolt", "slack-sdk", "aiohttp", "SQLAlchemy", "aiosqlite", "asyncpg", "APScheduler")
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    pg = "-"
    try:
        from tests.fakes.postgres import find_pg_bindir

        bindir = find_pg_bindir()
        pg = bindir.parent.name if bindir else "-"
    except Exception:  # noqa: BLE001 - informational only
        pass
    import sqlite3

    return {
        "cores (nproc)": str(os.cpu_count()),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg,
        **versions,
    }


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()
