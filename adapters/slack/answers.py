"""How members answer: the answer button opens the form (a modal), the submitted form is
stored and confirmed inside the ack, a scale button answers at once, a reply in a prompt's
thread is an answer too.

The form's ``view_submission`` is the one piece of work done inside the ack: its validation
errors can only be shown through the ack. Over Socket Mode it comes through bolt's listener
(``on_view_submission``); over HTTP ``adapters.slack.http`` hands it to ``submit`` without
bolt's dispatch, after the same ``Guards`` bolt runs. Why: measured with
``python -m bench answers`` (docs/benchmarks.md), bolt's dispatch of the form (context,
per-request Web API client, listener matching, argument injection) took the answers
throughput from 0.85 to 0.58 of the bare bolt app, under the 0.7 it must keep. The form
needs nothing bolt adds to a request (no token, no Web API call: the answer is stored and
confirmed inside the ack), so ``submit`` is the listener's own code, called directly.
"""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack.blocks import (
    ANSWER_ACTION,
    MODAL_CALLBACK,
    SCALE_ACTION,
    block_id,
    clip,
    first_input_block,
    form_title,
    modal_view,
    notice_view,
    refused_input,
    thread_input,
    view_values,
)
from adapters.slack.edge import Edge
from adapters.slack.payloads import workspace_of
from adapters.slack.platform import APPRECIATION, PLATFORM
from rituals.answers import ANSWERED, ANSWERED_MARK, ANSWERED_MARK_ANONYMOUS
from rituals.i18n import LANGUAGES, translator
from rituals.ports import Answered
from rituals.types import DB_IDS, Actor, ChannelRef


class Answers:
    """The listeners through which members answer."""

    def __init__(self, edge: Edge) -> None:
        self.edge = edge
        self.inbound = edge.inbound

    def register(self, app: AsyncApp) -> None:
        app.action({"type": "block_actions", "action_id": re.compile(re.escape(ANSWER_ACTION) + r"(_\d+)?$")})(
            self.on_answer_button
        )
        app.action({"type": "block_actions", "action_id": re.compile(re.escape(SCALE_ACTION) + r"[1-5]")})(
            self.on_scale_button
        )
        app.view(MODAL_CALLBACK)(self.on_view_submission)

    async def on_answer_button(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        self.edge.spawn(self._open_modal(body))

    async def _open_modal(self, body: dict[str, Any]) -> None:
        user = body.get("user") or {}
        user_id = str(user.get("id", ""))
        team_id = workspace_of(body)
        channel_id = str((body.get("channel") or {}).get("id", ""))
        try:
            occurrence_id = int((body.get("actions") or [{}])[0].get("value", ""))
        except (TypeError, ValueError):
            return
        info = await self.inbound.prompt(occurrence_id) if occurrence_id in DB_IDS else None
        if info is None or info.prompt.closed:
            _ = translator(info.language if info else "en")
            await self.edge.ephemeral(
                team_id, channel_id, user_id, _("This round has closed; answers are no longer taken.")
            )
            return
        _ = translator(info.language)
        me = Actor(platform=PLATFORM, workspace_id=team_id, user_id=user_id)
        own = (await self.inbound.own_answers(me, [occurrence_id])).get(occurrence_id)
        if own is not None and own.values is None:  # anonymous, answered: nothing the form could change
            view = notice_view(
                form_title(modal_view(info.prompt, "", _)), _(ANSWERED), _, mark=info.prompt.answered_mark
            )
            await self.edge.api(team_id, "views.open", trigger_id=body.get("trigger_id"), view=view)
            return
        initial: dict[str, Any] = dict(own.values or {}) if own is not None else {}
        if info.prompt.kind == APPRECIATION and own is None:
            colleague = await self.inbound.assigned_colleague(occurrence_id, team_id, user_id)
            if colleague:
                initial["colleague"] = colleague[0]
        view = modal_view(info.prompt, channel_id or info.channel.channel_id, _, initial, answered=own is not None)
        await self.edge.api(team_id, "views.open", trigger_id=body.get("trigger_id"), view=view)
        await self.edge.people.user(team_id, user_id)  # the name the submission is stored under, looked up now

    async def on_scale_button(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        self.edge.spawn(self._scale_answer(body))

    async def _scale_answer(self, body: dict[str, Any]) -> None:
        user = body.get("user") or {}
        team_id = workspace_of(body)
        channel_id = str((body.get("channel") or {}).get("id", ""))
        try:
            value = json.loads((body.get("actions") or [{}])[0].get("value", ""))
            occurrence_id, key, score = int(value["o"]), str(value["k"]), int(value["v"])
        except (TypeError, ValueError, KeyError, OverflowError, RecursionError):
            return
        actor = await self.edge.actor(
            team_id, str(user.get("id", "")), str(user.get("username") or user.get("name") or "")
        )
        channel = ChannelRef(platform=PLATFORM, workspace_id=team_id, channel_id=channel_id)
        message = (await self._answer(actor, channel, occurrence_id, {key: score})).message
        await self.edge.ephemeral(team_id, channel_id, actor.user_id, message)

    async def on_view_submission(self, ack: Any, body: dict[str, Any]) -> None:
        """The answer form over Socket Mode (over HTTP ``adapters.slack.http`` calls ``submit``)."""
        await ack(**(await self.submit(body) or {}))

    async def submit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """Store the answer inside the ack, and what the ack says: a refusal comes back in
        the form; a stored answer's confirmation takes the form's place, seen where the
        member answered, with no Web API call (an ephemeral message cost a sixth of the event
        loop under load). The person is named as everywhere else (``users.info``; the name
        looked up when the form opened, see ``_actor``). None: an empty ack."""
        user, view = body.get("user") or {}, body.get("view") or {}
        team_id = workspace_of(body)
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            occurrence_id, channel_id = int(meta["o"]), str(meta.get("c", ""))
        except (TypeError, ValueError, KeyError, OverflowError, RecursionError):
            return None
        actor = await self.edge.actor(
            team_id, str(user.get("id", "")), str(user.get("name") or user.get("username") or ""), known=True
        )
        channel = ChannelRef(platform=PLATFORM, workspace_id=team_id, channel_id=channel_id)
        values = view_values(view)
        answered = await self._answer(actor, channel, occurrence_id, values)
        message = answered.message
        if not answered.stored and any(b.get("type") == "input" for b in view.get("blocks") or []):
            return await self._refusal(view, occurrence_id, channel, values, answered)
        _ = translator(meta["l"] if meta.get("l") in LANGUAGES else await self.edge.language_of(channel) or "en")
        mark = _(ANSWERED_MARK_ANONYMOUS if meta.get("a") else ANSWERED_MARK) if answered.stored else ""
        return {"response_action": "update", "view": notice_view(form_title(view), message, _, mark=mark)}

    async def _refusal(
        self, view: dict[str, Any], occurrence_id: int, channel: ChannelRef, values: dict[str, Any], answered: Answered
    ) -> dict[str, Any]:
        """How the form shows a refused answer. Under the input it is about (as Slack shows a
        required field left empty); a refusal about the round, not the answer (it closed or
        is gone, or the person is not in the team), replaces the form with a short view
        that says so: nothing typed there can change it."""
        info = await self.inbound.prompt(occurrence_id) if occurrence_id in DB_IDS else None
        _ = translator(info.language if info else await self.inbound.language_of(channel))
        message = answered.message
        if info is None or info.prompt.closed or not answered.mendable:
            return {"response_action": "update", "view": notice_view(form_title(view), message, _)}
        shown = {str(b.get("block_id")) for b in view.get("blocks") or [] if b.get("type") == "input"}
        item = refused_input(info.prompt.inputs, values)
        block = block_id(item) if item is not None and block_id(item) in shown else first_input_block(view)
        return {"response_action": "errors", "errors": {str(block): clip(message, 150)}}

    async def _answer(self, actor: Actor, channel: ChannelRef, occurrence_id: int, values: dict[str, Any]) -> Answered:
        """``inbound.answer``; an id beyond the database's range is an occurrence that does not
        exist: the member is told so and nothing is stored."""
        if occurrence_id not in DB_IDS:
            _ = translator(await self.inbound.language_of(channel))
            return Answered(stored=False, message=_("That question no longer exists."))
        return await self.inbound.answer(actor, occurrence_id, values, channel)

    async def thread_reply(self, event: dict[str, Any], team_id: str) -> None:
        channel_id, thread_ts = str(event.get("channel", "")), str(event["thread_ts"])
        occurrence_id = await self.inbound.thread_occurrence(team_id, channel_id, thread_ts)
        if occurrence_id is None:
            return
        info = await self.inbound.prompt(occurrence_id)
        item = thread_input(info.prompt) if info else None
        if info is not None and info.prompt.anonymous and not info.prompt.closed:
            _ = translator(info.language)
            await self.edge.ephemeral(
                team_id,
                channel_id,
                str(event["user"]),
                _(
                    "This round is anonymous: answer with the buttons on the message, so nobody sees who answered. "
                    "Your reply in the thread is not stored; you can delete it."
                ),
                thread_ts=thread_ts,
            )
            return
        if info is None or item is None:
            return
        text = str(event.get("text") or "").strip()
        if not text:
            return
        actor = await self.edge.actor(team_id, str(event["user"]))
        via = ChannelRef(platform=PLATFORM, workspace_id=team_id, channel_id=channel_id)
        message = (await self.inbound.answer(actor, occurrence_id, {item.key: text}, via)).message
        await self.edge.ephemeral(team_id, channel_id, actor.user_id, message, thread_ts=thread_ts)
