"""Files on Teams: a holiday calendar sent with ``holiday import``; ``export`` as a link.

The real app with real tokens; the fake Microsoft side also serves the files a message
carries: a personal chat's pre-authenticated ``downloadUrl`` and a channel attachment's
``contentUrl`` on the connector (the bot's token only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botbuilder.schema import Activity
from sqlalchemy import select

from adapters.teams.files import MAX_FILE_BYTES, calendar_files
from adapters.teams.manifest import manifest
from bot.commands.registry import teams_menu
from bot.server import REPO
from storage.models import Holiday, Team
from tests.adapters.teams.conftest import BOT_ID, GENERAL, Teams, card_text
from tests.fakes.botframework import FakeBotFrameworkWithFiles
from tests.fakes.calendars import ICS

PERSONAL = "a:1on1-anna"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBotFrameworkWithFiles]:
    with FakeBotFrameworkWithFiles() as bf:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", bf.ca_file)
        yield bf


async def send(
    teams: Teams, text: str, attachments: list[dict[str, Any]], *, who: str = "anna", personal: bool = False
) -> dict[str, Any]:
    """A message with files to the bot; returns the card it answered with."""
    before = len(teams.fake.sent)
    where: dict[str, Any] = {"conversation": PERSONAL, "conversation_type": "personal"} if personal else {}
    extra: dict[str, Any] = {"text": text, "attachments": attachments}
    if personal:
        extra["channelData"] = {"tenant": {"id": "tenant-1"}}
    status = await teams.post(teams.activity("message", who, **where, **extra))
    assert status in (200, 201)
    replies = teams.fake.sent[before:]
    assert len(replies) == 1, replies
    return replies[0].body["attachments"][0]["content"]


async def install_personal(teams: Teams, who: str = "anna") -> None:
    """Anna adds Ritme to her personal chat (no team is made of it)."""
    activity = teams.activity(
        "conversationUpdate", who, conversation=PERSONAL, conversation_type="personal", membersAdded=[{"id": BOT_ID}]
    )
    activity["channelData"] = {"tenant": {"id": "tenant-1"}}
    assert await teams.post(activity) == 201


async def holidays(teams: Teams, channel: str) -> list[tuple[str, str, str]]:
    async with teams.app[REPO].session() as s:
        rows = await s.execute(
            select(Holiday.start_date, Holiday.end_date, Holiday.name)
            .join(Team, Team.id == Holiday.team_id)
            .where(Team.channel_id == channel)
            .order_by(Holiday.start_date)
        )
        return [(a.isoformat(), b.isoformat(), n) for a, b, n in rows.all()]


async def test_a_calendar_in_a_personal_chat_is_imported(teams: Teams) -> None:
    fake: FakeBotFrameworkWithFiles = teams.fake  # type: ignore[assignment]
    assert await teams.install("anna") == 201  # anna is admin of the channel's team, and of no other
    await install_personal(teams)
    card = await send(teams, "holiday import", [fake.personal_file("vakanties.ics", ICS)], personal=True)
    assert "Holiday periods added: 2" in card_text(card) and "For the team Groep 7" in card_text(card)
    assert await holidays(teams, GENERAL) == [
        ("2026-11-30", "2026-11-30", "Studiedag"),
        ("2026-12-21", "2027-01-01", "Kerstvakantie"),
    ]
    assert await holidays(teams, PERSONAL) == []
    [fetched] = fake.downloads
    assert fetched.path.startswith("/sharepoint/") and fetched.token == ""  # a pre-authenticated link


async def test_a_calendar_attached_in_a_channel_is_fetched_with_the_bot_token(teams: Teams) -> None:
    fake: FakeBotFrameworkWithFiles = teams.fake  # type: ignore[assignment]
    assert await teams.install("anna") == 201  # anna becomes admin of the channel's team
    card = await send(teams, "<at>Ritme</at> vakantie import", [fake.channel_file("rooster.ics", ICS)])
    assert "Holiday periods added: 2" in card_text(card)
    assert len(await holidays(teams, GENERAL)) == 2
    [fetched] = fake.downloads
    assert fetched.path.startswith("/v3/attachments/") and fetched.token in fake.tokens_issued


async def test_a_member_is_refused(teams: Teams) -> None:
    fake: FakeBotFrameworkWithFiles = teams.fake  # type: ignore[assignment]
    assert await teams.install("anna") == 201
    card = await send(teams, "holiday import", [fake.channel_file("rooster.ics", ICS)], who="bram")
    assert "Only an admin" in card_text(card)
    assert await holidays(teams, GENERAL) == []


async def test_files_with_other_commands_or_of_other_kinds_are_not_fetched(teams: Teams) -> None:
    fake: FakeBotFrameworkWithFiles = teams.fake  # type: ignore[assignment]
    assert await teams.install("anna") == 201
    await install_personal(teams)
    await send(teams, "help", [fake.personal_file("vakanties.ics", ICS)], personal=True)
    card = await send(teams, "holiday import", [fake.personal_file("rooster.pdf", b"%PDF-1.4")], personal=True)
    assert fake.downloads == []
    assert "Attach an iCalendar file" in card_text(card)


async def test_too_large_and_unreachable_files_are_refused(teams: Teams) -> None:
    fake: FakeBotFrameworkWithFiles = teams.fake  # type: ignore[assignment]
    assert await teams.install("anna") == 201
    big = fake.personal_file("big.ics", ICS + b" " * MAX_FILE_BYTES)
    card = await send(teams, "holiday import", [big], personal=True)
    assert "larger than 512 KiB" in card_text(card)

    elsewhere = fake.personal_file("vakanties.ics", ICS)
    elsewhere["content"]["downloadUrl"] = "http://127.0.0.1:9/plain-http.ics"  # not https, not the connector
    card = await send(teams, "holiday import", [elsewhere], personal=True)
    assert "could not download the file vakanties.ics" in card_text(card)
    assert await holidays(teams, GENERAL) == [] and await holidays(teams, PERSONAL) == []


async def test_the_bot_token_goes_to_the_connector_only(teams: Teams) -> None:
    fake: FakeBotFrameworkWithFiles = teams.fake  # type: ignore[assignment]
    assert await teams.install("anna") == 201
    attachment = fake.channel_file("rooster.ics", ICS)
    attachment["contentUrl"] = attachment["contentUrl"].replace("127.0.0.1", "localhost")  # another origin
    card = await send(teams, "holiday import", [attachment])
    assert fake.downloads == []  # plain http to another origin: not fetched at all
    assert "could not download" in card_text(card)


async def test_export_is_a_link_sent_privately_and_says_why(teams: Teams) -> None:
    assert await teams.install("anna") == 201
    before = len(teams.fake.sent)
    await teams.post(teams.activity("message", "anna", text="export"))
    sent = [s for s in teams.fake.sent[before:] if s.body.get("attachments")]
    private = [s for s in sent if s.conversation_id.startswith("a:1on1-")]
    public = [s for s in sent if s.conversation_id == GENERAL]
    assert len(private) == len(public) == 1
    shown = card_text(private[0].body["attachments"][0]["content"])
    assert "/export.csv" in shown and "personal chat" in shown  # the signed link, for anna only
    told = card_text(public[0].body["attachments"][0]["content"])
    assert "sent you the link in our personal chat" in told and "://" not in told
    refused = await teams.say("bram", "export")
    assert "Only an admin" in card_text(refused) and "personal chat" not in card_text(refused)


def test_the_manifest_lets_people_send_files() -> None:
    bots = manifest(
        app_id="00000000-0000-0000-0000-00000000b07d", public_url="https://ritme.example.org", commands=teams_menu()
    )["bots"]
    assert bots[0]["supportsFiles"] is True


def test_only_the_connector_gets_the_token() -> None:
    activity = Activity().deserialize(
        {
            "type": "message",
            "serviceUrl": "https://smba.trafficmanager.net/emea/",
            "attachments": [
                {
                    "contentType": "text/calendar",
                    "name": "a.ics",
                    "contentUrl": "https://smba.trafficmanager.net/emea/v3/attachments/1/views/original",
                },
                {"contentType": "text/calendar", "name": "b.ics", "contentUrl": "https://files.example/b.ics"},
                {"contentType": "text/html", "content": "<p>holiday import</p>"},
                {"contentType": "application/pdf", "name": "c.pdf", "contentUrl": "https://files.example/c.pdf"},
            ],
        }
    )
    assert [(f.name, f.with_token) for f in calendar_files(activity)] == [("a.ics", True), ("b.ics", False)]
