"""KPI's commands: closing a period (scores, ranking, accountability flags) and the queries
behind the API. Figures are computed from fact rows only."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi import directory, store
from services.kpi.domain import rollup
from services.kpi.domain.figures import Period
from services.kpi.domain.hotspots import matter_areas, ranked_counts
from services.kpi.domain.scoring import rank, score, under_pass_line_streak
from shared.background import run_every
from shared.clock import now, organisation_tz
from shared.events.catalogue import KpiDepartmentFlagged, KpiPeriodScored
from shared.events.envelope import SYSTEM, Actor
from shared.outbox import UnitOfWork
from shared.runtime import ServiceRuntime
from shared.settings import get_settings

log = logging.getLogger(__name__)


async def department_rows(
    session: AsyncSession, period: Period, department: str | None, at: datetime | None = None
) -> list[dict[str, Any]]:
    """Each department's figures (docs/kpi.md), summed from the kept counts: one query for
    the counts, one for today's open clocks, one for merged/withdrawn requests."""
    departments = [department] if department else await store.departments_in(session)
    weights = get_settings().kpi_weights
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


async def rankings(session: AsyncSession, period: Period) -> list[dict[str, Any]]:
    """Every active department: those with figures ranked, those without listed unranked."""
    rows = {r["department"]: r for r in await department_rows(session, period, None)}
    for code in await directory.active_departments():
        if code not in rows:
            empty = rollup.department_figures(code, period, {}, excluded=0, open_due_now={})
            rows[code] = {**empty, "score": score(empty, get_settings().kpi_weights)}
    return [
        {
            "rank": s.rank,
            "department": s.department,
            "score": s.score,
            "pass_line": get_settings().kpi_pass_line,
            "passed": None if s.score is None else s.score >= get_settings().kpi_pass_line,
            "acceptance_timeliness": rows[s.department]["acceptance_timeliness"]["rate"],
            "on_time_resolution": rows[s.department]["on_time_resolution"]["rate"],
            "feedback_timeliness": rows[s.department]["feedback_timeliness"]["rate"],
            "handling_accuracy": rows[s.department]["handling_accuracy"]["rate"],
            "satisfaction": rows[s.department]["satisfaction"]["rate"],
        }
        for s in rank({d: r["score"] for d, r in rows.items()})
    ]


class PeriodNotOver(Exception):
    """A period is closed once it is over (its last moment has passed)."""

    def __init__(self, label: str, end: Any) -> None:
        super().__init__(f"period {label} is not over: it ends {end.isoformat()}")
        self.label = label
        self.end = end


async def close_period(uow: UnitOfWork, label: str, actor: Actor = SYSTEM) -> dict[str, Any]:
    """Score every department for the period, rank them, flag repeated failures; announce it.
    Only a period that is over; closing it again answers what was recorded, announced once."""
    settings = get_settings()
    tz = organisation_tz()
    period = Period.parse(label, tz)
    if period.end > now():
        raise PeriodNotOver(label, period.end)
    closed = await _closed(uow.session, label)
    if closed is not None:
        return closed
    ranked = await rankings(uow.session, period)
    figures = {r["department"]: r for r in await department_rows(uow.session, period, None)}
    for row in ranked:
        values = {
            "period": label,
            "department": row["department"],
            "score": row["score"],
            "rank": row["rank"],
            "figures": figures.get(row["department"], {}),
        }
        await uow.session.execute(
            pg_insert(store.scores)
            .values(**values)
            .on_conflict_do_update(
                index_elements=["period", "department"],
                set_={
                    "score": row["score"],
                    "rank": row["rank"],
                    "figures": values["figures"],
                    "scored_at": now(),
                },
            )
        )
    # The period is closed even when no department had anything in it ("*" marks it).
    await uow.session.execute(
        pg_insert(store.scores)
        .values(period=label, department="*", score=None, rank=None, figures={"departments": len(ranked)})
        .on_conflict_do_nothing()
    )
    key = f"period:{label}"
    uow.emit(
        KpiPeriodScored(
            period=label, scores={r["department"]: r["score"] for r in ranked if r["score"] is not None}
        ),
        request_id=key,
        actor=actor,
    )
    flagged = []
    for row in ranked:
        history, periods = await _history(
            uow.session, row["department"], period, settings.kpi_flag_after_periods
        )
        if under_pass_line_streak(history, settings.kpi_pass_line) < settings.kpi_flag_after_periods:
            continue
        result = await uow.session.execute(
            pg_insert(store.flags)
            .values(
                department=row["department"], period=label, periods=periods, pass_line=settings.kpi_pass_line
            )
            .on_conflict_do_nothing()
            .returning(store.flags.c.department)
        )
        if result.first() is not None:  # flagged once per streak end, however often it is closed
            uow.emit(
                KpiDepartmentFlagged(department=row["department"], periods=periods),
                request_id=key,
                actor=actor,
            )
            flagged.append(row["department"])
    await uow.commit()
    return {"period": label, "ranking": ranked, "flagged": flagged, "already_closed": False}


async def _closed(session: AsyncSession, label: str) -> dict[str, Any] | None:
    """The recorded result of a period closed before (with a lock, so two closes do not both score)."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"kpi-period:{label}"))))
    sc = store.scores.c
    marker = await session.scalar(select(sc.period).where(sc.period == label, sc.department == "*"))
    if marker is None:
        return None
    rows = (
        await session.execute(
            select(sc.department, sc.score, sc.rank).where(sc.period == label, sc.department != "*")
        )
    ).all()
    ordered = sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, r.department))
    flags = await session.scalars(select(store.flags.c.department).where(store.flags.c.period == label))
    return {
        "period": label,
        "ranking": [{"rank": r.rank, "department": r.department, "score": r.score} for r in ordered],
        "flagged": [],  # flagged when it was closed: GET /v1/accountability
        "flags": sorted(flags),
        "already_closed": True,
    }


async def _history(
    session: AsyncSession, department: str, period: Period, count: int
) -> tuple[list[float | None], list[str]]:
    """Scores of the department for the last `count` periods of this kind, oldest first."""
    tz = organisation_tz()
    labels = [period.label]
    current = period
    for _ in range(count - 1):
        current = current.previous(tz)
        labels.append(current.label)
    labels.reverse()
    rows = dict(
        (
            await session.execute(
                select(store.scores.c.period, store.scores.c.score).where(
                    store.scores.c.department == department, store.scores.c.period.in_(labels)
                )
            )
        ).all()
    )
    return [rows.get(label) for label in labels], labels


async def period_closer(runtime: ServiceRuntime) -> None:
    """Background job: once a month is over, close it (scores, ranking, flags); looks every hour."""

    async def close_last_month() -> None:
        last_month = (now().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        async with runtime.sessions() as session:
            done = await session.scalar(
                select(store.scores.c.period).where(store.scores.c.period == last_month)
            )
        if done is None:
            async with runtime.uow() as uow:
                await close_period(uow, last_month)
            log.info("closed KPI period %s", last_month)

    await run_every(3600, close_last_month, log=log, failure="closing the KPI period failed; retrying")
