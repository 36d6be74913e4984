"""Shared pytest fixtures. Each block names where its fixtures live."""

# PostgreSQL: postgres_url (session), fresh_postgres_url (per test); see tests/fakes/postgres.py
# Browser: browser_page, browser_requests, browser_session (per test); see tests/fakes/browser.py
from tests.fakes.browser import browser_page, browser_requests, browser_session  # noqa: F401
from tests.fakes.postgres import fresh_postgres_url, postgres_url  # noqa: F401
