"""Events API payloads in the shapes Slack documents them, outer envelope included.

Each builder gives what Slack POSTs to the Request URL for one event, so that a test sends
what Slack sends, not what Ritme expects:

- ``thread_broadcast``: a thread reply with "Also send to #channel" ticked
  (https://docs.slack.dev/reference/events/message/thread_broadcast);
- ``unfurled``: the ``message_changed`` Slack sends when a link in a message unfurls: the
  message gains ``attachments`` and has no ``edited`` field
  (https://docs.slack.dev/reference/events/message/message_changed; a user's edit carries
  ``edited``, ``edited`` gives that one);
- ``org_wide``: an event about an org-wide (Enterprise Grid) install, ``app_uninstalled`` or
  ``tokens_revoked``: the organisation's ``enterprise_id`` and no ``team_id`` nor
  ``authorizations`` (bolt-python's ``tests/scenario_tests_async/test_events_token_revocations.py``,
  https://docs.slack.dev/reference/events/tokens_revoked).
"""

from __future__ import annotations

import time
from typing import Any


def envelope(
    event: dict[str, Any], event_id: str, *, team: str | None, enterprise: str | None = None
) -> dict[str, Any]:
    """The Events API's outer payload (https://docs.slack.dev/apis/events-api/#callback-field)."""
    body: dict[str, Any] = {"token": "x"}
    if team is not None:
        body["team_id"] = team
    if enterprise is not None:
        body["enterprise_id"] = enterprise
    body.update(
        {
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
        }
    )
    return body


def thread_broadcast(*, channel: str, user: str, text: str, ts: str, thread_ts: str, team: str) -> dict[str, Any]:
    """The event of a thread reply also sent to the channel: a ``message`` of subtype
    ``thread_broadcast``, with the thread's ``root``."""
    return {
        "type": "message",
        "subtype": "thread_broadcast",
        "text": text,
        "user": user,
        "ts": ts,
        "thread_ts": thread_ts,
        "root": {
            "type": "message",
            "text": "",
            "bot_id": "BBOT",
            "ts": thread_ts,
            "team": team,
            "thread_ts": thread_ts,
            "reply_count": 1,
            "reply_users_count": 1,
            "latest_reply": ts,
            "reply_users": [user],
            "is_locked": False,
        },
        "blocks": [
            {
                "type": "rich_text",
                "block_id": "BVp",
                "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
            }
        ],
        "client_msg_id": f"msg-{ts}",
        "channel": channel,
        "event_ts": ts,
        "channel_type": "channel",
    }


def _changed(message: dict[str, Any], changed: dict[str, Any], *, at: str) -> dict[str, Any]:
    """``message_changed`` of ``message`` (an event as it was posted) into ``changed``."""
    inner = {k: v for k, v in message.items() if k not in ("channel", "event_ts", "channel_type", "root")}
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": {**inner, **changed},
        "previous_message": inner,
        "channel": message["channel"],
        "hidden": True,
        "ts": at,
        "event_ts": at,
        "channel_type": "channel",
    }


def unfurled(message: dict[str, Any], url: str, *, at: str) -> dict[str, Any]:
    """Slack's own change of a posted message whose link unfurled: an attachment more, no ``edited``."""
    attachment = {"from_url": url, "original_url": url, "title": "A page", "title_link": url, "id": 1}
    return _changed(message, {"attachments": [attachment]}, at=at)


def edited(message: dict[str, Any], text: str, *, at: str) -> dict[str, Any]:
    """The member's own edit of a posted message: the new text, and ``edited`` (who, when)."""
    return _changed(message, {"text": text, "edited": {"user": message["user"], "ts": at}}, at=at)


def org_wide(kind: str, enterprise: str, event_id: str, **event: Any) -> dict[str, Any]:
    """``app_uninstalled`` or ``tokens_revoked`` of an org-wide install: enterprise_id, no team_id."""
    return envelope({"type": kind, **event}, event_id, team=None, enterprise=enterprise)
