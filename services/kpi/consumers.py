"""KPI folds every lifecycle event into the request's fact row."""

from __future__ import annotations

from typing import Any

from services.kpi import store
from services.kpi.domain.facts import FOLDED_TYPES, apply, new_fact
from shared.events.envelope import Envelope
from shared.inbox import Handler
from shared.outbox import UnitOfWork


async def fold_event(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    fact = await store.load_fact(uow.session, envelope.request_id, for_update=True)
    await store.save_fact(uow.session, apply(fact or new_fact(envelope.request_id), envelope, data))


HANDLERS: dict[str, Handler] = {event_type: fold_event for event_type in FOLDED_TYPES}
