"""An appreciation round on Slack: the channel's people are asked by direct message, each
about a colleague assigned to them; one reminder to who has not answered; the round is
posted in the channel as one message when it closes."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.slack.app import SLACK_ADAPTER
from bot.server import ENGINE, REPO
from rituals.kinds.appreciation import assign_colleagues
from rituals.types import ChannelRef
from storage.models import Member, Occurrence, TeamMember
from tests.adapters.slack.conftest import ADMIN, CHANNEL, MEMBER, TEAM, Harness
from tests.adapters.slack.test_slack_server import button_payload, confirmation, submission, texts

CAROL = "UCAROL"
PEOPLE = (ADMIN, MEMBER, CAROL)


@given(st.sets(st.integers(min_value=1, max_value=10_000), max_size=40), st.integers(min_value=0, max_value=10**9))
def test_assignment_is_a_derangement_everyone_receives_once(members: set[int], seed: int) -> None:
    assigned = assign_colleagues(members, seed)
    if len(members) < 2:
        assert assigned == {}
        return
    assert set(assigned) == members and set(assigned.values()) == members  # everyone gives and receives
    assert all(giver != receiver for giver, receiver in assigned.items())
    assert assign_colleagues(sorted(members, reverse=True), seed) == assigned  # the same on every replica


def dms(slack: Harness) -> dict[str, list[dict[str, Any]]]:
    """The direct messages posted, by recipient (the fake names DM channels D + user id)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for call in slack.fake.called("chat.postMessage"):
        channel = str(call.body["channel"])
        if channel.startswith("D"):
            out.setdefault(channel[1:], []).append(call.body)
    return out


async def names(slack: Harness) -> dict[str, str]:
    async with slack.app[REPO].session() as s:
        return {str(mid): uid for mid, uid in (await s.execute(select(Member.id, Member.user_id))).all()}


async def test_a_round_by_direct_messages(slack: Harness) -> None:
    slack.fake.members[CHANNEL] = [ADMIN, "UBOT", MEMBER, "UGONE", CAROL]
    slack.fake.deleted.add("UGONE")
    slack.fake.page_size = 2

    started = await slack.command("appreciation start 3d", user=ADMIN)
    assert "started" in texts(started["blocks"]).lower(), started
    pages = slack.fake.called("conversations.members")
    assert [p.body.get("cursor") for p in pages] == [None, "2", "4"]
    async with slack.app[REPO].session() as s:
        synced = (await s.scalars(select(Member.user_id).join(TeamMember, TeamMember.member_id == Member.id))).all()
    assert sorted(synced) == sorted(PEOPLE)  # the bot and the deleted account are left out

    await slack.dispatch()
    channel_posts = [c.body for c in slack.fake.called("chat.postMessage") if c.body["channel"] == CHANNEL]
    assert len(channel_posts) == 1 and "direct message" in texts(channel_posts[0]["blocks"])
    sent = dms(slack)
    assert sorted(sent) == sorted(PEOPLE) and all(len(m) == 1 for m in sent.values())

    # Each DM names the colleague to appreciate: everyone is named exactly once, never themselves.
    users = await names(slack)
    display = {ADMIN: "Uadmin", MEMBER: "Umember", CAROL: "Ucarol"}
    named = {}
    for user, (message,) in sent.items():
        line = next(
            b["text"]["text"]
            for b in message["blocks"]
            if b["type"] == "section" and "asked to appreciate" in b["text"]["text"]
        )
        named[user] = next(u for u, name in display.items() if f"*{name}*" in line)
    assert all(user != colleague for user, colleague in named.items())
    assert sorted(named.values()) == sorted(PEOPLE)

    # The answer form opened from the DM has that colleague chosen already; another may be chosen.
    async with slack.app[REPO].session() as s:
        occurrence_id = int(await s.scalar(select(Occurrence.id)) or 0)
    views = {}
    for user in (ADMIN, MEMBER):
        payload = button_payload(occurrence_id, "ritme_answer", str(occurrence_id), user=user)
        payload["channel"] = {"id": f"D{user}", "name": "directmessage"}
        await slack.interact(payload)
        view = slack.fake.called("views.open")[-1].body["view"]
        colleague = next(b for b in view["blocks"] if b.get("block_id") == "in_colleague")
        assert users[colleague["element"]["initial_option"]["value"]] == named[user]
        views[user] = view
    for user, words in ((ADMIN, "always calm"), (MEMBER, "great questions")):
        picked = next(
            o["value"]
            for o in [b for b in views[user]["blocks"] if b.get("block_id") == "in_colleague"][0]["element"]["options"]
            if users[o["value"]] == named[user]
        )
        values = {
            "in_colleague": {"value": {"type": "radio_buttons", "selected_option": {"value": picked}}},
            "in_appreciation": {"value": {"type": "plain_text_input", "value": words}},
        }
        response = await slack.interact(submission(views[user], values, user=user))
        assert "Answer saved" in confirmation(await response.json())
    assert slack.fake.called("chat.postEphemeral") == []

    # One reminder before the close, as a DM, to Carol only (the others answered).
    async with slack.app[REPO].session() as s:
        occ = await s.get(Occurrence, occurrence_id)
        assert occ is not None and occ.remind_at is not None and occ.closes_at is not None
        remind_at = occ.remind_at
    slack.clock.now = remind_at
    assert await slack.app[ENGINE].tick() == 1
    await slack.dispatch()
    after = dms(slack)
    assert {u: len(m) for u, m in after.items()} == {ADMIN: 1, MEMBER: 1, CAROL: 2}
    reminder = after[CAROL][-1]
    assert "Reminder" in reminder["text"] and f"asked to appreciate *{display[named[CAROL]]}*" in texts(
        reminder["blocks"]
    )
    assert await slack.app[ENGINE].tick() == 0  # one reminder per round

    # Closed: the channel gets the round as one message; the DMs lose their buttons.
    closed = await slack.command("appreciation close", user=ADMIN)
    assert "closed" in texts(closed["blocks"]).lower()
    before = len(slack.fake.called("chat.postMessage"))
    await slack.dispatch()
    results = slack.fake.called("chat.postMessage")[before:]
    assert [c.body["channel"] for c in results] == [CHANNEL]
    shown = texts(results[0].body["blocks"])
    assert "always calm" in shown and "great questions" in shown
    updated = {c.body["channel"]: c.body for c in slack.fake.called("chat.update")}
    assert set(updated) == {CHANNEL} | {f"D{u}" for u in PEOPLE}
    assert all(b["type"] != "actions" for u in updated.values() for b in u["blocks"])


async def test_a_delivered_round_is_not_queued_twice(slack: Harness) -> None:
    slack.fake.members[CHANNEL] = [ADMIN, MEMBER]
    await slack.command("appreciation start", user=ADMIN)
    await slack.dispatch()
    assert sorted(dms(slack)) == sorted([ADMIN, MEMBER])
    async with slack.app[REPO].session() as s:
        occurrence_id = int(await s.scalar(select(Occurrence.id)) or 0)
    hooks = slack.app[SLACK_ADAPTER].platform.hooks
    team_channel = ChannelRef(platform="slack", workspace_id=TEAM, channel_id=CHANNEL)
    assert await hooks.private_round(team_channel, occurrence_id) == 0  # e.g. the channel post retried
    assert await hooks.assigned_colleague(occurrence_id, TEAM, "UNOBODY") is None
