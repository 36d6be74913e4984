"""Files on Slack: a holiday calendar shared with ``holiday import``, the CSV of ``export``.

Signed events into the real server; the fake Slack serves the shared files (to the bot
token only) and takes the uploads of ``files_upload_v2``."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select

from adapters.slack.files import MAX_FILE_BYTES, file_hosts
from adapters.slack.manifest import manifest
from bot.server import REPO
from storage.models import AuditEntry, Holiday, Team
from tests.adapters.slack.conftest import ADMIN, CHANNEL, MEMBER, Harness
from tests.adapters.slack.test_slack_server import add_and_run, open_modal, submission, texts
from tests.fakes.calendars import ICS


def file_share(
    files: list[dict[str, Any]],
    text: str = "holiday import",
    *,
    user: str = ADMIN,
    channel: str = CHANNEL,
    channel_type: str = "channel",
    ts: str = "1700000500.000100",
) -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "file_share",
        "text": text,
        "user": user,
        "channel": channel,
        "channel_type": channel_type,
        "ts": ts,
        "event_ts": ts,
        "upload": True,
        "display_as_bot": False,
        "files": files,
    }


async def holidays(slack: Harness, channel: str = CHANNEL) -> list[tuple[str, str, str]]:
    async with slack.app[REPO].session() as s:
        rows = await s.execute(
            select(Holiday.start_date, Holiday.end_date, Holiday.name)
            .join(Team, Team.id == Holiday.team_id)
            .where(Team.channel_id == channel)
            .order_by(Holiday.start_date)
        )
        return [(a.isoformat(), b.isoformat(), n) for a, b, n in rows.all()]


def ephemerals(slack: Harness) -> list[dict[str, Any]]:
    return [c.body for c in slack.fake.called("chat.postEphemeral")]


# -- holiday import -----------------------------------------------------------------------


async def test_the_slash_command_explains_how_to_share_the_calendar(slack: Harness) -> None:
    answer = await slack.command("holiday import", user=ADMIN)
    shown = texts(answer["blocks"])
    assert answer["response_type"] == "ephemeral"
    assert "holiday import" in shown and ".ics" in shown and "#channel" in shown
    refused = await slack.command("holiday import", user=MEMBER)
    assert "Only an admin" in texts(refused["blocks"])  # the refusal names the role, no how-to


async def test_a_calendar_shared_with_holiday_import_is_imported(slack: Harness) -> None:
    shared = slack.fake.add_file("vakanties.ics", ICS)
    response = await slack.event(file_share([shared]), "EvF1")
    assert response.status == 200
    assert await holidays(slack) == [
        ("2026-11-30", "2026-11-30", "Studiedag"),
        ("2026-12-21", "2027-01-01", "Kerstvakantie"),
    ]
    downloads = slack.fake.called("download")
    assert len(downloads) == 1 and downloads[0].token == "xoxb-test"
    answer = ephemerals(slack)[-1]
    assert answer["user"] == ADMIN and answer["channel"] == CHANNEL
    assert "Holiday periods added: 2" in answer["text"]

    again = await slack.event(file_share([shared], ts="1700000600.000100"), "EvF1", **{"X-Slack-Retry-Num": "1"})
    assert again.status == 200 and len(slack.fake.called("download")) == 1  # a retry is not imported twice


async def test_dutch_words_and_a_mention_of_the_bot(slack: Harness) -> None:
    await slack.command("language nl", user=ADMIN)
    shared = slack.fake.add_file("rooster.ics", ICS)
    await slack.event(file_share([shared], "<@UBOT> vakantie import"), "EvF2")
    assert len(await holidays(slack)) == 2
    assert "Vakantieperiodes toegevoegd: 2" in ephemerals(slack)[-1]["text"]


async def test_a_member_is_refused_and_nothing_is_stored(slack: Harness) -> None:
    shared = slack.fake.add_file("vakanties.ics", ICS)
    await slack.event(file_share([shared], user=MEMBER), "EvF3")
    assert await holidays(slack) == []
    answer = ephemerals(slack)[-1]
    assert answer["user"] == MEMBER and "Only an admin" in answer["text"]


async def test_other_messages_with_files_are_left_alone(slack: Harness) -> None:
    shared = slack.fake.add_file("notes.ics", ICS)
    await slack.event(file_share([shared], "our calendar for next year"), "EvF4")
    assert slack.fake.called("download") == [] and ephemerals(slack) == []
    assert await slack.count(Team) == 0


async def test_files_that_are_not_calendars_are_not_downloaded(slack: Harness) -> None:
    shared = slack.fake.add_file("rooster.pdf", b"%PDF-1.4", mimetype="application/pdf", filetype="pdf")
    await slack.event(file_share([shared]), "EvF5")
    assert slack.fake.called("download") == []
    assert "Attach an iCalendar file" in ephemerals(slack)[-1]["text"]


async def test_too_large_files_are_refused_before_and_while_downloading(slack: Harness) -> None:
    announced = slack.fake.add_file("big.ics", b"x" * 10, size=MAX_FILE_BYTES + 1)
    await slack.event(file_share([announced]), "EvF6")
    assert slack.fake.called("download") == []
    assert "larger than 512 KiB" in ephemerals(slack)[-1]["text"]

    understated = slack.fake.add_file("big2.ics", ICS + b" " * MAX_FILE_BYTES, size=100)
    await slack.event(file_share([understated], ts="1700000700.000100"), "EvF7")
    assert len(slack.fake.called("download")) == 1
    assert "larger than 512 KiB" in ephemerals(slack)[-1]["text"]
    assert await holidays(slack) == []


async def test_the_token_goes_to_slack_only(slack: Harness) -> None:
    shared = slack.fake.add_file("vakanties.ics", ICS)
    elsewhere = {**shared, "url_private_download": "https://evil.example/files/vakanties.ics"}
    await slack.event(file_share([elsewhere]), "EvF8")
    assert slack.fake.called("download") == []
    assert "could not download the file vakanties.ics" in ephemerals(slack)[-1]["text"]
    assert await holidays(slack) == []
    assert file_hosts("https://slack.com/api/") == {"slack.com", "files.slack.com"}


async def test_slack_sign_in_page_is_not_a_calendar(slack: Harness) -> None:
    shared = slack.fake.add_file("vakanties.ics", ICS)
    slack.fake.without_files_read = True  # Slack answers with its sign-in page (HTML)
    await slack.event(file_share([shared]), "EvF9")
    assert len(slack.fake.called("download")) == 1
    assert "files:read" in ephemerals(slack)[-1]["text"]
    assert await holidays(slack) == []


async def test_a_file_from_another_organisation_is_looked_up_with_files_info(slack: Harness) -> None:
    shared = slack.fake.add_file("vakanties.ics", ICS)
    await slack.event(
        file_share([{"id": shared["id"], "mode": "file_access", "file_access": "check_file_info"}]), "EvF10"
    )
    assert [c.body["file"] for c in slack.fake.called("files.info")] == [shared["id"]]
    assert len(await holidays(slack)) == 2


async def test_in_a_direct_message_the_words_name_the_channel(slack: Harness) -> None:
    shared = slack.fake.add_file("vakanties.ics", ICS)
    await slack.event(
        file_share([shared], f"holiday import <#{CHANNEL}|team-a>", channel="DADMIN", channel_type="im"), "EvF11"
    )
    assert len(await holidays(slack, CHANNEL)) == 2
    answer = ephemerals(slack)[-1]
    assert answer["channel"] == "DADMIN" and "Holiday periods added: 2" in answer["text"]


# -- export --------------------------------------------------------------------------------


async def answered_round(slack: Harness) -> None:
    """A reflection answered by the member and closed, so that the export has a row."""
    occurrence_id, _posted = await add_and_run(slack, "reflection")
    view = await open_modal(slack, occurrence_id)
    block = next(b for b in view["blocks"] if b["type"] == "input")["block_id"]
    await slack.interact(
        submission(view, {block: {"value": {"type": "plain_text_input", "value": "=Pair reading works"}}})
    )
    closed = await slack.command("close #1", user=ADMIN)
    assert "That did not work" not in texts(closed["blocks"]), closed


async def test_export_posts_the_csv_to_the_admin_and_keeps_the_link(slack: Harness) -> None:
    await answered_round(slack)
    answer = await slack.command("export", user=ADMIN)
    shown = texts(answer["blocks"])
    assert "direct messages with Ritme" in shown
    assert "https://ritme.example.org/review/" in shown and "/export.csv" in shown

    opened = slack.fake.called("conversations.open")[-1]
    assert opened.body["users"] == ADMIN and opened.token == "xoxb-test"
    [posted] = slack.fake.shared
    assert posted["channel"] == "D" + ADMIN  # the admin's DM, never the channel
    assert posted["name"].startswith("ritme-team-") and posted["name"].endswith(".csv")
    assert f"<#{CHANNEL}>" in posted["initial_comment"]
    assert [c.token for c in slack.fake.called("files.getUploadURLExternal")] == ["xoxb-test"]
    assert [c.token for c in slack.fake.called("files.completeUploadExternal")] == ["xoxb-test"]
    rows = list(csv.reader(io.StringIO(posted["content"].decode("utf-8-sig"))))
    assert rows[0][:3] == ["Date", "Ritual", "Kind"]
    assert any("'=Pair reading works" in row for row in rows[1:])  # kept from running as a formula
    async with slack.app[REPO].session() as s:
        assert "export" in (await s.scalars(select(AuditEntry.action))).all()


async def test_export_by_a_member_uploads_nothing(slack: Harness) -> None:
    answer = await slack.command("export", user=MEMBER)
    assert "Only an admin" in texts(answer["blocks"])
    assert slack.fake.called("files.getUploadURLExternal") == [] and slack.fake.shared == []


async def test_a_failed_upload_still_gives_the_link(slack: Harness) -> None:
    slack.fake.fail("files.completeUploadExternal", "channel_not_found")
    answer = await slack.command("export", user=ADMIN)
    shown = texts(answer["blocks"])
    assert "Posting the CSV file failed" in shown and "/export.csv" in shown
    assert slack.fake.shared == []


# -- the manifest ----------------------------------------------------------------------------


def test_manifest_asks_for_the_file_scopes_and_direct_messages() -> None:
    m = manifest("https://ritme.example.org")
    assert {"files:read", "files:write", "im:history"} <= set(m["oauth_config"]["scopes"]["bot"])
    assert "message.im" in m["settings"]["event_subscriptions"]["bot_events"]
    assert m["features"]["app_home"]["messages_tab_read_only_enabled"] is False
