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
    "request.extension_requested": service.extension_waiting,
    "request.extension_decided": service.reschedule,
    "request.resumed": service.reschedule,
    "request.sla_warning": service.sla_alert,
    "request.sla_breached": service.sla_alert,
    "request.merge_released": service.route_released,
    "request.chased": service.tell_head_of_chase,
    # The department that resolved it kept it: a training label for the dispatch model.
    "request.resolved": service.label_resolved,
    "request.supervised": service.supervision_ordered,
    "request.supervision_answered": service.supervision_answered,
}


def is_urgent_arrival(envelope: Envelope) -> bool:
    """The urgent lane (green channel): new urgent requests are routed by a consumer group of
    their own, which skips everything else and so never waits behind the main backlog.
    Urgent as intake saw it, or as routing's safety net reads the text."""
    if envelope.type != "request.received":
        return False
    if envelope.data.get("urgency") == "urgent":
        return True
    text = " ".join(str(envelope.data.get(k) or "") for k in ("title", "content"))
    return service.SAFETY.check(text) is not None
