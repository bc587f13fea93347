"""Handling's HTTP API: the department's queue and the actions on a case."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from services.handling import directory, queries, service
from shared.events.catalogue import Outcome
from shared.pagination import MAX_PAGE
from shared.policy import Caller
from shared.runtime import Session, Settings, Uow
from shared.types import Instant, Strict

router = APIRouter(prefix="/v1", tags=["handling"])
Text = Annotated[str, Field(min_length=1, max_length=5000)]


class AcceptBody(Strict):
    handler_id: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=100,
                description="an active handler or head of the case's department (default: the caller)",
            ),
        ]
        | None
    ) = None


class ContactBody(Strict):
    how: Literal["phone", "sms", "email", "visit", "channel", "other"]
    summary: Text


class ProgressBody(Strict):
    step: Literal["investigate", "plan", "implement", "other"]
    note: Text
    notify_requester: bool = False


class ResolveBody(Strict):
    outcome: Outcome
    reply: Text
    reason: Annotated[str, Field(max_length=2000)] | None = None
    override_reason: Annotated[str, Field(min_length=1, max_length=2000)] | None = None

    @model_validator(mode="after")
    def _reason_for_cannot_resolve(self) -> ResolveBody:
        if self.outcome == "cannot_resolve" and not self.reason:
            raise PydanticCustomError(
                "reason_required",
                "cannot_resolve needs a reason",
                {"field": "reason", "rule": "reason_required"},
            )
        return self


class PauseBody(Strict):
    reason: Text


class OpinionBody(Strict):
    opinion: Text


class ExtensionBody(Strict):
    clock: Literal["accept", "first_contact", "resolve"] = "resolve"
    requested_due: Instant
    reason: Text


class DecisionBody(Strict):
    approve: bool
    note: Annotated[str, Field(max_length=2000)] | None = None


class SupervisionBody(Strict):
    request_id: Annotated[str, Field(min_length=1, max_length=36)]
    department: Annotated[str, Field(max_length=50)] | None = None
    instructions: Text
    due: Instant


class SupervisionAnswer(Strict):
    answer: Text


class ReturnBody(Strict):
    reason: Text
    # Where it belongs, in the department's view (department code); routing sends it there
    # and learns from it.
    belongs_to_department: (
        Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")] | None
    ) = None


class CaseView(BaseModel):
    """A case in the department's queue."""

    request_id: str
    department: str
    role: Literal["lead", "co"]
    state: str
    category: str | None
    urgency: str | None
    due: dict[str, Any] = Field(description="each clock's due time (ISO 8601), by clock")
    handler_id: str | None
    routed_at: str | None


class CasePage(BaseModel):
    items: list[CaseView]
    next_cursor: str | None = None


class CaseStep(BaseModel):
    kind: str
    department: str
    actor_id: str | None
    detail: dict[str, Any]
    at: str


class CaseOpinion(BaseModel):
    department: str
    author: str | None
    opinion: str
    at: str


class CaseResolution(BaseModel):
    department: str
    outcome: str | None
    reply: str | None
    override_reason: str | None
    missing_opinions: list[str]
    at: str


class CaseDetail(CaseView):
    """A case with every step taken on it, the co-handlers' opinions and how it was resolved."""

    steps: list[CaseStep]
    opinions: list[CaseOpinion]
    resolution: CaseResolution | None


class CaseAction(BaseModel):
    """What an action on a case did: the case's state after it, and the event it raised."""

    request_id: str
    department: str
    state: str
    handler_id: str | None
    event_id: str


class OpinionAdded(BaseModel):
    request_id: str
    department: str
    event_id: str


class PauseAnswer(BaseModel):
    """Paused (`paused` true) or resumed (false, with the clocks' due times moved by the pause)."""

    request_id: str
    paused: bool
    due: dict[str, str] | None = Field(default=None, description="on resume: each clock's new due time")


class ExtensionRequested(BaseModel):
    id: str
    request_id: str
    clock: str
    state: str


class ExtensionDecided(BaseModel):
    id: str
    state: str = Field(description="`approved` or `rejected`")
    new_due: str | None


class ExtensionView(BaseModel):
    id: str
    request_id: str
    department: str
    clock: str
    requested_due: str
    reason: str
    requested_by: str
    state: str
    decided_by: str | None
    note: str | None
    requested_at: str
    decided_at: str | None


class ExtensionPage(BaseModel):
    items: list[ExtensionView]
    next_cursor: str | None


class SupervisionIssued(BaseModel):
    id: str
    request_id: str
    department: str
    due: str


class SupervisionAnswered(BaseModel):
    id: str
    answered: bool


class SupervisionOrderView(BaseModel):
    id: str
    request_id: str
    department: str
    instructions: str
    due: str
    issued_by: str
    issued_at: str
    answer: str | None
    answered_by: str | None
    answered_at: str | None
    breached_at: str | None


class SupervisionOrderPage(BaseModel):
    items: list[SupervisionOrderView]
    next_cursor: str | None


class ClockView(BaseModel):
    request_id: str
    department: str
    clock: str
    started_at: str
    due: str
    original_due: str
    warn_at: str | None
    warned_at: str | None
    breached_at: str | None
    stopped_at: str | None
    paused_at: str | None
    extensions: int


class OverdueAnswer(BaseModel):
    clocks: list[ClockView]
    supervision_orders: list[SupervisionOrderView]
    next_cursor: str | None = Field(description="the next page of clocks")
    supervision_orders_next_cursor: str | None


class AtRiskAnswer(BaseModel):
    clocks: list[ClockView]
    next_cursor: str | None


@router.get("/cases", response_model=CasePage)
async def list_cases(
    principal: Caller,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    state: str | None = None,
    urgency: Literal["normal", "urgent"] | None = None,
    handler: str | None = None,
    overdue: bool = False,
    at_risk: bool = False,
) -> dict[str, Any]:
    """The department's queue: urgent cases first (the green channel), then oldest first.
    By default the work still to do; `state=all` shows merged, withdrawn, returned and
    closed cases too."""
    return await queries.queue(
        session,
        principal,
        limit=limit,
        cursor=cursor,
        state=state,
        urgency=urgency,
        handler=handler,
        overdue=overdue,
        at_risk=at_risk,
    )


@router.get("/cases/{request_id}", response_model=CaseDetail)
async def get_case(request_id: str, principal: Caller, session: Session) -> dict[str, Any]:
    return await queries.case(session, principal, request_id)


@router.post("/cases/{request_id}/accept", response_model=CaseAction)
async def accept(
    request_id: str, body: AcceptBody, principal: Caller, uow: Uow, settings: Settings
) -> dict[str, Any]:
    """Accept the case, for oneself or for a handler of the department (`handler_id`, who
    must be an active handler or head of this department in routing's staff directory)."""
    handler_id = body.handler_id or principal.id
    # Asked before the case's row is locked: the unit of work has not touched the database.
    await directory.check_handler(settings, principal, handler_id)
    return await service.act(
        uow,
        principal,
        request_id,
        lambda c: c.accept(principal.department, handler_id),
        "accept",
        {"handler_id": handler_id},
    )


@router.post("/cases/{request_id}/contact", response_model=CaseAction)
async def contact(request_id: str, body: ContactBody, principal: Caller, uow: Uow) -> dict[str, Any]:
    return await service.act(
        uow,
        principal,
        request_id,
        lambda c: c.contact(principal.department, principal.id, body.how),
        "contact",
        body.model_dump(),
    )


@router.post("/cases/{request_id}/progress", response_model=CaseAction)
async def progress(request_id: str, body: ProgressBody, principal: Caller, uow: Uow) -> dict[str, Any]:
    return await service.progress(uow, principal, request_id, body.step, body.note, body.notify_requester)


@router.post("/cases/{request_id}/resolve", response_model=CaseAction)
async def resolve(request_id: str, body: ResolveBody, principal: Caller, uow: Uow) -> dict[str, Any]:
    """Resolve with an outcome and the reply for the person; with co-handlers, after every
    co-handler's opinion, or with `override_reason` (recorded)."""
    return await service.resolve(uow, principal, request_id, body.outcome, body.reply, body.override_reason)


@router.post("/cases/{request_id}/return", response_model=CaseAction)
async def return_case(request_id: str, body: ReturnBody, principal: Caller, uow: Uow) -> dict[str, Any]:
    """退单: not this department's request. Before acceptance, or within the return window."""
    return await service.return_case(uow, principal, request_id, body.reason, body.belongs_to_department)


@router.post("/cases/{request_id}/pause", response_model=PauseAnswer, response_model_exclude_unset=True)
async def pause(request_id: str, body: PauseBody, principal: Caller, uow: Uow) -> dict[str, Any]:
    """Waiting on the person (information, access, a date): the clocks stop meanwhile."""
    return await service.pause(uow, principal, request_id, body.reason)


@router.post("/cases/{request_id}/resume", response_model=PauseAnswer, response_model_exclude_unset=True)
async def resume(request_id: str, principal: Caller, uow: Uow) -> dict[str, Any]:
    """The clocks run again; their due times move by the time the pause lasted."""
    return await service.resume(uow, principal, request_id)


@router.post("/cases/{request_id}/opinions", response_model=OpinionAdded)
async def add_opinion(request_id: str, body: OpinionBody, principal: Caller, uow: Uow) -> dict[str, Any]:
    return await service.add_opinion(uow, principal, request_id, body.opinion)


@router.post("/cases/{request_id}/extensions", status_code=201, response_model=ExtensionRequested)
async def request_extension(
    request_id: str, body: ExtensionBody, principal: Caller, uow: Uow
) -> dict[str, Any]:
    return await service.request_extension(
        uow, principal, request_id, body.clock, body.requested_due, body.reason
    )


@router.post("/extensions/{extension_id}/decision", response_model=ExtensionDecided)
async def decide_extension(
    extension_id: str,
    body: DecisionBody,
    uow: Uow,
    principal: Caller,
) -> dict[str, Any]:
    return await service.decide_extension(uow, principal, extension_id, body.approve, body.note)


@router.get("/extensions", response_model=ExtensionPage)
async def list_extensions(
    principal: Caller,
    session: Session,
    state: Literal["pending", "approved", "rejected"] | None = None,
    request_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Extension requests, oldest first: what a head (their department's) or a supervisor
    has to decide (keyset pages on an index of request time and id)."""
    return await queries.extensions(session, principal, state, request_id, cursor, limit)


@router.post("/supervision-orders", status_code=201, response_model=SupervisionIssued)
async def issue_supervision_order(body: SupervisionBody, uow: Uow, principal: Caller) -> dict[str, Any]:
    return await service.issue_supervision_order(
        uow, principal, body.request_id, body.department, body.instructions, body.due
    )


@router.post("/supervision-orders/{order_id}/answer", response_model=SupervisionAnswered)
async def answer_supervision_order(
    order_id: str, body: SupervisionAnswer, principal: Caller, uow: Uow
) -> dict[str, Any]:
    return await service.answer_supervision_order(uow, principal, order_id, body.answer)


@router.get("/supervision-orders", response_model=SupervisionOrderPage)
async def list_supervision_orders(
    principal: Caller,
    session: Session,
    open_only: bool = True,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Supervision orders by due time (keyset pages on an index of due time and id)."""
    return await queries.supervision_orders(session, principal, open_only, cursor, limit)


@router.get("/overdue", response_model=OverdueAnswer)
async def overdue(
    principal: Caller,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(description="next page of clocks")] = None,
    orders_cursor: Annotated[str | None, Query(description="next page of supervision orders")] = None,
) -> dict[str, Any]:
    """Clocks past their due time that are still running, and unanswered supervision orders
    past their deadline, soonest due first; across departments (a head sees their own).
    Each list is a keyset page of at most `limit` (`next_cursor`, `supervision_orders_next_cursor`)."""
    return await queries.overdue(session, principal, cursor, orders_cursor, limit)


@router.get("/at-risk", response_model=AtRiskAnswer)
async def at_risk(
    principal: Caller,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Running clocks past their warning time but not yet due, soonest due first (keyset pages)."""
    return await queries.at_risk(session, principal, cursor, limit)
