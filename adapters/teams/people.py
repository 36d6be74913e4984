"""People as Teams knows them: a team's roster, paged, and who is who for 1:1 chats.

Ritme knows a Teams member by their Entra (AAD) object id, as ``bot.actor_of`` does, because
that id is the same in every team and chat. A bot can only open a 1:1 chat with the member's
Teams account id (``29:...``), which is different for each bot. ``Directory`` keeps the
mapping, filled by every roster fetch; ``TeamsPlatform`` asks the connector for a single
member when the mapping is not known here (after a restart, or on another replica).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import ChannelAccount

PAGE_SIZE = 200  # Teams serves at most 500 a page
MAX_PAGES = 100  # 20,000 members: more than any school team
BOT_PREFIX = "28:"  # Teams account ids of bots


@dataclass(frozen=True, kw_only=True, slots=True)
class Person:
    """One member of a roster: Ritme's id for them, their Teams account id and name."""

    user_id: str  # Entra object id, or the account id when Teams gives none
    account_id: str  # 29:..., what a 1:1 chat is opened with
    name: str


def person_of(account: ChannelAccount) -> Person | None:
    """The roster entry as a Person; None for bots and entries without an id."""
    account_id = str(getattr(account, "id", "") or "")
    if not account_id or account_id.startswith(BOT_PREFIX):
        return None
    aad = str(getattr(account, "aad_object_id", "") or "")
    name = str(getattr(account, "name", "") or getattr(account, "user_principal_name", "") or "")
    return Person(user_id=aad or account_id, account_id=account_id, name=name or aad or account_id)


class Directory:
    """(tenant, user id) ↔ Teams account id, bounded; the most recently learned are kept."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._accounts: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._users: OrderedDict[tuple[str, str], str] = OrderedDict()

    def learn(self, tenant_id: str, people: list[Person]) -> None:
        for person in people:
            for known, key, value in (
                (self._accounts, person.user_id, person.account_id),
                (self._users, person.account_id, person.user_id),
            ):
                known[(tenant_id, key)] = value
                known.move_to_end((tenant_id, key))
                while len(known) > self.size:
                    known.popitem(last=False)

    def account(self, tenant_id: str, user_id: str) -> str | None:
        return self._accounts.get((tenant_id, user_id))

    def user(self, tenant_id: str, account_id: str) -> str | None:
        """Ritme's id (the Entra object id) of a Teams account id, when known here."""
        return self._users.get((tenant_id, account_id))


async def roster(turn_context: TurnContext, *, page_size: int = PAGE_SIZE, max_pages: int = MAX_PAGES) -> list[Person]:
    """Everyone in the team of the conversation (or the chat's members outside a team), all
    pages, the bot itself and other bots left out. Raises what the SDK raises."""
    bot_id = getattr(turn_context.activity.recipient, "id", None)
    people: dict[str, Person] = {}
    token: str | None = None
    for _page in range(max_pages):
        page = await TeamsInfo.get_paged_members(turn_context, token, page_size)
        for account in page.members or []:
            person = person_of(account)
            if person is not None and person.account_id != bot_id:
                people.setdefault(person.user_id, person)
        token = page.continuation_token
        if not token:
            break
    return list(people.values())
