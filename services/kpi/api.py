"""KPI's HTTP API: department figures per period, rankings, accountability, hot spots, a
request's fact row, closing a period and rebuilding from the topic. CSV with `Accept: text/csv`."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from services.kpi import queries, service, staff
from services.kpi.domain.figures import BadPeriod, Period
from services.kpi.rebuild import rebuild
from services.kpi.schemas import (
    EvaluationSaved,
    FlagPage,
    Hotspots,
    KpiAnswer,
    MatterPage,
    PeriodClosed,
    RankingAnswer,
    Rebuilt,
    RequestFacts,
    StaffFigures,
    Timeline,
)
from shared.clock import organisation_tz
from shared.errors import ApiError, field_error
from shared.pagination import MAX_PAGE
from shared.policy import Caller
from shared.runtime import Session, Settings, Uow
from shared.texts import human_time
from shared.types import MAX_YEAR, MIN_YEAR, year_in_range

router = APIRouter(prefix="/v1", tags=["kpi"])
PeriodQuery = Annotated[str, Query(description="2026-11, 2026-W48, 2026-Q4 or 2026")]
# The figures as CSV with `Accept: text/csv` (one line per department).
CSV_TOO: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "JSON, or CSV when asked"}
}


def _period(label: str) -> Period:
    try:
        # ASCII digits only (１２３４-01 is not a period) and a year the platform can hold.
        if not label.isascii():
            raise BadPeriod("period must be written in ASCII digits: YYYY-MM, YYYY-Www, YYYY-Qn or YYYY")
        if label[:4].isdigit() and not year_in_range(int(label[:4])):
            raise BadPeriod(f"the period's year must lie between {MIN_YEAR} and {MAX_YEAR}")
        return Period.parse(label, organisation_tz())
    except BadPeriod as exc:
        raise ApiError(
            str(exc),
            status=422,
            code="validation_failed",
            fields=[field_error("period", "period_format", str(exc))],
        ) from exc


def _wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "")


def _csv(rows: list[dict[str, Any]]) -> Response:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8")


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """One CSV line per department: counts and every ratio as numerator/denominator/rate."""
    flat: dict[str, Any] = {"matter": row["matter"], "name": row.get("name")} if "matter" in row else {}
    flat |= {"department": row["department"], "period": row["period"], "score": row.get("score")}
    for key, value in row.items():
        if isinstance(value, dict):
            for inner, number in value.items():
                flat[f"{key}.{inner}"] = number
        elif key not in flat:
            flat[key] = value
    return flat


MatterQuery = Annotated[
    str | None,
    Query(
        min_length=1, max_length=100, description="a matter (事项) code: only requests dispatched under it"
    ),
]


@router.get("/kpis", response_model=KpiAnswer, response_model_exclude_unset=True, responses=CSV_TOO)
async def kpis(
    request: Request,
    principal: Caller,
    session: Session,
    settings: Settings,
    period: PeriodQuery,
    department: str | None = None,
    matter: MatterQuery = None,
) -> dict[str, Any] | Response:
    """Each department's figures for the period (docs/kpi.md); with `matter`, those of the
    requests dispatched under that matter, and (no department asked for) the matter's
    figures for every department together (`matter_total`)."""
    p = _period(period)
    if principal.scoped_to:
        department = principal.scoped_to  # heads see their own department only
    if matter is not None:
        by_matter = await queries.matter_kpis(session, settings, p, matter, department)
        if _wants_csv(request):
            whole = by_matter.get("matter_total")
            total = [{**whole, "department": ""}] if whole else []
            return _csv([_flat(r) for r in total + by_matter["items"]])
        return by_matter
    rows = await queries.department_rows(session, settings, p, department)
    if _wants_csv(request):
        return _csv([_flat(r) for r in rows])
    body: dict[str, Any] = {"period": p.label, "items": rows}
    if department is None:
        body["organisation"] = await queries.organisation(session, p)
    return body


@router.get("/kpis/matters", response_model=MatterPage, responses=CSV_TOO)
async def kpis_by_matter(
    request: Request,
    principal: Caller,
    session: Session,
    settings: Settings,
    period: PeriodQuery,
    department: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any] | Response:
    """The figures of each matter (事项) with requests in the period, by code, a page at a
    time (`next_cursor` for the next), with its name from the dispatch catalogue: of every
    department together, or of the department asked for (a head: their own). As CSV
    (`Accept: text/csv`) every matter at once, one line each."""
    p = _period(period)
    if principal.scoped_to:
        department = principal.scoped_to  # heads see their own department only
    if not _wants_csv(request):
        return await queries.matter_page(session, settings, p, department, cursor, limit)
    rows: list[dict[str, Any]] = []
    after = cursor
    while True:
        part = await queries.matter_page(session, settings, p, department, after, MAX_PAGE)
        rows += part["items"]
        if (after := part["next_cursor"]) is None:
            return _csv([_flat(r) for r in rows])


@router.get("/rankings", response_model=RankingAnswer, responses=CSV_TOO)
async def rankings(
    request: Request, _: Caller, session: Session, settings: Settings, period: PeriodQuery
) -> dict[str, Any] | Response:
    p = _period(period)
    ranked = await queries.rankings(session, settings, p)
    if _wants_csv(request):
        return _csv(ranked)
    return {"period": p.label, "items": ranked}


@router.get("/accountability", response_model=FlagPage)
async def accountability(
    _: Caller,
    session: Session,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """Departments under the pass line in N consecutive periods, newest flag first, a page at
    a time (`next_cursor` for the next)."""
    return await queries.accountability(session, cursor, limit)


@router.get("/hotspots", response_model=Hotspots)
async def get_hotspots(
    _: Caller,
    session: Session,
    period: PeriodQuery,
    top: Annotated[int, Query(ge=1, le=100, description="how many of each list")] = 10,
) -> dict[str, Any]:
    p = _period(period)
    return await queries.hotspots(session, p, p.previous(organisation_tz()), top)


@router.get("/requests/{request_id}/facts", response_model=RequestFacts)
async def request_facts(request_id: str, principal: Caller, session: Session) -> dict[str, Any]:
    return await queries.request_facts(session, principal, request_id)


@router.get("/requests/{request_id}/timeline", response_model=Timeline)
async def request_timeline(request_id: str, principal: Caller, session: Session) -> dict[str, Any]:
    """Every lifecycle event of a request in the order it happened (masked data only): the
    case page's timeline. Department staff see the requests their department took part in."""
    return await queries.timeline(session, principal, request_id)


@router.post("/periods/{period}/close", response_model=PeriodClosed, response_model_exclude_unset=True)
async def close_period(period: str, principal: Caller, uow: Uow) -> dict[str, Any]:
    """Score, rank and flag a period that is over (the service also closes each month by
    itself once it is over). A period not over yet is refused (409 `period_not_over`);
    closing a closed period again answers its recorded ranking and announces nothing."""
    _period(period)
    try:
        return await service.close_period(uow, period, principal.actor)
    except service.PeriodNotOver as exc:
        end = human_time(exc.end)
        raise ApiError(
            f"period {period} is not over yet (it ends {end}); a period is closed once it is over",
            status=409,
            code="period_not_over",
            fields=[field_error("period", "period_over", f"the period must have ended (ends {end})")],
        ) from exc


@router.post("/rebuild", response_model=Rebuilt)
async def post_rebuild(
    _: Caller, settings: Settings, repair_counts: bool = False, resume: bool = False
) -> dict[str, Any]:
    """Replay requests.lifecycle from the beginning into a fresh projection and report every
    difference from the live one (there must be none), and every kept count that differs from
    a recount of the live fact rows (`repair_counts=true` rewrites them). `resume=true`
    continues an interrupted rebuild from its checkpoint; one rebuild at a time (409
    `rebuild_running`)."""
    return await rebuild(settings, repair_counts=repair_counts, resume=resume)


class Evaluation(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    score: float = Field(ge=0, le=100)
    text: Annotated[str, Field(min_length=1, max_length=5000)]


@router.get("/staff/{staff_id}/kpis", response_model=StaffFigures)
async def staff_kpis(
    staff_id: str, period: PeriodQuery, session: Session, principal: Caller
) -> dict[str, Any]:
    """A staff member's figures for a period, with the self and superior evaluations; for the
    member, their department head and supervisors only."""
    return await staff.figures(session, principal, staff_id, _period(period))


@router.put("/staff/{staff_id}/evaluations/{period}/{kind}", response_model=EvaluationSaved)
async def put_evaluation(
    staff_id: str,
    period: str,
    kind: Literal["self", "superior"],
    body: Evaluation,
    session: Session,
    principal: Caller,
) -> dict[str, Any]:
    return await staff.evaluate(session, principal, staff_id, _period(period), kind, body.score, body.text)
