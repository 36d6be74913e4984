"""Events Slack sends that a first reading of the Events API misses, through the real server
(signed requests), in the shapes Slack documents (``tests/fakes/slack_events.py``)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.server import REPO
from storage.models import SentPrompt
from tests.adapters.slack.conftest import CHANNEL, MEMBER, TEAM, Harness
from tests.adapters.slack.test_oauth import INSTALLER, SCHOOL, install, installation
from tests.adapters.slack.test_slack_server import add_and_run, texts
from tests.fakes.slack_events import edited, envelope, org_wide, thread_broadcast, unfurled

ORG = "E1"


async def post(slack: Harness, body: dict[str, Any]) -> Any:
    return await slack.post(json.dumps(body), "application/json")


async def prompt_thread(slack: Harness) -> str:
    """A reflection's prompt posted in the channel; its ts, the thread answers go to."""
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    async with slack.app[REPO].session() as s:
        thread_ts = await s.scalar(select(SentPrompt.message_id).where(SentPrompt.occurrence_id == occurrence_id))
    assert thread_ts
    return str(thread_ts)


def confirmations(slack: Harness) -> list[dict[str, Any]]:
    return [c.body for c in slack.fake.called("chat.postEphemeral")]


async def test_a_reply_also_sent_to_the_channel_is_an_answer(slack: Harness) -> None:
    """A thread reply with "Also send to #channel" ticked comes as subtype ``thread_broadcast``
    (https://docs.slack.dev/reference/events/message/thread_broadcast): stored and confirmed
    in the thread like any reply, once, and its edit edits the answer."""
    thread_ts = await prompt_thread(slack)
    reply = thread_broadcast(
        channel=CHANNEL, user=MEMBER, text="We plan together", ts="1700000999.000200", thread_ts=thread_ts, team=TEAM
    )
    assert (await post(slack, envelope(reply, "EvB1", team=TEAM))).status == 200
    assert await slack.replies() == [{"answer": "We plan together"}]
    [told] = confirmations(slack)
    assert told["user"] == MEMBER and told["thread_ts"] == thread_ts and "saved" in told["text"].lower()

    changed = edited(reply, "We plan together, weekly", at="1700001000.000100")
    assert (await post(slack, envelope(changed, "EvB2", team=TEAM))).status == 200
    assert await slack.replies() == [{"answer": "We plan together, weekly"}]


async def test_an_unfurled_link_is_no_edit(slack: Harness) -> None:
    """When a link in an answer unfurls, Slack sends ``message_changed`` without ``edited``
    (https://docs.slack.dev/reference/events/message/message_changed): no second
    confirmation, the answer as it was; for a plain reply and a broadcast one alike."""
    thread_ts = await prompt_thread(slack)
    reply = {
        "type": "message",
        "channel": CHANNEL,
        "user": MEMBER,
        "text": "See <https://school.example/plan>",
        "ts": "1700000999.000200",
        "thread_ts": thread_ts,
        "channel_type": "channel",
    }
    await post(slack, envelope(reply, "EvU1", team=TEAM))
    assert len(confirmations(slack)) == 1
    unfurl = unfurled(reply, "https://school.example/plan", at="1700001000.000100")
    assert (await post(slack, envelope(unfurl, "EvU2", team=TEAM))).status == 200
    assert len(confirmations(slack)) == 1
    assert await slack.replies() == [{"answer": "See <https://school.example/plan>"}]
    link = "<https://school.example/x>"
    broadcast = thread_broadcast(
        channel=CHANNEL, user=MEMBER, text=link, ts="1700000999.000300", thread_ts=thread_ts, team=TEAM
    )
    await post(slack, envelope(broadcast, "EvU3", team=TEAM))
    assert len(confirmations(slack)) == 2
    await post(
        slack, envelope(unfurled(broadcast, "https://school.example/x", at="1700001000.000200"), "EvU4", team=TEAM)
    )
    assert len(confirmations(slack)) == 2
    assert await slack.replies() == [{"answer": link}]  # the later reply is the answer

    # The member's own edit still counts, and is confirmed.
    await post(slack, envelope(edited(reply, "Our plan, read it", at="1700001000.000300"), "EvU5", team=TEAM))
    assert await slack.replies() == [{"answer": "Our plan, read it"}]
    assert len(confirmations(slack)) == 3


async def test_an_org_wide_uninstall_disables_the_organisation_s_install_and_no_other(slack_oauth: Harness) -> None:
    """An org-wide (Enterprise Grid) install is saved under its organisation: Slack's
    ``oauth.v2.access`` names the enterprise and no team (https://api.slack.com/enterprise/apps/reference).
    Its ``app_uninstalled`` carries ``enterprise_id`` and no ``team_id`` (bolt-python's
    ``tests/scenario_tests_async/test_events_token_revocations.py``): answered 200 (else Slack
    keeps retrying), and the organisation's install is disabled, as slack_sdk's installation
    stores read ``delete_all(enterprise_id=E, team_id=None)``; a workspace's own install in
    the same organisation stays."""
    slack = slack_oauth
    slack.fake.enterprise = (ORG, "School board")
    assert (await install(slack)).status == 200  # the workspace SCHOOL's own install, inside the organisation
    slack.fake.org_wide = True
    assert (await install(slack)).status == 200  # and the organisation's
    org = await installation(slack, ORG)
    assert org is not None and org.enabled and org.data["is_enterprise_install"] and org.data["bot_token"]

    answer = await post(slack, org_wide("app_uninstalled", ORG, "EvOrg1"))
    assert answer.status == 200
    org = await installation(slack, ORG)
    assert org is not None and not org.enabled and org.data["bot_token"] is None
    school = await installation(slack, SCHOOL)
    assert school is not None and school.enabled
    added = await slack.command("add reflection every monday at 09:00", user=INSTALLER, team_id=SCHOOL)
    assert "added" in texts(added["blocks"])  # the workspace's own install still answers


async def test_an_org_wide_token_revocation_disables_the_organisation_s_install(slack_oauth: Harness) -> None:
    """``tokens_revoked`` of an org-wide install: ``enterprise_id``, no ``team_id``
    (https://docs.slack.dev/reference/events/tokens_revoked): the bot token's revocation
    disables the organisation's install; a user token's alone changes nothing."""
    slack = slack_oauth
    slack.fake.enterprise, slack.fake.org_wide = (ORG, "School board"), True
    assert (await install(slack)).status == 200
    users_only = org_wide("tokens_revoked", ORG, "EvOrg2", tokens={"oauth": ["W1"], "bot": []})
    assert (await post(slack, users_only)).status == 200
    assert (org := await installation(slack, ORG)) is not None and org.enabled
    bot = org_wide("tokens_revoked", ORG, "EvOrg3", tokens={"oauth": [], "bot": ["W2"]})
    assert (await post(slack, bot)).status == 200
    assert (org := await installation(slack, ORG)) is not None and not org.enabled


async def test_an_org_wide_uninstall_is_answered_with_a_configured_token_too(slack: Harness) -> None:
    """With ``SLACK_BOT_TOKEN`` the same event is acked (200), and its workspace's team goes
    on; an installation event naming neither a team nor an organisation is still a 400."""
    await slack.command("add reflection every monday at 09:00", user="UADMIN")
    assert (await post(slack, org_wide("app_uninstalled", ORG, "EvOrg4"))).status == 200
    answer = await slack.command("list", user=MEMBER)
    assert "#1" in texts(answer["blocks"])
    nameless = envelope({"type": "app_uninstalled"}, "EvOrg5", team=None)
    response = await post(slack, nameless)
    assert response.status == 400 and await response.text() == "payload.team_id is missing"
