"""Routing's HTTP API: organisation directory, rules, SLA policies, calendar, assignments."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from services.routing import learning, matters, queries, service
from services.routing.domain.calendar import CalendarError, Unit
from services.routing.domain.sla import CLOCKS
from shared.auth import Role
from shared.errors import ApiError, Conflict, field_error
from shared.events.catalogue import Category, Urgency
from shared.pagination import MAX_PAGE
from shared.policy import Caller
from shared.runtime import Local, Session, Settings, Uow, runtime_of
from shared.types import Day, Instant, Strict

router = APIRouter(prefix="/v1", tags=["routing"])
Code = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")]


class Department(Strict):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    parent: Code | None = None
    head: Annotated[str, Field(max_length=100)] | None = None
    active: bool = True
    coordinating: bool = False


class RuleMatch(Strict):
    category: list[Category] = Field(default_factory=list)
    urgency: list[Urgency] = Field(default_factory=list)
    business_type: list[str] = Field(default_factory=list)
    topic: list[str] = Field(default_factory=list)
    area: list[str] = Field(default_factory=list)
    keywords: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=100
    )


class RoutingRule(Strict):
    id: Code
    priority: int = Field(ge=0, le=100000)
    match: RuleMatch
    lead_department: Code
    co_departments: list[Code] = Field(default_factory=list)
    active: bool = True


class SlaPolicy(Strict):
    scope: Annotated[
        str,
        Field(
            pattern=r"^(\*|consultation|suggestion|complaint|help|repair|business|business:[A-Za-z0-9_.-]{1,100})$",
            description="a category, business:<catalog code>, or * for every category",
        ),
    ]
    urgency: Urgency
    clock: Annotated[str, Field(pattern="^(" + "|".join(CLOCKS) + ")$")]
    amount: float = Field(gt=0, le=1000)
    unit: Unit
    warning_fraction: float = Field(default=0.8, gt=0, lt=1)

    @model_validator(mode="after")
    def _whole_days(self) -> SlaPolicy:
        if self.unit == "working_days" and self.amount != int(self.amount):
            raise PydanticCustomError(
                "whole_working_days", "working_days must be a whole number; use working_hours for parts"
            )
        return self


class StaffMember(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    department: Code | None = None
    role: Literal["agent", "handler", "dept_head", "supervisor", "admin", "ops", "dispatcher"]
    active: bool = True


class Dispatch(Strict):
    lead_department: Code
    co_departments: list[Code] = Field(default_factory=list, max_length=20)
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


MatterCode = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")]
Phrase = Annotated[str, Field(min_length=1, max_length=200)]


class MatterBody(Strict):
    """A matter (事项) of the dispatch catalogue."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=2000)] = ""
    lead_department: Code
    co_departments: list[Code] = Field(default_factory=list, max_length=20)
    category: Category
    urgent: bool = False
    keywords: list[Phrase] = Field(default_factory=list, max_length=200)
    examples: list[Annotated[str, Field(min_length=2, max_length=1000)]] = Field(
        default_factory=list, max_length=200
    )


class NewMatter(MatterBody):
    code: MatterCode


class MatterEdit(MatterBody):
    version: int | None = Field(
        default=None,
        ge=1,
        description="the version this edit was made from: 409 version_conflict if the matter has "
        "moved on since (someone else saved in between); no check without it",
    )


class QueueDispatch(Strict):
    lead_department: Code
    co_departments: list[Code] = Field(default_factory=list, max_length=20)
    matter: MatterCode | None = None
    reason: Annotated[str, Field(min_length=1, max_length=2000)] | None = None


class SuggestionQuery(Strict):
    text: Annotated[
        str, Field(min_length=2, max_length=5000, description="what the person says, as typed so far")
    ]
    limit: int = Field(default=5, ge=1, le=10)


class CalendarDay(Strict):
    workday: bool
    note: Annotated[str, Field(max_length=200)] | None = None


class CalendarNotice(Strict):
    """The State Council's notice for a year (国务院办公厅关于某年部分节假日安排的通知)."""

    notice: Annotated[str, Field(min_length=1, max_length=500, description="the notice's title and number")]
    holidays: list[date] = Field(
        min_length=1, max_length=60, description="every day off, bridging days included"
    )
    workdays: list[date] = Field(
        default_factory=list, max_length=30, description="make-up working days (调休)"
    )


class PauseInterval(Strict):
    paused_from: Instant
    paused_until: Instant


class DueQuery(Strict):
    start: Instant
    amount: float = Field(ge=0, le=1000)
    unit: Unit
    pauses: list[PauseInterval] = Field(default_factory=list, max_length=100)


class StaffEntry(BaseModel):
    """A member of the staff directory, as routing answers it."""

    id: str
    name: str
    department: str | None
    role: str
    active: bool


class StaffPage(BaseModel):
    items: list[StaffEntry]
    next_cursor: str | None = None


class DepartmentEntry(BaseModel):
    code: str
    name: str
    parent: str | None = None
    head: str | None = None
    active: bool
    coordinating: bool


class DepartmentPage(BaseModel):
    items: list[DepartmentEntry]
    next_cursor: str | None = None


class CalendarDayView(BaseModel):
    day: str
    workday: bool
    edited: bool


class CalendarDayEdit(BaseModel):
    day: str
    workday: bool
    note: str | None = None


class DueAnswer(BaseModel):
    start: str
    amount: float
    unit: str
    due: str = Field(description="ISO 8601 with offset")


class Assignments(BaseModel):
    """Where a request stands in routing, and every routing step it went through."""

    request_id: str
    lead_department: str | None
    co_departments: list[str]
    returns: int
    excluded_departments: list[str]
    state: str
    due: dict[str, Any] | None
    # Since when the lead department's clocks stand still (waiting on the person); null
    # while they run.
    paused_since: Instant | None = None
    history: list[dict[str, Any]]


class RuleView(BaseModel):
    id: str
    priority: int
    match: dict[str, Any] = Field(description="only the criteria the rule sets")
    lead_department: str
    co_departments: list[str]
    active: bool


class RulePage(BaseModel):
    items: list[RuleView]
    next_cursor: str | None


class SlaPolicyView(BaseModel):
    scope: str
    urgency: str
    clock: str
    amount: float
    unit: str
    warning_fraction: float


class SlaPolicyPage(BaseModel):
    items: list[SlaPolicyView]
    next_cursor: str | None


class CalendarYearView(BaseModel):
    year: int
    source: str
    provisional: bool
    notice: str | None
    days_off: list[str]
    make_up_days: list[str]


class CalendarYears(BaseModel):
    items: list[CalendarYearView]
    warning: str | None = Field(description="the admins' warning while next year is provisional")


class CalendarYearEntered(CalendarYearView):
    requests_recomputed: int = Field(description="requests whose due times were counted again")


class Dispatched(BaseModel):
    request_id: str
    lead_department: str
    co_departments: list[str]
    event_id: str


class QueueDispatched(BaseModel):
    request_id: str
    state: str = Field(description="`dispatched`, or `confirmed` (the urgent guess was right)")
    lead_department: str
    co_departments: list[str]
    matter: str | None
    event_id: str | None


class MatterView(BaseModel):
    code: str
    version: int
    name: str
    description: str
    lead_department: str
    co_departments: list[str]
    category: str
    urgent: bool
    keywords: list[str]
    examples: list[str]
    active: bool
    updated_at: str
    updated_by: str


class MatterPage(BaseModel):
    items: list[MatterView]
    next_cursor: str | None


class MatterVersion(BaseModel):
    code: str
    version: int
    action: str = Field(description="seeded, created, updated or retired")
    actor: str
    at: str
    snapshot: dict[str, Any]


class MatterVersionPage(BaseModel):
    items: list[MatterVersion]
    next_cursor: str | None


class MatterSuggestion(BaseModel):
    code: str
    name: str
    category: str
    lead_department: str
    lead_department_name: str
    co_departments: list[str]
    confidence: float


class MatterSuggestions(BaseModel):
    items: list[MatterSuggestion]
    model_version: int | None


class QueueItem(BaseModel):
    request_id: str
    state: str
    urgent: bool
    text: str
    suggestions: list[dict[str, Any]]
    model_version: int | None
    confidence: float | None
    queued_at: str
    decided_by: str | None
    decided_at: str | None
    lead_department: str | None
    co_departments: list[str]
    matter: str | None


class QueuePage(BaseModel):
    items: list[QueueItem]
    next_cursor: str | None


class DispatchModel(BaseModel):
    version: int
    trained_at: str
    trained_by: str
    catalogue_matters: int
    history_labels: int
    threshold: float | None


class DispatchModelPage(BaseModel):
    items: list[DispatchModel]
    next_cursor: str | None


class TrainingStarted(BaseModel):
    training: str = Field(description="`started` or `already_running`")
    current_version: int | None


def _matches_path(name: str, body_value: str, path_value: str) -> None:
    if body_value != path_value:
        raise ApiError(
            f"{name} in the body differs from the path",
            status=422,
            code="validation_failed",
            fields=[field_error(name, "matches_path", f"must equal the {name} in the path")],
        )


@router.get("/departments", response_model=DepartmentPage)
async def list_departments(
    _: Caller,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The department directory by code (keyset pages; a city's directory may hold its
    streets and towns too)."""
    return await queries.departments(session, cursor, limit)


@router.post("/departments", status_code=201, response_model=DepartmentEntry)
async def create_department(body: Department, _: Caller, uow: Uow) -> dict[str, Any]:
    return await service.create_department(uow, body.model_dump())


@router.put("/departments/{code}", response_model=DepartmentEntry)
async def put_department(code: str, body: Department, _: Caller, uow: Uow) -> dict[str, Any]:
    _matches_path("code", body.code, code)
    return await service.put_department(uow, body.model_dump())


@router.get("/rules", response_model=RulePage)
async def list_rules(_: Caller, session: Session) -> dict[str, Any]:
    return await queries.rules(session)


def _rule_values(body: RoutingRule) -> dict[str, Any]:
    values = body.model_dump()
    values["match"] = body.match.model_dump(exclude_defaults=True)
    return values


@router.post("/rules", status_code=201, response_model=RuleView)
async def create_rule(body: RoutingRule, _: Caller, uow: Uow) -> dict[str, Any]:
    return await service.save_rule(uow, _rule_values(body), new=True)


@router.put("/rules/{rule_id}", response_model=RuleView)
async def put_rule(rule_id: str, body: RoutingRule, _: Caller, uow: Uow) -> dict[str, Any]:
    _matches_path("id", body.id, rule_id)
    return await service.save_rule(uow, _rule_values(body), new=False)


@router.get("/sla-policies", response_model=SlaPolicyPage)
async def list_policies(_: Caller, session: Session) -> dict[str, Any]:
    return await queries.policies(session)


@router.put("/sla-policies", response_model=SlaPolicyView)
async def put_policy(body: SlaPolicy, _: Caller, uow: Uow) -> dict[str, Any]:
    return await service.put_policy(uow, body.model_dump())


@router.get("/calendar/days/{day}", response_model=CalendarDayView)
async def get_day(day: Day, _: Caller, session: Session, settings: Settings) -> dict[str, Any]:
    return await queries.calendar_day(session, settings, day)


@router.put("/calendar/days/{day}", response_model=CalendarDayEdit)
async def put_day(day: Day, body: CalendarDay, _: Caller, uow: Uow) -> dict[str, Any]:
    return await service.put_calendar_day(uow, day, body.workday, body.note)


@router.get("/calendar/years", response_model=CalendarYears)
async def list_calendar_years(_: Caller, session: Session) -> dict[str, Any]:
    """Each year's calendar: its source, whether it is provisional, and the admins' warning
    (from 1 November while next year is provisional)."""
    return await queries.calendar_status(session)


@router.get("/calendar/years/{year}", response_model=CalendarYearView)
async def get_calendar_year(year: int, _: Caller, session: Session) -> dict[str, Any]:
    return await queries.calendar_year(session, year)


@router.put("/calendar/years/{year}", response_model=CalendarYearEntered)
async def put_calendar_year(year: int, body: CalendarNotice, _: Caller, uow: Uow) -> dict[str, Any]:
    """Enter the State Council's notice for a year in one call: its days off and make-up
    working days replace the year's days; the year is no longer provisional; the due times
    of clocks not yet due are recomputed (`request.due_recomputed`)."""
    try:
        return await service.enter_notice(uow, year, body.notice, body.holidays, body.workdays)
    except CalendarError as exc:
        raise ApiError(
            str(exc),
            status=422,
            code="validation_failed",
            fields=[field_error("holidays", "in_year", str(exc))],
        ) from exc


@router.post("/calendar/due", response_model=DueAnswer)
async def compute_due(body: DueQuery, _: Caller, session: Session, settings: Settings) -> dict[str, Any]:
    pauses = [(p.paused_from, p.paused_until) for p in body.pauses]
    try:
        return await queries.due(session, settings, body.start, body.amount, body.unit, pauses)
    except CalendarError as exc:
        raise ApiError(str(exc), status=422, code="validation_failed") from exc


# --- the working time left on clocks (issue 21) ----------------------------------------------
class TimeLeftQuery(Strict):
    dues: list[Instant] = Field(
        min_length=1, max_length=500, description="the due times of the clocks shown, in any order"
    )
    at: Instant | None = Field(
        default=None, description="seen at this instant; the platform's now if not given"
    )


class ClockTimeLeft(BaseModel):
    due: str = Field(description="the due time asked about, as an ISO instant")
    working_minutes_left: float = Field(
        description="working minutes until the due time; once it has passed, minus the working minutes since"
    )
    overdue: bool = Field(description="the due time has passed (at or before `at`)")


class TimeLeftAnswer(BaseModel):
    at: str = Field(description="the instant the time left is counted from")
    workday_minutes: float = Field(description="the working minutes of one working day on the calendar")
    items: list[ClockTimeLeft] = Field(description="one per due time, in the order asked")


@router.post("/calendar/time-left", response_model=TimeLeftAnswer)
async def time_left(body: TimeLeftQuery, _: Caller, session: Session, settings: Settings) -> dict[str, Any]:
    """The working time left on each clock at `at` (the platform's now by default), on the
    business calendar: weekends, holidays, make-up days, nights and the lunch break do not
    count. What a countdown reads: 剩余 1 个工作日 3 小时 / 已超时 2 小时."""
    return await queries.time_left(session, settings, body.dues, body.at)


@router.get("/assignments/{request_id}", response_model=Assignments)
async def get_assignments(request_id: str, _: Caller, session: Session) -> dict[str, Any]:
    return await queries.assignments(session, request_id)


@router.post("/assignments/{request_id}", response_model=Dispatched)
async def dispatch(
    request_id: str,
    body: Dispatch,
    principal: Caller,
    uow: Uow,
) -> dict[str, Any]:
    """Manual dispatch of an escalated or unmatched request (coordinating department, supervisors)."""
    return await service.dispatch(
        uow, principal, request_id, body.lead_department, body.co_departments, body.reason
    )


@router.get("/staff", response_model=StaffPage)
async def list_staff(
    _: Caller,
    session: Session,
    department: str | None = None,
    role: Role | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """The directory, by id, a page at a time (`next_cursor` for the next)."""
    return await queries.staff(session, department, role, cursor, limit)


@router.get("/staff/{staff_id}", response_model=StaffEntry)
async def get_staff(staff_id: str, _: Caller, session: Session) -> dict[str, Any]:
    """One staff member (other services ask for a member's department here)."""
    return await queries.staff_member(session, staff_id)


@router.put("/staff/{staff_id}", response_model=StaffEntry)
async def put_staff(staff_id: str, body: StaffMember, _: Caller, uow: Uow) -> dict[str, Any]:
    return await service.put_staff(uow, staff_id, body.model_dump())


@router.get("/matters", response_model=MatterPage)
async def list_matters(
    _: Caller,
    session: Session,
    include_retired: bool = False,
    department: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The dispatch catalogue (派单目录): matters with their lead and co-handling departments,
    by code (keyset pages)."""
    return await matters.list_matters(session, include_retired, department, cursor, limit)


@router.post("/matter-suggestions", response_model=MatterSuggestions)
async def suggest_matters(body: SuggestionQuery, _: Caller, session: Session, local: Local) -> dict[str, Any]:
    """The matters (事项) a text most resembles under the dispatch model in use, best first,
    each with its lead department's code and name and the model's probability: the agent's
    suggestions while typing. A POST so that what the person said stays out of URLs and logs."""
    return await matters.suggest(session, local.get(learning.ModelCache), body.text, body.limit)


@router.get("/matters/{code}", response_model=MatterView)
async def get_matter(code: str, _: Caller, session: Session) -> dict[str, Any]:
    return await matters.get_matter(session, code)


@router.get("/matters/{code}/versions", response_model=MatterVersionPage)
async def matter_versions(code: str, _: Caller, session: Session) -> dict[str, Any]:
    """Every version of a matter, who made it and when (the audit trail)."""
    return {"items": await matters.versions(session, code), "next_cursor": None}


@router.post("/matters", status_code=201, response_model=MatterView)
async def create_matter(body: NewMatter, principal: Caller, session: Session) -> dict[str, Any]:
    return await matters.create(session, principal, body.model_dump())


@router.put("/matters/{code}", response_model=MatterView)
async def put_matter(code: str, body: MatterEdit, principal: Caller, session: Session) -> dict[str, Any]:
    """A new version of the matter; the next model learns it. With `version`, the edit is
    refused (409 version_conflict) if the matter is no longer at that version."""
    values = body.model_dump(exclude={"version"})
    return await matters.update(session, principal, code, values, expected_version=body.version)


@router.post("/matters/{code}/retire", response_model=MatterView)
async def retire_matter(code: str, principal: Caller, session: Session) -> dict[str, Any]:
    return await matters.retire(session, principal, code)


@router.get("/dispatch-queue", response_model=QueuePage)
async def dispatch_queue(
    _: Caller,
    session: Session,
    state: Literal["waiting", "review", "dispatched", "confirmed"] | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    """待派单: requests the model was not sure about (waiting), and urgent ones it sent at
    once on its best guess (review), urgent first, oldest first, with the top 3 suggestions;
    a page at a time (`next_cursor` for the next)."""
    return await matters.dispatch_queue(session, state, cursor, limit)


@router.post("/dispatch-queue/{request_id}/dispatch", response_model=QueueDispatched)
async def dispatch_queued(
    request_id: str,
    body: QueueDispatch,
    principal: Caller,
    uow: Uow,
) -> dict[str, Any]:
    """The dispatcher's pick: one of the suggestions or another department."""
    return await service.dispatch_from_queue(
        uow, principal, request_id, body.lead_department, body.co_departments, body.matter, body.reason
    )


@router.get("/dispatch-models", response_model=DispatchModelPage)
async def dispatch_models(_: Caller, session: Session) -> dict[str, Any]:
    """The trained dispatch models, newest (the one in use) first."""
    return {"items": await matters.models(session), "next_cursor": None}


@router.post("/dispatch-models", status_code=202, response_model=TrainingStarted)
async def train_dispatch_model(request: Request, principal: Caller, session: Session) -> dict[str, Any]:
    """Train a model from the catalogue and the centre's history, in the background; the
    new version appears in GET /v1/dispatch-models and is used from then on."""
    if not await learning.active_matters(session):
        raise Conflict("the dispatch catalogue has no active matter", code="empty_catalogue")
    started = learning.start_training(runtime_of(request), principal.id)
    newest = await matters.models(session)
    return {
        "training": "started" if started else "already_running",
        "current_version": newest[0]["version"] if newest else None,
    }
