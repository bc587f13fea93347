"""Followup follows each request's lifecycle so it knows when feedback is due."""

from __future__ import annotations

from services.followup import service
from shared.inbox import Handler

TRACKED = (
    "request.routed",
    "request.rerouted",
    "request.returned",
    "request.escalated",
    "request.accepted",
    "request.contacted",
    "request.progressed",
    "request.resolved",
    "request.incomplete",
    "request.supplemented",
)
HANDLERS: dict[str, Handler] = {
    "request.received": service.track_received,
    "request.answered_at_intake": service.feedback_at_once,
    "request.withdrawn": service.on_withdrawn,
    "request.merged": service.on_merged,
    "request.due_changed": service.due_changed,
    "request.merge_released": service.on_merge_released,
    "request.due_recomputed": service.on_due_recomputed,
    **{event_type: service.track_lifecycle for event_type in TRACKED},
}
