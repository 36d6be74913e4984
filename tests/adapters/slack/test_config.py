"""Which Slack credentials go together: a bot token or OAuth, never both; Socket Mode."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings
from tests.fakes.secret_key import SECRET_KEY

BASE = {"RITME_SECRET_KEY": SECRET_KEY}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("given", "variable"),
    [
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "SLACK_CLIENT_ID": "1.2",
                "SLACK_CLIENT_SECRET": "c",
            },
            "SLACK_BOT_TOKEN",
        ),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_SIGNING_SECRET": "s"}, "SLACK_CLIENT_SECRET"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_APP_TOKEN"),
        ({"SLACK_APP_TOKEN": "xoxb-not-an-app-token", "SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
    ],
)
def test_wrong_combinations_name_the_variable(given: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(**BASE, **given)
    assert str(err.value).startswith(variable + ":")


def test_serve_refuses_a_bot_token_next_to_oauth(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {
        "RITME_SECRET_KEY": SECRET_KEY,
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_CLIENT_ID": "1.2",
        "SLACK_CLIENT_SECRET": "c",
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["serve"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "SLACK_BOT_TOKEN" in lines[0]


def test_good_combinations() -> None:
    oauth = load_settings(**BASE, SLACK_CLIENT_ID="1.2", SLACK_CLIENT_SECRET="c", SLACK_SIGNING_SECRET="s")
    assert oauth.slack_enabled and oauth.slack_bot_token is None
    socket = load_settings(**BASE, SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1-A")  # no signing secret needed
    assert socket.slack_enabled and not socket.playground_enabled
