"""Several workspaces through OAuth: install at /slack/install, a token per workspace kept
encrypted in our database, commands authorized by it, uninstall disables the workspace."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from sqlalchemy import select, text

from bot.server import REPO
from storage.models import Installation, Occurrence, OutboxMessage, Ritual, Team
from storage.slack_store import SlackInstallationStore
from tests.adapters.slack.conftest import CHANNEL, Ack, Harness
from tests.adapters.slack.test_slack_server import submission, texts
from tests.fakes.secret_key import SECRET_KEY
from tests.fakes.slack_api import CLIENT_ID

# slack_sdk sends the client credentials with aiohttp's BasicAuth, deprecated in aiohttp 3.14.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

SCHOOL = "T2"  # the workspace the fake installs into
INSTALLER = "UINSTALLER"
REDIRECT = "https://ritme.example.org/slack/oauth_redirect"


async def start_install(slack: Harness) -> tuple[str, str]:
    """``GET /slack/install``: (Slack's consent URL, the state cookie's value)."""
    response = await slack.client.get("/slack/install", allow_redirects=False)
    assert response.status == 302
    cookie = response.cookies["slack-app-oauth-state"]
    return response.headers["Location"], cookie.value


async def consent(url: str) -> str:
    """The browser at Slack's consent page: returns where Slack sends it back to."""
    async with aiohttp.ClientSession() as browser, browser.get(url, allow_redirects=False) as response:
        assert response.status == 302
        return response.headers["Location"]


async def come_back(slack: Harness, location: str, cookie: str | None) -> Any:
    """The browser back at our redirect URL (on the test server instead of the public host)."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT
    headers = {"Cookie": f"slack-app-oauth-state={cookie}"} if cookie else {}
    response = await slack.client.get(f"{parts.path}?{parts.query}", headers=headers, allow_redirects=False)
    await response.read()
    return response


async def install(slack: Harness) -> Any:
    url, state = await start_install(slack)
    return await come_back(slack, await consent(url), state)


async def installation(slack: Harness, workspace: str = SCHOOL) -> Installation | None:
    async with slack.app[REPO].session() as s:
        return await s.scalar(select(Installation).where(Installation.workspace_id == workspace))


async def test_install_stores_an_encrypted_token_that_commands_then_use(slack_oauth: Harness) -> None:
    slack = slack_oauth
    url, state = await start_install(slack)
    consent_url = urlsplit(url)
    assert (
        f"{consent_url.scheme}://{consent_url.netloc}" == slack.fake.url and consent_url.path == "/oauth/v2/authorize"
    )
    query = parse_qs(consent_url.query)
    assert query["client_id"] == [CLIENT_ID] and query["state"] == [state] and query["redirect_uri"] == [REDIRECT]
    assert {"commands", "chat:write", "im:write", "users:read"} <= set(query["scope"][0].split(","))

    done = await come_back(slack, await consent(url), state)
    assert done.status == 200
    exchange = slack.fake.called("oauth.v2.access")
    assert len(exchange) == 1 and exchange[0].body["redirect_uri"] == REDIRECT
    token = next(t for t, team in slack.fake.tokens.items() if team == SCHOOL)

    row = await installation(slack)
    assert row is not None and row.enabled and row.installer_user_id == INSTALLER and row.name == "Second School"
    async with slack.app[REPO].engine.connect() as conn:
        raw = (
            await conn.execute(text("SELECT data FROM installations WHERE workspace_id = :w"), {"w": SCHOOL})
        ).scalar_one()
    assert token not in str(raw) and "xoxb-" not in str(raw)
    store = SlackInstallationStore(slack.app[REPO], SECRET_KEY)
    bot = await store.async_find_bot(enterprise_id=None, team_id=SCHOOL)
    assert bot is not None and bot.bot_token == token
    assert (
        await SlackInstallationStore(slack.app[REPO], "another secret").async_find_bot(
            enterprise_id=None, team_id=SCHOOL
        )
        is None
    )

    # The installer is admin of the workspace's teams; the command runs with the new token.
    added = await slack.command("add reflection every monday at 09:00 team", user=INSTALLER, team_id=SCHOOL)
    assert "added" in texts(added["blocks"]), added
    lookups = [c for c in slack.fake.called("users.info") if c.body["user"] == INSTALLER]
    assert lookups and all(c.token == token for c in lookups)
    refused = await slack.command("add pulse every friday at 15:00", user="UOTHER", team_id=SCHOOL)
    assert "Only an admin" in texts(refused["blocks"])

    await slack.command("run #1", user=INSTALLER, team_id=SCHOOL)
    await slack.dispatch()
    posted = slack.fake.called("chat.postMessage")
    assert len(posted) == 1 and posted[0].token == token


async def test_the_state_must_come_back_once_with_its_browser(slack_oauth: Harness) -> None:
    slack = slack_oauth
    url, state = await start_install(slack)
    location = await consent(url)
    assert (await come_back(slack, location, None)).status == 400  # another browser: no cookie
    forged = location.replace(f"state={state}", "state=forged")
    assert (await come_back(slack, forged, "forged")).status == 401  # a state we never issued
    assert await installation(slack) is None

    assert (await come_back(slack, location, state)).status == 200
    url2, state2 = await start_install(slack)
    again = (await consent(url2)).replace(f"state={state2}", f"state={state}")
    assert (await come_back(slack, again, state)).status == 401  # a state is used once
    assert len(slack.fake.called("oauth.v2.access")) == 1


async def test_a_workspace_that_never_installed_is_refused(slack_oauth: Harness) -> None:
    answer = await slack_oauth.command("add reflection every monday at 09:00 team", user="USOMEONE", team_id="TNEVER")
    assert "no longer available" in answer["text"]  # bolt's own answer when it finds no installation
    assert await slack_oauth.count(Ritual) == 0


async def test_uninstall_disables_the_workspace_and_nothing_more_is_sent(slack_oauth: Harness) -> None:
    slack = slack_oauth
    assert (await install(slack)).status == 200
    await slack.command("add reflection every monday at 09:00 team", user=INSTALLER, team_id=SCHOOL)
    await slack.command("run #1", user=INSTALLER, team_id=SCHOOL)  # queued, not yet delivered

    assert (await slack.event({"type": "app_uninstalled"}, "EvU1", team=SCHOOL)).status == 200
    row = await installation(slack)
    assert row is not None and not row.enabled and row.data["bot_token"] is None
    await slack.dispatch()
    assert slack.fake.called("chat.postMessage") == []
    async with slack.app[REPO].session() as s:
        outbox = (await s.scalars(select(OutboxMessage))).all()
        assert [(m.status, m.last_error) for m in outbox] == [("failed", "not_installed")]
        assert (await s.scalar(select(Ritual.paused))) is True
        assert (await s.scalar(select(Team.active))) is False

    # Installed again: the workspace is back, its rituals wait for an admin to resume them.
    slack.fake.installing = (SCHOOL, "Second School", "UNEWADMIN")
    assert (await install(slack)).status == 200
    row = await installation(slack)
    assert row is not None and row.enabled and row.installer_user_id == "UNEWADMIN"
    async with slack.app[REPO].session() as s:
        assert (await s.scalar(select(Team.active))) is True
        assert (await s.scalar(select(Ritual.paused))) is True
    resumed = await slack.command("resume #1", user="UNEWADMIN", team_id=SCHOOL)
    assert "resumed" in texts(resumed["blocks"])


async def test_tokens_revoked_for_users_only_changes_nothing(slack_oauth: Harness) -> None:
    slack = slack_oauth
    await install(slack)
    await slack.event({"type": "tokens_revoked", "tokens": {"oauth": ["U1"], "bot": []}}, "EvR1", team=SCHOOL)
    assert (row := await installation(slack)) is not None and row.enabled
    await slack.event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["BBOT"]}}, "EvR2", team=SCHOOL)
    assert (row := await installation(slack)) is not None and not row.enabled


async def test_an_answer_form_counts_only_from_a_workspace_where_ritme_is_installed(slack_oauth_both: Harness) -> None:
    """Over HTTP the answer form skips bolt's dispatch, not its question: with OAuth, an
    answer from a workspace without an enabled installation is refused and nothing is kept,
    over HTTP and over Socket Mode alike (the same ``Guards``)."""
    slack = slack_oauth_both
    assert (await install(slack)).status == 200
    await slack.command("add reflection every monday at 09:00 team", user=INSTALLER, team_id=SCHOOL)
    await slack.command("run #1", user=INSTALLER, team_id=SCHOOL)
    async with slack.app[REPO].session() as s:
        occurrence_id = await s.scalar(select(Occurrence.id))
    view = {
        "type": "modal",
        "callback_id": "ritme_answer_modal",
        "title": {"type": "plain_text", "text": "#1"},
        "private_metadata": json.dumps({"o": occurrence_id, "c": CHANNEL, "l": "en"}),
        "blocks": [
            {
                "type": "input",
                "block_id": "in_answer",
                "label": {"type": "plain_text", "text": "Q"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }

    async def answer(team: str, text: str) -> Any:
        payload = submission(
            view, {"in_answer": {"value": {"type": "plain_text_input", "value": text}}}, user=INSTALLER
        )
        payload["team"] = {"id": team, "domain": "school"}
        payload["user"]["team_id"] = team
        return await slack.submit(payload)

    assert await answer("TNEVER", "from elsewhere") == Ack(
        status=401, body={"error": "not installed"}, text='{"error": "not installed"}'
    )
    assert await slack.replies() == []
    ok = await answer(SCHOOL, "from school")
    assert ok.status == 200 and ok.body is not None and ok.body["response_action"] == "update"
    assert await slack.replies() == [{"answer": "from school"}]
    assert (await slack.event({"type": "app_uninstalled"}, "EvU9", team=SCHOOL)).status == 200
    assert (await answer(SCHOOL, "after the uninstall")).status == 401
    assert await slack.replies() == [{"answer": "from school"}]
