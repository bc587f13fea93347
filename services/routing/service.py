"""Routing's commands: pick the lead department, compute due times, re-route on returns,
escalate after too many returns, route reopened requests back to the same lead, and let
the coordinating department dispatch by hand."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import learning, store
from services.routing.domain.assignment import (
    AlreadyDispatched,
    Assignment,
    QueueItem,
    QueueState,
    closed_item,
)
from services.routing.domain.calendar import notice_overrides
from services.routing.domain.departments import DepartmentCycle, Placement
from services.routing.domain.dispatch import SafetyNet, decide, threshold_for
from services.routing.domain.rules import Rule, choose
from services.routing.domain.sla import (
    CLOCKS,
    due_times,
    moved_due,
    warnings_for,
)
from shared.auth import Principal
from shared.clock import now
from shared.errors import ApiError, Conflict, Forbidden, NotFound, field_error
from shared.events.catalogue import (
    Audience,
    DispatchAlternative,
    Due,
    NotificationRequested,
    RequestAnsweredAtIntake,
    RequestChased,
    RequestDueChanged,
    RequestDueRecomputed,
    RequestEscalated,
    RequestExtensionDecided,
    RequestExtensionRequested,
    RequestMerged,
    RequestMergeReleased,
    RequestPaused,
    RequestReceived,
    RequestReopened,
    RequestRerouted,
    RequestResolved,
    RequestResumed,
    RequestReturned,
    RequestRouted,
    RequestSlaBreached,
    RequestSlaWarning,
    RequestSupervised,
    RequestSupervisionAnswered,
    RequestSupplemented,
    RequestWithdrawn,
)
from shared.events.envelope import SYSTEM, Actor, Envelope
from shared.lifecycle import State, entered_by
from shared.outbox import UnitOfWork
from shared.texts import CODED, human_time

SAFETY = SafetyNet.default()

log = logging.getLogger(__name__)


def is_explicit(rule: Rule) -> bool:
    """An admin's explicit rule (a channel topic, keywords, a business type, an area) wins
    over the model; a rule on the category alone is only the fallback where the text
    cannot decide (no text, no model)."""
    return any(rule.match.get(name) for name in ("topic", "keywords", "business_type", "area"))


@dataclass(frozen=True)
class Choice:
    """Where a request goes and why."""

    lead: str
    co: tuple[str, ...]
    decided_by: str
    rule_id: str | None = None
    matter: str | None = None
    category: str | None = None  # None: the route's category stands
    urgent_rule: str | None = None
    model_version: int | None = None
    confidence: float | None = None
    alternatives: list[DispatchAlternative] = field(default_factory=list)
    to_queue: bool = False
    review: bool = False


def _config_cache(uow: UnitOfWork) -> store.ConfigCache:
    """The runtime's cache of rules, policies, the calendar and the directory (each runtime
    its own: a replica sees another's edit within its time to live)."""
    return uow.local.get(store.ConfigCache)


async def _config(uow: UnitOfWork) -> store.RoutingConfig:
    return await _config_cache(uow).get(uow.session, uow.settings.working_hours)


async def _choose(uow: UnitOfWork, assignment: Assignment, excluded: frozenset[str]) -> Choice:
    """Explicit rules first, then the model from the text (the dispatcher's queue below its
    threshold unless urgent), then the category rules, then the coordinating department."""
    session = uow.session
    config = await _config(uow)
    facts = assignment.facts()
    text = assignment.text or ""
    urgent_rule = SAFETY.check(text) if text else None
    kw: dict[str, Any] = {
        "coordinating_department": config.coordinating_department,
        "excluded": excluded,
        "active_departments": config.active_departments,
    }
    explicit = choose([r for r in config.rules if is_explicit(r)], facts, **kw)
    if explicit.rule_id is not None:
        return Choice(
            explicit.lead_department,
            explicit.co_departments,
            "rule",
            rule_id=explicit.rule_id,
            urgent_rule=urgent_rule,
        )
    models = uow.local.get(learning.ModelCache)
    model = await models.get(session) if text and not assignment.business_type else None
    if model is not None:
        unusable = excluded | frozenset(d for d in model.departments if d not in config.active_departments)
        settings = uow.settings
        d = decide(
            model,
            SAFETY,
            text,
            urgent_already=assignment.urgency == "urgent",
            threshold=threshold_for(model, settings.dispatch_confidence_threshold),
            urgent_matter_threshold=settings.dispatch_urgent_matter_threshold,
            excluded=unusable,
        )
        p = d.prediction
        if p is not None and p.department not in unusable and p.confidence > 0:
            matter = model.matters.get(p.matter) if p.matter else None
            return Choice(
                p.department,
                tuple(c for c in p.co_departments if c in config.active_departments and c != p.department),
                "model",
                matter=p.matter,
                category=matter.category if matter else None,
                urgent_rule=d.urgent_rule,
                model_version=model.version,
                confidence=p.confidence,
                alternatives=[
                    DispatchAlternative(department=a.department, matter=a.matter, confidence=a.confidence)
                    for a in p.alternatives
                ],
                to_queue=d.to_queue,
                review=d.review,
            )
    fallback = choose([r for r in config.rules if not is_explicit(r)], facts, **kw)
    return Choice(
        fallback.lead_department,
        fallback.co_departments,
        "rule" if fallback.rule_id else "fallback",
        rule_id=fallback.rule_id,
        urgent_rule=urgent_rule,
    )


async def _due(uow: UnitOfWork, assignment: Assignment, start: datetime) -> tuple[Due, Due]:
    """Due times of every clock, and when each clock's warning falls."""
    config = await _config(uow)
    policies, calendar = config.policies, config.calendar
    category, urgency, business_type = assignment.category, assignment.urgency, assignment.business_type
    due = due_times(policies, calendar, category, urgency, start, business_type)
    warn = warnings_for(policies, calendar, category, urgency, start, due, business_type)
    return Due(**due), Due(**warn)


async def _record(uow: UnitOfWork, envelope: Envelope, kind: str, department: str, **values: Any) -> None:
    await store.insert_assignment(
        uow.session,
        request_id=envelope.request_id,
        kind=kind,
        department=department,
        event_id=str(envelope.id),
        at=envelope.occurred_at,
        **values,
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
    assignment: Assignment,
    excluded: frozenset[str],
    *,
    first: bool,
    lead_override: str | None = None,
    co_override: list[str] | None = None,
    actor: Actor = SYSTEM,
    kind: str | None = None,
    choice: Choice | None = None,
    decided_by: str = "manual",
    category_derived: bool = False,
    may_queue: bool = True,
) -> Envelope | None:
    """Route (or re-route) a request (saving its assignment); None when it went to the
    dispatcher's queue instead."""
    session = uow.session
    if lead_override is not None:
        choice = Choice(lead_override, tuple(co_override or ()), decided_by, matter=assignment.matter)
    elif choice is None:
        choice = await _choose(uow, assignment, excluded)
        if choice.to_queue and not may_queue:
            # A re-route after a return goes on the best remaining guess at once (as it
            # always did); a second return escalates to the coordinating department.
            choice = replace(choice, to_queue=False)
    # Urgent by the safety net; intake guessed the category from words, the matter knows better.
    assignment = assignment.judged(
        urgent_rule=choice.urgent_rule, category=choice.category, category_derived=category_derived
    )
    if choice.to_queue:
        await _queue(uow, assignment, choice, "waiting")
        return None
    lead, co, rule_id = choice.lead, choice.co, choice.rule_id
    # Clocks start when the routing decision is taken: at the causing event, or now.
    started = cause.occurred_at if cause else now()
    due, warn = await _due(uow, assignment, started)
    event_type = RequestRouted if first else RequestRerouted
    data = event_type(
        lead_department=lead,
        co_departments=list(co),
        rule_id=rule_id,
        due=due,
        warn_at=warn,
        excluded_departments=sorted(excluded),
        urgency=assignment.urgency,
        category=assignment.category,
        matter=choice.matter,
        decided_by=choice.decided_by,  # type: ignore[arg-type]
        model_version=choice.model_version,
        confidence=choice.confidence,
        alternatives=choice.alternatives,
        dispatch_review=choice.review,
        urgent_rule=choice.urgent_rule,
    )
    due_json = due.model_dump(mode="json")
    assignment = await _save(
        uow,
        assignment.routed_to(
            lead, co, due=due_json, matter=choice.matter, decided_by=choice.decided_by, started=started
        ),
    )
    emitted = uow.emit(data, request_id=assignment.request_id, actor=actor, cause=cause)
    await _record(
        uow,
        emitted,
        kind or ("routed" if first else "rerouted"),
        lead,
        co_departments=list(co),
        rule_id=rule_id,
        due=due_json,
        matter=choice.matter,
        decided_by=choice.decided_by,
    )
    log.info(
        "%s to %s (co: %s) by %s %s; resolve due %s",
        emitted.type,
        lead,
        ",".join(co) or "-",
        choice.decided_by,
        rule_id or choice.matter or "-",
        due_json.get("resolve"),
    )
    if assignment.urgency == "urgent":
        # The emergency mechanism: the lead's head and the supervisors hear of it at once.
        await _notify_heads(
            uow, emitted, lead, "urgent_request_routed", supervisors=True, due_accept=due_json["accept"]
        )
    if choice.review:
        # Urgent but uncertain: it went out at once; the dispatcher looks at it now.
        await _queue(uow, assignment, choice, "review")
        coordinating = (await _config(uow)).coordinating_department
        await _notify_heads(
            uow,
            emitted,
            coordinating,
            "urgent_dispatch_review",
            supervisors=False,
            lead=await store.department_name(session, lead) or lead,
            confidence=f"{choice.confidence or 0:.0%}",
        )
    return emitted


def rerouted_lead(emitted: Envelope) -> str:
    return str(emitted.data["lead_department"])


async def _save(uow: UnitOfWork, assignment: Assignment) -> Assignment:
    """Save the columns the assignment set; it stands as saved."""
    await store.save_assignment(uow.session, assignment)
    return assignment.saved()


async def _queue(uow: UnitOfWork, assignment: Assignment, choice: Choice, state: QueueState) -> None:
    assignment, item = assignment.queued(
        state,
        lead=choice.lead,
        co=choice.co,
        matter=choice.matter,
        suggestions=[a.model_dump() for a in choice.alternatives],
        model_version=choice.model_version,
        confidence=choice.confidence,
        at=now(),
    )
    await store.upsert_queue_item(uow.session, item)
    await _save(uow, assignment)
    log.info(
        "request %s waits for a dispatcher (%s, confidence %s)",
        assignment.request_id,
        state,
        choice.confidence,
    )


async def record_label(
    uow: UnitOfWork, request_id: str, department: str, source: str, matter: str | None = None
) -> None:
    """What the centre decided about a request's department: a training label."""
    route = await store.get_route(uow.session, request_id)
    if route is None or not route["text"]:
        return
    values = {
        "request_id": request_id,
        "text": route["text"],
        "matter": matter,
        "department": department,
        "source": source,
        "at": now(),
    }
    await store.upsert_label(uow.session, values)


def _category_derived(data: RequestReceived) -> bool:
    """Intake derived the category from keywords (the channel gave none)."""
    return any(r.startswith("category.") for r in (data.classification_rule or "").split(","))


def new_route(envelope: Envelope, data: RequestReceived) -> dict[str, Any]:
    """A new request's route as an arrival stores it."""
    text = " ".join(t for t in (data.title, data.content) if t) or None
    return Assignment.arrived(
        envelope.request_id,
        category=data.category,
        urgency=data.urgency,
        topic=data.topic,
        area=data.area,
        business_type=data.business_type,
        text=text,
        # Missing materials: routing waits for the supplement (the clock has not started).
        awaiting_materials=data.awaiting_materials,
    ).new_row()


async def route_received(uow: UnitOfWork, envelope: Envelope, data: RequestReceived) -> None:
    created = await store.create_route(uow.session, new_route(envelope, data))
    route = created or await store.get_route(uow.session, envelope.request_id, for_update=True)
    assert route is not None
    assignment = Assignment.from_row(route)
    if not assignment.routable:
        return
    await _route(uow, envelope, assignment, frozenset(), first=True, category_derived=_category_derived(data))


async def route_supplemented(uow: UnitOfWork, envelope: Envelope, data: RequestSupplemented) -> None:
    """Materials complete: route it now; its clocks start from the supplement."""
    assignment = await store.get_assignment(uow.session, envelope.request_id, for_update=True)
    if assignment is None or not assignment.awaiting_materials:
        return
    assignment = await _save(uow, assignment.supplemented())
    await _route(uow, envelope, assignment, frozenset(), first=True)


async def route_released(uow: UnitOfWork, envelope: Envelope, data: RequestMergeReleased) -> None:
    """Its primary was withdrawn or answered at intake: the duplicate is routed on its own,
    its clocks starting now."""
    assignment = await store.get_assignment(uow.session, envelope.request_id, for_update=True)
    if assignment is None or not assignment.merged:
        return
    assignment = await _save(uow, assignment.released())
    await _route(uow, envelope, assignment, frozenset(), first=True)


async def tell_head_of_chase(uow: UnitOfWork, envelope: Envelope, data: RequestChased) -> None:
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


async def stop_routing(
    uow: UnitOfWork, envelope: Envelope, data: RequestAnsweredAtIntake | RequestMerged | RequestWithdrawn
) -> None:
    """Answered at intake, merged or withdrawn: nothing more to route."""
    assignment = await store.get_assignment(uow.session, envelope.request_id, for_update=True)
    if assignment is None:
        return
    await _save(uow, assignment.stopped(entered_by(type(data))))


async def handle_return(uow: UnitOfWork, envelope: Envelope, data: RequestReturned) -> None:
    assignment = await store.get_assignment(uow.session, envelope.request_id, for_update=True)
    if assignment is None:
        return
    config = await _config(uow)
    assignment, after = assignment.returned_by(
        data.department,
        data.belongs_to_department,
        active_departments=config.active_departments,
        max_returns=uow.settings.max_returns_before_escalation,
    )
    assignment = await _save(uow, assignment)
    await _record(uow, envelope, "returned", data.department, reason=data.reason)
    returns, excluded = assignment.returns, assignment.excluded
    if after.next == "named":
        assert after.department is not None
        # The returning department named the right one: that is a label, and where it goes.
        await record_label(uow, envelope.request_id, after.department, "returned")
        await _route(
            uow,
            envelope,
            assignment,
            excluded,
            first=False,
            lead_override=after.department,
            decided_by="returned",
        )
        return
    if after.next == "reroute":
        rerouted = await _route(uow, envelope, assignment, excluded, first=False, may_queue=False)
        # The first responder owns the request (首问负责): they hear where it went and why.
        uow.emit(
            NotificationRequested(
                template="request_returned",
                params={"from_department": data.department, "reason": data.reason},
                audience=["first_responder"],
                # Gone to the dispatcher's queue (None): no department yet.
                department=rerouted_lead(rerouted) if rerouted else None,
            ),
            request_id=envelope.request_id,
            actor=SYSTEM,
            cause=rerouted or envelope,
        )
        return
    # Too many returns: the coordinating department takes it and its head is told; it may
    # dispatch it to the right department by hand (POST /v1/assignments/{id}).
    coordinating = (await _config(uow)).coordinating_department
    reason = await _return_reasons(uow, envelope.request_id, returns)
    escalated = uow.emit(
        RequestEscalated(to_department=coordinating, reason=reason, returns=returns),
        request_id=envelope.request_id,
        actor=SYSTEM,
        cause=envelope,
    )
    assignment = await _save(uow, assignment.escalated())
    await _record(uow, escalated, "escalated", coordinating, reason=reason)
    await _notify_heads(
        uow,
        escalated,
        coordinating,
        "request_escalated",
        supervisors=False,
        first_responder=True,
        returns=returns,
        reason=reason,
    )
    await _route(
        uow, escalated, assignment, excluded, first=False, lead_override=coordinating, decided_by="escalated"
    )


async def _return_reasons(uow: UnitOfWork, request_id: str, returns: int) -> str:
    """Why it is escalated, in the words of the departments that returned it:
    "已被退回 2 次：城管局：不属于本单位职责；水务局：……"."""
    rows = await store.return_reasons(uow.session, request_id)
    parts = [
        # "市场监管局 (market regulation)" → "市场监管局": the name people here read.
        f"{(name or department).split(' (')[0]}：{(text or '').strip().rstrip('。；;.')}"
        for department, name, text in rows
    ]
    return f"已被退回 {returns} 次：" + "；".join(parts)


async def _clock_start(uow: UnitOfWork, request_id: str) -> datetime | None:
    """When the current routing decision was taken (the handling clocks count from it)."""
    return await store.last_decision_at(uow.session, request_id)


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
    assignment = await store.get_assignment(uow.session, envelope.request_id, for_update=True)
    if assignment is None or not assignment.is_lead(data.department):
        return
    if isinstance(data, RequestResumed):
        assignment = await _save(uow, assignment.resumed())  # the clocks run again
    if not moved:
        return
    current = {k: datetime.fromisoformat(v) if v else None for k, v in (assignment.due or {}).items()}
    current.update(moved)
    config = await _config(uow)
    category, urgency, business_type = assignment.category, assignment.urgency, assignment.business_type
    due = moved_due(config.policies, config.calendar, category, urgency, current, business_type)
    # The clocks count from when the routing decision started them (as their due times
    # did), not from when the decision's row was written (later, for a consumer catching up).
    start = (
        assignment.clocks_started_at or await _clock_start(uow, envelope.request_id) or envelope.occurred_at
    )
    warn = warnings_for(config.policies, config.calendar, category, urgency, start, due, business_type)
    new_due = Due(**{k: due.get(k) for k in Due.model_fields})
    await _save(uow, assignment.due_moved(new_due.model_dump(mode="json")))
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


async def clocks_paused(uow: UnitOfWork, envelope: Envelope, data: RequestPaused) -> None:
    """The lead department waits on the person: where the request stands says its clocks
    stand still (the first responder's list shows 暂停计时, not a countdown). A co-handler's
    pause stops only its own part, which routing's due times do not count."""
    assignment = await store.get_assignment(uow.session, envelope.request_id, for_update=True)
    if assignment is not None:
        await _save(uow, assignment.paused(data.department, envelope.occurred_at))


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


# The clocks' names as people read them: the one table in shared.texts.
CLOCK_NAMES = CODED["clock"]


def _local(moment: datetime) -> str:
    """A time as staff read it: the organisation's time zone, 2026年12月11日 18:00."""
    return human_time(moment)


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
    name = await store.department_name(uow.session, code)
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
    assignment = await store.get_assignment(uow.session, envelope.request_id, for_update=True)
    if assignment is None:
        return
    assignment = await _save(uow, assignment.reopened())
    await _route(
        uow,
        envelope,
        assignment,
        assignment.excluded,
        first=False,
        lead_override=data.department,
        co_override=list(assignment.co),
        decided_by="reopened",
    )


# Routes whose clocks may still be running (routing does not follow acceptance or resolution:
# handling ignores a recomputed due time for a clock that has stopped).
_RUNNING = (State.ROUTED.value, State.REOPENED.value, State.ESCALATED.value, State.RETURNED.value)


async def enter_notice(
    uow: UnitOfWork, year: int, notice: str, holidays: list[date], workdays: list[date]
) -> dict[str, Any]:
    """The State Council notice for a year: its days replace the year's, the year is final,
    and the due times of clocks not yet due are counted again."""
    overrides = notice_overrides(year, holidays, workdays)
    days = [
        (day, workday, ("调休上班 " if workday else "放假 ") + notice[:150])
        for day, workday in sorted(overrides.items())
    ]
    await store.replace_year_days(uow.session, year, days)
    values = {"source": "state_council", "provisional": False, "notice": notice, "updated_at": now()}
    await store.upsert_calendar_year(uow.session, year, values)
    _config_cache(uow).invalidate()
    changed = await recompute_due_times(uow, f"{year}年节假日安排：{notice}", date(year, 1, 1))
    await uow.commit()
    _config_cache(uow).invalidate()
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
    _config_cache(uow).invalidate()
    moment = now()
    changed = 0
    # Those whose last clock (feedback, else resolve) is still to fall due.
    for route in await store.running_routes(uow.session, _RUNNING, moment):
        assignment = Assignment.from_row(route)
        started = assignment.clocks_started_at or await store.latest_clock_start(
            uow.session, assignment.request_id
        )
        if started is None:
            continue
        old = Due.model_validate(assignment.due)
        new, warn = await _due(uow, assignment, started)
        # Only clocks that have not fallen due move; one already due stays as it was.
        kept = {name: _kept(getattr(old, name), getattr(new, name), moment) for name in CLOCKS}
        recomputed = Due(**kept)
        if recomputed == old:
            continue
        await _save(uow, assignment.due_moved(recomputed.model_dump(mode="json")))
        uow.emit(
            RequestDueRecomputed(due=recomputed, previous=old, warn_at=warn, reason=reason),
            request_id=assignment.request_id,
            actor=SYSTEM,
        )
        changed += 1
    log.info("calendar changed from %s (%s): due times of %d requests recomputed", first_day, reason, changed)
    return changed


async def dispatch(
    uow: UnitOfWork, principal: Principal, request_id: str, lead: str, co: list[str], reason: str
) -> dict[str, Any]:
    """Manual dispatch (人工派单) by the coordinating department or a supervisor."""
    if principal.scoped_to and principal.scoped_to != await store.coordinating_department(uow.session):
        raise Forbidden("only the coordinating department or a supervisor dispatches by hand")
    assignment = await store.get_assignment(uow.session, request_id, for_update=True)
    if assignment is None:
        raise NotFound(f"no request {request_id} has been routed")
    active = await store.active_departments(uow.session)
    unknown = [
        field_error(name, "known_department", f"no active department {code}")
        for name, code in [("lead_department", lead), *[(f"co_departments.{i}", c) for i, c in enumerate(co)]]
        if code not in active
    ]
    if unknown:
        raise ApiError("unknown departments", status=422, code="validation_failed", fields=unknown)
    assignment.dispatchable()  # 409 naming the state if it may not be re-routed
    emitted = await _route(
        uow,
        None,
        assignment,
        assignment.excluded,
        first=False,
        lead_override=lead,
        co_override=co,
        actor=principal.actor,
        kind="dispatched",
    )
    assert emitted is not None
    await store.set_assignment_reason(uow.session, str(emitted.id), reason)
    await record_label(uow, request_id, lead, "manual")
    await _close_queue_item(uow, request_id, principal.id, lead, co, None, "dispatched")
    await uow.commit()
    return {
        "request_id": request_id,
        "lead_department": lead,
        "co_departments": co,
        "event_id": str(emitted.id),
    }


async def _close_queue_item(
    uow: UnitOfWork, request_id: str, by: str, lead: str, co: list[str], matter: str | None, state: str
) -> None:
    await store.close_queue_item(uow.session, request_id, **closed_item(state, by, lead, co, matter, now()))


async def dispatch_from_queue(
    uow: UnitOfWork,
    principal: Principal,
    request_id: str,
    lead: str,
    co: list[str],
    matter: str | None,
    reason: str | None,
) -> dict[str, Any]:
    """The dispatcher's decision on a queued request: a waiting one goes out now; an
    urgent one already sent is confirmed or re-dispatched. Either way it is a label."""
    session = uow.session
    row = await store.get_queue_item(session, request_id, for_update=True)
    if row is None:
        raise NotFound(f"request {request_id} is not in the dispatcher's queue")
    item = QueueItem.from_row(row)
    try:
        state = item.decide(lead, [c for c in co if c != lead])
    except AlreadyDispatched as exc:
        raise Conflict(
            f"request {request_id} was already dispatched by {exc.decided_by}", code="already_dispatched"
        ) from exc
    config = await _config(uow)
    unknown = [
        field_error(name, "known_department", f"no active department {code}")
        for name, code in [("lead_department", lead), *[(f"co_departments.{i}", c) for i, c in enumerate(co)]]
        if code not in config.active_departments
    ]
    if matter is not None and not await store.active_matter_exists(session, matter):
        unknown.append(field_error("matter", "known_matter", f"no active matter {matter}"))
    if unknown:
        raise ApiError("unknown departments or matter", status=422, code="validation_failed", fields=unknown)
    assignment = await store.get_assignment(session, request_id, for_update=True)
    assert assignment is not None
    event_id: str | None = None
    co = [c for c in co if c != lead]
    if state == "dispatched":
        # Its first routing if it waited unrouted; else a 409 naming the state if it may not be re-routed.
        first = assignment.dispatchable(waiting_in_queue=item.waiting)
        choice = Choice(lead, tuple(co), "dispatcher", matter=matter)
        emitted = await _route(
            uow,
            None,
            assignment,
            assignment.excluded,
            first=first,
            choice=choice,
            actor=principal.actor,
            kind="dispatched",
        )
        assert emitted is not None
        event_id = str(emitted.id)
        if reason:
            await store.set_assignment_reason(session, event_id, reason)
    await record_label(uow, request_id, lead, "dispatcher", matter)
    await _close_queue_item(uow, request_id, principal.id, lead, co, matter, state)
    await uow.commit()
    return {
        "request_id": request_id,
        "state": state,
        "lead_department": lead,
        "co_departments": co,
        "matter": matter,
        "event_id": event_id,
    }


async def label_resolved(uow: UnitOfWork, envelope: Envelope, data: RequestResolved) -> None:
    """The department that resolved a request kept it: the final label (after returns,
    re-routes and manual dispatch)."""
    route = await store.get_route(uow.session, envelope.request_id)
    if route is None:
        return
    matter = route["matter"] if route["lead_department"] == data.department else None
    await record_label(uow, envelope.request_id, data.department, "resolved", matter)


# --- the configuration commands: the directory, rules, SLA policies, edited days, staff ------
# Each commits its change and drops the cached routing configuration (this process's next
# decision reads it at once; another replica's within the cache's few seconds).
async def _department_exists(session: AsyncSession, code: str | None, field: str) -> None:
    if code is None:
        return
    if not await store.department_exists(session, code):
        raise ApiError(
            f"unknown department {code}",
            status=422,
            code="validation_failed",
            fields=[field_error(field, "known_department", f"no department {code}")],
        )


async def _saved(uow: UnitOfWork) -> None:
    """The configuration edit committed: this runtime reads it at once (another replica
    within its cache's time to live)."""
    await uow.commit()
    _config_cache(uow).invalidate()


async def create_department(uow: UnitOfWork, values: dict[str, Any]) -> dict[str, Any]:
    session = uow.session
    await _department_exists(session, values["parent"], "parent")
    if not await store.insert_department(session, values):
        raise Conflict(f"department {values['code']} already exists")
    await _saved(uow)
    return values


async def put_department(uow: UnitOfWork, values: dict[str, Any]) -> dict[str, Any]:
    """Create or replace a department; it may not sit under itself (a 422 on `parent`)."""
    session = uow.session
    code, parent = values["code"], values["parent"]
    await _department_exists(session, parent, "parent")
    ancestors = await store.ancestors(session, parent) if parent is not None else set()
    try:
        Placement(code, parent, frozenset(ancestors)).check()
    except DepartmentCycle as exc:
        raise ApiError(
            "a department cannot sit under itself",
            status=422,
            code="validation_failed",
            fields=[field_error("parent", "no_cycle", str(exc))],
        ) from exc
    await store.upsert_department(session, values)
    await _saved(uow)
    return values


async def save_rule(uow: UnitOfWork, values: dict[str, Any], *, new: bool) -> dict[str, Any]:
    """Create (`new`: a 409 if the id is taken) or replace a routing rule."""
    session = uow.session
    if new and await store.rule_exists(session, values["id"]):
        raise Conflict(f"rule {values['id']} already exists")
    await _department_exists(session, values["lead_department"], "lead_department")
    for i, dept in enumerate(values["co_departments"]):
        await _department_exists(session, dept, f"co_departments.{i}")
    await store.upsert_rule(session, values)
    await _saved(uow)
    return values


async def put_policy(uow: UnitOfWork, values: dict[str, Any]) -> dict[str, Any]:
    session = uow.session
    await store.upsert_policy(session, values)
    await _saved(uow)
    return values


async def put_calendar_day(uow: UnitOfWork, day: date, workday: bool, note: str | None) -> dict[str, Any]:
    session = uow.session
    await store.upsert_calendar_day(session, day, workday, note)
    await _saved(uow)
    return {"day": day.isoformat(), "workday": workday, "note": note}


async def put_staff(uow: UnitOfWork, staff_id: str, values: dict[str, Any]) -> dict[str, Any]:
    session = uow.session
    await _department_exists(session, values["department"], "department")
    await store.upsert_staff(session, staff_id, values)
    await _saved(uow)
    return {"id": staff_id, **values}
