"""KPI's HTTP API: department figures per period and a request's fact row."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi import store
from services.kpi.domain.figures import BadPeriod, Period, department_figures
from shared.auth import Principal, require
from shared.clock import organisation_tz
from shared.errors import ApiError, NotFound, field_error
from shared.runtime import db_session

router = APIRouter(prefix="/v1", tags=["kpi"])
Session = Annotated[AsyncSession, Depends(db_session)]
Reader = Annotated[Principal, Depends(require("dept_head", "supervisor", "admin", "ops"))]


def _period(label: str) -> Period:
    try:
        return Period.month(label, organisation_tz())
    except BadPeriod as exc:
        raise ApiError(
            str(exc),
            status=422,
            code="validation_failed",
            fields=[field_error("period", "format", "period must be YYYY-MM")],
        ) from exc


@router.get("/kpis")
async def kpis(
    principal: Reader,
    session: Session,
    period: Annotated[str, Query(description="YYYY-MM")],
    department: str | None = None,
) -> dict[str, Any]:
    p = _period(period)
    if principal.role == "dept_head":
        department = principal.department  # heads see their own department only
    departments = [department] if department else await store.departments_in(session)
    items = [department_figures(await store.facts_for(session, d, p), d, p) for d in departments]
    return {"period": p.label, "items": items}


@router.get("/requests/{request_id}/facts")
async def request_facts(request_id: str, _: Reader, session: Session) -> dict[str, Any]:
    fact = await store.load_fact(session, request_id)
    if fact is None:
        raise NotFound(f"no facts for request {request_id}")
    row = fact.to_row()
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
