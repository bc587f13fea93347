"""Intake follows every request it received through its lifecycle, so the first
responder can see where it is and chase it to the end (首问责任制)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from services.intake import service, store
from services.intake.domain.request import IntakeRequest
from shared.events.catalogue import (
    EventData,
    KpiDepartmentFlagged,
    KpiPeriodScored,
    NotificationDelivered,
    NotificationOutbound,
    NotificationRequested,
    NotificationSent,
    RequestAnsweredAtIntake,
    RequestChased,
    RequestCoOpinionAdded,
    RequestDueChanged,
    RequestDueRecomputed,
    RequestExtensionDecided,
    RequestExtensionRequested,
    RequestIncomplete,
    RequestMerged,
    RequestMergeReleased,
    RequestPaused,
    RequestPersonalDataPurged,
    RequestReceived,
    RequestResumed,
    RequestRevisitScheduled,
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
from shared.lifecycle import CHANGES_STATE
from shared.outbox import UnitOfWork

log = logging.getLogger(__name__)


async def prepare_batch(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> None:
    """A fetch's requests read and locked in one statement before its events are applied;
    their state changes are written once per request at commit."""
    await store.lock_for_fetch(uow.session, [envelope.request_id for envelope in envelopes])


async def follow_lifecycle(uow: UnitOfWork, envelope: Envelope, data: EventData) -> None:
    row = await store.get_request(uow.session, envelope.request_id, for_update=True)
    if row is None:
        log.warning("event %s for unknown request %s", envelope.type, envelope.request_id)
        return
    updated = IntakeRequest.from_row(row).following(data, envelope.occurred_at)
    if updated is None:
        # Another service is the authority for this step; record nothing, but say so.
        log.warning("request %s: %s does not fit state %s", envelope.request_id, envelope.type, row["state"])
        return
    await store.save_request(uow.session, updated)


# Intake decides these steps itself (and has moved the request on when it emitted them).
DECIDED_HERE = frozenset(
    {
        RequestReceived,
        RequestIncomplete,
        RequestSupplemented,
        RequestAnsweredAtIntake,
        RequestMerged,
        RequestWithdrawn,
        RequestMergeReleased,
    }
)
# Every step another service decides that changes the state (routed, rerouted, returned,
# escalated, accepted, contacted, progressed, resolved, feedback given, rated, reopened,
# revisited, closed): the first responder's view follows.
FOLLOWED = CHANGES_STATE - DECIDED_HERE
HANDLERS: Handlers = {
    **{event: follow_lifecycle for event in sorted(FOLLOWED, key=lambda e: e.TYPE)},
    # Any service that must reach the person asks here; only intake knows how.
    NotificationRequested: service.on_notification_requested,
}
IGNORED = frozenset(
    {
        *DECIDED_HERE,
        # Steps that leave the state as it is.
        RequestChased,  # intake's own
        RequestExtensionRequested,
        RequestExtensionDecided,
        RequestPaused,
        RequestResumed,
        RequestCoOpinionAdded,
        RequestDueChanged,
        RequestDueRecomputed,
        RequestSlaWarning,
        RequestSlaBreached,
        RequestSupervised,
        RequestSupervisionAnswered,
        RequestRevisitScheduled,
        # Intake's own, or other services' business.
        RequestPersonalDataPurged,
        NotificationSent,
        NotificationDelivered,
        NotificationOutbound,
        StaffRated,
        StaffRectificationDecided,
        KpiPeriodScored,
        KpiDepartmentFlagged,
    }
)
