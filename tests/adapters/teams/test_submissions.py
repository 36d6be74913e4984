"""Answers from a card (``Action.Submit``): in a channel nobody else learns who answered; in
a member's 1:1 chat the card keeps their answer while it can be changed."""

from __future__ import annotations

from typing import Any

from tests.adapters.teams.conftest import GENERAL, PEOPLE, Teams, account, card_text
from tests.fakes.botframework import Sent


def inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["id"]: b for b in card["body"] if b["type"].startswith("Input.")}


def filled(card: dict[str, Any], text: str = "Fine.") -> dict[str, Any]:
    """The card's submit data with every input answered: the last choice, or ``text``."""
    values = {
        ident: block["choices"][-1]["value"] if "choices" in block else text for ident, block in inputs(card).items()
    }
    return {**card["actions"][0]["data"], **values}


async def posted_card(teams: Teams, command: str) -> Sent:
    """Add a ritual of ``command``'s kind and send its prompt into the channel now."""
    await teams.say("anna", command)
    await teams.say("anna", "run #1")
    before = len(teams.fake.sent)
    await teams.deliver()
    (card,) = [s for s in teams.fake.sent[before:] if s.method == "POST" and s.conversation_id == GENERAL]
    return card


async def submit(teams: Teams, who: str, value: dict[str, Any], reply_to: str, **where: Any) -> list[Sent]:
    """Send a card submission; returns what the bot sent for it."""
    before = len(teams.fake.sent)
    assert await teams.post(teams.activity("message", who, replyToId=reply_to, value=value, **where)) == 201
    return teams.fake.sent[before:]


def into(sent: list[Sent], conversation: str) -> list[Sent]:
    """Messages posted into the conversation."""
    return [s for s in sent if s.method == "POST" and "/activities" in s.path and s.conversation_id == conversation]


def chat_with(sent: list[Sent], account_id: str) -> str | None:
    opened = [s for s in sent if s.path == "/v3/conversations"]
    assert all(s.body["members"][0]["id"] == account_id for s in opened)
    return opened[0].conversation_id if opened else None


async def test_in_a_channel_an_anonymous_answer_shows_only_as_a_count(teams: Teams) -> None:
    await teams.install("anna")
    prompt = await posted_card(teams, "add pulse every monday at 09:00")
    card = prompt.body["attachments"][0]["content"]

    sent = await submit(teams, "bram", filled(card), prompt.response_id)
    assert into(sent, GENERAL) == []  # nothing in the channel says Bram answered
    (update,) = [s for s in sent if s.method == "PUT"]
    assert update.activity_id == prompt.response_id
    assert "Answers so far: 1" in card_text(update.body["attachments"][0]["content"])
    assert chat_with(sent, "29:bram") is None  # the count is the feedback: no 1:1 either

    # Bram again: refused (anonymous answers cannot change), told in his 1:1 chat only.
    sent = await submit(teams, "bram", filled(card), prompt.response_id)
    assert into(sent, GENERAL) == [] and not [s for s in sent if s.method == "PUT"]
    chat = chat_with(sent, "29:bram")
    assert chat is not None
    (told,) = into(sent, chat)
    assert "already" in told.body["text"]

    # Chris cannot be reached 1:1: his refusal is not told in the channel either.
    teams.fake.roster = [account("anna"), account("bram")]
    await submit(teams, "chris", filled(card), prompt.response_id)
    sent = await submit(teams, "chris", filled(card), prompt.response_id)
    assert [s for s in sent if "/activities" in s.path] == []


async def test_in_a_channel_a_refusal_goes_1on1_or_else_into_the_channel(teams: Teams) -> None:
    """A named ritual: a refusal is told privately when Teams opens a 1:1 chat, else in the
    channel (for want of a private way, and nothing anonymous is given away)."""
    await teams.install("anna")
    prompt = await posted_card(teams, "add checkout every monday at 09:00 team")
    card = prompt.body["attachments"][0]["content"]
    await teams.say("anna", "close #1")
    await teams.deliver()

    sent = await submit(teams, "bram", filled(card), prompt.response_id)
    chat = chat_with(sent, "29:bram")
    assert chat is not None and into(sent, GENERAL) == []
    assert "closed" in into(sent, chat)[0].body["text"]

    teams.fake.roster = [account("anna"), account("bram")]  # no 1:1 chat with Chris
    sent = await submit(teams, "chris", filled(card), prompt.response_id)
    (told,) = into(sent, GENERAL)
    assert "closed" in told.body["text"]


async def test_in_a_1on1_chat_the_card_keeps_the_answer_to_change(teams: Teams) -> None:
    await teams.install("anna")
    await teams.say("bram", "help")  # Bram is in the team
    prompt = await posted_card(teams, "add checkout every monday at 09:00 team")
    card = prompt.body["attachments"][0]["content"]
    personal = {"conversation": "a:1on1-bram", "conversation_type": "personal"}

    for text in ("A good week.", "A good week, after all."):
        sent = await submit(teams, "bram", filled(card, text), "act-own", **personal)
        (update,) = [s for s in sent if s.method == "PUT"]
        assert (update.conversation_id, update.activity_id) == ("a:1on1-bram", "act-own")
        own = update.body["attachments"][0]["content"]
        assert own["actions"][0]["data"] == card["actions"][0]["data"]  # it can be sent again
        assert "You can change it until the round closes" in card_text(own)
        assert {i: b.get("value") for i, b in inputs(own).items()} == {
            i: v for i, v in filled(card, text).items() if i.startswith("q.")
        }
        (confirmed,) = into(sent, "a:1on1-bram")
        assert "saved" in confirmed.body["text"].lower()
    answers = {i: v for i, v in filled(card, "A good week, after all.").items() if i.startswith("q.")}
    assert answers  # the second answer replaced the first
    assert len([s for s in teams.fake.sent if s.path == "/v3/conversations"]) == 0


async def test_in_a_1on1_chat_an_anonymous_card_says_it_was_saved_without_inputs(teams: Teams) -> None:
    await teams.install("anna")
    await teams.say("bram", "help")
    prompt = await posted_card(teams, "add pulse every monday at 09:00")
    card = prompt.body["attachments"][0]["content"]
    sent = await submit(
        teams, "bram", filled(card), "act-own", conversation="a:1on1-bram", conversation_type="personal"
    )
    (update,) = [s for s in sent if s.method == "PUT"]
    own = update.body["attachments"][0]["content"]
    assert "actions" not in own and not inputs(own)
    assert "anonymously" in card_text(own) and "change" not in card_text(own)
    assert "saved" in into(sent, "a:1on1-bram")[0].body["text"].lower()
    assert PEOPLE["bram"]["name"] not in card_text(own)
