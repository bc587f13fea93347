"""Followup follows each request's lifecycle so it knows when feedback is due."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from services.followup import service, store
from shared.events.catalogue import (
    KpiDepartmentFlagged,
    KpiPeriodScored,
    NotificationDelivered,
    NotificationOutbound,
    NotificationRequested,
    NotificationSent,
    RequestAnsweredAtIntake,
    RequestChased,
    RequestClosed,
    RequestCoOpinionAdded,
    RequestDueChanged,
    RequestDueRecomputed,
    RequestExtensionDecided,
    RequestExtensionRequested,
    RequestFeedbackGiven,
    RequestMerged,
    RequestMergeReleased,
    RequestPaused,
    RequestPersonalDataPurged,
    RequestRated,
    RequestReceived,
    RequestReopened,
    RequestResumed,
    RequestRevisited,
    RequestRevisitScheduled,
    RequestSlaBreached,
    RequestSlaWarning,
    RequestSupervised,
    RequestSupervisionAnswered,
    RequestWithdrawn,
    StaffRated,
    StaffRectificationDecided,
)
from shared.events.envelope import Envelope
from shared.inbox import Handler, Handlers
from shared.lifecycle import CHANGES_STATE
from shared.outbox import UnitOfWork

# Followup decides these steps itself (and has moved the request on when it emitted them).
DECIDED_HERE = frozenset(
    {RequestFeedbackGiven, RequestRated, RequestReopened, RequestRevisited, RequestClosed}
)


def _settled(handler: Handler) -> Handler:
    """A reaction that writes more than the followup's own state: in a fetch applied
    together, what the fetch holds is written first and its writes go to the database."""

    @functools.wraps(handler)
    async def settled(uow: UnitOfWork, envelope: Envelope, data: object) -> None:
        async with store.settled(uow.session):
            await handler(uow, envelope, data)

    return settled


OWN_HANDLERS: Handlers = {
    RequestReceived: service.track_received,
    RequestAnsweredAtIntake: _settled(service.feedback_at_once),
    RequestWithdrawn: _settled(service.on_withdrawn),
    RequestMerged: _settled(service.on_merged),
    RequestDueChanged: _settled(service.due_changed),
    RequestMergeReleased: _settled(service.on_merge_released),
    RequestDueRecomputed: _settled(service.on_due_recomputed),
}
# Every other step that changes the state (routed, rerouted, returned, escalated, accepted,
# contacted, progressed, resolved, incomplete, supplemented): the followup's state follows.
TRACKED = CHANGES_STATE - DECIDED_HERE - set(OWN_HANDLERS)
HANDLERS: Handlers = {
    **OWN_HANDLERS,
    **{event: service.track_lifecycle for event in sorted(TRACKED, key=lambda e: e.TYPE)},
}
IGNORED = frozenset(
    {
        *DECIDED_HERE,
        RequestRevisitScheduled,  # followup's own
        # Steps that leave the state and the feedback due time as they are.
        RequestChased,
        RequestExtensionRequested,
        RequestExtensionDecided,  # an approved one arrives as request.due_changed
        RequestPaused,
        RequestResumed,  # its moved due times arrive as request.due_changed
        RequestCoOpinionAdded,
        RequestSlaWarning,
        RequestSlaBreached,
        RequestSupervised,
        RequestSupervisionAnswered,
        # Other services' business, or followup's own staff ratings.
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


async def prepare_batch(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> None:
    """A fetch's followups read and locked in one statement before its events are applied
    (each event then costs its update alone)."""
    await store.lock_for_fetch(uow.session, [envelope.request_id for envelope in envelopes])
