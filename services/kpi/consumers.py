"""KPI folds every lifecycle event into the request's fact row."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kpi import staff, store
from services.kpi.domain.facts import FOLDED_TYPES, fold_all
from shared.events.catalogue import decode
from shared.events.envelope import Envelope
from shared.inbox import Handler
from shared.outbox import UnitOfWork


async def fold_event(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """Keep the event, then fold the request's events again in the order they happened."""
    await store.load_fact(uow.session, envelope.request_id, for_update=True)  # one writer per request
    await uow.session.execute(
        pg_insert(store.events)
        .values(
            event_id=str(envelope.id),
            request_id=envelope.request_id,
            payload=envelope.model_dump(mode="json"),
        )
        .on_conflict_do_nothing()
    )
    payloads = await uow.session.scalars(
        select(store.events.c.payload).where(store.events.c.request_id == envelope.request_id)
    )
    decoded = [decode(json.dumps(p)) for p in payloads]
    await store.save_fact(uow.session, fold_all(envelope.request_id, decoded))


HANDLERS: dict[str, Handler] = {
    **{event_type: fold_event for event_type in FOLDED_TYPES},
    "staff.rated": staff.on_staff_rated,
    "staff.rectification_decided": staff.on_rectification_decided,
}
