"""An appreciation round on Teams: the team's roster (paged) joins the team, everyone gets a
1:1 card about a colleague assigned to them, one reminder goes 1:1 to who has not answered,
and the closed round is posted in the channel as one card."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.server import ENGINE, REPO
from rituals.kinds.appreciation import assign_colleagues
from storage.models import Member, Occurrence, TeamMember
from tests.adapters.teams.conftest import (
    BOT_ID,
    GENERAL,
    PEOPLE,
    TEAM,
    TENANT,
    Teams,
    account,
    card_text,
)
from tests.fakes.botframework import Sent

NAMES = ("anna", "bram", "chris", "dana", "eva")


@given(st.sets(st.integers(min_value=1, max_value=10_000), max_size=40), st.integers(min_value=0, max_value=10**9))
def test_assignment_is_a_derangement_everyone_receives_once(members: set[int], seed: int) -> None:
    assigned = assign_colleagues(members, seed)
    if len(members) < 2:
        assert assigned == {}
        return
    assert set(assigned) == members and set(assigned.values()) == members
    assert all(giver != receiver for giver, receiver in assigned.items())
    assert assign_colleagues(sorted(members, reverse=True), seed) == assigned  # the same on every replica


def content(sent: Sent) -> dict[str, Any]:
    return sent.body["attachments"][0]["content"]


def chats(teams: Teams) -> dict[str, str]:
    """Teams account id → the 1:1 chat the bot opened with them."""
    return {s.body["members"][0]["id"]: s.conversation_id for s in teams.fake.sent if s.path == "/v3/conversations"}


def cards_in(teams: Teams, conversation: str, since: int = 0) -> list[Sent]:
    return [
        s
        for s in teams.fake.sent[since:]
        if s.method == "POST" and s.conversation_id == conversation and s.body.get("attachments")
    ]


def colleague_input(card: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in card["body"] if b.get("id") == "q.colleague")


async def member_ids(teams: Teams) -> dict[str, str]:
    """Member id (as the cards' options carry it) → Teams account id."""
    async with teams.app[REPO].session() as s:
        rows = (await s.execute(select(Member.id, Member.user_id))).all()
    by_aad = {p["aadObjectId"]: p["id"] for p in PEOPLE.values()}
    return {str(mid): by_aad[uid] for mid, uid in rows}


async def test_an_appreciation_round_through_1on1_chats(teams: Teams) -> None:
    fake = teams.fake
    fake.roster = [
        account("anna"),
        account("bram"),
        {"id": BOT_ID, "name": "Ritme"},
        account("chris"),
        account("dana"),
        account("eva"),
    ]
    fake.page_size = 3  # five people and the bot: two pages
    await teams.install("anna")

    started = await teams.say("anna", "appreciation start 3d")
    assert "started" in card_text(started).lower()
    pages = [r for r in fake.reads if r.path.endswith("/pagedmembers")]
    assert [r.conversation_id for r in pages] == [TEAM["id"], TEAM["id"]]  # the team's roster, not the channel's
    assert [r.body.get("continuationToken") for r in pages] == [None, "page-3"]
    async with teams.app[REPO].session() as s:
        synced = (await s.scalars(select(Member.user_id).join(TeamMember, TeamMember.member_id == Member.id))).all()
    assert sorted(synced) == sorted(f"aad-{n}" for n in NAMES)  # Entra ids, as answers arrive; no bot

    before = len(fake.sent)
    await teams.deliver()
    channel = cards_in(teams, GENERAL, before)
    assert len(channel) == 1 and "1:1 chat" in card_text(content(channel[0]))
    opened = chats(teams)
    assert sorted(opened) == sorted(PEOPLE[n]["id"] for n in NAMES)  # account ids, from the roster
    assert not [r for r in fake.reads if "/members/" in r.path]  # the roster told who is who
    cards = {account_id: cards_in(teams, chat, before) for account_id, chat in opened.items()}
    assert all(len(c) == 1 for c in cards.values())

    # Each 1:1 card names a colleague and has them chosen: everyone once, never themselves.
    members = await member_ids(teams)
    names = {p["id"]: p["name"] for p in PEOPLE.values()}
    assigned: dict[str, str] = {}
    for account_id, (sent,) in cards.items():
        card = content(sent)
        chosen = colleague_input(card)["value"]
        assigned[account_id] = members[chosen]
        assert f"asked to appreciate **{names[members[chosen]]}**" in card_text(card)
        assert sent.body["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert all(giver != colleague for giver, colleague in assigned.items())
    assert sorted(assigned.values()) == sorted(opened)

    # Three answer from their card; Chris picks another colleague than the one assigned.
    words = {"anna": "always calm", "bram": "great questions", "chris": "brings cake"}
    option = {account_id: mid for mid, account_id in members.items()}
    for who, text in words.items():
        me = PEOPLE[who]["id"]
        card = content(cards[me][0])
        colleague = assigned[me] if who != "chris" else next(a for a in opened if a not in (me, assigned[me]))
        value = {**card["actions"][0]["data"], "q.colleague": option[colleague], "q.appreciation": text}
        answer = teams.activity(
            "message",
            who,
            conversation=opened[me],
            conversation_type="personal",
            replyToId=cards[me][0].response_id,
            value=value,
            channelData={"tenant": {"id": TENANT}},
        )
        at = len(fake.sent)
        assert await teams.post(answer) == 201
        replies = fake.sent[at:]
        assert [(r.method, r.conversation_id) for r in replies] == [("PUT", opened[me]), ("POST", opened[me])]
        assert "saved" in replies[1].body["text"].lower()
        # Their own card shows the answer was saved, and keeps it in the inputs to change.
        own = content(replies[0])
        assert "actions" in own and "Answer saved" in card_text(own)
        assert colleague_input(own)["value"] == option[colleague]
        assert next(b for b in own["body"] if b.get("id") == "q.appreciation")["value"] == text
    chris_pick = next(a for a in opened if a not in (PEOPLE["chris"]["id"], assigned[PEOPLE["chris"]["id"]]))

    # One reminder before the close, 1:1, to the two who have not answered, same colleague.
    async with teams.app[REPO].session() as s:
        occ = await s.scalar(select(Occurrence))
        assert occ is not None and occ.remind_at is not None
    teams.clock.set(occ.remind_at)
    assert await teams.app[ENGINE].tick() == 2
    before = len(fake.sent)
    await teams.deliver()
    reminded = {account_id: cards_in(teams, chat, before) for account_id, chat in opened.items()}
    assert {names[a]: len(c) for a, c in reminded.items()} == {"Anna": 0, "Bram": 0, "Chris": 0, "Dana": 1, "Eva": 1}
    for account_id in (PEOPLE["dana"]["id"], PEOPLE["eva"]["id"]):
        reminder = content(reminded[account_id][0])
        assert "Reminder" in card_text(reminder)
        assert members[colleague_input(reminder)["value"]] == assigned[account_id]
    assert len(chats(teams)) == 5  # the same chats again, none new
    assert await teams.app[ENGINE].tick() == 0  # one reminder per round

    # Closed: the channel gets the round as one card; every card loses its inputs.
    closed = await teams.say("anna", "appreciation close")
    assert "closed" in card_text(closed).lower()
    before = len(fake.sent)
    await teams.deliver()
    after = fake.sent[before:]
    posted = [s for s in after if s.method == "POST"]
    assert [s.conversation_id for s in posted] == [GENERAL]
    results = card_text(content(posted[0]))
    for text in words.values():
        assert text in results
    assert names[chris_pick] in results and "3 appreciations in this round" in results
    updated = {s.conversation_id for s in after if s.method == "PUT"}
    assert updated == {GENERAL, *opened.values()}
    assert all("actions" not in content(s) for s in after if s.method == "PUT")


async def test_a_refused_roster_leaves_the_round_to_the_known_members(teams: Teams) -> None:
    """Teams refusing the roster does not stop the round: it asks the members known already,
    and their 1:1 chats are opened with the account ids Teams gives for their Entra ids."""
    fake = teams.fake
    fake.roster = [account("anna"), account("bram"), account("chris")]
    fake.roster_status = 403
    await teams.install("anna")
    await teams.say("bram", "help")  # Bram is known to the team; Chris never spoke
    started = await teams.say("anna", "appreciation start")
    assert "started" in card_text(started).lower()
    before = len(fake.sent)
    await teams.deliver()
    assert len(cards_in(teams, GENERAL, before)) == 1
    assert sorted(chats(teams)) == ["29:anna", "29:bram"]
    looked_up = sorted(r.path.rsplit("/", 1)[1] for r in fake.reads if "/members/" in r.path)
    assert looked_up == ["aad-anna", "aad-bram"]


async def test_only_a_leader_starts_a_round_and_only_then_is_the_roster_fetched(teams: Teams) -> None:
    teams.fake.roster = [account(n) for n in NAMES]
    await teams.install("anna")
    refused = await teams.say("bram", "appreciation start")
    assert "leader" in card_text(refused).lower()
    assert teams.fake.reads == []  # no roster fetch for a command that is refused
    async with teams.app[REPO].session() as s:
        assert (await s.scalar(select(Occurrence))) is None
        assert len((await s.scalars(select(TeamMember))).all()) == 2  # Anna and Bram, nobody synced
