"""``ritme db upgrade`` says what it did."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from bot.cli import main
from tests.fakes.secret_key import SECRET_KEY


def test_db_upgrade_says_what_it_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "MicrosoftAppId"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RITME_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    assert main(["db", "upgrade"]) == 0
    first = capsys.readouterr().out.strip()
    assert first.startswith("database migrated from an empty database to revision ")
    head = first.rsplit(" ", 1)[1]
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip() == f"database is up to date (revision {head})"


PLATFORM_ENV = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_SIGNING_SECRET",
    "MicrosoftAppId",
    "RITME_PLAYGROUND",
    "RITME_PLAYGROUND_ALLOW_REMOTE",
    "RITME_PUBLIC_URL",
)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "ritme.school.example"])
def test_serve_keeps_the_playground_on_loopback(
    host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The playground runs admin commands for anyone who reaches it: listening beyond this
    machine needs RITME_PLAYGROUND_ALLOW_REMOTE. One line, exit 2, nothing created."""
    monkeypatch.chdir(tmp_path)
    for name in PLATFORM_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RITME_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    monkeypatch.setenv("RITME_HOST", host)
    assert main(["serve"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ritme: configuration error: RITME_HOST:")
    assert "RITME_PLAYGROUND_ALLOW_REMOTE" in lines[0]
    assert not (tmp_path / "r.db").exists()


def test_serve_on_a_taken_port_says_so_in_one_line_before_the_engine_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another process listens on RITME_PORT: one line, exit 2, before the engine starts
    (aiohttp would say it with a stack trace, once the engine ran)."""
    monkeypatch.chdir(tmp_path)
    for name in PLATFORM_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RITME_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        monkeypatch.setenv("RITME_PORT", str(other.getsockname()[1]))
        assert main(["serve"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ritme: configuration error: RITME_HOST, RITME_PORT:"), lines
    assert "Address already in use" in lines[0]


def test_a_platform_without_the_playground_may_listen_anywhere() -> None:
    from bot.cli import _playground_exposed
    from bot.config import Settings

    slack = Settings(
        RITME_HOST="0.0.0.0", RITME_SECRET_KEY=SECRET_KEY, SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s"
    )
    assert _playground_exposed(slack) is None
    playground = Settings(
        RITME_HOST="0.0.0.0",
        RITME_PLAYGROUND=True,
        RITME_SECRET_KEY=SECRET_KEY,
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s",
    )
    assert (_playground_exposed(playground) or "").startswith("RITME_HOST:")
    assert _playground_exposed(Settings(RITME_HOST="localhost")) is None
    assert _playground_exposed(Settings(RITME_HOST="127.0.0.2")) is None


async def test_serve_with_remote_access_allowed_starts_and_warns(tmp_path: Path) -> None:
    """A real ``ritme serve`` on 0.0.0.0 with RITME_PLAYGROUND_ALLOW_REMOTE: it serves, says at
    start who can run admin commands, and its playground still refuses foreign names."""
    import aiohttp

    from tests.fakes.servers import Replica, free_port, poll

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RITME_", "SLACK_", "Microsoft"))}
    env.update(
        {
            "RITME_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
            "RITME_HOST": "0.0.0.0",
            "RITME_PLAYGROUND_ALLOW_REMOTE": "true",
            "RITME_PUBLIC_URL": "https://ritme.school.example",
        }
    )
    server = Replica("remote", port, env, tmp_path)
    try:
        async with aiohttp.ClientSession() as session:

            async def up() -> bool:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return server.proc.poll() is not None  # stopped: no use waiting

            assert await poll(up, within=60, every=0.2), server.tail()
            assert server.proc.poll() is None, server.tail()
            async with session.get(f"http://127.0.0.1:{port}/", headers={"Host": "ritme.school.example"}) as page:
                assert page.status == 200
            async with session.get(f"http://127.0.0.1:{port}/", headers={"Host": "evil.example"}) as page:
                assert page.status == 403
        log = server.log.read_text()
        warning = next(line for line in log.splitlines() if "RITME_PLAYGROUND_ALLOW_REMOTE" in line)
        assert "WARNING" in warning
        reach = f"port {port} of this machine or https://ritme.school.example"
        assert f"admin commands for anyone who can reach {reach}" in warning
    finally:
        server.close()


def test_serve_help_lists_every_setting_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    """Generated from the Settings model: a setting added there is in the help without more."""
    from bot.config import Settings, setting_infos

    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    infos = setting_infos()
    assert len(infos) == len(Settings.model_fields)
    for info in infos:
        heading = f"  {info.variable} (default: {info.default})" if info.default else f"  {info.variable}\n"
        assert heading in text, info.variable
        assert " ".join(info.description.split()[:4]) in " ".join(text.split()), info.variable
    assert "  RITME_DATABASE_URL (default: sqlite+aiosqlite:///ritme.db)" in text
    assert "  RITME_METRICS (default: false)" in text
    assert "  RITME_LOG_FORMAT (default: text)" in text


def test_ritme_alone_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: ritme [-h] COMMAND")
    assert "serve" in out and "check" in out and "db" in out


def test_ritme_db_alone_prints_the_db_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: ritme db [-h] TASK")
    assert "upgrade" in out and "slack-manifest" not in out


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (
            "postgresql://ritme:p%40ss@db.school.example/ritme",
            "postgresql+asyncpg://ritme:p%40ss@db.school.example/ritme",
        ),
        ("postgres://ritme:pw@db:5433/ritme", "postgresql+asyncpg://ritme:pw@db:5433/ritme"),
        ("postgresql+asyncpg://ritme@db/ritme", "postgresql+asyncpg://ritme@db/ritme"),
        ("sqlite:///ritme.db", "sqlite+aiosqlite:///ritme.db"),
        ("sqlite+aiosqlite:////var/lib/ritme/ritme.db", "sqlite+aiosqlite:////var/lib/ritme/ritme.db"),
    ],
)
def test_database_urls_as_hosting_providers_write_them_are_taken(given: str, used: str) -> None:
    """``postgresql://`` and ``postgres://`` (as a hosting provider's panel shows them) and
    ``sqlite://`` get the driver Ritme carries; a password's escapes stay as they were."""
    from bot.config import Settings

    assert Settings(RITME_DATABASE_URL=given).database_url == used


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("mysql://ritme:pw@localhost/ritme", "Ritme runs on SQLite or PostgreSQL, not mysql; write a URL such as"),
        ("postgresql+psycopg2://ritme@db/ritme", "Ritme talks to postgresql through asyncpg, not psycopg2"),
        ("ritme.db", "not a database URL; write one such as sqlite+aiosqlite:///ritme.db"),
        ("postgresql+asyncpg://ritme:pw@127.0.0.1:1/ritme", "the database does not answer ("),
    ],
)
def test_serve_with_a_database_it_cannot_use_says_why_in_one_line(
    url: str, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another database, a driver Ritme does not carry, no URL at all, or a database that
    does not answer: one line that names the setting and says why (the driver's own words
    when the database does not answer), exit 2, no warning before it."""
    monkeypatch.chdir(tmp_path)
    for name in PLATFORM_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RITME_DATABASE_URL", url)
    assert main(["serve"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ritme: configuration error: RITME_DATABASE_URL: "), lines
    assert said in lines[0] and "pw" not in lines[0], lines
