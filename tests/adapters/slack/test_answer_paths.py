"""The answer form's checks are the same over HTTP and over Socket Mode.

Over HTTP the form is answered without bolt's dispatch, after ``Guards.check``; over Socket
Mode it goes through bolt, where the same ``Guards`` run as middleware. Every test here runs
once for each path (``slack_both``, ``Harness.submit``) with the same assertions, so a check
that one path makes and the other does not fails one of them. Payloads follow Slack's
``view_submission`` shape (https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from bot.server import REPO
from storage.models import Member, Team
from tests.adapters.slack.conftest import CHANNEL, Ack, Harness
from tests.adapters.slack.test_slack_server import (
    add_and_run,
    confirmation,
    open_modal,
    submission,
    texts,
)


def answered(view: dict[str, Any], text: str) -> dict[str, Any]:
    block = next(b["block_id"] for b in view["blocks"] if b["type"] == "input")
    return submission(view, {block: {"value": {"type": "plain_text_input", "value": text}}})


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p["user"].update(id=5), "payload.user has an id that is not a string"),
        (lambda p: p.update(team={"id": ""}, user={**p["user"], "team_id": None}), "payload.team.id is missing"),
        (
            lambda p: p["view"].update(state={"values": {"in_answer": ["not", "an", "object"]}}),
            "payload.view has the wrong shape",
        ),
        (lambda p: p["view"].update(private_metadata={"o": 1}), "payload.view has the wrong shape"),
    ],
)
async def test_a_form_of_the_wrong_shape_is_refused_and_changes_nothing(
    slack_both: Harness, change: Any, reason: str
) -> None:
    slack = slack_both
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    payload = answered(await open_modal(slack, occurrence_id), "kept?")
    change(payload)
    members = await slack.count(Member)
    assert await slack.submit(payload) == Ack(status=400, text=reason)
    assert await slack.replies() == []
    assert await slack.count(Member) == members


async def test_an_id_beyond_the_database_is_a_question_that_no_longer_exists(slack_both: Harness) -> None:
    slack = slack_both
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    view = await open_modal(slack, occurrence_id)
    forged = {**view, "private_metadata": json.dumps({"o": 10**30, "c": CHANNEL})}
    ack = await slack.submit(answered(forged, "x"))
    assert ack.status == 200 and ack.body is not None
    assert texts(ack.body["view"]["blocks"]) == "That question no longer exists."
    assert await slack.replies() == []


async def test_a_retry_is_dropped_but_a_new_submission_is_not(slack_both: Harness) -> None:
    """A retry (Slack's retry number) of a handled form is acked empty; the same form sent
    again as a first attempt is a new submission: it replaces the answer."""
    slack = slack_both
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    view = await open_modal(slack, occurrence_id)
    first = await slack.submit(answered(view, "first"))
    assert first.body is not None and confirmation(first.body).startswith("Answer saved.")
    assert await slack.submit(answered(view, "first"), retry=2) == Ack(status=200)
    changed = await slack.submit(answered(view, "changed"))
    assert changed.body is not None and confirmation(changed.body).startswith("Answer saved.")
    assert await slack.replies() == [{"answer": "changed"}]


async def test_a_form_from_a_workspace_that_removed_ritme_brings_it_back(slack_both: Harness) -> None:
    """With a configured token, Ritme removed and added again shows itself only by requests
    arriving again: the answer form is one of them, whichever way it comes."""
    slack = slack_both
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    view = await open_modal(slack, occurrence_id)
    await slack.event({"type": "app_uninstalled"}, "EvGone")
    async with slack.app[REPO].session() as s:
        assert (await s.scalar(select(Team.active))) is False
    ack = await slack.submit(answered(view, "still here"))
    assert ack.status == 200
    async with slack.app[REPO].session() as s:
        assert (await s.scalar(select(Team.active))) is True
