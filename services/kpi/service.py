"""KPI's commands: closing a period (scores, ranking, accountability flags). Figures are
computed from fact rows only (queries.py reads them; store.py holds the SQL)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi import queries, store
from services.kpi.domain.figures import Period
from services.kpi.domain.scoring import under_pass_line_streak
from shared.background import run_every
from shared.clock import now, organisation_tz
from shared.events.catalogue import KpiDepartmentFlagged, KpiPeriodScored
from shared.events.envelope import SYSTEM, Actor
from shared.outbox import UnitOfWork
from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)


class PeriodNotOver(Exception):
    """A period is closed once it is over (its last moment has passed)."""

    def __init__(self, label: str, end: Any) -> None:
        super().__init__(f"period {label} is not over: it ends {end.isoformat()}")
        self.label = label
        self.end = end


async def close_period(uow: UnitOfWork, label: str, actor: Actor = SYSTEM) -> dict[str, Any]:
    """Score every department for the period, rank them, flag repeated failures; announce it.
    Only a period that is over; closing it again answers what was recorded, announced once."""
    settings = uow.settings
    tz = organisation_tz()
    period = Period.parse(label, tz)
    if period.end > now():
        raise PeriodNotOver(label, period.end)
    closed = await _closed(uow.session, label)
    if closed is not None:
        return closed
    ranked = await queries.rankings(uow.session, settings, period)
    figures = {r["department"]: r for r in await queries.department_rows(uow.session, settings, period, None)}
    for row in ranked:
        values = {
            "period": label,
            "department": row["department"],
            "score": row["score"],
            "rank": row["rank"],
            "figures": figures.get(row["department"], {}),
        }
        await store.save_score(uow.session, values)
    # The period is closed even when no department had anything in it ("*" marks it).
    await store.mark_period_closed(uow.session, label, len(ranked))
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
        new = await store.add_flag(uow.session, row["department"], label, periods, settings.kpi_pass_line)
        if new:  # flagged once per streak end, however often it is closed
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
    await store.lock_period(session, label)
    if not await store.period_closed(session, label):
        return None
    rows = await store.period_scores(session, label)
    ordered = sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, r.department))
    flags = await store.period_flags(session, label)
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
    rows = await store.score_history(session, department, labels)
    return [rows.get(label) for label in labels], labels


async def period_closer(runtime: ServiceRuntime) -> None:
    """Background job: once a month is over, close it (scores, ranking, flags); looks every hour."""

    async def close_last_month() -> None:
        last_month = (now().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        async with runtime.sessions() as session:
            done = await store.period_scored(session, last_month)
        if not done:
            async with runtime.uow() as uow:
                await close_period(uow, last_month)
            log.info("closed KPI period %s", last_month)

    await run_every(3600, close_last_month, log=log, failure="closing the KPI period failed; retrying")
