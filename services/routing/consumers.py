"""Routing reacts to new, returned and reopened requests."""

from __future__ import annotations

from services.routing import service
from shared.events.catalogue import (
    KpiDepartmentFlagged,
    KpiPeriodScored,
    NotificationDelivered,
    NotificationOutbound,
    NotificationRequested,
    NotificationSent,
    RequestAccepted,
    RequestAnsweredAtIntake,
    RequestChased,
    RequestClosed,
    RequestContacted,
    RequestCoOpinionAdded,
    RequestDueChanged,
    RequestDueRecomputed,
    RequestEscalated,
    RequestExtensionDecided,
    RequestExtensionRequested,
    RequestFeedbackGiven,
    RequestIncomplete,
    RequestMerged,
    RequestMergeReleased,
    RequestPaused,
    RequestPersonalDataPurged,
    RequestProgressed,
    RequestRated,
    RequestReceived,
    RequestReopened,
    RequestRerouted,
    RequestResolved,
    RequestResumed,
    RequestReturned,
    RequestRevisited,
    RequestRevisitScheduled,
    RequestRouted,
    RequestSlaBreached,
    RequestSlaWarning,
    RequestSupervised,
    RequestSupervisionAnswered,
    RequestSupplemented,
    RequestWithdrawn,
    StaffRated,
    StaffRectificationDecided,
)
from shared.events.envelope import Envelope
from shared.inbox import Handlers

HANDLERS: Handlers = {
    RequestReceived: service.route_received,
    RequestReturned: service.handle_return,
    RequestReopened: service.handle_reopen,
    RequestSupplemented: service.route_supplemented,
    RequestAnsweredAtIntake: service.stop_routing,
    RequestMerged: service.stop_routing,
    RequestWithdrawn: service.stop_routing,
    RequestExtensionRequested: service.extension_waiting,
    RequestExtensionDecided: service.reschedule,
    RequestResumed: service.reschedule,
    RequestPaused: service.clocks_paused,
    RequestSlaWarning: service.sla_alert,
    RequestSlaBreached: service.sla_alert,
    RequestMergeReleased: service.route_released,
    RequestChased: service.tell_head_of_chase,
    # The department that resolved it kept it: a training label for the dispatch model.
    RequestResolved: service.label_resolved,
    RequestSupervised: service.supervision_ordered,
    RequestSupervisionAnswered: service.supervision_answered,
}
IGNORED = frozenset(
    {
        # Routing's own decisions.
        RequestRouted,
        RequestRerouted,
        RequestEscalated,
        RequestDueChanged,
        RequestDueRecomputed,
        # Steps that need no routing decision.
        RequestIncomplete,  # it waits for the supplement
        RequestAccepted,
        RequestContacted,
        RequestProgressed,
        RequestCoOpinionAdded,
        RequestFeedbackGiven,
        RequestRated,
        RequestRevisitScheduled,
        RequestRevisited,
        RequestClosed,
        RequestPersonalDataPurged,
        # Other services' business: notifications, staff ratings, KPI figures.
        NotificationRequested,
        NotificationSent,
        NotificationDelivered,
        NotificationOutbound,
        StaffRated,
        StaffRectificationDecided,
        KpiPeriodScored,
        KpiDepartmentFlagged,
    }
)


def is_urgent_arrival(envelope: Envelope) -> bool:
    """The urgent lane (green channel): new urgent requests are routed by a consumer group of
    their own, which skips everything else and so never waits behind the main backlog.
    Urgent as intake saw it, or as routing's safety net reads the text."""
    if envelope.type != RequestReceived.TYPE:
        return False
    if envelope.data.get("urgency") == "urgent":
        return True
    text = " ".join(str(envelope.data.get(k) or "") for k in ("title", "content"))
    return service.SAFETY.check(text) is not None
