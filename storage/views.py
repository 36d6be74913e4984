"""Rows to the neutral views of ``rituals.ports`` (and channel references to JSON and back)."""

from __future__ import annotations

from typing import Any

from rituals.ports import OccurrenceView, RitualView, TeamView
from rituals.types import ChannelRef
from storage.models import Occurrence, Ritual, Team


def team_view(t: Team) -> TeamView:
    return TeamView(
        id=t.id,
        platform=t.platform,
        workspace_id=t.workspace_id,
        channel_id=t.channel_id,
        name=t.name,
        timezone=t.timezone,
        language=t.language,
        goal=t.goal,
        holiday_country=t.holiday_country,
        anonymity_threshold=t.anonymity_threshold,
        settings=dict(t.settings or {}),
        retention_days=t.retention_days,
    )


def ritual_view(r: Ritual) -> RitualView:
    return RitualView(
        id=r.id,
        team_id=r.team_id,
        kind=r.kind,
        schedule=r.schedule,
        open_seconds=r.open_seconds,
        options=dict(r.options or {}),
        paused=r.paused,
        next_due_at=r.next_due_at,
        visibility=r.visibility,
    )


def occurrence_view(o: Occurrence) -> OccurrenceView:
    return OccurrenceView(
        id=o.id,
        ritual_id=o.ritual_id,
        planned_at=o.planned_at,
        status=o.status,
        reason=o.reason,
        content=dict(o.content or {}),
        opened_at=o.opened_at,
        closes_at=o.closes_at,
        closed_at=o.closed_at,
    )


def channel_from(data: dict[str, Any]) -> ChannelRef:
    return ChannelRef(
        platform=data["platform"],
        workspace_id=data["workspace_id"],
        channel_id=data["channel_id"],
        user_id=data.get("user_id"),
        ephemeral=bool(data.get("ephemeral", False)),
        members=tuple(data.get("members") or ()),
    )


def channel_to(ref: ChannelRef) -> dict[str, Any]:
    return {
        "platform": ref.platform,
        "workspace_id": ref.workspace_id,
        "channel_id": ref.channel_id,
        "user_id": ref.user_id,
        "ephemeral": ref.ephemeral,
        "members": list(ref.members),
    }
