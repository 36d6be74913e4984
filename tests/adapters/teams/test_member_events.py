"""Installs and team membership as Teams sends them, through the real server (tokens checked
by the SDK), in the shapes of Microsoft's "Conversation events in your Teams bot" (``EVENTS_DOC``):

- the bot added: on the channel picked, ``from`` with ids and no name;
- people added or removed: on the team's id, which is also General's; a removed member with
  their account id (29:...) only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from adapters.teams.activities import TEAM_KEY
from storage.models import Member, Team, TeamMember
from tests.adapters.teams.conftest import BOT_ID, GENERAL, PLANNING, REPO, TEAM, TENANT, Teams, account


async def roster_of(teams: Teams, channel: str) -> dict[str, str]:
    """The people in the channel's team: user id → display name."""
    async with teams.app[REPO].session() as s:
        rows = await s.execute(
            select(Member.user_id, Member.display_name)
            .join(TeamMember, TeamMember.member_id == Member.id)
            .join(Team, Team.id == TeamMember.team_id)
            .where(Team.channel_id == channel)
        )
        return {user_id: name for user_id, name in rows}


async def team_row(teams: Teams, channel: str) -> Team | None:
    async with teams.app[REPO].session() as s:
        return await s.scalar(select(Team).where(Team.channel_id == channel))


async def speak(teams: Teams, who: str, text: str, channel: str) -> None:
    mention = {"type": "mention", "text": "<at>Ritme</at>", "mentioned": {"id": BOT_ID, "name": "Ritme"}}
    message = teams.activity("message", who, conversation=channel, text=f"<at>Ritme</at> {text}", entities=[mention])
    assert await teams.post(message) in (200, 201)


async def test_the_installer_is_named_as_teams_names_them(teams: Teams) -> None:
    """The bot added to a team comes with ``from`` holding ids and no name (EVENTS_DOC, "Team
    members added"): the installer's name is asked of Teams (the team member API), and they
    are the team's admin under their Entra id."""
    teams.fake.roster = [account("anna")]
    assert await teams.install("anna", channel=PLANNING, name="Planning") == 201
    assert await roster_of(teams, PLANNING) == {"aad-anna": "Anna"}
    # botbuilder's TeamsInfo.get_member asks on the activity's conversation (the channel picked)
    assert [r.path for r in teams.fake.reads] == [f"/v3/conversations/{PLANNING}/members/29:anna"]
    row = await team_row(teams, PLANNING)
    assert row is not None and row.name == "Groep 7 / Planning" and row.conversation[TEAM_KEY] == TEAM["id"]


async def test_an_installer_teams_does_not_find_stays_nameless_until_they_speak(teams: Teams) -> None:
    """Teams not finding the installer (404) is no failure: the install goes on, the name
    comes with their first message."""
    assert await teams.install("anna") == 201
    assert await roster_of(teams, GENERAL) == {"aad-anna": ""}
    await speak(teams, "anna", "help", GENERAL)
    assert await roster_of(teams, GENERAL) == {"aad-anna": "Anna"}


async def test_people_added_to_the_team_join_the_channel_ritme_is_in(teams: Teams) -> None:
    """People added to the team come on the team's id (General's), the bot installed in
    another channel (EVENTS_DOC: "Conversation id is set to team id for all other conversation
    update scenarios"): they join the team of every channel Ritme serves in that team, named
    as the team's roster names them. Removed (account id only), they leave it again."""
    teams.fake.roster = [account("anna"), account("bram"), account("chris")]
    await teams.install("anna", channel=PLANNING, name="Planning")
    reads = len(teams.fake.reads)
    assert await teams.post(teams.members("anna", added=("bram", "chris"))) in (200, 201)
    assert await roster_of(teams, PLANNING) == {"aad-anna": "Anna", "aad-bram": "Bram", "aad-chris": "Chris"}
    assert await team_row(teams, GENERAL) is None  # no team for a channel Ritme was not added to
    looked_up = [r.path.rsplit("/", 1)[1] for r in teams.fake.reads[reads:]]
    assert looked_up == ["29:bram", "29:chris"]  # their names: the event gives ids only

    reads = len(teams.fake.reads)
    assert await teams.post(teams.members("anna", removed=("bram",))) in (200, 201)
    assert set(await roster_of(teams, PLANNING)) == {"aad-anna", "aad-chris"}
    assert teams.fake.reads[reads:] == []  # Bram's Entra id was known for his account id: no roster read


async def test_someone_removed_by_account_id_only_leaves_whoever_ritme_knows_them_by(teams: Teams) -> None:
    """A member removed comes with their account id only (EVENTS_DOC, "Team members
    removed"); Ritme knows Bram by his Entra id from his own message. With no account id known
    for him here, the team's roster is read: whoever is no longer in it leaves, in General
    and in Planning alike; the others stay."""
    teams.fake.roster = [account("anna"), account("bram"), account("chris")]
    await teams.install("anna", channel=PLANNING, name="Planning")
    await teams.install("anna")
    for channel in (GENERAL, PLANNING):
        await speak(teams, "bram", "help", channel)
        await speak(teams, "chris", "help", channel)
    assert (
        set(await roster_of(teams, PLANNING))
        == set(await roster_of(teams, GENERAL))
        == {
            "aad-anna",
            "aad-bram",
            "aad-chris",
        }
    )
    teams.fake.roster = [account("anna"), {"id": BOT_ID, "name": "Ritme"}, account("chris")]  # Bram is gone
    assert await teams.post(teams.members("anna", removed=("bram",))) in (200, 201)
    assert set(await roster_of(teams, PLANNING)) == set(await roster_of(teams, GENERAL)) == {"aad-anna", "aad-chris"}
    assert [r.path for r in teams.fake.reads if r.path.endswith("/pagedmembers")] == [
        f"/v3/conversations/{TEAM['id']}/pagedmembers"
    ]


async def test_a_refused_roster_after_a_removal_changes_no_one_else(teams: Teams) -> None:
    """When Teams will not give the roster, only the account id given is matched: nobody
    else leaves."""
    teams.fake.roster = [account("anna"), account("bram")]
    await teams.install("anna", channel=PLANNING, name="Planning")
    await speak(teams, "bram", "help", PLANNING)
    teams.fake.roster_status = 403
    assert await teams.post(teams.members("anna", removed=("chris",))) in (200, 201)
    assert set(await roster_of(teams, PLANNING)) == {"aad-anna", "aad-bram"}


async def test_the_bot_removed_from_the_team_stops_in_every_channel(teams: Teams) -> None:
    """The bot's own removal comes on the team's id too: each of the team's channels with a
    Ritme team goes inactive; a channel of another team does not."""
    await teams.install("anna", channel=PLANNING, name="Planning")
    other: dict[str, Any] = teams.installing("anna", channel="19:other@thread.tacv2", name="Elsewhere")
    other["channelData"]["team"] = {"id": "19:other-team@thread.tacv2", "name": "Groep 8"}
    assert await teams.post(other) == 201
    removed = teams.members("anna")
    removed["membersRemoved"] = [{"id": BOT_ID}]
    assert await teams.post(removed) in (200, 201)
    planning, elsewhere = await team_row(teams, PLANNING), await team_row(teams, "19:other@thread.tacv2")
    assert planning is not None and not planning.active
    assert elsewhere is not None and elsewhere.active
    assert elsewhere.workspace_id == TENANT
