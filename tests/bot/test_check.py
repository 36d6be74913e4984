"""``ritme check`` against the fake Slack Web API and the fake Bot Framework: one line per
setting and per thing it points at, secrets never shown, exit status non-zero when something
needed is wrong."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from tests.fakes.botframework import FakeBotFramework
from tests.fakes.secret_key import SECRET_KEY
from tests.fakes.servers import free_port
from tests.fakes.slack_api import FakeSlackApi

SIGNING_SECRET = "check-signing-secret"
CLEARED = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "MicrosoftAppId",
    "MicrosoftAppPassword",
    "RITME_PLAYGROUND",
    "RITME_SECRET_KEY",
    "RITME_DATABASE_URL",
)


@pytest.fixture
def bf() -> Iterator[FakeBotFramework]:
    with FakeBotFramework() as fake:
        yield fake


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A working directory of its own (no .env), a migrated SQLite database, no platform yet."""
    monkeypatch.chdir(tmp_path)
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite+aiosqlite:///{tmp_path / 'ritme.db'}"
    monkeypatch.setenv("RITME_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    return monkeypatch


def configure(env: pytest.MonkeyPatch, slack: FakeSlackApi, bf: FakeBotFramework) -> None:
    env.setenv("RITME_SECRET_KEY", SECRET_KEY)
    env.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    env.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    env.setenv("SLACK_API_URL", slack.api_url)
    for name, value in bf.env().items():
        env.setenv(name, value)
    env.setenv("REQUESTS_CA_BUNDLE", bf.ca_file)  # the fake login endpoint's own certificate


async def check(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, str]]:
    """Run ``ritme check`` (its own event loop, in a thread: the fakes serve from this one);
    its exit status and its lines by what they are about."""
    capsys.readouterr()
    status = await asyncio.to_thread(main, ["check"])
    out = capsys.readouterr().out
    lines: dict[str, str] = {}
    for line in out.splitlines():
        state, _, text = line.partition(" ")
        subject = text.strip().split(" ")[0].rstrip(":")
        lines[subject] = f"{state} {text.strip()}"
    return status, lines


def assert_no_secrets(lines: dict[str, str], bf: FakeBotFramework) -> None:
    text = "\n".join(lines.values())
    for secret in (SECRET_KEY, "xoxb-test", SIGNING_SECRET, "test-password"):
        assert secret not in text


async def test_everything_answers(
    env: pytest.MonkeyPatch, bf: FakeBotFramework, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeSlackApi() as slack:
        configure(env, slack, bf)
        status, lines = await check(capsys)
        assert status == 0, lines
        assert lines["Slack"] == "ok Slack: auth.test ok (workspace T1, bot user UBOT)"
        assert [call.token for call in slack.called("auth.test")] == ["xoxb-test"]
        assert lines["SLACK_API_URL"] == f"set SLACK_API_URL = {slack.api_url}"
    assert lines["Teams"].startswith("ok Teams: a Bot Framework token was issued")
    assert len(bf.tokens_issued) == 1
    assert lines["database"].startswith("ok database (sqlite) answers; migrations current")
    assert lines["serves"] == "ok serves: Slack, Teams"
    assert lines["SLACK_BOT_TOKEN"] == "set SLACK_BOT_TOKEN (secret, not shown)"
    assert lines["MicrosoftAppPassword"] == "set MicrosoftAppPassword (secret, not shown)"
    assert lines["RITME_PORT"] == "default RITME_PORT = 3978"
    assert lines["SLACK_CLIENT_ID"] == "unset SLACK_CLIENT_ID"
    assert_no_secrets(lines, bf)


async def test_wrong_credentials_and_an_unreachable_slack_fail(
    env: pytest.MonkeyPatch, bf: FakeBotFramework, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeSlackApi() as slack:
        configure(env, slack, bf)
        env.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
        env.setenv("MicrosoftAppPassword", "not-the-password")
        status, lines = await check(capsys)
    assert status == 1
    assert lines["SLACK_BOT_TOKEN"].startswith("FAIL SLACK_BOT_TOKEN: Slack's auth.test answered not_authed")
    assert lines["MicrosoftAppPassword"] == (
        "FAIL MicrosoftAppPassword: the Bot Framework token endpoint refused it (invalid_client)"
    )
    assert lines["database"].startswith("ok ")
    assert "xoxb-revoked" not in "\n".join(lines.values()) and "not-the-password" not in "\n".join(lines.values())

    env.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    env.setenv("SLACK_API_URL", f"http://127.0.0.1:{free_port()}/api/")  # nothing listens there
    env.setenv("MicrosoftAppPassword", "test-password")
    env.setenv("TO_CHANNEL_FROM_BOT_LOGIN_URL", f"https://127.0.0.1:{free_port()}/adfs")
    status, lines = await check(capsys)
    assert status == 1
    assert lines["SLACK_API_URL"] == "FAIL SLACK_API_URL: Slack does not answer (ClientConnectorError)"
    assert lines["TO_CHANNEL_FROM_BOT_LOGIN_URL"].startswith("FAIL TO_CHANNEL_FROM_BOT_LOGIN_URL: https://127.0.0.1:")


async def test_the_playground_alone_and_a_database_that_does_not_answer(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = await check(capsys)
    assert status == 0
    assert lines["serves"].startswith("ok serves: the playground (no platform configured")
    assert lines["Slack"] == "skipped Slack: not configured" and lines["Teams"] == "skipped Teams: not configured"

    env.setenv("RITME_DATABASE_URL", f"postgresql+asyncpg://ritme:hunter2@127.0.0.1:{free_port()}/ritme")
    status, lines = await check(capsys)
    assert status == 1
    assert lines["RITME_DATABASE_URL"].startswith("FAIL RITME_DATABASE_URL: the database does not answer")
    assert "hunter2" not in "\n".join(lines.values())  # the URL's password is never shown


async def test_a_database_behind_says_how_to_catch_up(
    env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from storage.db import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(upgrade, url, "0006")
    env.setenv("RITME_DATABASE_URL", url)
    status, lines = await check(capsys)
    assert status == 0  # serve applies them at start
    assert "migrations behind (0006; this version needs" in lines["database"]
    assert "ritme db upgrade" in lines["database"]


async def test_a_configuration_error_is_one_line_and_exit_2(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    env.setenv("RITME_SECRET_KEY", SECRET_KEY)
    status = await asyncio.to_thread(main, ["check"])
    out = capsys.readouterr().out.strip().splitlines()
    assert status == 2
    assert out == ["FAIL     SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN is set"]
