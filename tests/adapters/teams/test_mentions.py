"""@mentions in commands: the bot's own is dropped, a colleague's names exactly that person
(by their Entra id, as Ritme knows them when they speak), whatever their display name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.server import REPO
from storage.models import Member, Team
from tests.adapters.teams.conftest import BOT_ID, PEOPLE, Teams, account, card_text


def mention(who: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    return {
        "type": "mention",
        "text": text or f"<at>{who['name']}</at>",
        "mentioned": {"id": who["id"], "name": who["name"]},
    }


async def say(teams: Teams, who: str, text: str, entities: list[dict[str, Any]]) -> dict[str, Any]:
    """A message with mention entities, as Teams sends it; returns the reply card."""
    before = len(teams.fake.sent)
    assert await teams.post(teams.activity("message", who, text=text, entities=entities)) == 201
    (reply,) = teams.fake.sent[before:]
    return reply.body["attachments"][0]["content"]


async def roles(teams: Teams) -> list[tuple[str, str, str]]:
    async with teams.app[REPO].session() as s:
        team_id = (await s.scalars(select(Team.id))).one()
    return await teams.app[REPO].role_list(team_id)


BOT = {"id": BOT_ID, "name": "Ritme"}


async def test_role_add_with_a_mention_names_that_person(teams: Teams) -> None:
    teams.fake.roster = [account("anna"), account("bram")]
    await teams.install("anna")
    answer = await say(
        teams, "anna", "<at>Ritme</at> role add leader <at>Bram</at>", [mention(BOT), mention(PEOPLE["bram"])]
    )
    assert "Bram is now leader" in card_text(answer), card_text(answer)
    assert ("leader", "aad-bram", "Bram") in await roles(teams)

    # Bram, speaking for the first time, is that same member, and a leader.
    await teams.say("bram", "goal set Every pupil reads with pleasure")
    assert "Every pupil reads with pleasure" in card_text(await teams.say("chris", "goal"))
    async with teams.app[REPO].session() as s:
        assert (await s.scalars(select(Member.user_id).where(Member.display_name == "Bram"))).all() == ["aad-bram"]


async def test_the_mention_is_resolved_whatever_the_name_and_without_the_bot_mentioned(teams: Teams) -> None:
    """A personal chat has no bot mention; a display name has spaces; a second colleague of
    the same name is a different person; the mention text may be escaped HTML."""
    twin = {"id": "29:bram2", "aadObjectId": "aad-bram2", "name": "Bram de Vries"}
    teams.fake.roster = [account("anna"), account("bram"), {**twin, "tenantId": "tenant-1"}]
    await teams.install("anna")
    answer = await say(teams, "anna", "<p>role add admin <at>Bram de Vries</at>&nbsp;</p>", [mention(twin)])
    assert "Bram de Vries is now admin" in card_text(answer), card_text(answer)
    await teams.say("bram", "help")  # in the team: a pairs round could include him
    answer = await say(teams, "anna", "pairs exclude <at>Bram</at>", [mention(PEOPLE["bram"])])
    assert "Bram is left out" in card_text(answer), card_text(answer)
    assert ("admin", "aad-bram2", "Bram de Vries") in await roles(teams)
    async with teams.app[REPO].session() as s:
        assert sorted((await s.scalars(select(Member.user_id))).all()) == ["aad-anna", "aad-bram", "aad-bram2"]


async def test_a_known_person_is_not_looked_up_again(teams: Teams) -> None:
    teams.fake.roster = [account("anna"), account("bram")]
    await teams.install("anna")
    await say(teams, "anna", "role add leader <at>Bram</at>", [mention(PEOPLE["bram"])])
    reads = len(teams.fake.reads)
    answer = await say(teams, "anna", "role remove leader <at>Bram</at>", [mention(PEOPLE["bram"])])
    assert "no longer leader" in card_text(answer)
    assert len(teams.fake.reads) == reads


async def test_a_mention_in_free_text_stays_a_name(teams: Teams) -> None:
    teams.fake.roster = [account("anna"), account("bram")]
    await teams.install("anna")
    teams.fake.reads.clear()  # the installer's name, asked at the install
    await say(
        teams,
        "anna",
        "<at>Ritme</at> goal set Read with <at>Bram</at> every day",
        [mention(BOT), mention(PEOPLE["bram"])],
    )
    goal = card_text(await teams.say("chris", "goal"))
    assert "Read with Bram every day" in goal, goal
    assert teams.fake.reads == []  # nobody to look up for a goal


async def test_a_person_teams_cannot_find_is_matched_by_name_in_the_team(teams: Teams) -> None:
    """Without the roster (Teams refuses) the mention falls back to the name, which the
    command matches among the team's members, or refuses: never a member made up."""
    await teams.install("anna")
    await teams.say("bram", "help")  # Bram is in the team
    answer = await say(teams, "anna", "role add leader <at>Bram</at>", [mention(PEOPLE["bram"])])
    assert "Bram is now leader" in card_text(answer)
    assert ("leader", "aad-bram", "Bram") in await roles(teams)
    answer = await say(teams, "anna", "role add leader <at>Dana</at>", [mention(PEOPLE["dana"])])
    assert "know" in card_text(answer)
    async with teams.app[REPO].session() as s:
        assert sorted((await s.scalars(select(Member.user_id))).all()) == ["aad-anna", "aad-bram"]


async def test_a_reference_typed_by_hand_names_nobody(teams: Teams) -> None:
    """Teams escapes what is typed: ``<@id|Name>`` written out is not a mention."""
    await teams.install("anna")
    answer = await say(teams, "anna", "role add leader &lt;@aad-eva|Eva&gt;", [])
    assert "know" in card_text(answer)
    async with teams.app[REPO].session() as s:
        assert (await s.scalars(select(Member.user_id))).all() == ["aad-anna"]
