"""Routing reacts to new, returned and reopened requests."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from services.routing import service, store
from shared.events.catalogue import (
    CATALOGUE,
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


async def prepare_batch(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> None:
    """A fetch's routes read and locked in one statement before its events are applied; the
    arrivals' and resolutions' writes made together at commit."""
    arrivals = [
        service.new_route(env, CATALOGUE[(env.type, env.version)].model_validate(env.data))  # type: ignore[arg-type]
        for env in envelopes
        if env.type == RequestReceived.TYPE
    ]
    await store.read_fetch(uow.session, [env.request_id for env in envelopes], arrivals)


def _settled(handler: Handler) -> Handler:
    """Any reaction but an arrival or a resolution sees and writes the database as it stands
    (in a fetch applied together, what the fetch holds is written first)."""

    @functools.wraps(handler)
    async def settled(uow: UnitOfWork, envelope: Envelope, data: object) -> None:
        await store.settle_fetch(uow.session)
        await handler(uow, envelope, data)

    return settled


HANDLERS: Handlers = {
    RequestReceived: service.route_received,
    RequestReturned: _settled(service.handle_return),
    RequestReopened: _settled(service.handle_reopen),
    RequestSupplemented: _settled(service.route_supplemented),
    RequestAnsweredAtIntake: _settled(service.stop_routing),
    RequestMerged: _settled(service.stop_routing),
    RequestWithdrawn: _settled(service.stop_routing),
    RequestExtensionRequested: _settled(service.extension_waiting),
    RequestExtensionDecided: _settled(service.reschedule),
    RequestResumed: _settled(service.reschedule),
    RequestPaused: _settled(service.clocks_paused),
    RequestSlaWarning: _settled(service.sla_alert),
    RequestSlaBreached: _settled(service.sla_alert),
    RequestMergeReleased: _settled(service.route_released),
    RequestChased: _settled(service.tell_head_of_chase),
    # The department that resolved it kept it: a training label for the dispatch model.
    RequestResolved: service.label_resolved,
    RequestSupervised: _settled(service.supervision_ordered),
    RequestSupervisionAnswered: _settled(service.supervision_answered),
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
