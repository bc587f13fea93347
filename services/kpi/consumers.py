"""KPI folds every lifecycle event into the request's fact row."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from services.kpi import staff, store
from services.kpi.domain.facts import FOLDED_TYPES, TIMELINE_TYPES, apply, fold_all
from shared.db import insert_new
from shared.events.catalogue import decode
from shared.events.envelope import Envelope
from shared.inbox import Handler
from shared.outbox import UnitOfWork


async def fold_event(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """Keep the event and fold it into the request's fact row, as if all its events were
    folded in the order they happened: an event later than everything folded so far (the
    usual case) is one more step; one that arrived out of order (or ties in time) makes the
    row be folded again from all of the request's events."""
    fact = await store.load_fact(uow.session, envelope.request_id, for_update=True)  # one writer per request
    await uow.session.execute(
        insert_new(store.events),
        {
            "event_id": str(envelope.id),
            "request_id": envelope.request_id,
            "payload": envelope.model_dump(mode="json"),
        },
    )
    if fact is not None and fact.last_event_at is not None and envelope.occurred_at > fact.last_event_at:
        await store.save_fact(uow.session, apply(fact, envelope, data), fact, defer_counts=True)
        return
    payloads = await uow.session.scalars(
        select(store.events.c.payload).where(
            store.events.c.request_id == envelope.request_id,
            store.events.c.payload["type"].astext.in_(FOLDED_TYPES),
        )
    )
    decoded = [decode(json.dumps(p)) for p in payloads]
    await store.save_fact(uow.session, fold_all(envelope.request_id, decoded), fact, defer_counts=True)


async def keep_event(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """An event of the request's story that no figure depends on (a pause, an extension
    request, an opinion, a notification, an SLA alert, a supervision order and its answer):
    kept for the timeline, the fact row untouched."""
    await uow.session.execute(
        insert_new(store.events),
        {
            "event_id": str(envelope.id),
            "request_id": envelope.request_id,
            "payload": envelope.model_dump(mode="json"),
        },
    )


HANDLERS: dict[str, Handler] = {
    **{event_type: keep_event for event_type in TIMELINE_TYPES},
    **{event_type: fold_event for event_type in FOLDED_TYPES},
    "staff.rated": staff.on_staff_rated,
    "staff.rectification_decided": staff.on_rectification_decided,
}
