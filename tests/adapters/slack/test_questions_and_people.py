"""What the channel sees of a prompt, where the form shows a refusal, how people are named,
and requests that do not say who sent them: signed requests into the real server, Web API
calls out to the fake."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from bot.server import REPO
from storage.models import Member, RoleGrant, Team
from tests.adapters.slack.conftest import ADMIN, CHANNEL, MEMBER, TEAM, Harness
from tests.adapters.slack.test_slack_server import (
    FORM,
    add_and_run,
    button_payload,
    confirmation,
    open_modal,
    submission,
    texts,
)


def labels(view: dict[str, Any]) -> dict[str, str]:
    """The form's inputs: block id → question."""
    return {b["block_id"]: b["label"]["text"] for b in view["blocks"] if b["type"] == "input"}


def typed(text: str | None) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": text}}


async def reflection_with_an_action(slack: Harness) -> tuple[int, dict[str, Any]]:
    """A reflection whose team agreed an action last time: its round asks how it went."""
    await slack.command("add reflection every monday at 09:00 team", user=ADMIN)
    await slack.command("action add #1 We read aloud every morning", user=ADMIN)
    await slack.command("run #1", user=ADMIN)
    await slack.dispatch()
    posted = slack.fake.called("chat.postMessage")[-1].body
    occurrence_id = int(next(e["value"] for b in posted["blocks"] if b["type"] == "actions" for e in b["elements"]))
    return occurrence_id, posted


# -- the posted prompt shows its questions ----------------------------------------------


async def test_the_posted_reflection_and_goal_show_the_question_a_thread_reply_answers(slack: Harness) -> None:
    for kind in ("reflection", "goal"):
        occurrence_id, posted = await add_and_run(slack, kind)
        question = labels(await open_modal(slack, occurrence_id))["in_answer"]
        kinds = [b["type"] for b in posted["blocks"]]
        shown = [b for b in posted["blocks"] if b["type"] == "section" and b["text"]["text"] == f"*{question}*"]
        assert len(shown) == 1, (kind, texts(posted["blocks"]))
        assert posted["blocks"].index(shown[0]) < kinds.index("actions")  # asked above the answer button
        assert "thread" in texts(posted["blocks"])


async def test_the_posted_prompt_asks_how_the_agreed_action_went(slack: Harness) -> None:
    occurrence_id, posted = await reflection_with_an_action(slack)
    asked = labels(await open_modal(slack, occurrence_id))
    shown = texts(posted["blocks"])
    assert asked["in_answer"] in shown
    assert "Last time we agreed: \u201cWe read aloud every morning\u201d. How did it go?" in shown
    assert shown.index(asked["in_answer"]) < shown.index("Last time we agreed")


# -- refusals in the form --------------------------------------------------------------


async def test_a_required_answer_left_empty_is_refused_under_its_own_input(slack: Harness) -> None:
    occurrence_id, _posted = await reflection_with_an_action(slack)
    view = await open_modal(slack, occurrence_id)
    assert list(labels(view)) == ["in_action_followup", "in_answer"]  # the optional follow-up comes first
    for state in (
        {},
        {"in_answer": typed(None)},
        {"in_answer": typed("  \n ")},
        {"in_action_followup": typed("It went well"), "in_answer": typed(" ")},
    ):
        refused = await (await slack.interact(submission(view, state))).json()
        assert refused["response_action"] == "errors", state
        assert list(refused["errors"]) == ["in_answer"], state
        assert refused["errors"]["in_answer"].startswith("Please answer:")
    assert await slack.replies() == []


async def test_a_closed_round_replaces_the_form_with_a_view_that_says_so(slack: Harness) -> None:
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    view = await open_modal(slack, occurrence_id)
    await slack.command("close #1", user=ADMIN)
    answer = await (await slack.interact(submission(view, {"in_answer": typed("Too late")}))).json()
    assert answer["response_action"] == "update"
    assert texts(answer["view"]["blocks"]) == "This round has closed; answers are no longer taken."
    assert answer["view"]["title"] == view["title"] and "submit" not in answer["view"]
    assert await slack.replies() == []


async def test_a_dutch_team_s_form_confirms_in_dutch_even_from_a_form_opened_before_metadata_said_so(
    slack: Harness,
) -> None:
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    await slack.command("language nl", user=ADMIN)
    view = await open_modal(slack, occurrence_id)
    assert json.loads(view["private_metadata"])["l"] == "nl"
    saved = await (await slack.interact(submission(view, {"in_answer": typed("Samen lezen")}))).json()
    assert (
        confirmation(saved) == "Antwoord opgeslagen. Je kunt het wijzigen tot de ronde sluit.\nBeantwoord ✓ · wijzigen"
    )
    assert saved["view"]["close"]["text"] == "Sluiten"
    older = {**view, "private_metadata": json.dumps({"o": occurrence_id, "c": CHANNEL})}  # no language in it
    again = await (await slack.interact(submission(older, {"in_answer": typed("Samen lezen, twee keer")}))).json()
    assert confirmation(again).startswith("Antwoord opgeslagen") and again["view"]["close"]["text"] == "Sluiten"
    assert await slack.replies() == [{"answer": "Samen lezen, twee keer"}]


async def test_someone_outside_the_team_is_told_so_in_the_team_language(slack: Harness) -> None:
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    await slack.command("language nl", user=ADMIN)
    view = await open_modal(slack, occurrence_id)
    elsewhere = {**view, "private_metadata": json.dumps({"o": occurrence_id, "c": "COTHER"})}
    answer = await (await slack.interact(submission(elsewhere, {"in_answer": typed("Hi")}, user="UOUTSIDE"))).json()
    assert answer["response_action"] == "update"
    assert texts(answer["view"]["blocks"]) == "Alleen de leden van dit team kunnen de vragen ervan beantwoorden."
    assert answer["view"]["close"]["text"] == "Sluiten"
    assert await slack.replies() == []


# -- names -------------------------------------------------------------------------------


async def test_an_answer_from_the_form_is_stored_under_the_name_slack_shows(slack: Harness) -> None:
    """Not the handle in the payload's ``user.name``; looked up when the form opened, so the
    submission (answered inside the ack) makes no Web API call for it."""
    slack.fake.names[MEMBER] = "mo jansen"  # users.info: display name "Mo Jansen"; the payload says "umember"
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    view = await open_modal(slack, occurrence_id)
    lookups = len(slack.fake.called("users.info"))
    ok = await slack.interact(submission(view, {"in_answer": typed("We pair up")}))
    assert "Answer saved" in confirmation(await ok.json())
    assert len(slack.fake.called("users.info")) == lookups
    async with slack.app[REPO].session() as s:
        assert await s.scalar(select(Member.display_name).where(Member.user_id == MEMBER)) == "Mo Jansen"


async def test_a_form_submitted_by_someone_not_looked_up_yet_is_named_by_slack_later(slack: Harness) -> None:
    """No Web API call inside the ack: someone Ritme has not looked up yet is stored without a
    name (never the handle), and named as Slack names them at their next command."""
    slack.fake.names[MEMBER] = "mo jansen"
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    view = await open_modal(slack, occurrence_id)
    slack.adapter.people._users.clear()  # e.g. the server restarted while the form was open
    lookups = len(slack.fake.called("users.info"))
    assert "Answer saved" in confirmation(
        await (await slack.interact(submission(view, {"in_answer": typed("We pair up")}))).json()
    )
    assert len(slack.fake.called("users.info")) == lookups

    async def name() -> str | None:
        async with slack.app[REPO].session() as s:
            return await s.scalar(select(Member.display_name).where(Member.user_id == MEMBER))

    assert await name() == ""
    await slack.command("help", user=MEMBER)
    assert await name() == "Mo Jansen"


async def test_a_role_goes_to_a_person_slack_knows_named_as_slack_names_them(slack: Harness) -> None:
    given = await slack.command(f"role add leader <@{MEMBER}|umember>", user=ADMIN)
    assert "Umember is now leader" in texts(given["blocks"])
    removed = await slack.command("role remove leader <@UOTHER>", user=ADMIN)
    assert "Uother is not in this team." in texts(removed["blocks"])  # and nothing of them is written


async def test_a_role_for_a_bot_or_an_unknown_id_is_refused(slack: Harness) -> None:
    bot = await slack.command("role add leader <@UBOT>", user=ADMIN)
    assert "Ubot is a bot." in texts(bot["blocks"]) and "now leader" not in texts(bot["blocks"])
    slack.fake.fail("users.info", "user_not_found")  # the admin is looked up already: this is UNOBODY
    nobody = await slack.command("role add leader <@UNOBODY>", user=ADMIN)
    assert "Slack knows nobody as UNOBODY in this workspace." in texts(nobody["blocks"])
    assert slack.fake.called("users.info")[-1].body["user"] == "UNOBODY"
    await slack.command("language nl", user=ADMIN)
    dutch = await slack.command("role add admin <@UBOT>", user=ADMIN)
    assert "Ubot is een bot." in texts(dutch["blocks"])
    async with slack.app[REPO].session() as s:
        assert (await s.scalars(select(RoleGrant))).all() == []
        assert not set(await s.scalars(select(Member.user_id))) & {"UBOT", "UNOBODY"}


async def test_a_member_naming_a_bot_hears_which_role_is_needed(slack: Harness) -> None:
    answer = await slack.command("role add leader <@UBOT>", user=MEMBER)
    assert "Only an admin" in texts(answer["blocks"])


# -- requests that do not say who sent them ----------------------------------------------


async def test_a_command_without_its_user_team_or_channel_gets_400_and_changes_nothing(slack: Harness) -> None:
    full = {
        "team_id": TEAM,
        "channel_id": CHANNEL,
        "user_id": ADMIN,
        "command": "/ritme",
        "text": "help",
        "response_url": slack.fake.response_url(),
    }
    for key in ("user_id", "team_id", "channel_id"):
        for form in ({k: v for k, v in full.items() if k != key}, {**full, key: ""}):
            response = await slack.post(urlencode(form), FORM)
            assert response.status == 400, form
            assert key in await response.text()
    assert slack.fake.calls == []
    assert await slack.count(Team) == 0 and await slack.count(Member) == 0


async def test_an_interaction_or_event_without_its_user_or_team_gets_400(slack: Harness) -> None:
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    calls, members = len(slack.fake.calls), await slack.count(Member)
    press = button_payload(occurrence_id, "ritme_answer", str(occurrence_id))
    nameless = {**press, "user": {"name": "mo", "team_id": TEAM}}
    teamless = {**press, "team": None, "user": {"id": MEMBER, "name": "mo"}}
    for payload in (nameless, teamless):
        assert (await slack.interact(payload)).status == 400
    event = {
        "token": "x",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": "EvX",
        "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": MEMBER, "channel": "D1", "tab": "home"},
    }
    assert (await slack.post(json.dumps(event), "application/json")).status == 400
    assert len(slack.fake.calls) == calls and await slack.count(Member) == members
    # With the team's id where Slack also puts it (an org-wide install: user.team_id), it works.
    assert (await slack.interact({**press, "team": None})).status == 200
