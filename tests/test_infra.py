"""The test infrastructure itself: the throwaway PostgreSQL server and headless chromium."""

import pytest
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fakes.browser import screenshot, serve_app
from tests.fakes.postgres import fresh_database


async def _scalar(url: str, sql: str):
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar_one()
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_postgres_answers(postgres_url):
    assert postgres_url.startswith("postgresql+asyncpg://")
    assert await _scalar(postgres_url, "select 1") == 1
    database = make_url(postgres_url).database  # ritme_test, unless RITME_TEST_POSTGRES_URL
    assert await _scalar(postgres_url, "select current_database()") == database


@pytest.mark.postgres
async def test_fresh_database_is_empty_and_separate(postgres_url):
    engine = create_async_engine(postgres_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("create table if not exists infra_marker (id int)"))
    finally:
        await engine.dispose()

    first, second = fresh_database(postgres_url), fresh_database(postgres_url)
    assert len({postgres_url, first, second}) == 3
    for url in (first, second):
        tables = await _scalar(url, "select count(*) from information_schema.tables where table_schema = 'public'")
        assert tables == 0
    assert await _scalar(first, "select current_database()") != await _scalar(second, "select current_database()")


@pytest.mark.postgres
async def test_fresh_postgres_url_fixture(fresh_postgres_url, postgres_url):
    assert fresh_postgres_url != postgres_url
    assert await _scalar(fresh_postgres_url, "select 1") == 1


@pytest.mark.browser
async def test_browser_reads_local_page(browser_page, browser_requests):
    async def index(request):
        return web.Response(
            text="<!doctype html><html><head><link rel=stylesheet href=/style.css></head>"
            "<body><h1 id=title>Ritme</h1><p id=out></p>"
            "<script>document.getElementById('out').textContent = 'hello ' + (1 + 1);</script>"
            "</body></html>",
            content_type="text/html",
        )

    async def style(request):
        return web.Response(text="h1 { color: #0a6; }", content_type="text/css")

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/style.css", style)

    async with serve_app(app) as base_url:
        await browser_page.goto(base_url + "/")
        assert await browser_page.text_content("#title") == "Ritme"
        assert await browser_page.text_content("#out") == "hello 2"
        path = await screenshot(browser_page, "test_infra_local_page")

    assert path.exists() and path.stat().st_size > 0
    assert base_url + "/" in browser_requests.urls
    assert base_url + "/style.css" in browser_requests.urls
    browser_requests.assert_only_local()
