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

from functools import cache
from pathlib import Path

from babel.core import Locale
from babel.messages.pofile import read_po

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


class Translator:
    """Translates message ids into one language and fills in ``{named}`` fields."""

    __slots__ = ("lang",)

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "en"

    def __call__(self, msgid: str, /, **params: object) -> str:
        text = _catalog(self.lang).get(msgid, msgid)
        return text.format(**params) if params else text

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


def translator(lang: str) -> Translator:
    return Translator(lang)
