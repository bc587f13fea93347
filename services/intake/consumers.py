"""Intake follows every request it received through its lifecycle, so the first
responder can see where it is and chase it to the end (首问责任制)."""

from __future__ import annotations

import logging
from typing import Any

from services.intake import service, store
from shared.events.envelope import Envelope
from shared.inbox import Handler
from shared.lifecycle import State, follow
from shared.outbox import UnitOfWork

log = logging.getLogger(__name__)


async def follow_lifecycle(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    row = await store.get_request(uow.session, envelope.request_id, for_update=True)
    if row is None:
        log.warning("event %s for unknown request %s", envelope.type, envelope.request_id)
        return
    state = follow(State(row["state"]), envelope.type)
    if state is None:
        # Another service is the authority for this step; record nothing, but say so.
        log.warning("request %s: %s does not fit state %s", envelope.request_id, envelope.type, row["state"])
        return
    extra: dict[str, Any] = {}
    if envelope.type in ("request.routed", "request.rerouted"):
        extra["lead_department"] = data.lead_department
        extra["co_departments"] = list(data.co_departments)
        # Routing read the text: an urgent request, or the category of its matter.
        if data.urgency == "urgent":
            extra["urgency"] = "urgent"
        if data.category:
            extra["category"] = data.category
        if data.matter:
            extra["matter"] = data.matter
    if state == State.CLOSED:
        extra["closed_at"] = envelope.occurred_at  # the retention period counts from here
    await store.set_state(uow.session, envelope.request_id, state.value, **extra)


FOLLOWED = (
    "request.routed",
    "request.rerouted",
    "request.returned",
    "request.escalated",
    "request.accepted",
    "request.contacted",
    "request.progressed",
    "request.resolved",
    "request.feedback_given",
    "request.rated",
    "request.reopened",
    "request.revisited",
    "request.closed",
)
HANDLERS: dict[str, Handler] = {
    **{event_type: follow_lifecycle for event_type in FOLLOWED},
    # Any service that must reach the person asks here; only intake knows how.
    "notification.requested": service.on_notification_requested,
}
