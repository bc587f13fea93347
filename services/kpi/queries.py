"""KPI's reads: department figures per period, rankings, hot spots, accountability flags and
a request's fact row and timeline, shaped as the API answers them. Figures are summed from
the kept counts (the SQL is in store.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi import directory, store
from services.kpi.domain import rollup
from services.kpi.domain.facts import Fact
from services.kpi.domain.figures import Period
from services.kpi.domain.hotspots import matter_areas, ranked_counts
from services.kpi.domain.scoring import rank, score
from shared.auth import Principal
from shared.clock import now
from shared.errors import ApiError, NotFound, field_error
from shared.pagination import decode_key, keyset_page
from shared.settings import Settings


async def department_rows(
    session: AsyncSession,
    settings: Settings,
    period: Period,
    department: str | None,
    at: datetime | None = None,
) -> list[dict[str, Any]]:
    """Each department's figures (docs/kpi.md), summed from the kept counts: one query for
    the counts, one for today's open clocks, one for merged/withdrawn requests."""
    departments = [department] if department else await store.departments_in(session)
    weights = settings.kpi_weights
    at = at or now()
    counted = await store.period_counts(session, period, at, department)
    excluded = await store.excluded_counts(session, period, department)
    rows = []
    for code in departments:
        measures = counted.get(code, {})
        figures = rollup.department_figures(
            code,
            period,
            measures,
            excluded=excluded.get(code, 0),
            open_due_now={m: n for m, n in measures.items() if m in rollup.OPEN_MEASURES},
        )
        figures["score"] = score(figures, weights)
        rows.append(figures)
    return rows


async def _matter_figures(
    session: AsyncSession,
    settings: Settings,
    period: Period,
    at: datetime,
    matters: list[str],
    department: str | None,
) -> dict[store.MatterDepartment, dict[str, Any]]:
    """The figures of each matter per department (rollup.WHOLE: every department together),
    as far as `department` asks for: one query for the counts, one for today's open clocks,
    one for merged/withdrawn requests."""
    counted = await store.matter_period_counts(session, period, at, matters=matters, department=department)
    excluded = await store.matter_excluded_counts(session, period, matters=matters, department=department)
    weights = settings.kpi_weights
    out: dict[store.MatterDepartment, dict[str, Any]] = {}
    keys = set(counted) | set(excluded)
    if department is not None:
        keys |= {(m, department) for m in matters}
    for matter, dept in sorted(keys):
        measures = counted.get((matter, dept), {})
        figures = rollup.department_figures(
            dept,
            period,
            measures,
            excluded=excluded.get((matter, dept), 0),
            open_due_now={m: n for m, n in measures.items() if m in rollup.OPEN_MEASURES},
        )
        figures["score"] = score(figures, weights)
        out[(matter, dept)] = figures
    return out


def _matter_row(figures: dict[str, Any], matter: str, name: str | None) -> dict[str, Any]:
    """A matter's figures as listed: its code and name first, the department they are of
    (None: every department together)."""
    department = figures["department"] or None
    return {"matter": matter, "name": name, **figures, "department": department}


async def matter_kpis(
    session: AsyncSession,
    settings: Settings,
    period: Period,
    matter: str,
    department: str | None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """`GET /v1/kpis?matter=`: the figures of the requests dispatched under the matter, per
    department (the one asked for, or each with a count in the period) and, when no
    department was asked for, for every department together."""
    at = at or now()
    figures = await _matter_figures(session, settings, period, at, [matter], department)
    names = await directory.matter_names(settings)
    items = [{**f, "matter": matter} for (_, d), f in figures.items() if d != rollup.WHOLE]
    body: dict[str, Any] = {
        "period": period.label,
        "items": items,
        "matter": {"code": matter, "name": names.get(matter)},
    }
    if department is None:
        whole = figures.get((matter, rollup.WHOLE)) or rollup.department_figures(
            rollup.WHOLE, period, {}, excluded=0, open_due_now={}
        )
        if "score" not in whole:
            whole["score"] = score(whole, settings.kpi_weights)
        body["matter_total"] = _matter_row(whole, matter, names.get(matter))
    return body


async def matter_page(
    session: AsyncSession,
    settings: Settings,
    period: Period,
    department: str | None,
    cursor: str | None,
    limit: int,
    at: datetime | None = None,
) -> dict[str, Any]:
    """`GET /v1/kpis/matters`: each matter with a count in the period (of the department
    asked for, or of any), by code, a page at a time, with its name from the catalogue."""
    at = at or now()
    after = decode_key(cursor, 1)
    if after is not None and not isinstance(after[0], str):  # a matter code, as given out
        raise ApiError(
            "cursor is not one this API gave out",
            status=400,
            code="bad_cursor",
            fields=[field_error("cursor", "valid_cursor", "unknown cursor")],
        )
    key = department or rollup.WHOLE
    codes = await store.matters_in(session, period, key, cursor, limit)
    figures = await _matter_figures(session, settings, period, at, codes, key) if codes else {}
    names = await directory.matter_names(settings) if codes else {}
    rows = [_matter_row(figures[(code, key)], code, names.get(code)) for code in codes]
    return {"period": period.label, "department": department, **keyset_page(rows, limit, ["matter"])}


async def organisation(session: AsyncSession, period: Period) -> dict[str, Any]:
    """First-contact resolution and volumes across departments (summed from the counts)."""
    counted = await store.period_counts(session, period, None, rollup.ORG)
    return rollup.organisation_figures(period, counted.get(rollup.ORG, {}))


async def hotspots(session: AsyncSession, period: Period, previous: Period, top: int) -> dict[str, Any]:
    """The `top` topics, areas, matters and matters at one place by count and by growth
    against the previous period, and the `top` repeat requesters: a bounded answer,
    whatever the volume."""
    now_counts = (await store.period_counts(session, period, None, rollup.ORG)).get(rollup.ORG, {})
    then_counts = (await store.period_counts(session, previous, None, rollup.ORG)).get(rollup.ORG, {})
    return {
        "period": period.label,
        "previous": previous.label,
        "topics": ranked_counts(
            rollup.hot_counters(now_counts, "topic"), rollup.hot_counters(then_counts, "topic"), top
        ),
        "areas": ranked_counts(
            rollup.hot_counters(now_counts, "area"), rollup.hot_counters(then_counts, "area"), top
        ),
        "matters": ranked_counts(
            rollup.hot_counters(now_counts, "matter"), rollup.hot_counters(then_counts, "matter"), top
        ),
        "matters_in_areas": matter_areas(
            ranked_counts(
                rollup.hot_counters(now_counts, "matter_area"),
                rollup.hot_counters(then_counts, "matter_area"),
                top,
            )
        ),
        "repeated": await store.repeated(session, period, top),
    }


async def rankings(session: AsyncSession, settings: Settings, period: Period) -> list[dict[str, Any]]:
    """Every active department: those with figures ranked, those without listed unranked."""
    rows = {r["department"]: r for r in await department_rows(session, settings, period, None)}
    for code in await directory.active_departments(settings):
        if code not in rows:
            empty = rollup.department_figures(code, period, {}, excluded=0, open_due_now={})
            rows[code] = {**empty, "score": score(empty, settings.kpi_weights)}
    return [
        {
            "rank": s.rank,
            "department": s.department,
            "score": s.score,
            "pass_line": settings.kpi_pass_line,
            "passed": None if s.score is None else s.score >= settings.kpi_pass_line,
            "acceptance_timeliness": rows[s.department]["acceptance_timeliness"]["rate"],
            "on_time_resolution": rows[s.department]["on_time_resolution"]["rate"],
            "feedback_timeliness": rows[s.department]["feedback_timeliness"]["rate"],
            "handling_accuracy": rows[s.department]["handling_accuracy"]["rate"],
            "satisfaction": rows[s.department]["satisfaction"]["rate"],
        }
        for s in rank({d: r["score"] for d, r in rows.items()})
    ]


async def accountability(session: AsyncSession, cursor: str | None, limit: int) -> dict[str, Any]:
    """Departments under the pass line in N consecutive periods, newest flag first, a page at a
    time."""
    rows = await store.flags_newest_first(session, cursor, limit)
    return keyset_page(
        rows,
        limit,
        ["flagged_at", "department", "period"],
        lambda r: {**r, "flagged_at": r["flagged_at"].isoformat()},
    )


async def visible_fact(session: AsyncSession, principal: Principal, request_id: str) -> Fact:
    """A request's fact row, if the caller may see it: department staff only the requests
    their department led, co-handled or returned (404 otherwise, as if it did not exist)."""
    fact = await store.load_fact(session, request_id)
    if fact is None or not principal.sees(fact.lead_department, *fact.co_departments, *fact.returned_by):
        raise NotFound(f"no request {request_id}")
    return fact


async def request_facts(session: AsyncSession, principal: Principal, request_id: str) -> dict[str, Any]:
    fact = await visible_fact(session, principal, request_id)
    row = fact.to_row()
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


async def timeline(session: AsyncSession, principal: Principal, request_id: str) -> dict[str, Any]:
    """Every lifecycle event of a request in the order it happened (masked data only)."""
    fact = await visible_fact(session, principal, request_id)
    payloads = await store.event_payloads(session, request_id)
    events = sorted(payloads, key=lambda p: (p["occurred_at"], p["id"]))
    return {
        "request_id": request_id,
        "state": fact.state,
        "lead_department": fact.lead_department,
        "events": [
            {k: p[k] for k in ("id", "type", "occurred_at", "producer", "actor", "data")} for p in events
        ],
    }
