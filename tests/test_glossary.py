"""Every translation follows the glossary (``rituals/locale/GLOSSARY.md``), and counts take the
right plural form.

The glossary's table names, per term, the words a translation must not use; this reads them
from the file itself, so the glossary and the check cannot drift apart.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from rituals.i18n import DOMAINS, catalog_path, translator

GLOSSARY = Path(__file__).resolve().parent.parent / "rituals" / "locale" / "GLOSSARY.md"


def avoided() -> dict[str, set[str]]:
    """Per language, the words the glossary's table says not to use."""
    words: dict[str, set[str]] = {"en": set(), "nl": set()}
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("English", "") or set(cells[0]) <= {"-"}:
            continue
        words["en"] |= {w.strip() for w in cells[1].split(",") if w.strip()}
        words["nl"] |= {w.strip() for w in cells[3].split(",") if w.strip()}
    return words


def translations(lang: str) -> list[tuple[str, str]]:
    """(msgid, translation) of every entry of both domains, each plural form on its own."""
    out = []
    for domain in DOMAINS:
        with catalog_path(lang, domain).open("rb") as fh:
            for message in read_po(fh):
                if not message.id:
                    continue
                msgid = message.id if isinstance(message.id, str) else message.id[0]
                forms = message.string if isinstance(message.string, tuple) else (message.string,)
                out += [(msgid, str(form or "")) for form in forms]
    return out


def uses(text: str, word: str) -> bool:
    """Whether ``word`` occurs in ``text`` as a whole word (not inside "leiderschap")."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text, re.IGNORECASE) is not None


def test_the_glossary_names_words_to_avoid() -> None:
    words = avoided()
    assert {"leider", "puls", "koppeling", "vergeten", "review"} <= words["nl"]
    assert {"frames", "between two stools"} <= words["en"]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_no_translation_uses_a_word_the_glossary_avoids(lang: str) -> None:
    words = avoided()[lang]
    hits = [f"{msgid!r}: {text!r} uses {w!r}" for msgid, text in translations(lang) for w in words if uses(text, w)]
    assert not hits, "\n".join(hits)


def test_the_check_catches_a_word_and_spares_a_longer_one() -> None:
    assert uses("Vraag het een leider.", "leider")
    assert not uses("Eigenaarschap en leiderschap", "leider")
    assert not uses("rol toevoegen teamleider @anna", "leider")
    assert uses("toevoegen puls elke maandag", "puls") and not uses("de teampuls", "puls")


@pytest.mark.parametrize(
    ("lang", "n", "expected"),
    [
        ("nl", 0, "0 geschreven antwoorden"),
        ("nl", 1, "1 geschreven antwoord"),
        ("nl", 2, "2 geschreven antwoorden"),
        ("en", 0, "0 written answers"),
        ("en", 1, "1 written answer"),
        ("en", 2, "2 written answers"),
    ],
)
def test_counts_take_the_plural_form_of_their_language(lang: str, n: int, expected: str) -> None:
    assert translator(lang).ngettext("{n} written answer", "{n} written answers", n) == expected


def test_a_count_without_a_catalog_entry_falls_back_to_the_english_forms() -> None:
    _ = translator("nl")
    assert _.ngettext("{n} cup for {who}", "{n} cups for {who}", 1, who="Anna") == "1 cup for Anna"
    assert _.ngettext("{n} cup for {who}", "{n} cups for {who}", 3, who="Anna") == "3 cups for Anna"
