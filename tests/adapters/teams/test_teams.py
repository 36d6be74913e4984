"""Teams end to end: the real app, real tokens, the fake Bot Framework connector."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from adapters.teams.platform import TeamsPlatform
from bot.server import ENGINE, REPO
from rituals.types import ChannelRef, DeliveryError, Notice
from storage.models import Team
from tests.adapters.teams.conftest import GENERAL, TENANT, Teams, account, card_text
from tests.fakes.botframework import ISSUER, FakeBotFramework


def expired(fake: FakeBotFramework) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": fake.app_id,
        "serviceurl": fake.service_url,
        "nbf": now - 7200,
        "iat": now - 7200,
        "exp": now - 3600,
    }
    return "Bearer " + jwt.encode(claims, fake.key, algorithm="RS256", headers={"kid": fake.key_id})


BAD_TOKENS = {
    "no token": lambda f: None,
    "not a jwt": lambda f: "Bearer not-a-token",
    "wrong audience": lambda f: f.sign(audience="some-other-bot"),
    "wrong serviceurl": lambda f: f.sign(service_url="https://evil.example/"),
    "wrong issuer": lambda f: f.sign(issuer="https://issuer.example"),
    "expired": expired,
    "unknown key": lambda f: f.sign(key=f.other_key, key_id="unknown-key"),
    "bad signature": lambda f: f.sign(key=f.other_key),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_requests_without_a_valid_token_get_401_and_change_nothing(teams: Teams, case: str) -> None:
    activity = teams.activity("conversationUpdate", membersAdded=[{"id": "28:ritme-bot"}])
    status = await teams.post(activity, token=BAD_TOKENS[case](teams.fake))
    assert status == 401
    message = teams.activity("message", text="add reflection every monday at 09:00 team")
    assert await teams.post(message, token=BAD_TOKENS[case](teams.fake)) == 401
    assert teams.fake.sent == []
    async with teams.app[REPO].session() as s:
        assert (await s.scalars(Team.__table__.select())).all() == []


async def test_a_valid_token_is_accepted(teams: Teams) -> None:
    assert await teams.install() == 201
    assert len(teams.fake.sent) == 1


async def test_install_command_prompt_answers_and_review(teams: Teams) -> None:
    fake = teams.fake
    assert await teams.install("anna") == 201
    welcome = fake.sent[-1]
    assert welcome.conversation_id == GENERAL
    assert "Ritme" in card_text(welcome.body["attachments"][0]["content"])

    added = await teams.say("anna", "add reflection every monday at 09:00 team")
    assert "#1" in card_text(added)

    refused = await teams.say("bram", "add reflection every monday at 09:00 team")
    assert "admin" in card_text(refused).lower()

    sent = await teams.say("anna", "run #1")
    assert "#1" in card_text(sent)
    before = len(fake.sent)
    await teams.deliver()
    posted = fake.sent[before:]
    assert len(posted) == 1
    prompt = posted[0]
    assert prompt.method == "POST" and prompt.activity_id is None  # a new top-level post
    assert prompt.conversation_id == GENERAL
    card = prompt.body["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    inputs = [b for b in card["body"] if b["type"].startswith("Input.")]
    assert [i["type"] for i in inputs] == ["Input.Text"] and inputs[0]["isMultiline"]
    data = card["actions"][0]["data"]
    assert data["ritme"] == "answer"
    card_id = prompt.response_id

    async def submit(who: str, text: str, activity_id: str | None = None) -> dict[str, Any]:
        activity = teams.activity("message", who, replyToId=card_id, value={**data, inputs[0]["id"]: text})
        if activity_id:
            activity["id"] = activity_id
        return activity

    bram = await submit("bram", "We read aloud every morning.")
    before = len(fake.sent)
    assert await teams.post(bram) == 201
    assert await teams.post(bram) == 201  # the channel delivers the same activity again
    assert await teams.post(await submit("chris", "Pairs worked well.")) == 201
    after = fake.sent[before:]
    updates = [s for s in after if s.method == "PUT"]
    assert [s for s in after if s.method == "POST"] == []  # nobody in the channel is told who answered
    assert updates and all(u.activity_id == card_id for u in updates)
    assert "2" in card_text(updates[-1].body["attachments"][0]["content"])

    occurrence = int(data["occurrence_id"])
    replies = await teams.app[REPO].replies_for(occurrence)
    assert sorted(r.member_name for r in replies) == ["Bram", "Chris"]

    # The review holds what leaders and admins read: to Anna's 1:1 chat; the channel hears only that.
    before = len(fake.sent)
    assert await teams.post(teams.activity("message", "anna", text="review #1")) == 201
    sent = [s for s in fake.sent[before:] if s.body.get("attachments")]
    private = [card_text(s.body["attachments"][0]["content"]) for s in sent if s.conversation_id.startswith("a:1on1-")]
    public = [card_text(s.body["attachments"][0]["content"]) for s in sent if s.conversation_id == GENERAL]
    assert len(private) == len(public) == 1
    assert "We read aloud every morning." in private[0] and "Pairs worked well." in private[0]
    assert "in our personal chat" in public[0] and "We read aloud" not in public[0] and "Bram" not in public[0]

    closed = await teams.say("anna", "close #1")
    assert "#1" in card_text(closed)
    before = len(fake.sent)
    await teams.deliver()
    after = fake.sent[before:]
    updated = [s for s in after if s.method == "PUT" and s.activity_id == card_id]
    assert len(updated) == 1
    assert "actions" not in updated[0].body["attachments"][0]["content"]  # no more answering
    results = [s for s in after if s.method == "POST"]
    assert len(results) == 1 and "We read aloud every morning." in card_text(results[0].body)


async def test_a_review_teams_cannot_send_privately_is_not_posted_in_the_channel(teams: Teams) -> None:
    """Without a 1:1 chat (Teams refuses one), the review's answers stay unsent: the channel,
    where everyone reads, hears only that the answer is for the asker alone."""
    await teams.install("anna")
    await teams.say("anna", "add checkout every monday at 09:00 leaders")
    await teams.say("anna", "run #1")
    await teams.deliver()
    teams.fake.roster = [account("bram")]  # no 1:1 chat with Anna
    told = card_text(await teams.say("anna", "review #1"))
    assert "for you only" in told and "Latest round" not in told


async def test_commands_without_mention_and_in_dutch(teams: Teams) -> None:
    await teams.install("anna")
    helped = await teams.say("chris", "help", mention=False)
    assert "help" in card_text(helped)
    dutch = await teams.say("anna", "language nl")
    assert card_text(dutch)


async def test_uninstall_sets_the_team_inactive(teams: Teams) -> None:
    await teams.install("anna")
    status = await teams.post(teams.activity("installationUpdate", "anna", action="remove"))
    assert status in (200, 201)
    async with teams.app[REPO].session() as s:
        team = (await s.scalars(Team.__table__.select())).all()
    assert len(team) == 1
    async with teams.app[REPO].session() as s:
        row = await s.get(Team, team[0])
        assert row is not None and row.active is False


async def roster_of(teams: Teams) -> set[str]:
    from sqlalchemy import select

    from storage.models import Member, TeamMember

    async with teams.app[REPO].session() as s:
        rows = await s.scalars(select(Member.user_id).join(TeamMember, TeamMember.member_id == Member.id))
        return set(rows)


async def test_people_added_to_and_removed_from_the_team_join_and_leave_its_roster(teams: Teams) -> None:
    """Member events as Teams sends them (``conftest.EVENTS_DOC``): on the team's id, a removed
    member with their account id only."""
    await teams.install("anna")
    assert await teams.post(teams.members("anna", added=("bram", "chris"))) in (200, 201)
    assert {"aad-bram", "aad-chris"} <= await roster_of(teams)
    assert await teams.post(teams.members("anna", removed=("bram",))) in (200, 201)
    roster = await roster_of(teams)
    assert "aad-bram" not in roster and "aad-chris" in roster
    async with teams.app[REPO].session() as s:
        team = (await s.scalars(Team.__table__.select())).all()
        assert len(team) == 1 and (await s.get(Team, team[0])).active  # type: ignore[union-attr]


def platform_of(teams: Teams) -> TeamsPlatform:
    platform = teams.app[ENGINE].platforms["teams"]
    assert isinstance(platform, TeamsPlatform)
    return platform


async def test_throttling_and_removal_become_delivery_errors(teams: Teams) -> None:
    await teams.install("anna")
    platform = platform_of(teams)
    to = ChannelRef(platform="teams", workspace_id=TENANT, channel_id=GENERAL)

    teams.fake.fail_next(429, retry_after="60")  # longer than is waited in-process: back to the outbox
    with pytest.raises(DeliveryError) as err:
        await platform.send_notice(to, Notice(text="hi"))
    assert err.value.retryable and err.value.retry_after == 60

    teams.fake.fail_next(403)
    with pytest.raises(DeliveryError) as err:
        await platform.send_notice(to, Notice(text="hi"))
    assert not err.value.retryable

    ref = await platform.send_notice(to, Notice(text="hi"))
    assert ref.channel_id == GENERAL and ref.message_id


async def test_no_reference_is_a_permanent_delivery_error(teams: Teams) -> None:
    platform = platform_of(teams)
    with pytest.raises(DeliveryError) as err:
        await platform.send_notice(
            ChannelRef(platform="teams", workspace_id=TENANT, channel_id="19:unknown"), Notice(text="hi")
        )
    assert not err.value.retryable


async def test_a_member_gets_a_direct_message(teams: Teams) -> None:
    await teams.install("anna")
    platform = platform_of(teams)
    to = ChannelRef(platform="teams", workspace_id=TENANT, channel_id=GENERAL, user_id="29:bram")
    ref = await platform.send_notice(to, Notice(title="Thanks", text="for your help"))
    created = [s for s in teams.fake.sent if s.path == "/v3/conversations"]
    assert len(created) == 1
    assert created[0].body["members"][0]["id"] == "29:bram"
    assert ref.channel_id.startswith("a:1on1-")
    assert teams.fake.sent[-1].conversation_id == ref.channel_id


async def test_a_private_group_gets_a_1on1_chat_each(teams: Teams) -> None:
    """A bot cannot start a group chat in Teams: each member of the group gets the notice in
    their own 1:1 chat, opened with the account id Teams gives for their Entra id."""
    teams.fake.roster = [account("anna"), account("bram"), account("chris"), account("dana")]
    await teams.install("anna")
    platform = platform_of(teams)
    group = ("aad-bram", "aad-chris", "aad-dana")
    to = ChannelRef(platform="teams", workspace_id=TENANT, channel_id=GENERAL, user_id=group[0], members=group)
    before = len(teams.fake.sent)
    ref = await platform.send_notice(to, Notice(title="Your pair this week", text="Bram, Chris and Dana"))
    after = teams.fake.sent[before:]
    created = [s for s in after if s.path == "/v3/conversations"]
    assert sorted(c.body["members"][0]["id"] for c in created) == ["29:bram", "29:chris", "29:dana"]
    chats = {c.conversation_id for c in created}
    posted = [s for s in after if s.method == "POST" and s.path.endswith("/activities")]
    assert sorted(s.conversation_id for s in posted) == sorted(chats)  # one each, none in the channel
    assert all("Bram, Chris and Dana" in card_text(s.body["attachments"][0]["content"]) for s in posted)
    bram = next(c.conversation_id for c in created if c.body["members"][0]["id"] == "29:bram")
    assert ref.channel_id == bram and posted[-1].conversation_id == bram  # to.user_id's copy is the one returned
    assert all(c.body["isGroup"] is False for c in created)

    # Sent again (the same group next week): the same chats, the ids now known here.
    reads = len(teams.fake.reads)
    await platform.send_notice(to, Notice(text="again"))
    assert {s.conversation_id for s in teams.fake.sent if s.path == "/v3/conversations"} == chats
    assert len(teams.fake.reads) == reads


async def installed_and_run(teams: Teams, kind: str) -> dict[str, Any]:
    """Anna installs Ritme, adds a ritual of ``kind`` and runs it; the posted card's submit data."""
    await teams.install("anna")
    level = "" if kind == "pulse" else " team"  # named, but the pulse (a reflection may ask a sensitive question)
    await teams.say("anna", f"add {kind} every monday at 09:00{level}")
    await teams.say("anna", "run #1")
    before = len(teams.fake.sent)
    await teams.deliver()
    data: dict[str, Any] = teams.fake.sent[before].body["attachments"][0]["content"]["actions"][0]["data"]
    return data


async def test_universal_action_answers_and_returns_the_card(teams: Teams) -> None:
    data = await installed_and_run(teams, "reflection")
    value = {
        "action": {"type": "Action.Execute", "verb": "answer", "data": {**data, "q.answer": "Calm week."}},
        "trigger": "manual",
    }
    activity = teams.activity("invoke", "chris", name="adaptiveCard/action", value=value)
    resp = await teams.client.post("/api/messages", json=activity, headers={"Authorization": teams.fake.sign()})
    assert resp.status == 200
    body = await resp.json()
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Answers so far: 1" in card_text(body["value"])  # the channel's card: a count, nobody's answer
    assert "Calm week." not in card_text(body["value"])
    replies = await teams.app[REPO].replies_for(int(data["occurrence_id"]))
    assert [r.values for r in replies] == [{"answer": "Calm week."}]

    # From a 1:1 chat, the member's own card keeps their answer, to change it.
    value["action"]["data"]["q.answer"] = "Calm week, busy Friday."
    activity = teams.activity(
        "invoke",
        "chris",
        name="adaptiveCard/action",
        value=value,
        conversation="a:1on1-chris",
        conversation_type="personal",
    )
    resp = await teams.client.post("/api/messages", json=activity, headers={"Authorization": teams.fake.sign()})
    own = (await resp.json())["value"]
    assert "actions" in own and "Answered ✓ · change" in card_text(own) and "Answer saved" in card_text(own)
    assert next(b for b in own["body"] if b.get("id") == "q.answer")["value"] == "Calm week, busy Friday."
    replies = await teams.app[REPO].replies_for(int(data["occurrence_id"]))
    assert [r.values for r in replies] == [{"answer": "Calm week, busy Friday."}]


async def test_only_the_team_answers_its_rounds(teams: Teams) -> None:
    """A card's data names the round; someone outside the team, from another tenant or a
    chat of their own, who sends it anyway is refused, and nothing of them is stored."""
    data = await installed_and_run(teams, "checkout")
    occurrence = int(data["occurrence_id"])
    trudy = {"id": "29:trudy", "aadObjectId": "aad-trudy", "name": "Trudy"}
    for tenant in ("evil-tenant", "tenant-1"):
        activity = teams.activity(
            "message",
            "eva",
            conversation="a:1on1-trudy",
            conversation_type="personal",
            value={**data, "q.score": "5", "q.takeaway": "not my team"},
        )
        activity["from"] = trudy
        activity["conversation"]["tenantId"] = tenant
        activity["channelData"] = {"tenant": {"id": tenant}}
        before = len(teams.fake.sent)
        assert await teams.post(activity) == 201
        (reply,) = [s for s in teams.fake.sent[before:] if s.method == "POST"]
        assert reply.body["text"] == "Only the members of this team can answer its questions."
    assert await teams.app[REPO].replies_for(occurrence) == []
    for tenant in ("evil-tenant", "tenant-1"):
        assert await teams.app[REPO].find_member(platform="teams", workspace_id=tenant, user_id="29:trudy") is None


async def test_a_personal_chat_is_no_team(teams: Teams) -> None:
    from sqlalchemy import select

    from storage.models import Team

    assert await teams.install("anna") == 201
    await teams.say("anna", "language nl")

    async def personal(text: str) -> str:
        activity = teams.activity(
            "message", "anna", conversation="a:1on1-anna", conversation_type="personal", text=text
        )
        activity["channelData"] = {"tenant": {"id": "tenant-1"}}
        before = len(teams.fake.sent)
        assert await teams.post(activity) == 201
        (reply,) = teams.fake.sent[before:]
        return card_text(reply.body["attachments"][0]["content"])

    refused = await personal("add checkout every monday at 09:00")
    assert (
        "Gebruik dit in het kanaal van je team" in refused and "Je teams: Groep 7 / General." in refused
    )  # her team's language
    assert "Je doet niet mee aan de volgende duoronde van: Groep 7 / General." in await personal("duos overslaan")
    async with teams.app[REPO].session() as s:
        teams_made = list(await s.scalars(select(Team.channel_id)))
        settings = await s.scalar(select(Team.settings))
    assert teams_made == [GENERAL] and "pairs_skip" in settings


async def test_a_refused_universal_action_keeps_the_shared_card(teams: Teams) -> None:
    """Teams shows the card an Action.Execute returns to everyone on that message: a refusal
    (here: the round closed) keeps the question's card and goes to the member privately."""
    data = await installed_and_run(teams, "reflection")
    await teams.say("anna", "close #1")
    await teams.deliver()
    value = {"action": {"type": "Action.Execute", "verb": "answer", "data": {**data, "q.answer": "Too late."}}}
    before = len(teams.fake.sent)
    activity = teams.activity("invoke", "chris", name="adaptiveCard/action", value=value)
    resp = await teams.client.post("/api/messages", json=activity, headers={"Authorization": teams.fake.sign()})
    card = (await resp.json())["value"]
    assert "#1 Reflection" in card_text(card) and "closed" in card_text(card)  # the question's card, shown as closed
    private = [s for s in teams.fake.sent[before:] if s.conversation_id.startswith("a:1on1-") and s.body.get("text")]
    assert len(private) == 1 and "closed" in private[0].body["text"]
    assert await teams.app[REPO].replies_for(int(data["occurrence_id"])) == []
