"""Translations: every word a user sees comes from the gettext catalogs in ``rituals/locale``.

Message ids are English source strings marked with ``_`` (at the call) or ``N_`` (where the
string is only declared, as in the ritual library). Catalogs are read with Babel at first
use; there is no compile step. Two domains exist: ``messages`` (the interface) and
``library`` (the ritual library's questions and statements).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

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
    entries: dict[str, str] = {}
    for domain in DOMAINS:
        path = catalog_path(lang, domain)
        if not path.exists():
            continue
        with path.open("rb") as fh:
            for message in read_po(fh):
                if message.id and isinstance(message.id, str) and message.string:
                    entries[message.id] = str(message.string)
    return entries


class Translator:
    """Translates message ids into one language and fills in ``{named}`` fields."""

    __slots__ = ("lang",)

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "en"

    def __call__(self, msgid: str, /, **params: object) -> str:
        text = _catalog(self.lang).get(msgid, msgid)
        return text.format(**params) if params else text

    def decimal(self, value: float, *, sign: bool = False) -> str:
        """One decimal as the language writes it: 3.5 in English, 3,5 in Dutch."""
        text = f"{value:+.1f}" if sign else f"{value:.1f}"
        return text.replace(".", ",") if self.lang == "nl" else text


def translator(lang: str) -> Translator:
    return Translator(lang)
