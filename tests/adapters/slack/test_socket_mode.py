"""Socket Mode: bolt's aiohttp handler connects to the WebSocket URL from
``apps.connections.open``; a slash command arrives as an envelope, is acked and answered."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from bot.server import REPO
from storage.models import Ritual
from tests.adapters.slack.conftest import ADMIN, CHANNEL, TEAM, Harness, harness, sign
from tests.adapters.slack.test_slack_server import (
    FORM,
    add_and_run,
    confirmation,
    open_modal,
    submission,
    texts,
)
from tests.fakes.slack_api import APP_TOKEN


def command(text: str, user: str, response_url: str) -> dict[str, str]:
    return {
        "token": "x",
        "team_id": TEAM,
        "team_domain": "school",
        "channel_id": CHANNEL,
        "channel_name": "team-a",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/ritme",
        "text": text,
        "response_url": response_url,
        "trigger_id": "trig.s",
        "api_app_id": "A1",
    }


async def test_a_slash_command_over_socket_mode_is_acked_and_answered(slack_socket: Harness) -> None:
    slack = slack_socket
    async with asyncio.timeout(10):
        await slack.fake.wait_connected()
    opened = slack.fake.called("apps.connections.open")
    assert opened and opened[0].token == APP_TOKEN

    envelope = await slack.fake.push(
        "slash_commands", command("add reflection every monday at 09:00 team", ADMIN, slack.fake.response_url("s1"))
    )
    async with asyncio.timeout(10):
        ack = await slack.fake.wait_ack(envelope)
    assert ack["envelope_id"] == envelope
    await slack.adapter.drain()
    answers = slack.fake.called("response_url")
    assert len(answers) == 1 and "added" in texts(answers[0].body["blocks"])
    async with slack.app[REPO].session() as s:
        assert (await s.scalar(select(Ritual.kind))) == "reflection"

    envelope = await slack.fake.push("slash_commands", command("list", "UMEMBER", slack.fake.response_url("s2")))
    async with asyncio.timeout(10):
        await slack.fake.wait_ack(envelope)
    await slack.adapter.drain()
    assert "#1" in texts(slack.fake.called("response_url")[-1].body["blocks"])


async def test_an_answer_form_over_socket_mode_is_stored_and_confirmed_in_the_ack(slack_socket: Harness) -> None:
    """Over HTTP the form skips bolt's dispatch; over Socket Mode it goes through bolt's
    listener, to the same answer and the same confirmation."""
    slack = slack_socket
    async with asyncio.timeout(10):
        await slack.fake.wait_connected()
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    view = await open_modal(slack, occurrence_id)
    envelope = await slack.fake.push(
        "interactive",
        submission(view, {"in_answer": {"value": {"type": "plain_text_input", "value": "Over the socket"}}}),
    )
    async with asyncio.timeout(10):
        ack = await slack.fake.wait_ack(envelope)
    assert (
        confirmation(ack["payload"]) == "Answer saved. You can change it until the round closes.\nAnswered ✓ · change"
    )
    assert await slack.replies() == [{"answer": "Over the socket"}]


async def test_http_still_needs_a_signature_in_socket_mode(slack_socket: Harness) -> None:
    body = urlencode(
        {
            "team_id": TEAM,
            "channel_id": CHANNEL,
            "user_id": ADMIN,
            "command": "/ritme",
            "text": "add reflection every monday at 09:00 team",
            "response_url": slack_socket.fake.response_url(),
        }
    )
    response = await slack_socket.post(
        body, FORM, signed=False, headers={"X-Slack-Request-Timestamp": str(int(time.time()))}
    )
    assert response.status == 401
    assert await slack_socket.count(Ritual) == 0


async def test_without_a_signing_secret_no_http_request_verifies(tmp_path: Any) -> None:
    async with harness(
        tmp_path, SLACK_BOT_TOKEN="xoxb-test", SLACK_APP_TOKEN=APP_TOKEN, SLACK_SIGNING_SECRET=""
    ) as slack:
        body = urlencode(
            {
                "team_id": TEAM,
                "channel_id": CHANNEL,
                "user_id": ADMIN,
                "command": "/ritme",
                "text": "add reflection every monday at 09:00 team",
                "response_url": slack.fake.response_url(),
            }
        )
        response = await slack.post(body, FORM, signed=False, headers=sign(body, secret=""))
        assert response.status == 401
        assert await slack.count(Ritual) == 0
