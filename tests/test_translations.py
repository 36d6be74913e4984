"""The gettext catalogs cover every text a user can see, in Dutch and in English.

Message ids are extracted from the sources with Babel, the same way ``pybabel extract`` does,
and checked against ``rituals/locale/{nl,en}/LC_MESSAGES/{messages,library}.po``.
"""

from __future__ import annotations

import ast
import re
import string
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, unescape

from rituals.i18n import DOMAINS, LANGUAGES, catalog_path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "rituals", "adapters")
# Calls whose first argument is a message id. The exception classes take the msgid first and
# translate it where they are caught.
KEYWORDS = {
    "_": None,
    "N_": None,
    "t": None,
    "CommandError": None,
    "ScheduleError": None,
    "AnswerError": None,
    "ngettext": (1, 2),
}
# Messages of more than three words whose Dutch may rightly be the same as the English.
SAME_IN_DUTCH_AND_ENGLISH: set[str] = {'cron "0 9 * * 1"'}  # crontab reads the same in every language


def _sources(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _literal_msgids(source: str) -> set[str]:
    """First arguments of keyword calls that are string literals, as Python reads them."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and _call_name(node.func) in KEYWORDS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


@cache
def extracted() -> dict[str, tuple[str, ...]]:
    """Every msgid in the sources, with the places (path:line) that use it.

    Babel's Python extractor also picks up strings nested in a non-literal first argument,
    such as ``"theme"`` in ``_(THEMES[p["theme"]].name)``; those are not message ids and are
    dropped by checking each one against the literal first arguments of the same file.
    """
    found: dict[str, list[str]] = {}
    for path in _sources(*SOURCE_DIRS):
        literals = _literal_msgids(path.read_text(encoding="utf-8"))
        for lineno, message, _comments, _context in extract_from_file(
            "python", path, keywords=KEYWORDS, comment_tags=(), options={}
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid and msgid in literals:
                found.setdefault(msgid, []).append(f"{path.relative_to(ROOT)}:{lineno}")
    return {msgid: tuple(places) for msgid, places in found.items()}


@cache
def catalog(lang: str, domain: str) -> Catalog:
    with catalog_path(lang, domain).open("rb") as fh:
        return read_po(fh, locale=lang, domain=domain, abort_invalid=True)


def pairs(cat: Catalog) -> list[tuple[str, str]]:
    """(msgid, msgstr) of each translatable entry; plural forms are paired up by index."""
    out: list[tuple[str, str]] = []
    for message in cat:
        if not message.id:
            continue
        if isinstance(message.id, str):
            out.append((message.id, str(message.string or "")))
        else:
            strings = list(message.string or ())
            for i, form in enumerate(strings):
                out.append((message.id[min(i, len(message.id) - 1)], str(form or "")))
    return out


@cache
def translations(lang: str) -> dict[str, str]:
    """What the Translator knows in one language: both domains, non-empty strings only."""
    entries: dict[str, str] = {}
    for domain in DOMAINS:
        for msgid, msgstr in pairs(catalog(lang, domain)):
            if msgstr:
                entries[msgid] = msgstr
    return entries


def placeholders(text: str) -> set[str]:
    names: set[str] = set()
    for _literal, field, _spec, _conversion in string.Formatter().parse(text):
        if field is not None:
            names.add(re.split(r"[.\[]", field, maxsplit=1)[0])
    return names


CATALOG_FILES = [(lang, domain) for lang in LANGUAGES for domain in DOMAINS]


# -- the catalogs themselves ------------------------------------------------------------


@pytest.mark.parametrize(("lang", "domain"), CATALOG_FILES)
def test_catalog_parses(lang: str, domain: str) -> None:
    cat = catalog(lang, domain)
    assert len(cat) > 0, f"{catalog_path(lang, domain)} has no messages"


def _raw_msgids(path: Path) -> list[tuple[str, int]]:
    """(msgctxt + msgid, line) of each live entry, read line by line.

    ``read_po`` keeps the last of two equal msgids without a word, so duplicates are
    counted here.
    """
    ids: list[tuple[str, int]] = []
    context = ""
    current: list[str] | None = None
    start = 0

    def flush() -> None:
        nonlocal current, context
        if current is not None:
            ids.append((context + "\x04" + "".join(current), start))
            current = None
            context = ""

    lines = path.read_text(encoding="utf-8").splitlines()
    ctx_parts: list[str] | None = None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("msgctxt "):
            flush()
            ctx_parts = [unescape(stripped[len("msgctxt ") :])]
        elif stripped.startswith("msgid "):
            if ctx_parts is not None:
                context = "".join(ctx_parts)
                ctx_parts = None
            current, start = [unescape(stripped[len("msgid ") :])], number
        elif stripped.startswith('"'):
            if current is not None:
                current.append(unescape(stripped))
            elif ctx_parts is not None:
                ctx_parts.append(unescape(stripped))
        else:
            flush()
    flush()
    return ids


@pytest.mark.parametrize(("lang", "domain"), CATALOG_FILES)
def test_catalog_has_no_duplicate_msgids(lang: str, domain: str) -> None:
    path = catalog_path(lang, domain)
    entries = _raw_msgids(path)
    counts = Counter(key for key, _line in entries)
    duplicates = [f"line {line}: {key.split(chr(4), 1)[1]!r}" for key, line in entries if counts[key] > 1]
    assert not duplicates, f"{path.relative_to(ROOT)} has msgids twice:\n" + "\n".join(duplicates)


@pytest.mark.parametrize(("lang", "domain"), CATALOG_FILES)
def test_translations_keep_the_placeholders(lang: str, domain: str) -> None:
    problems = []
    for msgid, msgstr in pairs(catalog(lang, domain)):
        if not msgstr:
            continue
        try:
            expected, got = placeholders(msgid), placeholders(msgstr)
        except ValueError as err:
            problems.append(f"{msgid!r}: not a valid format string ({err})")
            continue
        if expected != got:
            problems.append(f"{msgid!r} -> {msgstr!r}: expected {sorted(expected)}, got {sorted(got)}")
    assert not problems, f"{catalog_path(lang, domain).relative_to(ROOT)}:\n" + "\n".join(problems)


def test_dutch_is_not_a_copy_of_english() -> None:
    nl, en = translations("nl"), translations("en")
    copies = sorted(
        msgid
        for msgid, dutch in nl.items()
        if len(msgid.split()) > 3
        and msgid not in SAME_IN_DUTCH_AND_ENGLISH
        and dutch.strip() == en.get(msgid, msgid).strip()
    )
    assert not copies, "Dutch equals English; untranslated?\n" + "\n".join(map(repr, copies))


# -- the sources against the catalogs -----------------------------------------------------


def test_extraction_finds_messages() -> None:
    found = extracted()
    assert len(found) > 100
    assert "Not allowed" in found  # bot/service.py, via _()
    assert "Which ritual? Give its number." in found  # bot/commands.py, via CommandError(N_())


def test_extraction_skips_strings_inside_expressions(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text('_(THEMES[p["theme"]].name)\n_("Themes")\n', encoding="utf-8")
    babel_ids = {m for _l, m, _c, _x in extract_from_file("python", source, keywords=KEYWORDS)}
    assert "Themes" in babel_ids
    assert babel_ids <= {"theme", "Themes"}  # Babel before 2.19 also reports "theme"
    assert _literal_msgids(source.read_text(encoding="utf-8")) == {"Themes"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(lang: str) -> None:
    known = translations(lang)
    missing = [
        f"{msgid!r}  ({', '.join(places)})"
        for msgid, places in sorted(extracted().items(), key=lambda kv: kv[1])
        if msgid not in known
    ]
    assert not missing, (
        f"{len(missing)} message(s) without a {lang} translation in "
        f"rituals/locale/{lang}/LC_MESSAGES/messages.po:\n" + "\n".join(missing)
    )


# -- no user-facing text outside the catalogs ----------------------------------------------

SHOWN_TYPES = {"Notice", "Input", "Option"}
SHOWN_FIELDS = {"title", "text", "footer", "label", "intro", "context"}


def _has_letters(text: str) -> bool:
    return any(c.isalpha() for c in text)


def _untranslated_literals(node: ast.expr) -> list[ast.expr]:
    """Literals with words in an expression, outside any call (a call translates or computes)."""
    if isinstance(node, ast.Constant):
        return [node] if isinstance(node.value, str) and _has_letters(node.value) else []
    if isinstance(node, ast.JoinedStr):
        # f"#{id} {title}" is fine; f"Ritual {id}" is not.
        parts = [v for v in node.values if isinstance(v, ast.Constant)]
        return [node] if any(_has_letters(str(p.value)) for p in parts) else []
    if isinstance(node, ast.BinOp):
        return _untranslated_literals(node.left) + _untranslated_literals(node.right)
    if isinstance(node, ast.IfExp):
        return _untranslated_literals(node.body) + _untranslated_literals(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [hit for value in node.values for hit in _untranslated_literals(value)]
    return []


def user_facing_literals(source: str, name: str) -> list[str]:
    """Shown texts written as literals in Notice(...), Input(...) and Option(...) calls."""
    hits = []
    for node in ast.walk(ast.parse(source, filename=name)):
        if not isinstance(node, ast.Call) or _call_name(node.func) not in SHOWN_TYPES:
            continue
        for keyword in node.keywords:
            if keyword.arg in SHOWN_FIELDS:
                for literal in _untranslated_literals(keyword.value):
                    text = ast.get_source_segment(source, literal)
                    hits.append(f"{name}:{literal.lineno}: {_call_name(node.func)}({keyword.arg}={text})")
    return hits


def test_user_facing_literals_are_translated() -> None:
    hits = [
        hit
        for path in _sources("adapters", "bot")
        for hit in user_facing_literals(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert not hits, "Texts shown to users without a translation call:\n" + "\n".join(hits)


@pytest.mark.parametrize(
    ("code", "flagged"),
    [
        ('Notice(title="Results", text=_("x"))', 1),
        ('Notice(title=_("Results"), text="")', 0),
        ('Notice(title=f"#{rid} {title}", text=" · ".join(parts))', 0),
        ('Notice(title=f"Ritual {rid}", text=x)', 1),
        ('Input(key="colleague", label="Colleague", kind=k)', 1),
        ('types.Option(value="yes", label=_("Yes") if a else "No")', 1),
        ('Notice(text=_("a") + " " + _("b"), footer="-")', 0),
        ('Option(value="1", label=str(name))', 0),
        ('Prompt(title="Not checked here")', 0),
    ],
)
def test_user_facing_literal_detection(code: str, flagged: int) -> None:
    assert len(user_facing_literals(code, "probe.py")) == flagged


def test_duplicate_detection_reads_multiline_msgids(tmp_path: Path) -> None:
    po = tmp_path / "probe.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: nl\\n"\n\n'
        'msgid "A \\"b\\""\nmsgstr "x"\n\n'
        'msgid ""\n"A "\n"\\"b\\""\nmsgstr "y"\n\n'
        'msgctxt "c"\nmsgid "A \\"b\\""\nmsgstr "z"\n',
        encoding="utf-8",
    )
    keys = [key for key, _line in _raw_msgids(po)]
    assert keys == ["\x04", '\x04A "b"', '\x04A "b"', 'c\x04A "b"']
