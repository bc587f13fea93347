"""Routing's commands: pick the lead department, compute due times, re-route on returns,
escalate after too many returns, route reopened requests back to the same lead, and let
the coordinating department dispatch by hand."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import insert, select, update

from services.routing import store
from services.routing.domain.rules import choose
from services.routing.domain.sla import due_times, moved_due, warnings_for
from shared.auth import Principal
from shared.clock import now, organisation_tz
from shared.errors import ApiError, NotFound, field_error
from shared.events.catalogue import (
    Audience,
    Due,
    NotificationRequested,
    RequestDueChanged,
    RequestEscalated,
    RequestExtensionDecided,
    RequestExtensionRequested,
    RequestReceived,
    RequestReopened,
    RequestRerouted,
    RequestResumed,
    RequestReturned,
    RequestRouted,
    RequestSlaBreached,
    RequestSlaWarning,
    RequestSupervised,
    RequestSupervisionAnswered,
    RequestSupplemented,
)
from shared.events.envelope import SYSTEM, Actor, Envelope
from shared.lifecycle import State, next_state
from shared.outbox import UnitOfWork
from shared.settings import get_settings

FACTS = ("category", "urgency", "topic", "area", "business_type", "text")

log = logging.getLogger(__name__)


async def _due(uow: UnitOfWork, route: dict[str, Any], start: datetime) -> tuple[Due, Due]:
    """Due times of every clock, and when each clock's warning falls."""
    config = await store.CONFIG.get(uow.session)
    policies, calendar = config.policies, config.calendar
    category, urgency, business_type = route["category"], route["urgency"], route["business_type"]
    due = due_times(policies, calendar, category, urgency, start, business_type)
    warn = warnings_for(policies, calendar, category, urgency, start, due, business_type)
    return Due(**due), Due(**warn)


async def _record(uow: UnitOfWork, envelope: Envelope, kind: str, department: str, **values: Any) -> None:
    await uow.session.execute(
        insert(store.assignments).values(
            request_id=envelope.request_id,
            kind=kind,
            department=department,
            event_id=str(envelope.id),
            at=envelope.occurred_at,
            **values,
        )
    )


async def _notify_heads(
    uow: UnitOfWork, cause: Envelope, department: str, template: str, *, supervisors: bool, **params: Any
) -> None:
    """Tell a department's head (and, where asked, the supervisors) about a request."""
    head = await store.head_of(uow.session, department)
    recipients = [head] if head else []
    audience: list[Any] = ["department_head"]
    if supervisors:
        audience.append("supervisors")
        recipients += await store.supervisors(uow.session)
    uow.emit(
        NotificationRequested(
            template=template, params=params, audience=audience, department=department, recipients=recipients
        ),
        request_id=cause.request_id,
        actor=SYSTEM,
        cause=cause,
    )


async def _route(
    uow: UnitOfWork,
    cause: Envelope | None,
    route: dict[str, Any],
    excluded: frozenset[str],
    *,
    first: bool,
    lead_override: str | None = None,
    co_override: list[str] | None = None,
    actor: Actor = SYSTEM,
    kind: str | None = None,
) -> Envelope:
    session = uow.session
    if lead_override is not None:
        lead, co, rule_id = lead_override, tuple(co_override or ()), None
    else:
        config = await store.CONFIG.get(session)
        decision = choose(
            config.rules,
            {k: route[k] for k in FACTS},
            coordinating_department=config.coordinating_department,
            excluded=excluded,
            active_departments=config.active_departments,
        )
        lead, co, rule_id = decision.lead_department, decision.co_departments, decision.rule_id
    # Clocks start when the routing decision is taken: at the causing event, or now.
    due, warn = await _due(uow, route, cause.occurred_at if cause else now())
    event_type = RequestRouted if first else RequestRerouted
    data = event_type(
        lead_department=lead,
        co_departments=list(co),
        rule_id=rule_id,
        due=due,
        warn_at=warn,
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
    emitted = uow.emit(data, request_id=route["request_id"], actor=actor, cause=cause)
    await _record(
        uow,
        emitted,
        kind or ("routed" if first else "rerouted"),
        lead,
        co_departments=list(co),
        rule_id=rule_id,
        due=due_json,
    )
    log.info(
        "%s to %s (co: %s) by rule %s; resolve due %s",
        emitted.type,
        lead,
        ",".join(co) or "-",
        rule_id or "manual",
        due_json.get("resolve"),
    )
    if route["urgency"] == "urgent":
        # The emergency mechanism: the lead's head and the supervisors hear of it at once.
        await _notify_heads(
            uow, emitted, lead, "urgent_request_routed", supervisors=True, due_accept=due_json["accept"]
        )
    return emitted


async def route_received(uow: UnitOfWork, envelope: Envelope, data: RequestReceived) -> None:
    text = " ".join(t for t in (data.title, data.content) if t) or None
    values = {
        "request_id": envelope.request_id,
        "category": data.category,
        "urgency": data.urgency,
        "topic": data.topic,
        "area": data.area,
        "business_type": data.business_type,
        "text": text,
        "returns": 0,
        # Missing materials: routing waits for the supplement (the clock has not started).
        "state": (State.INCOMPLETE if data.awaiting_materials else State.RECEIVED).value,
    }
    created = (await uow.session.execute(store.NEW_ROUTE, values)).mappings().first()
    route = (
        dict(created) if created else await store.get_route(uow.session, envelope.request_id, for_update=True)
    )
    assert route is not None
    if route["state"] != State.RECEIVED.value:
        return
    await _route(uow, envelope, route, frozenset(), first=True)


async def route_supplemented(uow: UnitOfWork, envelope: Envelope, data: RequestSupplemented) -> None:
    """Materials complete: route it now; its clocks start from the supplement."""
    route = await store.get_route(uow.session, envelope.request_id, for_update=True)
    if route is None or route["state"] != State.INCOMPLETE.value:
        return
    await _set_route_state(uow, envelope.request_id, state=State.SUPPLEMENTED.value)
    await _route(uow, envelope, route, frozenset(), first=True)


async def stop_routing(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """Answered at intake, merged or withdrawn: nothing more to route."""
    await _set_route_state(uow, envelope.request_id, state=envelope.type.removeprefix("request."))


async def _set_route_state(uow: UnitOfWork, request_id: str, **values: Any) -> None:
    await uow.session.execute(
        update(store.routes).where(store.routes.c.request_id == request_id).values(**values)
    )


async def handle_return(uow: UnitOfWork, envelope: Envelope, data: RequestReturned) -> None:
    route = await store.get_route(uow.session, envelope.request_id, for_update=True)
    if route is None:
        return
    returns = route["returns"] + 1
    excluded = frozenset(route["excluded_departments"]) | {data.department}
    await _set_route_state(
        uow,
        envelope.request_id,
        returns=returns,
        excluded_departments=sorted(excluded),
        state=State.RETURNED.value,
    )
    await _record(uow, envelope, "returned", data.department, reason=data.reason)
    route = {**route, "returns": returns}
    if returns < get_settings().max_returns_before_escalation:
        await _route(uow, envelope, route, excluded, first=False)
        return
    # Too many returns: the coordinating department takes it and its head is told; it may
    # dispatch it to the right department by hand (POST /v1/assignments/{id}).
    coordinating = (await store.CONFIG.get(uow.session)).coordinating_department
    reason = await _return_reasons(uow, envelope.request_id, returns)
    escalated = uow.emit(
        RequestEscalated(to_department=coordinating, reason=reason, returns=returns),
        request_id=envelope.request_id,
        actor=SYSTEM,
        cause=envelope,
    )
    await _set_route_state(uow, envelope.request_id, state=State.ESCALATED.value)
    await _record(uow, escalated, "escalated", coordinating, reason=reason)
    await _notify_heads(
        uow, escalated, coordinating, "request_escalated", supervisors=False, returns=returns, reason=reason
    )
    await _route(uow, escalated, route, excluded, first=False, lead_override=coordinating)


async def _return_reasons(uow: UnitOfWork, request_id: str, returns: int) -> str:
    """Why it is escalated, in the words of the departments that returned it:
    "已被退回 2 次：城管局：不属于本单位职责；水务局：……"."""
    a, d = store.assignments.c, store.departments.c
    rows = await uow.session.execute(
        select(a.department, d.name, a.reason)
        .select_from(store.assignments.outerjoin(store.departments, d.code == a.department))
        .where(a.request_id == request_id, a.kind == "returned")
        .order_by(a.seq)
    )
    parts = [
        # "市场监管局 (market regulation)" → "市场监管局": the name people here read.
        f"{(name or department).split(' (')[0]}：{(text or '').strip().rstrip('。；;.')}"
        for department, name, text in rows
    ]
    return f"已被退回 {returns} 次：" + "；".join(parts)


async def _clock_start(uow: UnitOfWork, request_id: str) -> datetime | None:
    """When the current routing decision was taken (the handling clocks count from it)."""
    a = store.assignments.c
    return await uow.session.scalar(
        select(a.at)
        .where(a.request_id == request_id, a.kind.in_(("routed", "rerouted", "dispatched")))
        .order_by(a.seq.desc())
        .limit(1)
    )


async def reschedule(
    uow: UnitOfWork, envelope: Envelope, data: RequestExtensionDecided | RequestResumed
) -> None:
    """An approved extension or the end of a pause moved a clock of the lead department: the
    clocks counting from it (feedback, return visit) move with it, the warnings are computed
    again on the business calendar, and `request.due_changed` tells every service."""
    if isinstance(data, RequestExtensionDecided):
        if not data.approved or data.new_due is None:
            return
        moved: dict[str, datetime] = {data.clock: data.new_due}
        reason: Literal["extension", "pause"] = "extension"
    else:
        moved = {k: v for k, v in data.due.model_dump().items() if v is not None}
        reason = "pause"
    route = await store.get_route(uow.session, envelope.request_id, for_update=True)
    if route is None or route["lead_department"] != data.department or not moved:
        return
    current = {k: datetime.fromisoformat(v) if v else None for k, v in (route["due"] or {}).items()}
    current.update(moved)
    config = await store.CONFIG.get(uow.session)
    category, urgency, business_type = route["category"], route["urgency"], route["business_type"]
    due = moved_due(config.policies, config.calendar, category, urgency, current, business_type)
    start = await _clock_start(uow, envelope.request_id) or envelope.occurred_at
    warn = warnings_for(config.policies, config.calendar, category, urgency, start, due, business_type)
    new_due = Due(**{k: due.get(k) for k in Due.model_fields})
    await _set_route_state(uow, envelope.request_id, due=new_due.model_dump(mode="json"))
    uow.emit(
        RequestDueChanged(
            department=data.department,
            due=new_due,
            warn_at=Due(**{k: warn.get(k) for k in Due.model_fields}),
            reason=reason,
        ),
        request_id=envelope.request_id,
        actor=SYSTEM,
        cause=envelope,
    )


async def _tell(
    uow: UnitOfWork,
    cause: Envelope,
    template: str,
    audience: Audience,
    department: str,
    recipients: list[str],
    **params: Any,
) -> None:
    """One notification request per audience, naming its recipients (each told once)."""
    if not recipients:
        log.warning("%s for %s: no %s to tell in %s", template, cause.request_id, audience, department)
        return
    uow.emit(
        NotificationRequested(
            template=template,
            params=params,
            audience=[audience],
            department=department,
            recipients=sorted(set(recipients)),
        ),
        request_id=cause.request_id,
        actor=SYSTEM,
        cause=cause,
    )


CLOCK_NAMES = {
    "accept": "签收",
    "first_contact": "首次联系",
    "resolve": "办结",
    "feedback": "反馈",
    "revisit": "回访",
    "supervision": "督办",
}


def _local(moment: datetime) -> str:
    """A time as staff read it: the organisation's time zone, 2026年12月11日 18:00."""
    return moment.astimezone(organisation_tz()).strftime("%Y年%m月%d日 %H:%M")


async def extension_waiting(uow: UnitOfWork, envelope: Envelope, data: RequestExtensionRequested) -> None:
    """A department asked for more time: its head is told a decision is waiting."""
    head = await store.head_of(uow.session, data.department)
    await _tell(
        uow,
        envelope,
        "extension_decision_waiting",
        "department_head",
        data.department,
        [head] if head else [],
        clock=data.clock,
        clock_name=CLOCK_NAMES.get(data.clock, data.clock),
        requested_due=_local(data.requested_due),
        reason=data.reason,
        extension_id=data.extension_id or "",
    )


async def sla_alert(
    uow: UnitOfWork, envelope: Envelope, data: RequestSlaWarning | RequestSlaBreached
) -> None:
    """An SLA warning or breach: the handler and the head are told, and for a breach the
    supervisors too; one notification each, once (the inbox sees each alert event once)."""
    breach = isinstance(data, RequestSlaBreached)
    template = "sla_breached" if breach else "sla_warning"
    params = {
        "clock": data.clock,
        "clock_name": CLOCK_NAMES.get(data.clock, data.clock),
        "due": _local(data.due),
        "order_id": data.order_id or "",
    }
    head = await store.head_of(uow.session, data.department)
    if data.handler_id and data.handler_id != head:
        await _tell(uow, envelope, template, "handler", data.department, [data.handler_id], **params)
    await _tell(uow, envelope, template, "department_head", data.department, [head] if head else [], **params)
    if breach:
        await _tell(
            uow,
            envelope,
            template,
            "supervisors",
            data.department,
            await store.supervisors(uow.session),
            **params,
        )


async def _department_name(uow: UnitOfWork, code: str) -> str:
    name = await uow.session.scalar(select(store.departments.c.name).where(store.departments.c.code == code))
    return str(name or code).split(" (")[0]


async def supervision_ordered(uow: UnitOfWork, envelope: Envelope, data: RequestSupervised) -> None:
    """督办: the department's head is told what is ordered and by when."""
    head = await store.head_of(uow.session, data.department)
    await _tell(
        uow,
        envelope,
        "supervision_ordered",
        "department_head",
        data.department,
        [head] if head else [],
        order_id=data.order_id,
        instructions=data.instructions,
        due=_local(data.due),
    )


async def supervision_answered(uow: UnitOfWork, envelope: Envelope, data: RequestSupervisionAnswered) -> None:
    """The supervisor who issued the order is told the department's answer."""
    await _tell(
        uow,
        envelope,
        "supervision_answered",
        "supervisors",
        data.department,
        [data.issued_by] if data.issued_by else await store.supervisors(uow.session),
        order_id=data.order_id,
        answer=data.answer,
        department_name=await _department_name(uow, data.department),
        on_time="按时" if data.on_time else "逾期",
    )


async def handle_reopen(uow: UnitOfWork, envelope: Envelope, data: RequestReopened) -> None:
    route = await store.get_route(uow.session, envelope.request_id, for_update=True)
    if route is None:
        return
    await _set_route_state(uow, envelope.request_id, state=State.REOPENED.value)
    await _route(
        uow,
        envelope,
        route,
        frozenset(route["excluded_departments"]),
        first=False,
        lead_override=data.department,
        co_override=list(route["co_departments"]),
    )


async def dispatch(
    uow: UnitOfWork, principal: Principal, request_id: str, lead: str, co: list[str], reason: str
) -> dict[str, Any]:
    """Manual dispatch (人工派单) by the coordinating department or a supervisor."""
    route = await store.get_route(uow.session, request_id, for_update=True)
    if route is None:
        raise NotFound(f"no request {request_id} has been routed")
    active = await store.active_departments(uow.session)
    unknown = [
        field_error(name, "known_department", f"no active department {code}")
        for name, code in [("lead_department", lead), *[(f"co_departments.{i}", c) for i, c in enumerate(co)]]
        if code not in active
    ]
    if unknown:
        raise ApiError("unknown departments", status=422, code="validation_failed", fields=unknown)
    next_state(State(route["state"]), "request.rerouted")  # 409 naming the state if not allowed
    emitted = await _route(
        uow,
        None,
        route,
        frozenset(route["excluded_departments"]),
        first=False,
        lead_override=lead,
        co_override=co,
        actor=principal.actor,
        kind="dispatched",
    )
    await uow.session.execute(
        update(store.assignments).where(store.assignments.c.event_id == str(emitted.id)).values(reason=reason)
    )
    await uow.commit()
    return {
        "request_id": request_id,
        "lead_department": lead,
        "co_departments": co,
        "event_id": str(emitted.id),
    }
