"""Who reads an answer: chosen per ritual, fixed per round, and said in one line on every card.

Three levels:

- ``team``: the team reads the words, with names, when the round closes (leaders and admins can
  read them in the review before that).
- ``leaders``: only leaders and admins read the words, with names; the results in the channel say
  how many answered, nothing of what.
- ``anonymous``: sealed while the round is open, no identity kept; results from the team's
  anonymity threshold up (written answers from ``words_threshold``), for everyone alike.

A ritual stores the level its admin chose, or none: then the kind's default holds (the kind's
``anonymous`` and ``shared`` flags: anonymous, else team when shared, else leaders), and a round
whose question the library marks as sensitive (``rituals.library.SENSITIVE``) is anonymous
rather than named in the channel: only an explicit ``team`` puts names on those answers.

A round keeps the level it opened with (``content["visibility"]``): what members were told
when they answered stays true, and a change of the ritual applies from its next round. Rounds
opened before levels existed carry none; they keep what their kind did then (``LEGACY``).
"""

from __future__ import annotations

import enum
from typing import Any, Protocol

from rituals.i18n import N_, Translator
from rituals.library import SENSITIVE


class Visibility(enum.StrEnum):
    TEAM = "team"
    LEADERS = "leaders"
    ANONYMOUS = "anonymous"


# Every way to type a level, English and Dutch, in the one grammar of both languages.
WORDS: dict[str, Visibility] = {
    "team": Visibility.TEAM,
    "leaders": Visibility.LEADERS,
    "leiding": Visibility.LEADERS,
    "anonymous": Visibility.ANONYMOUS,
    "anoniem": Visibility.ANONYMOUS,
}

# How each level is named in an answer (its own word in the team's language).
NAMES: dict[Visibility, str] = {
    Visibility.TEAM: N_("team"),
    Visibility.LEADERS: N_("leaders"),
    Visibility.ANONYMOUS: N_("anonymous"),
}

# What rounds opened before levels existed did: their members were told this.
LEGACY: dict[str, Visibility] = {"pulse": Visibility.ANONYMOUS, "pairs": Visibility.LEADERS}


class HasDefault(Protocol):
    """The part of a ritual kind its default level comes from."""

    @property
    def anonymous(self) -> bool: ...

    @property
    def shared(self) -> bool: ...


def default_visibility(kind: HasDefault) -> Visibility:
    """The kind's level when its ritual has none chosen."""
    if kind.anonymous:
        return Visibility.ANONYMOUS
    return Visibility.TEAM if kind.shared else Visibility.LEADERS


def parse_visibility(word: str) -> Visibility | None:
    """A level from one typed word, any case; None when it names none."""
    return WORDS.get(word.strip().lower())


def opening_visibility(kind: HasDefault, chosen: str | None, content: dict[str, Any]) -> Visibility:
    """The level a new round opens with: the ritual's chosen one; else the kind's default,
    made anonymous for a sensitive question that the default would put in the channel with
    names."""
    if chosen:
        return Visibility(chosen)
    default = default_visibility(kind)
    if default is Visibility.TEAM and str(content.get("question", "")) in SENSITIVE:
        return Visibility.ANONYMOUS
    return default


def round_visibility(kind_key: str, content: dict[str, Any]) -> Visibility:
    """The level a round opened with (``LEGACY`` for a round opened before there were levels)."""
    stored = content.get("visibility")
    if isinstance(stored, str) and stored in {v.value for v in Visibility}:
        return Visibility(stored)
    return LEGACY.get(kind_key, Visibility.TEAM)


LEAST_THRESHOLD = 3  # answers an anonymous round needs before results show; a team may raise it, never lower

# What a card says of who reads the answer, per level: the same words in the chat's review,
# on the review page and on /privacy.
WHO_READS_LEVEL: dict[Visibility, str] = {
    Visibility.TEAM: N_(
        "Leaders and admins can read your answer in the review; "
        "the team reads it, with your name, when the round closes."
    ),
    Visibility.LEADERS: N_(
        "Only leaders and admins read your answer, with your name; the team sees how many answered."
    ),
    Visibility.ANONYMOUS: N_(
        "Anonymous: nobody, admins included, can see who answered what. "
        "Results show when the round has closed, if at least {n} answered."
    ),
}


def who_reads(visibility: Visibility, threshold: int, _: Translator) -> str:
    """The one line every card and form carries: who will read the answer."""
    return _(WHO_READS_LEVEL[visibility], n=threshold)
