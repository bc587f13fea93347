"""Routing reacts to new, returned and reopened requests."""

from __future__ import annotations

from services.routing import service
from shared.events.envelope import Envelope
from shared.inbox import Handler

HANDLERS: dict[str, Handler] = {
    "request.received": service.route_received,
    "request.returned": service.handle_return,
    "request.reopened": service.handle_reopen,
    "request.supplemented": service.route_supplemented,
    "request.answered_at_intake": service.stop_routing,
    "request.merged": service.stop_routing,
    "request.withdrawn": service.stop_routing,
    "request.merge_released": service.route_released,
    "request.chased": service.tell_head_of_chase,
    "request.sla_warning": service.tell_of_sla_alert,
    "request.sla_breached": service.tell_of_sla_alert,
}


def is_urgent_arrival(envelope: Envelope) -> bool:
    """The urgent lane (green channel): new urgent requests are routed by a consumer group of
    their own, which skips everything else and so never waits behind the main backlog."""
    return envelope.type == "request.received" and envelope.data.get("urgency") == "urgent"
