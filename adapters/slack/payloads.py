"""What Slack sends, read as bolt reads it, and checked before bolt or a listener reads it.

A signed body must be UTF-8, JSON or a form (an interaction: a form whose one field
``payload`` holds JSON), and its payload must carry, with the JSON types Slack sends, the
fields bolt reads into a request's context and the listeners read after it: a command's
user, team and channel; an interaction's user and team; an event's team, or for an event
about an org-wide install its organisation (``payload_problem``). Anything else gets a short
400 and changes nothing.

The shapes checked are Slack's documented ones: slash commands
(https://docs.slack.dev/interactivity/implementing-slash-commands), interaction payloads
(https://docs.slack.dev/reference/interaction-payloads/block_actions-payload,
https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload) and the
Events API's outer event (https://docs.slack.dev/apis/events-api/#callback-field). Only
what is read is checked, and only its JSON type: a payload of Slack's shape passes whatever
else it carries.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import msgspec
from yarl import URL

from adapters.slack.blocks import MODAL_CALLBACK

# -- bodies bolt can read ---------------------------------------------------------------


_ID = (str, type(None))
_OBJECT = (dict, type(None))
_LIST = (list, type(None))
# What bolt reads into a request's context, at the top of a payload and in the objects it
# looks into (``_NESTED``), with the JSON types it assumes: any other type raises inside bolt.
_CONTEXT_FIELDS: dict[str, tuple[type, ...]] = {
    "type": _ID,
    "team_id": _ID,
    "user_id": _ID,
    "channel_id": _ID,
    "enterprise_id": _ID,
    "thread_ts": _ID,
    "function_execution_id": _ID,
    "bot_access_token": _ID,
    "team": (str, dict, type(None)),
    "user": (str, dict, type(None)),
    "enterprise": (str, dict, type(None)),
    "channel": (str, dict, type(None)),
    "event": (dict,),
    "message": _OBJECT,
    "previous_message": _OBJECT,
    "item": _OBJECT,
    "assistant_thread": _OBJECT,
    "authorizations": _LIST,
}
_HOLDERS = ("team", "user", "enterprise", "channel")  # a string id, or an object carrying one
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread")
_INTERACTIONS = ("block_actions", "view_submission", "view_closed")  # the listeners read their parts as objects
_MAX_DEPTH = 4  # Slack nests these objects two deep (event.message)
INSTALLATION_EVENTS = ("app_uninstalled", "tokens_revoked")  # about the app's installation, not a workspace's talk


class BadBody(ValueError):
    """A request body bolt cannot read; the message is the 400's body."""


def ssl_check(raw: bytes) -> bool:
    """Slack's unsigned probe of a slash command's URL (``ssl_check=1``): bolt answers it."""
    return b"ssl_check=1" in raw and parse_qs(raw.decode("utf-8", "replace")).get("ssl_check") == ["1"]


def readable_body(raw: bytes, content_type: str | None) -> tuple[str, Any]:
    """The body as the text bolt's request is made from, and what bolt reads in it (as
    ``form_or_json``); ``BadBody`` when it is neither UTF-8 nor JSON nor a form. Whether the
    payload has a shape bolt and the listeners can read is ``payload_problem``'s question."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise BadBody("body is not UTF-8") from None
    media_type = content_type.split(";")[0] if content_type else None
    form_payload = text.startswith("payload=") or "&payload=" in text  # a key: '&' and '=' in values are encoded
    if "payload" in text and media_type != "application/json" and not text.startswith("{") and not form_payload:
        # A slash command whose words contain "payload": bolt's parser would take the form for
        # an interactive payload and read nothing. The same form, that word percent-encoded.
        text = text.replace("payload", "p%61yload")
    try:
        payload = interaction_payload(text) if media_type != "application/json" else None
        if payload is None:
            payload = form_or_json(text, media_type)
    except (ValueError, RecursionError):
        raise BadBody("body is neither JSON nor a form with a JSON payload") from None
    return text, payload


def form_or_json(text: str, media_type: str | None) -> Any:
    """A body as bolt's own parser reads it (bolt's request reads it so again): JSON when it
    says so or looks so, else a form, whose field ``payload`` (an interaction) holds JSON.
    ``tests/adapters/slack/test_forms.py`` holds the two parsers to the same answers."""
    if not text:
        return {}
    if media_type == "application/json" or text.startswith("{"):
        return json.loads(text)
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in text:
        return json.loads(fields["payload"]) if "payload" in fields else {}
    return fields


def interaction_payload(text: str) -> Any:
    """An interaction as Slack sends it, a form whose one field ``payload`` holds JSON, read
    as bolt's ``parse_body`` reads it but unquoted by yarl (aiohttp's URL library, in C):
    an eighth of the time urllib takes for the same text, which was a tenth of the answer
    form's ack; its JSON read by ``json_loads``. None for any other body: bolt's parser
    reads those."""
    if not text.startswith("payload=") or "&" in text:
        return None
    fields = URL.build(query_string=text, encoded=True).query  # read as is, unquoted by .query
    return json_loads(fields["payload"]) if list(fields) == ["payload"] else None


_decoder = msgspec.json.Decoder()


def json_loads(text: str) -> Any:
    """``json.loads``, read by msgspec (in C, half the time for an answer form): the same
    result wherever msgspec reads the text; what it refuses and ``json`` takes (NaN, a lone
    surrogate, 1e400) is read by ``json``."""
    try:
        return _decoder.decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return json.loads(text)


def payload_problem(payload: object) -> str | None:
    """Why bolt or the listeners could not read a payload; None when they can.

    Only what they read is checked, and only its JSON type, so a payload of the shape Slack
    sends passes whatever else it carries."""
    if not isinstance(payload, dict):
        return "payload is not a JSON object"
    problem = _context_problem(payload, "payload", 0)
    if problem:
        return problem
    kind = payload.get("type")
    event = payload.get("event")
    if kind == "event_callback" and event is None:
        return "payload.event is missing"
    if event is not None and not (isinstance(event.get("type"), str) and isinstance(event.get("files"), _LIST)):
        return "payload.event has the wrong shape"
    if kind in _INTERACTIONS and not (
        isinstance(payload.get("user"), dict)
        and isinstance(payload.get("team"), _OBJECT)
        and isinstance(payload.get("channel"), _OBJECT)
    ):
        return "payload.user, .team and .channel must be objects"
    problem = _whose_problem(payload)
    if problem:
        return problem
    if kind == "block_actions":
        actions = payload.get("actions")
        if (
            not isinstance(actions, list)
            or not actions
            or not all(
                isinstance(a, dict) and isinstance(a.get("action_id"), str) and isinstance(a.get("value"), _ID)
                for a in actions
            )
        ):
            return "payload.actions must be a list of actions"
    if kind in ("view_submission", "view_closed") and "view" not in payload:
        return "payload.view is missing"
    if "view" in payload and not _view_readable(payload["view"]):
        return "payload.view has the wrong shape"
    urls = payload.get("response_urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, dict) for u in urls):
        return "payload.response_urls must be a list of objects"
    return None


def _given(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _whose_problem(payload: dict[str, Any]) -> str | None:
    """Who sent it and from where, as the listeners read it: a slash command's user, team and
    channel; an interaction's user and team (``team.id``, else ``user.team_id``); an event's
    team, or the installation an ``INSTALLATION_EVENTS`` event is about (an org-wide install's
    come with ``enterprise_id`` only). Without them a member or team would be written with an
    empty id."""
    if "command" in payload and payload.get("ssl_check") != "1":  # a slash command, as bolt tells one
        missing = [key for key in ("user_id", "team_id", "channel_id") if not _given(payload.get(key))]
        return "command without " + ", ".join(missing) if missing else None
    kind = payload.get("type")
    if kind in _INTERACTIONS:
        user, team = payload["user"], payload.get("team") or {}
        if not _given(user.get("id")):
            return "payload.user.id is missing"
        if not (_given(team.get("id")) or _given(user.get("team_id"))):
            return "payload.team.id is missing"
    if kind == "event_callback" and not _given(payload.get("team_id")):
        if not (_event_type(payload) in INSTALLATION_EVENTS and installation_of(payload)):
            return "payload.team_id is missing"
    return None


def _event_type(payload: dict[str, Any]) -> object:
    event = payload.get("event")
    return event.get("type") if isinstance(event, dict) else None


def _context_problem(obj: dict[str, Any], where: str, depth: int) -> str | None:
    if depth > _MAX_DEPTH:
        return f"{where} is nested too deeply"
    for key, types in _CONTEXT_FIELDS.items():
        if key in obj and not isinstance(obj[key], types):
            return f"{where}.{key} has the wrong type"
    for key in _HOLDERS:
        holder = obj.get(key)
        if isinstance(holder, dict) and not all(
            isinstance(holder.get(f), _ID) for f in ("id", "team_id", "enterprise_id")
        ):
            return f"{where}.{key} has an id that is not a string"
    inner = [(f"{where}.{key}", obj[key]) for key in _NESTED if isinstance(obj.get(key), dict)]
    for i, item in enumerate(obj.get("authorizations") or []):
        if not isinstance(item, dict):
            return f"{where}.authorizations must be a list of objects"
        inner.append((f"{where}.authorizations[{i}]", item))
    for name, nested in inner:
        problem = _context_problem(nested, name, depth + 1)
        if problem:
            return problem
    return None


def _view_readable(view: object) -> bool:
    """A view as bolt and the modal's listener read it: type, metadata, blocks and the
    submitted state."""
    if not isinstance(view, dict) or not isinstance(view.get("type"), str):
        return False
    if not all(isinstance(view.get(key), _ID) for key in ("private_metadata", "team_id", "app_installed_team_id")):
        return False
    blocks, state = view.get("blocks"), view.get("state")
    if not isinstance(blocks, _LIST) or not all(isinstance(b, dict) for b in blocks or []):
        return False
    if not isinstance(state, _OBJECT) or not isinstance(values := (state or {}).get("values"), _OBJECT):
        return False
    for actions in (values or {}).values():
        if not isinstance(actions, _OBJECT):
            return False
        for element in (actions or {}).values():
            if not isinstance(element, _OBJECT):
                return False
            element = element or {}
            picked = element.get("selected_options")
            if not (
                isinstance(element.get("value"), _ID)
                and isinstance(element.get("selected_option"), _OBJECT)
                and isinstance(picked, _LIST)
                and all(isinstance(o, dict) for o in picked or [])
            ):
                return False
    return True


def installation_of(payload: dict[str, Any]) -> str:
    """Which installation an event about the app itself (``app_uninstalled``, ``tokens_revoked``)
    is about, read as bolt reads an event's installation (its first ``authorizations`` entry, else
    the payload's own ids) and keyed as slack_sdk's installation stores key one: a workspace's
    install by its ``team_id``; an org-wide (Enterprise Grid) install by its ``enterprise_id``.
    An org-wide install's events carry the organisation's ``enterprise_id`` and no ``team_id``
    (https://api.slack.com/enterprise/apps/reference; bolt-python's
    ``tests/scenario_tests_async/test_events_token_revocations.py``). "" when it names none."""
    first = (payload.get("authorizations") or [None])[0]
    source = first if isinstance(first, dict) else payload
    enterprise, team = source.get("enterprise_id") or payload.get("enterprise_id"), source.get("team_id")
    if enterprise and (source.get("is_enterprise_install") or not team):
        return str(enterprise)
    return str(team or payload.get("team_id") or "")


def workspace_of(payload: dict[str, Any]) -> str:
    """The workspace an interaction comes from: ``team.id``, else ``user.team_id``."""
    return str((payload.get("team") or {}).get("id") or (payload.get("user") or {}).get("team_id") or "")


def is_answer_form(payload: dict[str, Any]) -> bool:
    """A member submitting Ritme's answer form (``view_submission``)."""
    view = payload.get("view")
    return (
        payload.get("type") == "view_submission"
        and isinstance(view, dict)
        and view.get("callback_id") == MODAL_CALLBACK
    )
