"""Handling puts routed requests into the departments' queues."""

from __future__ import annotations

from services.handling import service, sla_scheduler
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
from shared.inbox import Handlers

HANDLERS: Handlers = {
    RequestRouted: service.open_cases,
    RequestRerouted: service.open_cases,
    RequestAnsweredAtIntake: service.close_cases,
    RequestMerged: service.close_cases,
    RequestWithdrawn: service.close_cases,
    RequestClosed: service.close_cases,
    RequestReopened: service.note_reopened,
    RequestDueChanged: service.apply_due_changed,
    RequestMergeReleased: service.reopen_released,
    RequestDueRecomputed: sla_scheduler.apply_recomputed_due,
}
IGNORED = frozenset(
    {
        # Before routing: no department has it yet.
        RequestReceived,
        RequestIncomplete,
        RequestSupplemented,
        RequestChased,  # routing tells the head
        RequestEscalated,  # the rerouting that follows opens the case
        # Handling's own events: it has done what they say already.
        RequestAccepted,
        RequestContacted,
        RequestProgressed,
        RequestReturned,
        RequestExtensionRequested,
        RequestExtensionDecided,
        RequestPaused,
        RequestResumed,
        RequestCoOpinionAdded,
        RequestResolved,
        RequestSlaWarning,
        RequestSlaBreached,
        RequestSupervised,
        RequestSupervisionAnswered,
        # After resolution: followup's business, until the request closes or is reopened;
        # notifications, staff ratings and KPI figures are other services' business.
        RequestFeedbackGiven,
        RequestRated,
        RequestRevisitScheduled,
        RequestRevisited,
        RequestPersonalDataPurged,
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
