"""Signed activities of a shape Teams never sends: refused with a short 4xx at the edge,
before the SDK's turn runs, so nothing is written, nothing is sent and nothing is logged as
an error."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.server import REPO
from storage.models import Base
from tests.adapters.teams.conftest import BOT_ID, PEOPLE, Teams

ADD = "add checkout every monday at 09:00 team"


def without(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda activity: activity.pop(key)


def setting(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda activity: activity.__setitem__(key, value)


def channel_data(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda activity: activity["channelData"].__setitem__(key, value)


# (activity type, extra fields, how it is broken)
CASES: dict[str, tuple[str, dict[str, Any], Callable[[dict[str, Any]], None]]] = {
    "no conversation": ("message", {"text": ADD}, without("conversation")),
    "conversation without id": ("message", {"text": ADD}, setting("conversation", {"conversationType": "channel"})),
    "conversation id a number": ("message", {"text": ADD}, setting("conversation", {"id": 19})),
    "channelData a string": ("conversationUpdate", {"membersAdded": [PEOPLE["bram"]]}, setting("channelData", "x")),
    "channelData a string, message": ("message", {"text": ADD}, setting("channelData", "x")),
    "channelData.team a string": ("message", {"text": ADD}, channel_data("team", "x")),
    "channelData.tenant a list": ("message", {"text": ADD}, channel_data("tenant", ["x"])),
    "membersAdded [null]": ("conversationUpdate", {}, setting("membersAdded", [None])),
    "membersAdded without ids": ("conversationUpdate", {}, setting("membersAdded", [{"name": "Bram"}])),
    "membersRemoved a string": ("conversationUpdate", {}, setting("membersRemoved", "29:bram")),
    "from {}": ("message", {"text": ADD}, setting("from", {})),
    "from without id, answering": (
        "message",
        {"value": {"ritme": "answer", "occurrence_id": 1}},
        setting("from", {"name": "Anna"}),
    ),
    "no from": ("message", {"text": ADD}, without("from")),
    "no recipient": ("message", {"text": ADD}, without("recipient")),
    "no serviceUrl": ("message", {"text": ADD}, without("serviceUrl")),
    "serviceUrl not a url": ("message", {"text": ADD}, setting("serviceUrl", "ftp://connector")),
    "text a number": ("message", {}, setting("text", 7)),
    "entities [null]": ("message", {"text": ADD}, setting("entities", [None])),
    "a mention without mentioned": ("message", {"text": ADD}, setting("entities", [{"type": "mention", "text": "x"}])),
    "attachments an object": ("message", {"text": ADD}, setting("attachments", {"contentType": "text/calendar"})),
}


async def everything(teams: Teams) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    async with teams.app[REPO].session() as s:
        return {
            t.name: sorted(map(tuple, (await s.execute(select(t))).all()), key=repr)
            for t in Base.metadata.sorted_tables
        }


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_malformed_activity_gets_400_and_changes_nothing(
    teams: Teams,
    case: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await teams.install("anna") == 201
    before, sent = await everything(teams), len(teams.fake.sent)
    kind, extra, breaking = CASES[case]
    activity = teams.activity(kind, "anna", **extra)
    breaking(activity)
    caplog.clear()
    signed = teams.fake.sign(service_url=activity.get("serviceUrl"))  # the token names the activity's connector
    with caplog.at_level(logging.INFO):
        resp = await teams.client.post("/api/messages", json=activity, headers={"Authorization": signed})
    assert resp.status == 400, await resp.text()
    assert len(await resp.read()) < 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert teams.fake.sent[sent:] == []
    assert await everything(teams) == before


async def test_without_a_token_a_malformed_activity_is_still_401(teams: Teams) -> None:
    activity = teams.activity("message", text=ADD)
    del activity["conversation"]
    assert await teams.post(activity, token=None) == 401


async def test_the_shapes_teams_sends_still_pass(teams: Teams) -> None:
    """Optional parts missing or null are fine: a personal chat has no team, a member no name."""
    assert await teams.install("anna") == 201
    personal = teams.activity(
        "message",
        "bram",
        conversation="a:1on1-bram",
        conversation_type="personal",
        text="help",
        channelData={"tenant": {"id": "tenant-1"}},
        entities=None,
        attachments=[],
        replyToId=None,
    )
    personal["from"] = {"id": "29:bram", "aadObjectId": "aad-bram"}
    before = len(teams.fake.sent)
    assert await teams.post(personal) == 201
    assert len(teams.fake.sent[before:]) == 1
    joined = teams.activity("conversationUpdate", "anna", membersAdded=[{"id": "29:chris"}], channelData=None)
    assert await teams.post(joined) == 201
    left = teams.activity("conversationUpdate", "anna", membersRemoved=[{"id": BOT_ID}])
    assert await teams.post(left) == 201


@pytest.mark.parametrize(
    "value", ["x", 7, ["x"], {"action": "x"}, {"action": {"type": "Action.Submit"}}, {"unexpected": 1}]
)
async def test_a_malformed_card_action_gets_a_short_4xx(
    teams: Teams,
    value: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await teams.install("anna") == 201
    before, sent = await everything(teams), len(teams.fake.sent)
    activity = teams.activity("invoke", "chris", name="adaptiveCard/action", value=value)
    caplog.clear()
    resp = await teams.client.post("/api/messages", json=activity, headers={"Authorization": teams.fake.sign()})
    assert 400 <= resp.status < 500, resp.status
    body = await resp.read()
    assert len(body) < 300, body
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert teams.fake.sent[sent:] == []
    assert await everything(teams) == before
