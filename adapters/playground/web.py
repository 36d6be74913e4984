"""HTTP routes of the playground page: state, commands and answers as JSON."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from adapters.playground.platform import (
    CHANNEL,
    PERSONAS,
    PLATFORM,
    WORKSPACE,
    Feed,
    Persona,
    notice_payload,
)
from rituals.i18n import Translator, translator
from rituals.ports import Inbound, OwnAnswer
from rituals.types import DB_IDS, Actor, ChannelRef

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MAX_FILE = 512 * 1024  # what the page lets one attach (a holiday calendar is a few KiB)
MAX_BODY = 768 * 1024  # room for a MAX_FILE file as base64 (4/3 of it) and the command
LANGUAGES = (("nl", "Nederlands"), ("en", "English"))  # the switch's languages, each named in its own

# Which of these commands (texts as typed) the actor may run in the playground's team.
Allowed = Callable[[Actor, list[str]], Awaitable[list[bool]]]


def _persona(user: object) -> Any:
    for p in PERSONAS:
        if p.id == user:
            return p
    raise web.HTTPBadRequest(text=json.dumps({"error": "unknown persona"}), content_type="application/json")


def _actor(user: object) -> Actor:
    p = _persona(user)
    return Actor(platform=PLATFORM, workspace_id=WORKSPACE, user_id=p.id, display_name=p.name)


CHANNEL_REF = ChannelRef(platform=PLATFORM, workspace_id=WORKSPACE, channel_id=CHANNEL)


async def _json(request: web.Request) -> dict[str, Any]:
    if request.content_length and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deeply
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body is not JSON"}), content_type="application/json"
        ) from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body must be a JSON object"}), content_type="application/json"
        )
    return data


def _files(raw: object) -> tuple[tuple[str, bytes], ...]:
    """Files sent with a command: ``[{"name": ..., "content_base64": ...}]``."""
    if raw is None:
        return ()
    bad = web.HTTPBadRequest(
        text=json.dumps({"error": "files must be a list of {name, content_base64}"}), content_type="application/json"
    )
    if not isinstance(raw, list) or len(raw) > 5:
        raise bad
    files = []
    for item in raw:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get("content_base64"), str)
        ):
            raise bad
        try:
            files.append((item["name"][:200], base64.b64decode(item["content_base64"], validate=True)))
        except (binascii.Error, ValueError):
            raise bad from None
    return tuple(files)


# The quick commands under the feed (help examples, in the team's words); each persona sees those it may run.
CHIPS = ("help", "list", "add reflection every monday at 09:00", "run #1", "review #1")


def _welcome(_: Translator) -> dict[str, Any]:
    """The welcome card at the top of the channel: the first five steps, each with buttons that
    pick a person or put a command in the input (the page never sends it by itself)."""
    answer = _("Answer")

    def be(persona: str) -> dict[str, Any]:
        return {"persona": persona, "label": _("Continue as {name}", name=_persona(persona).name)}

    def fill(example: str, persona: str) -> dict[str, Any]:
        return {"command": f"/ritme {_(example)}", "persona": persona}

    return {
        "title": _("Welcome to the Ritme playground"),
        "intro": _(
            "This channel plays a school team of four people, and you play them all. Try a ritual in five steps."
        ),
        "fill_hint": _("Puts the command in the message box; press {send} to send it.", send=_("Send")),
        "steps": [
            {
                "title": _("Pick a person"),
                "text": _(
                    "Anna is an admin: she sets up rituals. Bram is a leader, Chris and Dewi are members. "
                    "Who you are is chosen in the list of people."
                ),
                "buttons": [be("anna")],
            },
            {
                "title": _("Add a ritual"),
                "text": _("As Anna, add a weekly reflection question."),
                "buttons": [fill("add reflection every monday at 09:00", "anna")],
            },
            {
                "title": _("Run it now"),
                "text": _("A ritual follows its schedule; run sends its question to the channel right away."),
                "buttons": [fill("run #1", "anna")],
            },
            {
                "title": _("Answer as two people"),
                "text": _(
                    "Continue as Chris and press {answer} on the question; then do the same as Dewi.", answer=answer
                ),
                "buttons": [be("chris"), be("dewi")],
            },
            {
                "title": _("Read the answers"),
                "text": _(
                    "As Anna or Bram, see what the team answered. Members read the answers when the round closes."
                ),
                "buttons": [fill("review #1", "bram")],
            },
        ],
        "footer": _("Every command: /ritme help"),
    }


def _labels(_: Translator) -> dict[str, Any]:
    """The page's own words, in the team's language."""
    return {
        "title": _("Ritme playground"),
        "you_are": _("You are"),
        "send": _("Send"),
        "placeholder": _("Type a command, e.g. /ritme help"),
        "answer": _("Answer"),
        "submit": _("Submit"),
        "cancel": _("Cancel"),
        "closes": _("Closes"),
        "private": _("Only visible to you"),
        "answered": _("{n} answered"),
        "optional": _("optional"),
        "bot": "Ritme",
        "quick": _("Quick commands"),
        "new_messages": _("New messages"),
        "offline": _("The server cannot be reached."),
        "saved": _("Answer saved."),
        "attach": _("Attach a calendar file (.ics)"),
        "remove_file": _("Remove {name}"),
        "file_too_large": _("That file is larger than {size} KiB."),
        "file_type": _("Only calendar files (.ics) can be attached."),
        "max_file_kib": MAX_FILE // 1024,
    }


def _open_prompts(messages: list[tuple[int, str | None, dict[str, Any], datetime]]) -> list[int]:
    """The occurrence ids of the prompts in the feed that are not shown closed."""
    return [
        payload["occurrence_id"]
        for _mid, _uid, payload, _created in messages
        if payload.get("type") == "prompt" and not payload.get("closed") and type(payload.get("occurrence_id")) is int
    ]


async def _state(feed: Feed, team_info: Any, persona: Persona, inbound: Inbound, allowed: Allowed) -> dict[str, Any]:
    """What the page shows ``persona``: the team, the personas, its words and the feed, each
    open prompt it answered with its ``own`` answer (``values`` None: anonymous, not read back),
    the welcome card, the chips it may run and the language switch, all in the team's language."""
    name, language, timezone = await team_info()
    _ = translator(language)
    messages = await feed.messages(CHANNEL, persona.id)
    own = await inbound.own_answers(_actor(persona.id), _open_prompts(messages))
    roles = {"admin": _("admin"), "leader": _("leader"), "member": _("member")}
    chips = [f"/ritme {_(example)}" for example in CHIPS]
    switch = [f"/ritme {_('language')} {code}" for code, _name in LANGUAGES]
    welcome = _welcome(_)
    fills = [button for step in welcome["steps"] for button in step["buttons"] if "command" in button]
    may = iter(await allowed(_actor(persona.id), chips + switch + [button["command"] for button in fills]))
    may_chips = [chip for chip in chips if next(may)]
    may_switch = all([next(may) for _code in switch])
    for button in fills:
        button["may"] = next(may)  # not: the page first continues as the step's persona, who may
    return {
        "team": {"name": name or "Playground", "language": language, "timezone": timezone},
        "personas": [{"id": p.id, "name": p.name, "role": p.role, "role_label": roles[p.role]} for p in PERSONAS],
        "labels": _labels(_),
        "welcome": welcome,
        "chips": may_chips,
        "languages": {
            "label": _("Language"),
            "may_switch": may_switch,
            "hint": _("Only an admin can change the team's language."),
            "options": [
                {"code": code, "name": lang_name, "command": command}
                for (code, lang_name), command in zip(LANGUAGES, switch, strict=True)
            ],
        },
        "messages": [
            {"id": mid, "private": uid is not None, "created_at": created.isoformat(), "payload": payload}
            | _own(payload, own)
            for mid, uid, payload, created in messages
        ],
    }


def _own(payload: dict[str, Any], own: dict[int, OwnAnswer]) -> dict[str, Any]:
    occurrence = payload.get("occurrence_id")
    answer = own.get(occurrence) if payload.get("type") == "prompt" and type(occurrence) is int else None
    return {"own": {"values": answer.values}} if answer is not None else {}


def understood(text: str) -> str:
    """A command as the bot reads it: ``/help`` (any ``/word`` but ``/ritme``) is ``help``, as
    people used to other chat apps type it; anything else as typed."""
    stripped = text.lstrip()
    if stripped.startswith("/") and not stripped.lower().startswith("/ritme"):
        return stripped[1:]
    return text


def routes(inbound: Inbound, feed: Feed, team_info: Any, allowed: Allowed) -> web.RouteTableDef:
    """The playground's routes; ``team_info`` returns (name, language, timezone) of its team,
    ``allowed`` which commands a persona may run there (the chips it is shown)."""
    r = web.RouteTableDef()

    @r.get("/")
    async def index(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    @r.get("/playground/api/state")
    async def state(request: web.Request) -> web.Response:
        persona = _persona(request.query.get("user", PERSONAS[0].id))
        return web.json_response(await _state(feed, team_info, persona, inbound, allowed))

    @r.post("/playground/api/command")
    async def command(request: web.Request) -> web.Response:
        data = await _json(request)
        actor = _actor(data.get("user"))
        text = data.get("text")
        if not isinstance(text, str) or len(text) > 4000:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "text must be a string of at most 4000 characters"}),
                content_type="application/json",
            )
        files = _files(data.get("files"))
        await feed.post(
            CHANNEL,
            actor.user_id,
            {"type": "command", "user": actor.user_id, "text": text, "files": [name for name, _ in files]},
        )
        notice = await inbound.command(actor, CHANNEL_REF, understood(text), channel_name="Playground", files=files)
        reply = notice_payload(notice)
        if notice.keep:
            await feed.post(CHANNEL, actor.user_id, reply)
        # Not kept (forget-me's reply): only this response carries it; the page shows it until it reloads.
        return web.json_response({"ok": True, "reply": reply, "kept": notice.keep})

    @r.post("/playground/api/answer")
    async def answer(request: web.Request) -> web.Response:
        data = await _json(request)
        actor = _actor(data.get("user"))
        occurrence = data.get("occurrence_id")
        values = data.get("values")
        if not isinstance(occurrence, int) or isinstance(occurrence, bool) or not isinstance(values, dict):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "occurrence_id (a number) and values (an object) are needed"}),
                content_type="application/json",
            )
        if occurrence not in DB_IDS:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "occurrence_id is out of range"}), content_type="application/json"
            )
        answered = await inbound.answer(actor, occurrence, values, CHANNEL_REF)
        return web.json_response({"ok": answered.stored, "message": answered.message})

    r.static("/static/playground", STATIC)
    return r
