"""A signed Slack request is answered once: the same request sent again within its five
minutes (same body, same ``X-Slack-Signature`` and ``X-Slack-Request-Timestamp``) gets 401
and changes nothing. Slack signs each request it sends, retries included, with a signature
of its own ("Verifying requests from Slack",
https://api.slack.com/authentication/verifying-requests-from-slack), so only a copy repeats
one. Payload shapes: slash commands https://api.slack.com/interactivity/slash-commands,
``view_submission`` https://api.slack.com/reference/interaction-payloads/views.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

import pytest

from adapters.slack.replays import MARGIN, WINDOW, SeenSignatures
from tests.adapters.slack.conftest import ADMIN, CHANNEL, MEMBER, TEAM, Harness, sign
from tests.adapters.slack.test_slack_server import add_and_run, confirmation, open_modal, submission

FORM = "application/x-www-form-urlencoded"


def command_form(slack: Harness, text: str, user: str = ADMIN) -> str:
    return urlencode(
        {
            "token": "x",
            "team_id": TEAM,
            "team_domain": "school",
            "channel_id": CHANNEL,
            "channel_name": "team-a",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/ritme",
            "text": text,
            "response_url": slack.fake.response_url(),
            "trigger_id": "trig.replayed",
        }
    )


async def send_as_is(slack: Harness, body: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    """POST exactly these bytes and headers; (status, response headers) once the work is done."""
    response = await slack.client.post("/slack/events", data=body.encode(), headers={"Content-Type": FORM, **headers})
    await response.read()
    await slack.adapter.drain()
    return response.status, dict(response.headers)


async def test_a_replayed_slash_command_is_refused_and_runs_once(slack: Harness) -> None:
    body = command_form(slack, "add reflection every monday at 09:00 team")
    headers = sign(body)
    assert (await send_as_is(slack, body, headers))[0] == 200
    assert len(slack.fake.called("response_url")) == 1
    status, answer_headers = await send_as_is(slack, body, headers)
    assert status == 401
    assert answer_headers.get("X-Slack-No-Retry") == "1"
    assert len(slack.fake.called("response_url")) == 1  # one reply, one ritual
    listing = await slack.command("list")
    assert "#1" in json.dumps(listing) and "#2" not in json.dumps(listing)


async def test_copies_arriving_together_run_once(slack: Harness) -> None:
    body = command_form(slack, "add checkout every weekday at 16:30 team")
    headers = sign(body)
    statuses = sorted(s for s, _h in await asyncio.gather(*(send_as_is(slack, body, headers) for _ in range(3))))
    assert statuses == [200, 401, 401]
    assert len(slack.fake.called("response_url")) == 1


async def test_a_replayed_answer_cannot_take_back_a_changed_one(slack: Harness) -> None:
    """The member answers, then changes the answer; the first submission sent again would put
    the old answer back. It is refused, and the stored answer is the changed one."""
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    view = await open_modal(slack, occurrence_id)
    block = next(b["block_id"] for b in view["blocks"] if b["type"] == "input")

    def form(text: str) -> str:
        filled = submission(view, {block: {"value": {"type": "plain_text_input", "value": text}}})
        return urlencode({"payload": json.dumps(filled)})

    first = form("We read aloud")
    first_headers = sign(first)
    response = await slack.client.post(
        "/slack/events", data=first.encode(), headers={"Content-Type": FORM, **first_headers}
    )
    assert confirmation(await response.json()).startswith("Answer saved")
    changed = form("We read aloud, in pairs")
    later = int(first_headers["X-Slack-Request-Timestamp"]) + 1
    assert (await send_as_is(slack, changed, sign(changed, later)))[0] == 200
    assert await slack.replies() == [{"answer": "We read aloud, in pairs"}]

    assert (await send_as_is(slack, first, first_headers))[0] == 401
    assert await slack.replies() == [{"answer": "We read aloud, in pairs"}]


async def test_a_slack_retry_is_signed_anew_and_still_acked_once(slack: Harness) -> None:
    """Slack's retry (``X-Slack-Retry-Num``) carries a new timestamp and signature: it is no
    replay; the de-duplication acks it and runs nothing twice."""
    body = command_form(slack, "add pulse every friday at 15:00", user=ADMIN)
    headers = sign(body)
    assert (await send_as_is(slack, body, headers))[0] == 200
    retry = {
        **sign(body, int(headers["X-Slack-Request-Timestamp"]) + 3),
        "X-Slack-Retry-Num": "1",
        "X-Slack-Retry-Reason": "http_timeout",
    }
    assert (await send_as_is(slack, body, retry))[0] == 200
    assert len(slack.fake.called("response_url")) == 1


async def test_a_replay_is_refused_whoever_sends_it(slack: Harness) -> None:
    """The replay of a member's request, with a retry header added (headers are not signed):
    still refused, not acked as a retry."""
    body = command_form(slack, "pairs skip", user=MEMBER)
    headers = sign(body)
    assert (await send_as_is(slack, body, headers))[0] == 200
    assert (await send_as_is(slack, body, {**headers, "X-Slack-Retry-Num": "1"}))[0] == 401
    assert len(slack.fake.called("response_url")) == 1


# -- the record ------------------------------------------------------------------------


def test_the_record_forgets_a_signature_once_its_timestamp_is_stale() -> None:
    seen = SeenSignatures(100)
    signed_at = 1_800_000_000
    assert seen.first("v0=aa", signed_at, now=signed_at)
    assert not seen.first("v0=aa", signed_at, now=signed_at + WINDOW)  # the verifier still takes it
    assert not seen.first("v0=aa", signed_at, now=signed_at + WINDOW + MARGIN)
    assert seen.first("v0=bb", signed_at + WINDOW + MARGIN + 1, now=signed_at + WINDOW + MARGIN + 1)
    assert len(seen) == 1  # the first second was swept: the verifier refuses its timestamp as stale by now
    assert seen.first("v0=aa", signed_at, now=signed_at + WINDOW + MARGIN + 1)


def test_the_same_signature_at_another_time_is_another_request() -> None:
    seen = SeenSignatures(100)
    assert seen.first("v0=aa", 1000, now=1000)
    assert seen.first("v0=aa", 1001, now=1001)
    assert not seen.first("v0=aa", 1001, now=1002)


def test_the_record_is_bounded_and_lets_the_oldest_go_first(caplog: pytest.LogCaptureFixture) -> None:
    seen = SeenSignatures(4)
    for second in range(1000, 1004):
        assert seen.first(f"v0={second}", second, now=1004)
    assert seen.first("v0=new", 1004, now=1004)  # over the bound: the oldest second goes
    assert len(seen) == 4
    assert seen.first("v0=1000", 1000, now=1004)  # forgotten: it would pass (and is recorded again)
    assert not seen.first("v0=1003", 1003, now=1004)  # the newer ones are kept
    assert "no longer recognised" in caplog.text
