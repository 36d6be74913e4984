"""Open rounds on Slack: ``run`` on an open round, ``remind`` as direct messages, and the cards
that remember an answer (the form filled in again, the App Home's answered mark).

Payloads follow Slack's documented shapes: slash commands
(https://docs.slack.dev/interactivity/implementing-slash-commands), ``block_actions`` and
``view_submission`` (https://docs.slack.dev/reference/interaction-payloads), ``app_home_opened``
(https://docs.slack.dev/reference/events/app_home_opened)."""

from __future__ import annotations

from tests.adapters.slack.conftest import ADMIN, CHANNEL, MEMBER, Harness
from tests.adapters.slack.test_slack_server import add_and_run, texts


async def test_run_on_an_open_round_and_remind_by_direct_message(slack: Harness) -> None:
    slack.fake.members[CHANNEL] = [ADMIN, MEMBER, "UOTHER"]
    await add_and_run(slack, "reflection")
    again = await slack.command("run #1", user=ADMIN)
    assert "Ritual #1 is still open" in texts(again["blocks"])
    assert "/ritme remind #1" in texts(again["blocks"])
    assert await slack.dispatch() == 0  # no second prompt

    opened = len(slack.fake.called("conversations.open"))
    reminded = await slack.command("remind #1", user=ADMIN)
    assert "Not answered #1 yet: 3." in texts(reminded["blocks"])
    await slack.dispatch()
    dms = slack.fake.called("conversations.open")[opened:]
    assert sorted(call.body["users"] for call in dms) == sorted([ADMIN, MEMBER, "UOTHER"])
    posts = [c.body for c in slack.fake.called("chat.postMessage") if c.body["text"].startswith("Reminder:")]
    assert len(posts) == 3 and all(p["channel"] != CHANNEL for p in posts)
    assert "This round closes soon" in texts(posts[0]["blocks"])
