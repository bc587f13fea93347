"""Handling's commands and reactions. Each command loads the case with a row lock, asks
the aggregate, saves it and raises its event in the same unit of work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.handling import store
from services.handling.domain.case import Case, NotLead, NotYourCase
from shared.auth import Principal
from shared.errors import Forbidden, NotFound
from shared.events.catalogue import EventData, RequestRouted
from shared.events.envelope import Envelope
from shared.lifecycle import State
from shared.outbox import UnitOfWork


async def open_cases(uow: UnitOfWork, envelope: Envelope, data: RequestRouted) -> None:
    """request.routed / request.rerouted: the case enters the lead's and co-handlers' queues."""
    if await uow.session.scalar(
        select(store.finished.c.state).where(store.finished.c.request_id == envelope.request_id)
    ):
        return  # ended at intake meanwhile: nothing to handle
    due = data.due.model_dump(mode="json")
    existing = {
        c.department: c
        for c in await store.cases_of_request(uow.session, envelope.request_id, for_update=True)
    }
    for department, role in [(data.lead_department, "lead"), *[(d, "co") for d in data.co_departments]]:
        values = {
            "request_id": envelope.request_id,
            "department": department,
            "role": role,
            "state": State.ROUTED.value,
            "category": data.category or "consultation",
            "urgency": data.urgency,
            "due": due,
            "handler_id": None,
            "routed_at": envelope.occurred_at,
        }
        if department in existing:
            # Back to a department that had it (reopened): the clocks restart, the handler stays.
            values["handler_id"] = existing[department].handler_id
        await uow.session.execute(
            pg_insert(store.cases)
            .values(**values)
            .on_conflict_do_update(
                index_elements=["request_id", "department"],
                set_={k: v for k, v in values.items() if k not in ("request_id", "department")},
            )
        )
    # Departments no longer assigned (a return moved it on) leave the queue as "returned".
    for department, case in existing.items():
        if department != data.lead_department and department not in data.co_departments:
            await store.save_case(uow.session, Case(**{**case.__dict__, "state": State.RETURNED}))


async def close_cases(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """Answered at intake, merged or withdrawn: the case leaves every queue, clocks stop."""
    state = State(envelope.type.removeprefix("request."))
    await uow.session.execute(
        pg_insert(store.finished)
        .values(request_id=envelope.request_id, state=state.value)
        .on_conflict_do_nothing()
    )
    for case in await store.cases_of_request(uow.session, envelope.request_id, for_update=True):
        await store.save_case(uow.session, Case(**{**case.__dict__, "state": state}))


Action = Callable[[Case], tuple[Case, EventData]]


async def act(
    uow: UnitOfWork, principal: Principal, request_id: str, action: Action, step: str, detail: dict[str, Any]
) -> dict[str, Any]:
    case = await store.find_case(uow.session, request_id, principal.department, for_update=True)
    if case is None:
        raise NotFound(f"no case {request_id} in your department")
    try:
        updated, event = action(case)
    except NotYourCase as exc:
        raise NotFound(f"no case {request_id} in your department") from exc
    except NotLead as exc:
        raise Forbidden("only the lead department may do this; co-handlers add opinions") from exc
    await store.save_case(uow.session, updated)
    emitted = uow.emit(event, request_id=request_id, actor=principal.actor)
    await uow.session.execute(
        insert(store.steps).values(
            request_id=request_id,
            department=case.department,
            kind=step,
            actor_id=principal.id,
            detail=detail,
            event_id=str(emitted.id),
        )
    )
    await uow.commit()
    return {
        "request_id": request_id,
        "department": updated.department,
        "state": updated.state.value,
        "handler_id": updated.handler_id,
        "event_id": str(emitted.id),
    }
