"""Routing's reads: the directory, rules, SLA policies, the calendar and a request's
assignments, shaped as the API answers them (the SQL is in store.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import store
from services.routing.domain.calendar import Unit, provisional_warning
from services.routing.domain.time_left import time_left as count_left
from shared import clock
from shared.errors import NotFound
from shared.metrics import CALENDAR_PROVISIONAL
from shared.pagination import keyset_page
from shared.settings import Settings


async def departments(session: AsyncSession, cursor: str | None, limit: int) -> dict[str, Any]:
    return keyset_page(await store.departments_page(session, cursor, limit), limit, ("code",))


async def rules(session: AsyncSession) -> dict[str, Any]:
    return {"items": await store.list_rules(session), "next_cursor": None}


async def policies(session: AsyncSession) -> dict[str, Any]:
    return {"items": await store.list_policies(session), "next_cursor": None}


async def calendar_day(session: AsyncSession, settings: Settings, day: date) -> dict[str, Any]:
    calendar = await store.load_calendar(session, settings.working_hours)
    edited = day in calendar.overrides
    return {"day": day.isoformat(), "workday": calendar.is_workday(day), "edited": edited}


async def calendar_status(session: AsyncSession) -> dict[str, Any]:
    """The calendar's years and the warning admins see while next year is provisional."""
    years = await store.calendar_year_rows(session)
    items = []
    for row in years:
        start, end = date(row["year"], 1, 1), date(row["year"], 12, 31)
        days = await store.calendar_days_between(session, start, end)
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
    today = clock.now().date()
    provisional = {row["year"] for row in years if row["provisional"]} | ({today.year + 1} - known)
    warning = provisional_warning(today, provisional)
    CALENDAR_PROVISIONAL.labels(service="routing").set(1 if warning else 0)
    return {"items": items, "warning": warning}


async def calendar_year(session: AsyncSession, year: int) -> dict[str, Any]:
    status = await calendar_status(session)
    found = next((y for y in status["items"] if y["year"] == year), None)
    if found is None:
        raise NotFound(f"the calendar has no year {year}")
    return found


async def due(
    session: AsyncSession,
    settings: Settings,
    start: datetime,
    amount: float,
    unit: Unit,
    pauses: list[tuple[datetime, datetime]],
) -> dict[str, Any]:
    """When a clock started at `start` falls due on the business calendar (CalendarError if
    it cannot be counted)."""
    calendar = await store.load_calendar(session, settings.working_hours)
    moment = calendar.add(start, amount, unit, pauses)
    return {"start": start.isoformat(), "amount": amount, "unit": unit, "due": moment.isoformat()}


async def time_left(
    session: AsyncSession, settings: Settings, dues: list[datetime], at: datetime | None
) -> dict[str, Any]:
    """The working time left on each clock at `at` (the platform's now by default)."""
    calendar = await store.load_calendar(session, settings.working_hours)
    at = at or clock.now()
    answers = count_left(calendar, dues, at)
    return {
        "at": at.isoformat(),
        "workday_minutes": calendar.minutes_per_day,
        "items": [
            {"due": a.due.isoformat(), "working_minutes_left": a.working_minutes_left, "overdue": a.overdue}
            for a in answers
        ],
    }


async def assignments(session: AsyncSession, request_id: str) -> dict[str, Any]:
    route = await store.get_route(session, request_id)
    if route is None:
        raise NotFound(f"no request {request_id} has been routed")
    history = await store.history(session, request_id)
    for h in history:
        h["at"] = h["at"].isoformat()
    return {
        "request_id": request_id,
        "lead_department": route["lead_department"],
        "co_departments": route["co_departments"],
        "returns": route["returns"],
        "excluded_departments": route["excluded_departments"],
        "state": route["state"],
        "due": route["due"],
        "paused_since": route["paused_since"],
        "history": history,
    }


async def staff(
    session: AsyncSession, department: str | None, role: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    items, next_cursor = await store.list_staff(session, department, role, cursor, limit)
    return {"items": items, "next_cursor": next_cursor}


async def staff_member(session: AsyncSession, staff_id: str) -> dict[str, Any]:
    row = await store.get_staff(session, staff_id)
    if row is None:
        raise NotFound(f"no staff member {staff_id}")
    return row
