"""Routing's commands: pick the lead department, compute due times, re-route on returns,
escalate after too many returns, route reopened requests back to the same lead."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.routing import store
from services.routing.domain.rules import choose
from services.routing.domain.sla import due_times
from shared.events.catalogue import (
    Due,
    RequestEscalated,
    RequestReceived,
    RequestReopened,
    RequestRerouted,
    RequestReturned,
    RequestRouted,
)
from shared.events.envelope import SYSTEM, Envelope
from shared.lifecycle import State
from shared.outbox import UnitOfWork
from shared.settings import get_settings


async def _due(uow: UnitOfWork, category: str, urgency: str, start: datetime) -> Due:
    policies = await store.load_policies(uow.session)
    calendar = await store.load_calendar(uow.session)
    return Due(**due_times(policies, calendar, category, urgency, start))


async def _record(uow: UnitOfWork, envelope: Envelope, kind: str, department: str, **values: Any) -> None:
    await uow.session.execute(
        insert(store.assignments).values(
            request_id=envelope.request_id,
            kind=kind,
            department=department,
            event_id=str(envelope.id),
            **values,
        )
    )


async def _route(
    uow: UnitOfWork,
    cause: Envelope,
    route: dict[str, Any],
    excluded: frozenset[str],
    *,
    first: bool,
    lead_override: str | None = None,
) -> Envelope:
    session = uow.session
    coordinating = await store.coordinating_department(session) or "coordination"
    if lead_override is not None:
        lead, co, rule_id = lead_override, tuple(route["co_departments"]), route.get("rule_id")
    else:
        decision = choose(
            await store.load_rules(session),
            {k: route[k] for k in ("category", "urgency", "topic", "area", "business_type")},
            coordinating_department=coordinating,
            excluded=excluded,
            active_departments=await store.active_departments(session),
        )
        lead, co, rule_id = decision.lead_department, decision.co_departments, decision.rule_id
    due = await _due(uow, route["category"], route["urgency"], cause.occurred_at)
    event_type = RequestRouted if first else RequestRerouted
    data = event_type(
        lead_department=lead,
        co_departments=list(co),
        rule_id=rule_id,
        due=due,
        excluded_departments=sorted(excluded),
        urgency=route["urgency"],
        category=route["category"],
    )
    due_json = due.model_dump(mode="json")
    await session.execute(
        update(store.routes)
        .where(store.routes.c.request_id == route["request_id"])
        .values(lead_department=lead, co_departments=list(co), state=State.ROUTED.value, due=due_json)
    )
    emitted = uow.emit(data, request_id=route["request_id"], actor=SYSTEM, cause=cause)
    await _record(
        uow,
        emitted,
        "routed" if first else "rerouted",
        lead,
        co_departments=list(co),
        rule_id=rule_id,
        due=due_json,
    )
    return emitted


async def route_received(uow: UnitOfWork, envelope: Envelope, data: RequestReceived) -> None:
    await uow.session.execute(
        pg_insert(store.routes)
        .values(
            request_id=envelope.request_id,
            category=data.category,
            urgency=data.urgency,
            topic=data.topic,
            area=data.area,
            business_type=data.business_type,
            returns=0,
            state=State.RECEIVED.value,
        )
        .on_conflict_do_nothing()
    )
    route = await store.get_route(uow.session, envelope.request_id, for_update=True)
    assert route is not None
    if route["state"] != State.RECEIVED.value:
        return
    await _route(uow, envelope, route, frozenset(), first=True)


async def handle_return(uow: UnitOfWork, envelope: Envelope, data: RequestReturned) -> None:
    route = await store.get_route(uow.session, envelope.request_id, for_update=True)
    if route is None:
        return
    returns = route["returns"] + 1
    excluded = frozenset(route["excluded_departments"]) | {data.department}
    await uow.session.execute(
        update(store.routes)
        .where(store.routes.c.request_id == envelope.request_id)
        .values(returns=returns, excluded_departments=sorted(excluded), state=State.RETURNED.value)
    )
    await _record(uow, envelope, "returned", data.department, reason=data.reason)
    route = {**route, "returns": returns}
    if returns >= get_settings().max_returns_before_escalation:
        coordinating = await store.coordinating_department(uow.session) or "coordination"
        escalated = uow.emit(
            RequestEscalated(to_department=coordinating, reason=f"returned {returns} times", returns=returns),
            request_id=envelope.request_id,
            actor=SYSTEM,
            cause=envelope,
        )
        await uow.session.execute(
            update(store.routes)
            .where(store.routes.c.request_id == envelope.request_id)
            .values(state=State.ESCALATED.value)
        )
        await _record(uow, escalated, "escalated", coordinating, reason=f"returned {returns} times")
        # The coordinating department takes it over at once (it may dispatch it manually later).
        await _route(uow, escalated, route, excluded, first=False, lead_override=coordinating)
        return
    await _route(uow, envelope, route, excluded, first=False)


async def handle_reopen(uow: UnitOfWork, envelope: Envelope, data: RequestReopened) -> None:
    route = await store.get_route(uow.session, envelope.request_id, for_update=True)
    if route is None:
        return
    await _route(
        uow,
        envelope,
        route,
        frozenset(route["excluded_departments"]),
        first=False,
        lead_override=data.department,
    )
