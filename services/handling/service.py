"""Handling's commands and reactions. Each command loads the case with a row lock, asks
the aggregate, saves it and raises its event in the same unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from services.handling import sla_scheduler, store
from services.handling.domain.case import (
    Case,
    LeadResolved,
    NotCoHandler,
    NotLead,
    NotYourCase,
    OpinionsMissing,
    ReturnWindowClosed,
)
from services.handling.domain.clocks import Clock, ExtensionRefused
from shared.auth import Principal
from shared.clock import now
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable, field_error
from shared.events.catalogue import (
    ClockName,
    Due,
    EventData,
    NotificationRequested,
    Outcome,
    RequestAnsweredAtIntake,
    RequestClosed,
    RequestDueChanged,
    RequestExtensionDecided,
    RequestExtensionRequested,
    RequestMerged,
    RequestMergeReleased,
    RequestPaused,
    RequestReopened,
    RequestResumed,
    RequestRouted,
    RequestSupervised,
    RequestSupervisionAnswered,
    RequestWithdrawn,
    Step,
)
from shared.events.envelope import Envelope
from shared.lifecycle import State, entered_by, next_state
from shared.masking import mask_text
from shared.outbox import UnitOfWork
from shared.settings import Settings
from shared.texts import human_time


async def open_cases(uow: UnitOfWork, envelope: Envelope, data: RequestRouted) -> None:
    """request.routed / request.rerouted: the case enters the lead's and co-handlers' queues."""
    # A consumer's fetch read how the request stands with the fetch (store.read_fetch).
    known = store.unwritten_in_fetch(uow.session, envelope.request_id)
    if known is None:
        await store.flush_fetch(uow.session)
        if await store.finished_state(uow.session, envelope.request_id):
            return  # ended at intake meanwhile: nothing to handle
        cases = await store.cases_of_request(uow.session, envelope.request_id, for_update=True)
        clocks_running = True
    elif known.finished:
        return
    else:
        cases, clocks_running = known.cases, known.clocks_running
    due = data.due.model_dump(mode="json")
    existing = {c.department: c for c in cases}
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
        await store.upsert_case(uow.session, values)
    # Departments no longer assigned (a return moved it on) leave the queue as "returned".
    for department, case in existing.items():
        if department != data.lead_department and department not in data.co_departments:
            await store.save_case(uow.session, case.left_for_another())
    warn = data.warn_at.model_dump(mode="json") if data.warn_at else {}
    await sla_scheduler.start_clocks(
        uow,
        envelope.request_id,
        data.lead_department,
        envelope.occurred_at,
        due,
        warn,
        clocks_running=clocks_running,
    )


async def close_cases(
    uow: UnitOfWork,
    envelope: Envelope,
    data: RequestAnsweredAtIntake | RequestMerged | RequestWithdrawn | RequestClosed,
) -> None:
    """Answered at intake, merged, withdrawn or closed: the case leaves every queue (unless
    asked for by state), clocks stop."""
    state = entered_by(type(data))
    await store.mark_finished(uow.session, envelope.request_id, state.value)
    for case in await store.cases_of_request(uow.session, envelope.request_id, for_update=True):
        await store.save_case(uow.session, case.ended(state))
    await sla_scheduler.stop_clocks(uow, envelope.request_id, at=envelope.occurred_at)


async def apply_due_changed(uow: UnitOfWork, envelope: Envelope, data: RequestDueChanged) -> None:
    """request.due_changed (routing, after an extension or a pause): the clocks take the
    current due and warning times (warnings on the business calendar), and every case of
    the request shows the same due times, the feedback due included."""
    due = data.due.model_dump(mode="json")
    # Not the clocks of a later routing: those started by the time of this change.
    rows = await store.running_clocks(uow.session, envelope.request_id, data.department, envelope.occurred_at)
    if not rows:
        return  # rerouted or finished meanwhile: the case's clocks are no longer these
    moment = now()
    for row in rows:
        new_due = getattr(data.due, row["clock"], None) or row["due"]
        new_warn = getattr(data.warn_at, row["clock"], None) if data.warn_at else None
        values: dict[str, Any] = {"due": new_due, "warn_at": new_warn or row["warn_at"]}
        if row["warned_at"] is not None and values["warn_at"] and values["warn_at"] > moment:
            values["warned_at"] = None  # a warning for the new deadline, when it comes
        await store.update_clock(uow.session, envelope.request_id, data.department, row["clock"], **values)
    await store.set_due(uow.session, envelope.request_id, {k: v for k, v in due.items() if v is not None})


async def reopen_released(uow: UnitOfWork, envelope: Envelope, data: RequestMergeReleased) -> None:
    """A merged duplicate is handed back (its primary was withdrawn): it may be queued again."""
    await store.unmark_merged(uow.session, envelope.request_id)


async def note_reopened(uow: UnitOfWork, envelope: Envelope, data: RequestReopened) -> None:
    """The person was not satisfied: the lead's case shows why (routing sends it back to them)."""
    await store.add_step(
        uow.session,
        request_id=envelope.request_id,
        department=data.department,
        kind="reopened",
        actor_id=envelope.actor.id,
        detail={"reason": data.reason, "reopen_count": data.reopen_count},
        event_id=str(envelope.id),
    )


Action = Callable[[Case], tuple[Case, EventData]]


async def act(
    uow: UnitOfWork,
    principal: Principal,
    request_id: str,
    action: Action,
    step: str,
    detail: dict[str, Any],
    notify: tuple[str, dict[str, Any], list[Any]] | None = None,
    after: Callable[[Envelope], Awaitable[None]] | None = None,
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
    await sla_scheduler.stop_for(uow, type(event), request_id, case.department, emitted.occurred_at)
    if notify is not None:
        template, params, audience = notify
        uow.emit(
            NotificationRequested(template=template, params=params, audience=audience),
            request_id=request_id,
            actor=principal.actor,
            cause=emitted,
        )
    await store.add_step(
        uow.session,
        request_id=request_id,
        department=case.department,
        kind=step,
        actor_id=principal.id,
        detail=detail,
        event_id=str(emitted.id),
    )
    if after is not None:
        await after(emitted)
    await uow.commit()
    return {
        "request_id": request_id,
        "department": updated.department,
        "state": updated.state.value,
        "handler_id": updated.handler_id,
        "event_id": str(emitted.id),
    }


async def _case_or_404(uow: UnitOfWork, principal: Principal, request_id: str) -> Case:
    case = await store.find_case(uow.session, request_id, principal.department, for_update=True)
    if case is None:
        raise NotFound(f"no case {request_id} in your department")
    return case


async def resolve(
    uow: UnitOfWork,
    principal: Principal,
    request_id: str,
    outcome: Outcome,
    reply: str,
    override_reason: str | None,
) -> dict[str, Any]:
    """Resolve, once every co-handler has given its opinion (or with a recorded reason)."""
    # Free text is masked before it is stored or becomes an event (shared.masking).
    reply, override_reason = mask_text(reply), mask_text(override_reason) if override_reason else None
    cases = await store.cases_of_request(uow.session, request_id)
    co = frozenset(c.department for c in cases if c.role == "co" and c.state != State.RETURNED)
    given = await store.opinion_departments(uow.session, request_id)

    async def end_co_cases(resolved: Envelope) -> None:
        # The co-handlers' part ends with the lead's resolution: out of their open queues.
        for case in cases:
            if case.role == "co" and case.state not in (State.RETURNED, State.RESOLVED):
                await store.save_case(uow.session, case.ended_with_the_lead())

    try:
        return await act(
            uow,
            principal,
            request_id,
            lambda c: c.resolve(
                principal.department,
                c.handler_id or principal.id,
                outcome,
                reply,
                co_departments=co,
                opinions_from=given,
                override_reason=override_reason,
            ),
            "resolve",
            {
                "outcome": outcome,
                "reply": reply,
                "override_reason": override_reason if co - given else None,
                "missing_opinions": sorted(co - given),
            },
            after=end_co_cases,
        )
    except OpinionsMissing as exc:
        raise Conflict(
            f"waiting for the opinions of {', '.join(exc.missing)}; resolve with override_reason to go ahead",
            code="opinions_missing",
        ) from exc


async def return_case(
    uow: UnitOfWork, principal: Principal, request_id: str, reason: str, belongs_to: str | None = None
) -> dict[str, Any]:
    reason = mask_text(reason)
    window = timedelta(hours=uow.settings.return_window_hours)
    try:
        return await act(
            uow,
            principal,
            request_id,
            lambda c: c.return_(
                principal.department, reason, now=now(), window=window, belongs_to=belongs_to
            ),
            "return",
            {"reason": reason, **({"belongs_to_department": belongs_to} if belongs_to else {})},
        )
    except ReturnWindowClosed as exc:
        raise Conflict(
            f"returns are possible before acceptance or within {window} after it", code="return_window_closed"
        ) from exc


async def add_opinion(uow: UnitOfWork, principal: Principal, request_id: str, opinion: str) -> dict[str, Any]:
    opinion = mask_text(opinion)
    case = await _case_or_404(uow, principal, request_id)
    lead = next((c for c in await store.cases_of_request(uow.session, request_id) if c.role == "lead"), None)
    try:
        _, event = case.add_opinion(principal.department, opinion, lead_state=lead.state if lead else None)
    except NotCoHandler as exc:
        raise Forbidden("only co-handling departments add opinions") from exc
    except LeadResolved as exc:
        raise Conflict(
            f"request {request_id} has been resolved by the lead department; opinions are closed",
            code="already_resolved",
        ) from exc
    await store.add_opinion(
        uow.session,
        request_id=request_id,
        department=case.department,
        author=principal.id,
        opinion=opinion,
        at=now(),
    )
    emitted = uow.emit(event, request_id=request_id, actor=principal.actor)
    await store.add_step(
        uow.session,
        request_id=request_id,
        department=case.department,
        kind="opinion",
        actor_id=principal.id,
        detail={"opinion": opinion},
        event_id=str(emitted.id),
    )
    await uow.commit()
    return {"request_id": request_id, "department": case.department, "event_id": str(emitted.id)}


async def progress(
    uow: UnitOfWork, principal: Principal, request_id: str, step: Step, note: str, notify_requester: bool
) -> dict[str, Any]:
    """A handling step; the first responder (and, if chosen, the person) hears of it."""
    note = mask_text(note)
    result = await act(
        uow,
        principal,
        request_id,
        lambda c: c.progress(principal.department, principal.id, step, note),
        "progress",
        {"step": step, "note": note, "notify_requester": notify_requester},
        notify=(
            "progress_update",
            {"message": note},
            ["first_responder", *(["requester"] if notify_requester else [])],
        ),
    )
    return result


async def request_extension(
    uow: UnitOfWork,
    principal: Principal,
    request_id: str,
    clock_name: ClockName,
    requested_due: datetime,
    reason: str,
) -> dict[str, Any]:
    reason = mask_text(reason)
    case = await _case_or_404(uow, principal, request_id)
    if case.role != "lead":
        raise Forbidden("only the lead department asks for more time")
    next_state(case.state, RequestExtensionRequested)
    clock = await sla_scheduler.load_clock(uow, request_id, case.department, clock_name)
    if clock is None:
        raise NotFound(f"no {clock_name} clock on case {request_id}")
    _check_extension(clock, requested_due, uow.settings)
    pending = await store.pending_extension(uow.session, request_id, case.department, clock_name)
    if pending is not None:
        raise Conflict(
            f"extension {pending} for the {clock_name} clock is still waiting for the head's decision; "
            "one request per clock at a time",
            code="extension_pending",
        )
    extension_id = str(uuid.uuid4())
    await store.add_extension(
        uow.session,
        id=extension_id,
        request_id=request_id,
        department=case.department,
        clock=clock_name,
        requested_due=requested_due,
        reason=reason,
        requested_by=principal.id,
        state="pending",
    )
    uow.emit(
        RequestExtensionRequested(
            department=case.department,
            clock=clock_name,
            requested_due=requested_due,
            reason=reason,
            extension_id=extension_id,
        ),
        request_id=request_id,
        actor=principal.actor,
    )
    await uow.commit()
    return {"id": extension_id, "request_id": request_id, "clock": clock_name, "state": "pending"}


def _check_extension(clock: Clock, requested_due: datetime, settings: Settings) -> None:
    try:
        clock.check_extension(requested_due, now(), sla_scheduler.policy(settings))
    except ExtensionRefused as exc:
        raise Unprocessable(
            exc.message, fields=[field_error("requested_due", exc.rule, exc.message)]
        ) from exc


async def decide_extension(
    uow: UnitOfWork, principal: Principal, extension_id: str, approve: bool, note: str | None
) -> dict[str, Any]:
    note = mask_text(note) if note else note
    row = await store.get_extension(uow.session, extension_id, for_update=True)
    if row is None or not principal.sees(row["department"]):
        raise NotFound(f"no extension {extension_id}")
    if row["state"] != "pending":
        raise Conflict(f"extension {extension_id} is already {row['state']}")
    case = await store.find_case(uow.session, row["request_id"], row["department"], for_update=True)
    assert case is not None
    next_state(case.state, RequestExtensionDecided)
    new_due = None
    if approve:
        clock = await sla_scheduler.load_clock(uow, row["request_id"], row["department"], row["clock"])
        assert clock is not None
        _check_extension(clock, row["requested_due"], uow.settings)
        new_due = row["requested_due"]
        await sla_scheduler.save_clock(uow, clock.extend(new_due, now()))
        await store.set_due(uow.session, row["request_id"], {row["clock"]: new_due.isoformat()})
    await store.decide_extension(
        uow.session,
        extension_id,
        state="approved" if approve else "rejected",
        decided_by=principal.id,
        note=note,
        decided_at=now(),
    )
    decided = uow.emit(
        RequestExtensionDecided(
            department=row["department"],
            clock=row["clock"],
            approved=approve,
            new_due=new_due,
            decided_by=principal.id,
            extension_id=extension_id,
            note=note,
        ),
        request_id=row["request_id"],
        actor=principal.actor,
    )
    if approve:
        # The person is told why it takes longer and when to expect the result.
        uow.emit(
            NotificationRequested(
                template="extension_notice",
                audience=["requester", "first_responder"],
                params={"reason": row["reason"], "new_due": _local(new_due) if new_due else ""},
            ),
            request_id=row["request_id"],
            actor=principal.actor,
            cause=decided,
        )
    await uow.commit()
    return {
        "id": extension_id,
        "state": "approved" if approve else "rejected",
        "new_due": new_due.isoformat() if new_due else None,
    }


def _local(moment: datetime) -> str:
    """A time as people read it: the organisation's time zone, 2026年12月11日 18:00."""
    return human_time(moment)


async def issue_supervision_order(
    uow: UnitOfWork,
    principal: Principal,
    request_id: str,
    department: str | None,
    instructions: str,
    due: datetime,
) -> dict[str, Any]:
    """督办: a supervisor orders a department to act on a request by a deadline."""
    instructions = mask_text(instructions)
    cases = await store.cases_of_request(uow.session, request_id, for_update=True)
    lead = next((c for c in cases if c.role == "lead" and c.state != State.RETURNED), None)
    target = department or (lead.department if lead else None)
    case = next((c for c in cases if c.department == target), None)
    if case is None:
        raise NotFound(f"no case {request_id} in {target or 'any department'}")
    next_state(case.state, RequestSupervised)
    if due <= now():
        raise Unprocessable(
            "the deadline has passed", fields=[field_error("due", "in_future", "must be later than now")]
        )
    order_id = str(uuid.uuid4())
    await store.add_supervision_order(
        uow.session,
        id=order_id,
        request_id=request_id,
        department=case.department,
        instructions=instructions,
        due=due,
        issued_by=principal.id,
    )
    uow.emit(
        RequestSupervised(order_id=order_id, department=case.department, instructions=instructions, due=due),
        request_id=request_id,
        actor=principal.actor,
    )
    await uow.commit()
    return {"id": order_id, "request_id": request_id, "department": case.department, "due": due.isoformat()}


async def answer_supervision_order(
    uow: UnitOfWork, principal: Principal, order_id: str, answer: str
) -> dict[str, Any]:
    answer = mask_text(answer)
    row = await store.get_supervision_order(uow.session, order_id, for_update=True)
    if row is None or not principal.sees(row["department"]):
        raise NotFound(f"no supervision order {order_id} for your department")
    if row["answered_at"] is not None:
        raise Conflict(f"supervision order {order_id} was answered already")
    moment = now()
    await store.answer_supervision_order(
        uow.session, order_id, answer=answer, answered_by=principal.id, answered_at=moment
    )
    answered = uow.emit(
        RequestSupervisionAnswered(
            order_id=order_id,
            department=row["department"],
            answer=answer,
            answered_by=principal.id,
            on_time=moment <= row["due"],
            issued_by=row["issued_by"],
        ),
        request_id=row["request_id"],
        actor=principal.actor,
    )
    await store.add_step(
        uow.session,
        request_id=row["request_id"],
        department=row["department"],
        kind="supervision_answer",
        actor_id=principal.id,
        detail={"order_id": order_id, "answer": answer},
        event_id=str(answered.id),
    )
    await uow.commit()
    return {"id": order_id, "answered": True}


async def pause(uow: UnitOfWork, principal: Principal, request_id: str, reason: str) -> dict[str, Any]:
    """Waiting on the person: the lead department's clocks stop until it resumes."""
    reason = mask_text(reason)
    case = await _case_or_404(uow, principal, request_id)
    if case.role != "lead":
        raise Forbidden("only the lead department pauses its clocks")
    next_state(case.state, RequestPaused)
    if not await sla_scheduler.pause_clocks(uow, request_id, case.department, now()):
        raise Conflict("no running clock to pause (paused already, or all stopped)", code="nothing_to_pause")
    uow.emit(
        RequestPaused(department=case.department, reason=reason), request_id=request_id, actor=principal.actor
    )
    await store.add_step(
        uow.session,
        request_id=request_id,
        department=case.department,
        kind="pause",
        actor_id=principal.id,
        detail={"reason": reason},
    )
    await uow.commit()
    return {"request_id": request_id, "paused": True}


async def resume(uow: UnitOfWork, principal: Principal, request_id: str) -> dict[str, Any]:
    case = await _case_or_404(uow, principal, request_id)
    next_state(case.state, RequestResumed)
    moved = await sla_scheduler.resume_clocks(uow, request_id, case.department, now())
    if not moved:
        raise Conflict("the clocks are not paused", code="not_paused")
    uow.emit(
        RequestResumed(department=case.department, due=Due(**moved)),
        request_id=request_id,
        actor=principal.actor,
    )
    await store.set_due(uow.session, request_id, {k: v.isoformat() for k, v in moved.items()})
    await uow.commit()
    return {"request_id": request_id, "paused": False, "due": {k: v.isoformat() for k, v in moved.items()}}
