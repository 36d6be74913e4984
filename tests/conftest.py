"""Shared pytest fixtures. Each block names where its fixtures live."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from storage.db import create_engine, upgrade
from storage.repo import Repo

# PostgreSQL: postgres_url (session), fresh_postgres_url (per test); see tests/fakes/postgres.py
# Browser: browser_page, browser_requests, browser_session (per test); see tests/fakes/browser.py
from tests.fakes.browser import browser_page, browser_requests, browser_session  # noqa: F401
from tests.fakes.clock import Clock
from tests.fakes.playground import Playground, open_playground
from tests.fakes.postgres import fresh_postgres_url, postgres_url  # noqa: F401
from tests.fakes.sealing import SEALER

# Databases: `db_url` runs a test on SQLite and on PostgreSQL, migrated; `sqlite_url` on SQLite only.


@pytest.fixture
async def sqlite_url(tmp_path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ritme.db'}"
    await asyncio.to_thread(upgrade, url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'ritme.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    await asyncio.to_thread(upgrade, url)
    return url


@pytest.fixture
async def repo(db_url: str) -> AsyncIterator[Repo]:
    r = Repo(create_engine(db_url), SEALER)
    yield r
    await r.dispose()


# The playground on the real app: `clock` (Sunday 22 November 2026, 12:00 in Amsterdam) and `pg`.
@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 22, 12, 0, tzinfo=ZoneInfo("Europe/Amsterdam")))


@pytest.fixture
async def pg(sqlite_url: str, clock: Clock) -> AsyncIterator[Playground]:
    async with open_playground(sqlite_url, clock) as playground:
        yield playground
