"""Translations: every word a user sees comes from the gettext catalogs in ``rituals/locale``.

Message ids are English source strings marked with ``_`` (at the call) or ``N_`` (where the
string is only declared, as in the ritual library). Catalogs are read with Babel at first
use; there is no compile step. Two domains exist: ``messages`` (the interface) and
``library`` (the ritual library's questions and statements).

Counts go through ``Translator.ngettext`` (a ``msgid_plural`` entry in the catalog): "1 antwoord",
"3 antwoorden". Both languages have two forms, chosen by Babel's plural rule of the language
(CLDR): form 0 for "one", form 1 for every other count, 0 included.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from functools import cache
from pathlib import Path

from babel.core import Locale
from babel.dates import format_date, format_datetime
from babel.messages.pofile import read_po
from babel.units import format_unit

LANGUAGES = ("nl", "en")
DOMAINS = ("messages", "library")
LOCALE_DIR = Path(__file__).parent / "locale"


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it here."""
    return msgid


def catalog_path(lang: str, domain: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"


@cache
def _catalog(lang: str) -> dict[str, str]:
    return _catalogs(lang)[0]


@cache
def _catalogs(lang: str) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """The language's messages: singular entries by msgid, plural entries (their forms) by the
    singular msgid."""
    entries: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for domain in DOMAINS:
        path = catalog_path(lang, domain)
        if not path.exists():
            continue
        with path.open("rb") as fh:
            for message in read_po(fh):
                if message.id and isinstance(message.id, str) and message.string:
                    entries[message.id] = str(message.string)
                elif message.id and isinstance(message.id, tuple) and isinstance(message.string, tuple | list):
                    if all(message.string):
                        plurals[str(message.id[0])] = tuple(str(form) for form in message.string)
    return entries, plurals


class Words(tuple[str, ...]):
    """Message ids that fill one field together (the kinds of ritual, say): each in the
    message's language, in alphabetical order, joined by commas."""


class Translator:
    """Translates message ids into one language and fills in ``{named}`` fields (``Words``
    in the same language)."""

    __slots__ = ("lang",)

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "en"

    def __call__(self, msgid: str, /, **params: object) -> str:
        text = _catalog(self.lang).get(msgid, msgid)
        if not params:
            return text
        return text.format(**{k: self.words(v) if isinstance(v, Words) else v for k, v in params.items()})

    def words(self, ids: Words) -> str:
        return ", ".join(sorted(self(w) for w in ids))

    def ngettext(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        """The form of a count's message that ``n`` takes in this language, with ``{n}`` and
        the other fields filled in."""
        forms = _catalogs(self.lang)[1].get(singular) or (singular, plural)
        form = 0 if Locale.parse(self.lang).plural_form(abs(n)) == "one" else 1
        return forms[min(form, len(forms) - 1)].format(n=n, **params)

    def decimal(self, value: float, *, sign: bool = False) -> str:
        """One decimal as the language writes it: 3.5 in English, 3,5 in Dutch."""
        text = f"{value:+.1f}" if sign else f"{value:.1f}"
        return text.replace(".", ",") if self.lang == "nl" else text

    def when(self, moment: datetime, tz: tzinfo) -> str:
        """A moment as people read it in the team's language and timezone: "ma 7 dec 09:00",
        "Mon 7 Dec 09:00" (Babel's ``format_datetime``; ``when_year`` adds the year)."""
        return format_datetime(moment, "EEE d MMM HH:mm", tzinfo=tz, locale=self.lang)

    def when_year(self, moment: datetime, tz: tzinfo) -> str:
        """A moment with its year: "ma 7 dec 2026 09:00" (a link's end, an audit entry)."""
        return format_datetime(moment, "EEE d MMM y HH:mm", tzinfo=tz, locale=self.lang)

    def day(self, day: date, *, year: bool = False, weekday: bool = True) -> str:
        """A day in the team's language: "ma 7 dec", with ``year`` "ma 7 dec 2026"."""
        pattern = ("EEE " if weekday else "") + "d MMM" + (" y" if year else "")
        return format_date(day, pattern, locale=self.lang)

    def month(self, day: date, *, year: bool = False) -> str:
        """A month's short name ("mrt", "Mar"), with ``year`` "mrt 2026"."""
        return format_date(day, "LLL y" if year else "LLL", locale=self.lang).rstrip(".")

    def duration(self, days: int) -> str:
        """A number of days as people say it: 730 -> "2 jaar" / "2 years", 90 -> "3 maanden",
        14 -> "2 weken", 400 -> "400 dagen". The largest unit that divides it exactly (Babel's
        ``format_timedelta`` rounds: 400 days would read as one year)."""
        for size, unit in ((365, "duration-year"), (30, "duration-month"), (7, "duration-week")):
            if days and days % size == 0:
                return format_unit(days // size, unit, length="long", locale=self.lang)
        return format_unit(days, "duration-day", length="long", locale=self.lang)


def translator(lang: str) -> Translator:
    return Translator(lang)
