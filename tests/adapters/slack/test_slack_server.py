"""The Slack adapter end to end: signed requests into the real server, Web API calls out to
the fake. Nothing here waits on a schedule: the dispatcher runs on demand."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from bot.server import REPO
from storage.models import Member, OutboxMessage, Reply, Ritual, SentPrompt, Team
from tests.adapters.slack.conftest import ADMIN, CHANNEL, MEMBER, TEAM, Ack, Harness, sign

FORM = "application/x-www-form-urlencoded"


def texts(blocks: list[dict[str, Any]]) -> str:
    """Every text in a list of blocks, for assertions."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(out)


def confirmation(answer: dict[str, Any]) -> str:
    """The text of the view a stored answer's form becomes (the ack's ``update``): a notice
    with nothing to submit and a close button; no other call tells the member."""
    assert answer["response_action"] == "update", answer
    view = answer["view"]
    assert view["type"] == "modal" and "submit" not in view and "callback_id" not in view
    assert view["close"]["text"] in ("Close", "Sluiten")
    return texts(view["blocks"])


async def add_and_run(slack: Harness, kind: str) -> tuple[int, dict[str, Any]]:
    """An admin adds a ritual and runs it; returns (occurrence id, the posted message)."""
    level = "" if kind == "pulse" else " team"  # named, but the pulse (a reflection may ask a sensitive question)
    added = await slack.command(f"add {kind} every monday at 09:00{level}", user=ADMIN)
    assert "added" in texts(added["blocks"]), added
    ritual_id = int(texts(added["blocks"]).split("#")[1].split()[0])
    sent = await slack.command(f"run #{ritual_id}", user=ADMIN)
    assert "sent" in texts(sent["blocks"]).lower(), sent
    assert await slack.dispatch() >= 1
    posted = slack.fake.called("chat.postMessage")[-1].body
    async with slack.app[REPO].session() as s:
        occurrence_id = await s.scalar(select(SentPrompt.occurrence_id).order_by(SentPrompt.id.desc()))
    assert occurrence_id is not None
    return occurrence_id, posted


def button_payload(occurrence_id: int, action_id: str, value: str, user: str = MEMBER) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "school"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "api_app_id": "A1",
        "token": "x",
        "trigger_id": f"trig.{occurrence_id}",
        "channel": {"id": CHANNEL, "name": "team-a"},
        "container": {"type": "message", "channel_id": CHANNEL},
        "message": {"ts": "1700000001.000100", "type": "message"},
        "response_url": "https://hooks.invalid/unused",
        "actions": [
            {"type": "button", "action_id": action_id, "block_id": "b", "value": value, "action_ts": str(time.time())}
        ],
    }


def submission(view: dict[str, Any], values: dict[str, Any], user: str = MEMBER) -> dict[str, Any]:
    """A view_submission of the modal ``view`` with ``values`` as Slack's state."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "school"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "api_app_id": "A1",
        "token": "x",
        "trigger_id": "trig.v",
        "view": {**view, "id": "V1", "hash": "h1", "state": {"values": values}},
    }


async def open_modal(slack: Harness, occurrence_id: int) -> dict[str, Any]:
    response = await slack.interact(button_payload(occurrence_id, "ritme_answer", str(occurrence_id)))
    assert response.status == 200
    opened = slack.fake.called("views.open")[-1].body
    assert opened["trigger_id"] == f"trig.{occurrence_id}"
    return opened["view"]


# -- the edge ------------------------------------------------------------------------


async def test_unsigned_bad_and_stale_requests_get_401_and_change_nothing(slack: Harness) -> None:
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
    unsigned = await slack.post(body, FORM, signed=False)
    wrong = await slack.post(body, FORM, signed=False, headers=sign(body, secret="not-the-secret"))
    stale = await slack.post(body, FORM, signed=False, headers=sign(body, timestamp=int(time.time()) - 6 * 60))
    tampered_headers = sign(body)
    tampered = await slack.post(body + "x", FORM, signed=False, headers=tampered_headers)
    assert [r.status for r in (unsigned, wrong, stale, tampered)] == [401, 401, 401, 401]
    assert slack.fake.calls == []
    assert await slack.count(Team) == 0
    assert await slack.count(Ritual) == 0


async def test_a_command_that_does_not_parse_changes_nothing(slack: Harness) -> None:
    """Not even the team of a channel Ritme has never seen, nor its member."""
    answer = await slack.command("frobnicate #1", user=MEMBER)
    assert "I don't know the command 'frobnicate'" in texts(answer["blocks"])
    assert await slack.count(Team) == 0
    assert await slack.count(Member) == 0

    await slack.command("language nl", user=ADMIN)
    dutch = await slack.command("frobnicate", user=MEMBER)
    assert "De opdracht 'frobnicate' ken ik niet." in texts(dutch["blocks"])  # a known team keeps its language


async def test_non_admin_cannot_add(slack: Harness) -> None:
    answer = await slack.command("add reflection every monday at 09:00 team", user=MEMBER)
    assert answer["response_type"] == "ephemeral"
    assert "Only an admin" in texts(answer["blocks"])
    assert await slack.count(Ritual) == 0
    info = slack.fake.called("users.info")
    assert info and info[-1].body["user"] == MEMBER


async def test_admin_adds_and_runs_a_reflection(slack: Harness) -> None:
    answer = await slack.command("add reflection every monday at 09:00 team", user=ADMIN)
    blocks = answer["blocks"]
    assert blocks[0]["type"] == "header" and "#1" in blocks[0]["text"]["text"]
    assert blocks[-1]["type"] == "context"  # the footer: how to send it now
    assert await slack.count(Ritual) == 1

    listed = await slack.command("list", user=MEMBER)
    assert "#1" in texts(listed["blocks"])

    occurrence_id, posted = await add_and_run(slack, "reflection")
    assert posted["channel"] == CHANNEL
    kinds = [b["type"] for b in posted["blocks"]]
    assert kinds[0] == "header" and "actions" in kinds
    answer_buttons = [e for b in posted["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [e["action_id"] for e in answer_buttons] == ["ritme_answer"]
    assert answer_buttons[0]["value"] == str(occurrence_id)
    assert "Closes" in texts(posted["blocks"])


async def test_help_in_dutch(slack: Harness) -> None:
    await slack.command("language nl", user=ADMIN)
    answer = await slack.command("help", user=MEMBER)
    assert "/ritme" in texts(answer["blocks"])


# -- answers -----------------------------------------------------------------------


async def test_answer_through_the_modal_is_stored_once(slack_both: Harness) -> None:
    """Over HTTP and over Socket Mode alike (``Harness.submit``)."""
    slack = slack_both
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    view = await open_modal(slack, occurrence_id)
    assert view["type"] == "modal" and json.loads(view["private_metadata"])["o"] == occurrence_id
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert inputs[0]["element"]["type"] == "plain_text_input" and inputs[0]["element"]["multiline"]

    empty = await slack.submit(
        submission(view, {inputs[0]["block_id"]: {"value": {"type": "plain_text_input", "value": None}}})
    )
    refused = empty.body
    assert empty.status == 200 and refused is not None
    assert refused["response_action"] == "errors" and inputs[0]["block_id"] in refused["errors"]
    assert await slack.replies() == []

    filled = submission(
        view, {inputs[0]["block_id"]: {"value": {"type": "plain_text_input", "value": "Pair reading works"}}}
    )
    first = await slack.submit(filled)
    assert first.status == 200 and first.body is not None
    assert confirmation(first.body) == "Answer saved. You can change it until the round closes.\nAnswered ✓ · change"
    assert first.body["view"]["title"] == view["title"]
    again = await slack.submit(filled, retry=1)
    assert again == Ack(status=200)  # acked, empty: dropped as a retry
    assert await slack.replies() == [{"answer": "Pair reading works"}]
    assert slack.fake.called("chat.postEphemeral") == []  # the form itself confirms

    review = await slack.command("review #1", user=ADMIN)
    assert "Pair reading works" in texts(review["blocks"])


async def test_scale_through_the_modal_and_an_anonymous_retry(slack_both: Harness) -> None:
    """Over HTTP and over Socket Mode alike (``Harness.submit``)."""
    slack = slack_both
    occurrence_id, _posted = await add_and_run(slack, "pulse")
    view = await open_modal(slack, occurrence_id)
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    scales = [b for b in inputs if b["element"]["type"] == "radio_buttons"]
    assert scales and [o["value"] for o in scales[0]["element"]["options"]] == ["1", "2", "3", "4", "5"]
    state = {b["block_id"]: {"value": {"type": "radio_buttons", "selected_option": {"value": "4"}}} for b in scales}
    payload = submission(view, state)
    first = await slack.submit(payload)
    assert first.body is not None and confirmation(first.body) == "Answer saved anonymously.\nAnswered ✓"
    retry = await slack.submit(payload, retry=1)
    assert retry == Ack(status=200)  # acked, not refused as a second answer
    assert await slack.participations() == 1 and await slack.sealed() == 1
    assert await slack.replies() == []  # sealed until the round closes
    await slack.command("close 1", user=ADMIN)
    stored = await slack.replies()
    assert len(stored) == 1 and set(stored[0].values()) == {4} and await slack.sealed() == 0
    async with slack.app[REPO].session() as s:
        assert (await s.scalars(select(Reply.member_id))).all() == [None]  # anonymous


async def test_ids_beyond_the_database_are_questions_that_no_longer_exist(slack: Harness) -> None:
    """A modal's metadata or a button's value with an id no 64-bit column holds: the member
    hears the question is gone, nothing is stored, nothing fails."""
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    view = await open_modal(slack, occurrence_id)
    members = await slack.count(Member)
    block = next(b["block_id"] for b in view["blocks"] if b["type"] == "input")
    forged = {**view, "private_metadata": json.dumps({"o": 10**30, "c": CHANNEL})}
    refused = await slack.interact(submission(forged, {block: {"value": {"type": "plain_text_input", "value": "x"}}}))
    assert refused.status == 200
    answer = await refused.json()
    assert answer["response_action"] == "update"  # nothing typed in the form can change it: the form says so
    assert texts(answer["view"]["blocks"]) == "That question no longer exists."
    assert "submit" not in answer["view"] and answer["view"]["close"]["text"] == "Close"

    huge = json.dumps({"o": -(2**63) - 1, "k": "answer", "v": 3})
    assert (await slack.interact(button_payload(occurrence_id, "ritme_scale_3", huge))).status == 200
    assert slack.fake.called("chat.postEphemeral")[-1].body["text"] == "That question no longer exists."
    assert (await slack.interact(button_payload(occurrence_id, "ritme_answer", str(2**63)))).status == 200
    assert "This round has closed" in slack.fake.called("chat.postEphemeral")[-1].body["text"]
    assert await slack.replies() == []
    assert await slack.count(Member) == members


async def test_quick_scale_button_answers_directly(slack: Harness) -> None:
    occurrence_id, _posted = await add_and_run(slack, "checkout")
    view = await open_modal(slack, occurrence_id)  # checkout asks more than a score: modal path
    assert any(b["element"]["type"] == "radio_buttons" for b in view["blocks"] if b["type"] == "input")
    value = json.dumps({"o": occurrence_id, "k": "score", "v": 4})
    await slack.interact(button_payload(occurrence_id, "ritme_scale_4", value))
    refusal = slack.fake.called("chat.postEphemeral")[-1].body
    assert refusal["user"] == MEMBER and "Please answer" in refusal["text"]  # the takeaway is required
    assert await slack.replies() == []


async def test_thread_reply_is_an_answer_once(slack: Harness) -> None:
    occurrence_id, posted = await add_and_run(slack, "reflection")
    ts = slack.fake.called("chat.postMessage")[-1]
    async with slack.app[REPO].session() as s:
        thread_ts = await s.scalar(select(SentPrompt.message_id).where(SentPrompt.occurrence_id == occurrence_id))
    assert thread_ts and ts.method == "chat.postMessage"
    assert "thread" in texts(posted["blocks"])

    event = {
        "type": "message",
        "channel": CHANNEL,
        "user": MEMBER,
        "text": "We read aloud more",
        "ts": "1700000999.000200",
        "thread_ts": thread_ts,
        "channel_type": "channel",
    }
    assert (await slack.event(event, "Ev1")).status == 200
    assert (await slack.event(event, "Ev1", **{"X-Slack-Retry-Num": "1"})).status == 200
    await slack.event({**event, "user": None, "bot_id": "BBOT", "text": "bot talk", "ts": "1700000999.000300"}, "Ev2")
    await slack.event({**event, "thread_ts": "1699999999.000000", "ts": "1700000999.000400"}, "Ev3")
    await slack.event({**event, "text": "not in a thread", "thread_ts": None, "ts": "1700000999.000500"}, "Ev4")
    assert await slack.replies() == [{"answer": "We read aloud more"}]
    confirmations = slack.fake.called("chat.postEphemeral")
    assert len(confirmations) == 1 and confirmations[0].body["thread_ts"] == thread_ts

    review = await slack.command("review", user=ADMIN)
    assert "We read aloud more" in texts(review["blocks"])

    # Editing the reply edits the answer; an edit outside the round's thread changes nothing.
    edited = {
        "type": "message",
        "subtype": "message_changed",
        "channel": CHANNEL,
        "hidden": True,
        "ts": "1700001000.000100",
        "channel_type": "channel",
        "message": {**event, "text": "We read aloud more, and pair up", "edited": {"user": MEMBER}},
    }
    assert (await slack.event(edited, "Ev5")).status == 200
    await slack.event({**edited, "message": {**edited["message"], "thread_ts": None, "text": "elsewhere"}}, "Ev6")
    assert await slack.replies() == [{"answer": "We read aloud more, and pair up"}]


# -- delivery ----------------------------------------------------------------------


async def test_rate_limit_is_retried(slack: Harness) -> None:
    await slack.command("add reflection every monday at 09:00 team", user=ADMIN)
    slack.fake.fail("chat.postMessage", "ratelimited", times=2, status=429, retry_after=0)
    await slack.command("run #1", user=ADMIN)
    await slack.dispatch()  # the client retries once itself, then the outbox takes over
    assert len(slack.fake.called("chat.postMessage")) == 3
    assert await slack.count(SentPrompt) == 1
    async with slack.app[REPO].session() as s:
        assert (await s.scalar(select(Ritual.paused))) is False


async def test_channel_not_found_pauses_the_ritual(slack: Harness) -> None:
    await slack.command("add reflection every monday at 09:00 team", user=ADMIN)
    slack.fake.fail("chat.postMessage", "channel_not_found", times=5)
    await slack.command("run #1", user=ADMIN)
    await slack.dispatch()
    assert len(slack.fake.called("chat.postMessage")) == 1  # not retried
    assert await slack.count(SentPrompt) == 0
    async with slack.app[REPO].session() as s:
        assert (await s.scalar(select(Ritual.paused))) is True
    listed = await slack.command("list", user=MEMBER)
    assert "paused" in texts(listed["blocks"])


async def test_close_updates_the_prompt_without_buttons(slack: Harness) -> None:
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    await slack.command("close #1", user=ADMIN)
    await slack.dispatch()
    update = slack.fake.called("chat.update")[-1].body
    assert update["channel"] == CHANNEL
    assert all(b["type"] != "actions" for b in update["blocks"])
    results = slack.fake.called("chat.postMessage")[-1].body
    assert "results" in results["text"]


async def test_app_uninstalled_pauses_the_workspace_and_nothing_more_is_sent(slack: Harness) -> None:
    await slack.command("add reflection every monday at 09:00 team", user=ADMIN)
    await slack.command("run #1", user=ADMIN)  # queued, not yet delivered
    await slack.event({"type": "app_uninstalled"}, "EvU")
    async with slack.app[REPO].session() as s:
        assert (await s.scalar(select(Ritual.paused))) is True
        assert (await s.scalar(select(Team.active))) is False
    await slack.dispatch()
    assert slack.fake.called("chat.postMessage") == []
    async with slack.app[REPO].session() as s:
        assert [(m.status, m.last_error) for m in (await s.scalars(select(OutboxMessage))).all()] == [
            ("failed", "not_installed")
        ]

    # Installed again (a signed request arrives from the workspace): back, rituals still paused.
    listed = await slack.command("list", user=MEMBER)
    assert "paused" in texts(listed["blocks"])
    async with slack.app[REPO].session() as s:
        assert (await s.scalar(select(Team.active))) is True
    await slack.command("resume #1", user=ADMIN)
    slack.clock.advance(minutes=1)
    await slack.command("close #1", user=ADMIN)  # the round that never reached the channel: one open at a time
    await slack.dispatch()
    results = len(slack.fake.called("chat.postMessage"))
    await slack.command("run #1", user=ADMIN)
    await slack.dispatch()
    assert len(slack.fake.called("chat.postMessage")) == results + 1


async def test_app_home_shows_the_members_teams(slack: Harness) -> None:
    await slack.command("add reflection every monday at 09:00 team", user=ADMIN)
    await slack.event({"type": "app_home_opened", "user": ADMIN, "channel": "D1", "tab": "home"}, "EvH1")
    published = slack.fake.called("views.publish")[-1].body
    assert published["user_id"] == ADMIN and published["view"]["type"] == "home"
    shown = texts(published["view"]["blocks"])
    assert f"<#{CHANNEL}>" in shown and "#1" in shown and "/ritme help" in shown  # admins get the how-to
    assert "waiting for your answer" not in shown  # no round open yet
    await slack.command("run #1", user=ADMIN)
    await slack.event({"type": "app_home_opened", "user": ADMIN, "channel": "D1", "tab": "home"}, "EvH3")
    assert "*waiting for your answer*" in texts(slack.fake.called("views.publish")[-1].body["view"]["blocks"])

    await slack.event({"type": "app_home_opened", "user": "ULONELY", "channel": "D2", "tab": "home"}, "EvH2")
    lonely = texts(slack.fake.called("views.publish")[-1].body["view"]["blocks"])
    assert "not in a team" in lonely


async def test_people_joining_and_leaving_the_channel_join_and_leave_its_team(slack: Harness) -> None:
    from storage.models import TeamMember

    async def roster() -> set[str]:
        async with slack.app[REPO].session() as s:
            return set(await s.scalars(select(Member.user_id).join(TeamMember, TeamMember.member_id == Member.id)))

    # A channel Ritme does not serve yet: nothing is created.
    await slack.event({"type": "member_joined_channel", "user": "UNEW", "channel": "COTHER", "team": TEAM}, "EvJ0")
    assert await slack.count(Team) == 0

    await slack.command("help", user=ADMIN)
    await slack.event({"type": "member_joined_channel", "user": "UNEW", "channel": CHANNEL, "team": TEAM}, "EvJ1")
    await slack.event({"type": "member_joined_channel", "user": "UBOT", "channel": CHANNEL, "team": TEAM}, "EvJ2")
    assert "UNEW" in await roster() and "UBOT" not in await roster()

    await slack.event({"type": "member_left_channel", "user": "UNEW", "channel": CHANNEL, "team": TEAM}, "EvL1")
    assert "UNEW" not in await roster() and ADMIN in await roster()
    assert await slack.count(Member) >= 2  # who left keeps their identity (and answers) until forget-me


async def test_a_command_whose_words_contain_payload_is_still_a_command(slack: Harness) -> None:
    answer = await slack.command("question add What payload does our homework carry?", user=ADMIN)
    assert "payload" in texts(answer["blocks"])


async def test_a_direct_message_is_no_team(slack: Harness) -> None:
    """``/ritme`` in a direct message: what concerns the person runs, the rest points to a
    team's channel, and no team is made of the conversation."""
    await slack.command("add reflection every monday at 09:00 team", user=ADMIN)  # the team of CHANNEL
    dm = {"channel_id": "DADMIN", "channel_name": "directmessage"}
    refused = texts((await slack.command("add pulse every monday at 09:00", user=ADMIN, **dm))["blocks"])
    assert "Use this in your team's channel" in refused and "Your teams: team-a." in refused
    helped = texts((await slack.command("help", user=ADMIN, **dm))["blocks"])
    assert "reminders off" in helped and "add reflection" not in helped
    assert "Reminders off" in texts((await slack.command("reminders off", user=ADMIN, **dm))["blocks"])
    assert await slack.count(Team) == 1


async def test_each_pair_gets_one_group_dm_with_all_of_its_members(slack: Harness) -> None:
    slack.fake.members[CHANNEL] = [ADMIN, MEMBER, "UCAS", "UDEE", "UEVA"]  # five: a pair and a trio
    await slack.command("add pairs every month on the first monday at 09:00", user=ADMIN)
    await slack.command("run #1", user=ADMIN)
    while await slack.dispatch():
        pass
    opened = [set(str(c.body["users"]).split(",")) for c in slack.fake.called("conversations.open")]
    assert sorted(len(users) for users in opened) == [2, 3]
    assert set().union(*opened) == {ADMIN, MEMBER, "UCAS", "UDEE", "UEVA"}


async def test_a_thread_reply_to_an_anonymous_round_is_not_stored_and_says_why(slack: Harness) -> None:
    occurrence_id, _posted = await add_and_run(slack, "pulse")
    async with slack.app[REPO].session() as s:
        thread_ts = await s.scalar(select(SentPrompt.message_id).where(SentPrompt.occurrence_id == occurrence_id))
    event = {
        "type": "message",
        "channel": CHANNEL,
        "user": MEMBER,
        "text": "I feel unsafe",
        "ts": "1700000999.000200",
        "thread_ts": thread_ts,
        "channel_type": "channel",
    }
    assert (await slack.event(event, "EvA1")).status == 200
    assert await slack.replies() == []
    (told,) = slack.fake.called("chat.postEphemeral")
    assert told.body["user"] == MEMBER and "anonymous" in told.body["text"]
