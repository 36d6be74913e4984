"""The Slack installation and OAuth state stores, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from slack_sdk.oauth.installation_store.models.installation import Installation as SlackInstallation
from sqlalchemy import text

from storage.repo import Repo
from storage.slack_store import SlackInstallationStore, SlackOAuthStateStore, token_cipher

KEY = "a-very-secret-key-for-the-tests-only"


def slack_installation(team: str = "T9", user: str = "U1", token: str = "xoxb-secret-1") -> SlackInstallation:
    return SlackInstallation(
        app_id="A1",
        team_id=team,
        team_name="School",
        bot_token=token,
        bot_id="B1",
        bot_user_id="UBOT",
        bot_scopes="commands,chat:write",
        user_id=user,
        bot_refresh_token="xoxe-refresh-1",
        bot_token_expires_in=3600,
    )


async def test_tokens_are_encrypted_at_rest_and_found_again(repo: Repo) -> None:
    store = SlackInstallationStore(repo, KEY)
    await store.async_save(slack_installation())
    async with repo.engine.connect() as conn:
        raw = " ".join(str(v) for v in (await conn.execute(text("SELECT * FROM installations"))).one())
    assert "xoxb-secret-1" not in raw and "xoxe-refresh-1" not in raw

    bot = await store.async_find_bot(enterprise_id=None, team_id="T9")
    assert bot is not None and (bot.bot_token, bot.bot_refresh_token, bot.bot_scopes) == (
        "xoxb-secret-1",
        "xoxe-refresh-1",
        ["commands", "chat:write"],
    )
    found = await store.async_find_installation(enterprise_id=None, team_id="T9")
    assert found is not None and found.user_id == "U1" and found.bot_token == "xoxb-secret-1"
    assert await store.async_find_installation(enterprise_id=None, team_id="T9", user_id="U2") is None
    assert await store.async_find_bot(enterprise_id=None, team_id="T8") is None
    assert token_cipher(KEY).decrypt(token_cipher(KEY).encrypt(b"x")) == b"x"
    assert await SlackInstallationStore(repo, "another key").async_find_bot(enterprise_id=None, team_id="T9") is None

    await store.async_save(slack_installation(user="U3", token="xoxb-secret-2"))  # installed again
    state = await store.async_workspace("T9")
    assert state is not None and (state.enabled, state.installer_user_id, state.bot_token) == (
        True,
        "U3",
        "xoxb-secret-2",
    )


async def test_delete_disables_and_wipes_the_token(repo: Repo) -> None:
    store = SlackInstallationStore(repo, KEY)
    await store.async_save(slack_installation())
    await store.async_delete_all(enterprise_id=None, team_id="T9")
    state = await store.async_workspace("T9")
    assert state is not None and not state.enabled and state.bot_token is None
    assert await store.async_find_bot(enterprise_id=None, team_id="T9") is None
    assert await store.async_find_installation(enterprise_id=None, team_id="T9") is None

    await store.async_disable("T7")  # the single-workspace token: a disabled row of its own
    assert (s7 := await store.async_workspace("T7")) is not None and not s7.enabled
    assert await store.async_enable("T7") is True
    assert await store.async_enable("T7") is False
    assert (s7 := await store.async_workspace("T7")) is not None and s7.enabled
    assert await store.async_workspace("T6") is None


async def test_an_oauth_state_is_consumed_once_and_only_in_time(repo: Repo) -> None:
    now = [datetime(2026, 3, 2, 8, 0, tzinfo=UTC)]
    one, two = (SlackOAuthStateStore(repo, expiration_seconds=600, clock=lambda: now[0]) for _ in range(2))
    state = await one.async_issue()
    assert len(state) >= 32
    results = await asyncio.gather(one.async_consume(state), two.async_consume(state))  # two replicas
    assert sorted(results) == [False, True]
    late = await one.async_issue()
    now[0] += timedelta(seconds=601)
    assert await two.async_consume(late) is False
    assert await two.async_consume("") is False
