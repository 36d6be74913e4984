"""Open rounds on Slack: ``run`` on an open round, ``remind`` as direct messages, and the cards
that remember an answer (the form filled in again, the App Home's answered mark).

Payloads follow Slack's documented shapes: slash commands
(https://docs.slack.dev/interactivity/implementing-slash-commands), ``block_actions`` and
``view_submission`` (https://docs.slack.dev/reference/interaction-payloads), ``app_home_opened``
(https://docs.slack.dev/reference/events/app_home_opened)."""

from __future__ import annotations

import json
from typing import Any

from tests.adapters.slack.conftest import ADMIN, CHANNEL, MEMBER, TEAM, Harness
from tests.adapters.slack.test_slack_server import (
    add_and_run,
    button_payload,
    confirmation,
    open_modal,
    submission,
    texts,
)


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


def inputs_of(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


async def home(slack: Harness, user: str, event_id: str) -> str:
    await slack.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"}, event_id)
    return texts(slack.fake.called("views.publish")[-1].body["view"]["blocks"])


async def test_the_form_opens_with_the_earlier_answer_and_the_home_says_answered(slack: Harness) -> None:
    slack.fake.members[CHANNEL] = [ADMIN, MEMBER]
    occurrence_id, _posted = await add_and_run(slack, "checkout")
    view = await open_modal(slack, occurrence_id)
    assert "Answered ✓" not in texts(view["blocks"])
    fields = inputs_of(view)
    assert "initial_value" not in fields["in_takeaway"] and "initial_option" not in fields["in_score"]
    assert "*waiting for your answer*" in await home(slack, MEMBER, "EvH1")

    state = {
        "in_score": {"value": {"type": "radio_buttons", "selected_option": {"value": "4"}}},
        "in_takeaway": {"value": {"type": "plain_text_input", "value": "Clear goals"}},
    }
    saved = await (await slack.interact(submission(view, state))).json()
    assert confirmation(saved).endswith("\nAnswered ✓ · change")

    again = await open_modal(slack, occurrence_id)
    assert again["blocks"][0] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "Answered ✓ · change"}]}
    fields = inputs_of(again)
    assert fields["in_takeaway"]["initial_value"] == "Clear goals"
    assert fields["in_score"]["initial_option"]["value"] == "4"
    assert "submit" in again
    assert "Answered ✓ · change" in await home(slack, MEMBER, "EvH2")
    (button,) = home_buttons(slack)
    assert button["text"]["text"] == "#1 Answered ✓ · change" and button["value"] == str(occurrence_id)
    from_home = await open_from_home(slack, button)
    assert inputs_of(from_home)["in_takeaway"]["initial_value"] == "Clear goals"
    assert json.loads(from_home["private_metadata"])["c"] == CHANNEL  # the answer still belongs to the channel
    assert "*waiting for your answer*" in await home(slack, ADMIN, "EvH3")  # only who answered
    assert [b["text"]["text"] for b in home_buttons(slack)] == ["#1 Answer"]

    await slack.command("close #1", user=ADMIN)
    await open_modal_closed(slack, occurrence_id)


async def open_modal_closed(slack: Harness, occurrence_id: int) -> None:
    """After the close the form no longer opens: there is nothing left to change."""
    opened = len(slack.fake.called("views.open"))
    response = await slack.interact(button_payload(occurrence_id, "ritme_answer", str(occurrence_id)))
    assert response.status == 200
    assert len(slack.fake.called("views.open")) == opened
    said = slack.fake.called("chat.postEphemeral")[-1].body
    assert said["user"] == MEMBER and "closed" in said["text"]


async def test_an_anonymous_answer_is_marked_answered_and_never_read_back(slack: Harness) -> None:
    slack.fake.members[CHANNEL] = [ADMIN, MEMBER]
    occurrence_id, _posted = await add_and_run(slack, "pulse")
    view = await open_modal(slack, occurrence_id)
    state = {
        block: {"value": {"type": "radio_buttons", "selected_option": {"value": "2"}}}
        for block, element in inputs_of(view).items()
        if element["type"] == "radio_buttons"
    }
    saved = await (await slack.interact(submission(view, state))).json()
    assert confirmation(saved).endswith("\nAnswered ✓")

    again = await open_modal(slack, occurrence_id)
    assert not inputs_of(again) and "submit" not in again  # nothing to fill in, nothing prefilled
    assert texts(again["blocks"]) == "You have answered already. Anonymous answers cannot be changed.\nAnswered ✓"
    shown = await home(slack, MEMBER, "EvH4")
    assert "Answered ✓" in shown and "change" not in shown
    assert home_buttons(slack) == []  # nothing to open again


def home_buttons(slack: Harness) -> list[dict[str, Any]]:
    """The buttons of the App Home published last."""
    blocks = slack.fake.called("views.publish")[-1].body["view"]["blocks"]
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def open_from_home(slack: Harness, button: dict[str, Any]) -> dict[str, Any]:
    """A click on an App Home button: a ``block_actions`` from a view, with no channel
    (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload)."""
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "school"},
        "user": {"id": MEMBER, "username": "umember", "name": "umember", "team_id": TEAM},
        "api_app_id": "A1",
        "token": "x",
        "trigger_id": "trig.home",
        "container": {"type": "view", "view_id": "VHOME"},
        "view": {"id": "VHOME", "type": "home", "blocks": []},
        "actions": [
            {"type": "button", "action_id": button["action_id"], "block_id": "h", "value": button["value"],
             "action_ts": "1700000002.000200"}
        ],
    }  # fmt: skip
    response = await slack.interact(payload)
    assert response.status == 200
    opened = slack.fake.called("views.open")[-1].body
    assert opened["trigger_id"] == "trig.home"
    return dict(opened["view"])
