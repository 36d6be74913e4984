"""Someone erased with ``forget-me``, where what others keep named them.

Storage writes one neutral marker in place of the person's member id (an appreciation's
colleague, a round's roster entry) and of their name or platform id inside a text (an answer
that names them, an agreed action). It is no word of any language: whoever shows such a
value turns it into "a former colleague" in the reader's language, with ``readable``.
"""

from __future__ import annotations

from rituals.i18n import N_, Translator

FORMER_COLLEAGUE = "[[former-colleague]]"
SHOWN_AS = N_("a former colleague")


def readable(text: str, _: Translator) -> str:
    """``text`` with every marker shown as "a former colleague" in the reader's language."""
    return text.replace(FORMER_COLLEAGUE, _(SHOWN_AS)) if FORMER_COLLEAGUE in text else text


def is_former(value: object) -> bool:
    """Whether a stored value (a colleague's id, a roster entry's id) is the marker."""
    return value == FORMER_COLLEAGUE
