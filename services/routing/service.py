"""Routing's commands: pick the lead department, compute due times, re-route on returns,
escalate after too many returns, route reopened requests back to the same lead, and let
the coordinating department dispatch by hand."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import DateTime, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.routing import store
from services.routing.domain.calendar import notice_overrides, provisional_warning
from services.routing.domain.rules import choose
from services.routing.domain.sla import CLOCKS, COUNTS_FROM, due_times, policy_for, warning_at
from shared.auth import Principal
from shared.clock import now
from shared.errors import ApiError, NotFound, field_error
from shared.events.catalogue import (
    Due,
    NotificationRequested,
    RequestDueRecomputed,
    RequestEscalated,
    RequestReceived,
    RequestReopened,
    RequestRerouted,
    RequestReturned,
    RequestRouted,
    RequestSupplemented,
)
from shared.events.envelope import SYSTEM, Actor, Envelope
from shared.lifecycle import State, next_state
from shared.metrics import CALENDAR_PROVISIONAL
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
    warn: dict[str, datetime | None] = {}
    for clock in CLOCKS:
        policy = policy_for(policies, category, urgency, clock, business_type)
        origin_clock = COUNTS_FROM[clock]
        origin = start if origin_clock is None else due.get(origin_clock)
        end = due[clock]
        warn[clock] = warning_at(origin, end, policy.warning_fraction) if policy and origin and end else None
    return Due(**due), Due(**warn)


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


async def _notify_heads(
    uow: UnitOfWork,
    cause: Envelope,
    department: str,
    template: str,
    *,
    supervisors: bool,
    first_responder: bool = False,
    **params: Any,
) -> None:
    """Tell a department's head (and, where asked, the supervisors and the first responder)
    about a request; each is worded for who they are."""
    head = await store.head_of(uow.session, department)
    by_audience: dict[str, list[str]] = {"department_head": [head] if head else []}
    audience: list[Any] = ["department_head"]
    if supervisors:
        audience.append("supervisors")
        by_audience["supervisors"] = await store.supervisors(uow.session)
    if first_responder:
        audience.append("first_responder")
    uow.emit(
        NotificationRequested(
            template=template,
            params=params,
            audience=audience,
            department=department,
            recipients=[r for staff in by_audience.values() for r in staff],
            recipients_by_audience=by_audience,
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
    started = cause.occurred_at if cause else now()
    due, warn = await _due(uow, route, started)
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
        .values(
            lead_department=lead,
            co_departments=list(co),
            state=State.ROUTED.value,
            due=due_json,
            clocks_started_at=started,
        )
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


def rerouted_lead(emitted: Envelope) -> str:
    return str(emitted.data["lead_department"])


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


async def route_released(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """Its primary was withdrawn or answered at intake: the duplicate is routed on its own,
    its clocks starting now."""
    route = await store.get_route(uow.session, envelope.request_id, for_update=True)
    if route is None or route["state"] != State.MERGED.value:
        return
    await _set_route_state(uow, envelope.request_id, state=State.RECEIVED.value)
    await _route(uow, envelope, {**route, "state": State.RECEIVED.value}, frozenset(), first=True)


async def tell_head_of_chase(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """催办: the lead department's head hears that the first responder chased the request."""
    route = await store.get_route(uow.session, envelope.request_id)
    department = data.department or (route["lead_department"] if route else None)
    if not department:
        return
    await _notify_heads(
        uow,
        envelope,
        department,
        "request_chased",
        supervisors=False,
        chased_by=data.chased_by,
        chase_count=data.chase_count,
        note=data.note or "请尽快办理",
    )


async def tell_of_sla_alert(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """A clock is about to fall due (warning) or has (breach): the department's head hears
    of it, and of a breach the supervisors too; each once (one event, one message each)."""
    breached = envelope.type == "request.sla_breached"
    await _notify_heads(
        uow,
        envelope,
        data.department,
        "sla_breached" if breached else "sla_warning",
        supervisors=breached,
        clock=data.clock,
        due=data.due.isoformat(),
    )


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
        rerouted = await _route(uow, envelope, route, excluded, first=False)
        # The first responder owns the request (首问负责): they hear where it went and why.
        uow.emit(
            NotificationRequested(
                template="request_returned",
                params={"from_department": data.department, "reason": data.reason},
                audience=["first_responder"],
                department=rerouted_lead(rerouted),
            ),
            request_id=envelope.request_id,
            actor=SYSTEM,
            cause=rerouted,
        )
        return
    # Too many returns: the coordinating department takes it and its head is told; it may
    # dispatch it to the right department by hand (POST /v1/assignments/{id}).
    coordinating = (await store.CONFIG.get(uow.session)).coordinating_department
    reason = f"returned {returns} times"
    escalated = uow.emit(
        RequestEscalated(to_department=coordinating, reason=reason, returns=returns),
        request_id=envelope.request_id,
        actor=SYSTEM,
        cause=envelope,
    )
    await _set_route_state(uow, envelope.request_id, state=State.ESCALATED.value)
    await _record(uow, escalated, "escalated", coordinating, reason=reason)
    await _notify_heads(
        uow,
        escalated,
        coordinating,
        "request_escalated",
        supervisors=False,
        first_responder=True,
        returns=returns,
    )
    await _route(uow, escalated, route, excluded, first=False, lead_override=coordinating)


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


# Routes whose clocks may still be running (routing does not follow acceptance or resolution:
# handling ignores a recomputed due time for a clock that has stopped).
_RUNNING = (State.ROUTED.value, State.REOPENED.value, State.ESCALATED.value, State.RETURNED.value)


async def calendar_status(session: Any) -> dict[str, Any]:
    """The calendar's years and the warning admins see while next year is provisional."""
    y, d = store.calendar_years.c, store.calendar_days.c
    years = [
        dict(r) for r in (await session.execute(select(store.calendar_years).order_by(y.year))).mappings()
    ]
    items = []
    for row in years:
        start, end = date(row["year"], 1, 1), date(row["year"], 12, 31)
        days = (await session.execute(select(d.day, d.workday).where(d.day >= start, d.day <= end))).all()
        items.append(
            {
                "year": row["year"],
                "source": row["source"],
                "provisional": row["provisional"],
                "notice": row["notice"],
                "days_off": sorted(day.isoformat() for day, workday in days if not workday),
                "make_up_days": sorted(day.isoformat() for day, workday in days if workday),
            }
        )
    known = {row["year"] for row in years}
    today = now().date()
    provisional = {row["year"] for row in years if row["provisional"]} | ({today.year + 1} - known)
    warning = provisional_warning(today, provisional)
    CALENDAR_PROVISIONAL.labels(service="routing").set(1 if warning else 0)
    return {"items": items, "warning": warning}


async def enter_notice(
    uow: UnitOfWork, year: int, notice: str, holidays: list[date], workdays: list[date]
) -> dict[str, Any]:
    """The State Council notice for a year: its days replace the year's, the year is final,
    and the due times of clocks not yet due are counted again."""
    overrides = notice_overrides(year, holidays, workdays)
    d = store.calendar_days.c
    await uow.session.execute(
        store.calendar_days.delete().where(d.day >= date(year, 1, 1), d.day <= date(year, 12, 31))
    )
    for day, workday in sorted(overrides.items()):
        await uow.session.execute(
            insert(store.calendar_days).values(
                day=day, workday=workday, note=("调休上班 " if workday else "放假 ") + notice[:150]
            )
        )
    values = {"source": "state_council", "provisional": False, "notice": notice, "updated_at": now()}
    await uow.session.execute(
        pg_insert(store.calendar_years)
        .values(year=year, **values)
        .on_conflict_do_update(index_elements=["year"], set_=values)
    )
    store.CONFIG.invalidate()
    changed = await recompute_due_times(uow, f"{year}年节假日安排：{notice}", date(year, 1, 1))
    await uow.commit()
    store.CONFIG.invalidate()
    return {
        "year": year,
        "source": "state_council",
        "provisional": False,
        "notice": notice,
        "days_off": sorted(day.isoformat() for day, workday in overrides.items() if not workday),
        "make_up_days": sorted(day.isoformat() for day, workday in overrides.items() if workday),
        "requests_recomputed": changed,
    }


def _kept(old: datetime | None, new: datetime | None, moment: datetime) -> datetime | None:
    """A clock not yet due takes its recomputed due time; one already due keeps its own."""
    return new if old is not None and old > moment else old


async def recompute_due_times(uow: UnitOfWork, reason: str, first_day: date) -> int:
    """The calendar changed from `first_day` on: count again the due times of every clock
    not yet due, and say so (`request.due_recomputed`) where one moved. Returns how many
    requests changed."""
    store.CONFIG.invalidate()
    moment = now()
    r = store.routes.c
    # The last clock of a request (feedback, else resolve) still to fall due.
    latest_due = func.coalesce(r.due["feedback"].astext, r.due["resolve"].astext).cast(
        DateTime(timezone=True)
    )
    stmt = (
        select(store.routes)
        .where(r.state.in_(_RUNNING), r.due.is_not(None), latest_due > moment)
        .with_for_update(skip_locked=True)
    )
    changed = 0
    for row in (await uow.session.execute(stmt)).mappings():
        route = dict(row)
        started = route["clocks_started_at"] or await uow.session.scalar(
            select(func.max(store.assignments.c.at)).where(
                store.assignments.c.request_id == route["request_id"],
                store.assignments.c.kind.in_(("routed", "rerouted", "dispatched", "escalated")),
            )
        )
        if started is None:
            continue
        old = Due.model_validate(route["due"])
        new, warn = await _due(uow, route, started)
        # Only clocks that have not fallen due move; one already due stays as it was.
        kept = {name: _kept(getattr(old, name), getattr(new, name), moment) for name in CLOCKS}
        recomputed = Due(**kept)
        if recomputed == old:
            continue
        await _set_route_state(uow, route["request_id"], due=recomputed.model_dump(mode="json"))
        uow.emit(
            RequestDueRecomputed(due=recomputed, previous=old, warn_at=warn, reason=reason),
            request_id=route["request_id"],
            actor=SYSTEM,
        )
        changed += 1
    log.info("calendar changed from %s (%s): due times of %d requests recomputed", first_day, reason, changed)
    return changed


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
