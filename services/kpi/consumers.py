"""KPI folds every lifecycle event into the request's fact row."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from services.kpi import staff, store
from services.kpi.domain.facts import FOLDED, FOLDED_TYPES, TIMELINE, apply, fold_all
from shared.events.catalogue import (
    EventData,
    KpiDepartmentFlagged,
    KpiPeriodScored,
    NotificationOutbound,
    RequestPersonalDataPurged,
    StaffRated,
    StaffRectificationDecided,
    decode,
)
from shared.events.envelope import Envelope
from shared.inbox import Handlers
from shared.outbox import UnitOfWork


async def prepare_batch(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> None:
    """A fetch's fact rows read in one statement before its events are folded."""
    await store.open_batch(uow.session, [env.request_id for env in envelopes])


def _kept(envelope: Envelope) -> dict[str, Any]:
    return {
        "event_id": str(envelope.id),
        "request_id": envelope.request_id,
        "payload": envelope.model_dump(mode="json"),
    }


async def fold_event(uow: UnitOfWork, envelope: Envelope, data: EventData) -> None:
    """Keep the event and fold it into the request's fact row, as if all its events were
    folded in the order they happened: an event later than everything folded so far (the
    usual case) is one more step; one that arrived out of order (or ties in time) makes the
    row be folded again from all of the request's events."""
    session = uow.session
    fact = await store.load_fact_in_batch(session, envelope.request_id)  # one writer per request
    await store.keep_event(session, _kept(envelope))
    if fact is None:
        # Nothing of this request was folded before (every folded event saves the row).
        await store.save_fact(
            session, fold_all(envelope.request_id, [(envelope, data)]), None, defer_counts=True
        )
        return
    if fact.last_event_at is not None and envelope.occurred_at > fact.last_event_at:
        await store.save_fact(session, apply(fact, envelope, data), fact, defer_counts=True)
        return
    await store.flush_batch(session)  # the fold below reads every kept event of the request
    payloads = await store.event_payloads_of_types(session, envelope.request_id, FOLDED_TYPES)
    decoded = [decode(json.dumps(p)) for p in payloads]
    await store.save_fact(session, fold_all(envelope.request_id, decoded), fact, defer_counts=True)


async def keep_event(uow: UnitOfWork, envelope: Envelope, data: EventData) -> None:
    """An event of the request's story that no figure depends on (a pause, an extension
    request, an opinion, a notification, an SLA alert, a supervision order and its answer):
    kept for the timeline, the fact row untouched."""
    await store.keep_event(uow.session, _kept(envelope))


HANDLERS: Handlers = {
    **{event: keep_event for event in sorted(TIMELINE, key=lambda e: e.TYPE)},
    **{event: fold_event for event in sorted(FOLDED, key=lambda e: e.TYPE)},
    StaffRated: staff.on_staff_rated,
    StaffRectificationDecided: staff.on_rectification_decided,
}
IGNORED = frozenset(
    {
        KpiPeriodScored,  # KPI's own
        KpiDepartmentFlagged,  # KPI's own
        RequestPersonalDataPurged,  # the fact row holds no personal data
        NotificationOutbound,  # on the notifications topic, for channel adapters
    }
)
