"""Handling puts routed requests into the departments' queues."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from services.handling import service, sla_scheduler, store
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
from shared.inbox import Handler, Handlers
from shared.outbox import UnitOfWork

# Routing decisions: what they need of their requests is read with the fetch.
OPENING = frozenset({RequestRouted.TYPE, RequestRerouted.TYPE})


async def prepare_batch(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> None:
    """A fetch's routing decisions: their requests' cases (locked), ends and running clocks
    read in three statements; the cases and clocks they open written together at commit."""
    await store.read_fetch(uow.session, [env.request_id for env in envelopes if env.type in OPENING])


def _settled(handler: Handler) -> Handler:
    """Any other reaction sees the database as it stands: what the fetch opened so far is
    written first (in a fetch applied together; nothing to do otherwise)."""

    @functools.wraps(handler)
    async def settled(uow: UnitOfWork, envelope: Envelope, data: object) -> None:
        await store.settle_fetch(uow.session, envelope.request_id)
        await handler(uow, envelope, data)

    return settled


HANDLERS: Handlers = {
    RequestRouted: service.open_cases,
    RequestRerouted: service.open_cases,
    RequestAnsweredAtIntake: _settled(service.close_cases),
    RequestMerged: _settled(service.close_cases),
    RequestWithdrawn: _settled(service.close_cases),
    RequestClosed: _settled(service.close_cases),
    RequestReopened: _settled(service.note_reopened),
    RequestDueChanged: _settled(service.apply_due_changed),
    RequestMergeReleased: _settled(service.reopen_released),
    RequestDueRecomputed: _settled(sla_scheduler.apply_recomputed_due),
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
