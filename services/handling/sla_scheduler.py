"""Handling's SLA clocks in the database: started from routing decisions, stopped by the work,
moved by approved extensions, and swept by the scheduler, which emits each warning and each
breach exactly once — also with several replicas (rows are claimed with SKIP LOCKED and
marked in the same transaction as the outbox write) and across restarts (the marks persist)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, func, or_, select, update

from services.handling import store
from services.handling.domain.clocks import (
    HANDLING_CLOCKS,
    STOPPED_BY,
    Clock,
    ExtensionPolicy,
    clocks_from_routing,
)
from shared.background import run_every
from shared.clock import now
from shared.events.catalogue import (
    ClockName,
    EventData,
    RequestDueRecomputed,
    RequestResolved,
    RequestReturned,
    RequestSlaBreached,
    RequestSlaWarning,
)
from shared.events.envelope import SYSTEM, Envelope
from shared.lifecycle import HANDLING
from shared.metrics import OPEN_CASES, OVERDUE_CASES, SLA_BREACHES, SLA_WARNINGS
from shared.outbox import UnitOfWork
from shared.runtime import ServiceRuntime
from shared.settings import Settings

log = logging.getLogger(__name__)
SWEEP_BATCH = 1000
GAUGE_SECONDS = 10.0


def policy(s: Settings) -> ExtensionPolicy:
    return ExtensionPolicy(
        max_count=s.max_extensions_per_clock, max_total=timedelta(days=s.max_extension_days)
    )


def to_clock(row: Any) -> Clock:
    return Clock(
        request_id=row["request_id"],
        department=row["department"],
        name=row["clock"],
        started_at=row["started_at"],
        due=row["due"],
        original_due=row["original_due"],
        warn_at=row["warn_at"],
        warned_at=row["warned_at"],
        breached_at=row["breached_at"],
        stopped_at=row["stopped_at"],
        extensions=row["extensions"],
    )


async def start_clocks(
    uow: UnitOfWork,
    request_id: str,
    department: str,
    started_at: datetime,
    due: dict[str, Any],
    warn_at: dict[str, Any],
    *,
    clocks_running: bool = True,
) -> None:
    """A routing decision: every running clock of the request stops; the lead's start anew.
    (`clocks_running=False`: the caller knows none runs, e.g. read with a consumer's fetch.)"""
    if clocks_running:
        await stop_clocks(uow, request_id, at=started_at)
    rows = [
        {
            "request_id": c.request_id,
            "department": c.department,
            "clock": c.name,
            "started_at": c.started_at,
            "due": c.due,
            "original_due": c.original_due,
            "warn_at": c.warn_at,
            "warned_at": None,
            "breached_at": None,
            "stopped_at": None,
            "extensions": 0,
        }
        for c in clocks_from_routing(request_id, department, started_at, due, warn_at)
    ]
    if rows:  # a clock the department had before starts afresh
        await store.upsert_clocks(uow.session, rows)


async def stop_clocks(
    uow: UnitOfWork, request_id: str, *, at: datetime, department: str | None = None, clock: str | None = None
) -> None:
    c = store.clocks.c
    stmt = update(store.clocks).where(c.request_id == request_id, c.stopped_at.is_(None))
    if department is not None:
        stmt = stmt.where(c.department == department)
    if clock is not None:
        stmt = stmt.where(c.clock == clock)
    await uow.session.execute(stmt.values(stopped_at=at))


async def stop_for(
    uow: UnitOfWork, event: type[EventData], request_id: str, department: str, at: datetime
) -> None:
    """The work a department just did stops its clock (resolving or returning stops them all)."""
    if event in (RequestResolved, RequestReturned):
        await stop_clocks(uow, request_id, at=at, department=department)
    elif event in STOPPED_BY:
        await stop_clocks(uow, request_id, at=at, department=department, clock=STOPPED_BY[event])


async def load_clock(uow: UnitOfWork, request_id: str, department: str, name: str) -> Clock | None:
    c = store.clocks.c
    stmt = select(store.clocks).where(c.request_id == request_id, c.department == department, c.clock == name)
    row = (await uow.session.execute(stmt.with_for_update())).mappings().first()
    return to_clock(row) if row else None


async def apply_recomputed_due(uow: UnitOfWork, envelope: Envelope, data: RequestDueRecomputed) -> None:
    """The calendar changed and routing counted the due times again: each running clock not
    yet due moves by as much as its due time moved (so a pause or an extension it had is
    kept); its warning moves with it unless it was given already."""
    c = store.clocks.c
    for name in HANDLING_CLOCKS:
        new, old = getattr(data.due, name, None), getattr(data.previous, name, None)
        if new is None or old is None or new == old:
            continue
        shift = new - old
        rows = (
            await uow.session.execute(
                select(store.clocks)
                .where(
                    c.request_id == envelope.request_id,
                    c.clock == name,
                    c.stopped_at.is_(None),
                    c.due > envelope.occurred_at,
                )
                .with_for_update()
            )
        ).mappings()
        for row in list(rows):
            values: dict[str, Any] = {"due": row["due"] + shift, "original_due": row["original_due"] + shift}
            if row["warn_at"] is not None and row["warned_at"] is None:
                values["warn_at"] = row["warn_at"] + shift
            await uow.session.execute(
                update(store.clocks)
                .where(c.request_id == row["request_id"], c.department == row["department"], c.clock == name)
                .values(**values)
            )
            await uow.session.execute(
                update(store.cases)
                .where(
                    store.cases.c.request_id == row["request_id"],
                    store.cases.c.department == row["department"],
                )
                .values(
                    due=store.cases.c.due.op("||")(func.jsonb_build_object(name, values["due"].isoformat()))
                )
            )


async def save_clock(uow: UnitOfWork, clock: Clock) -> None:
    c = store.clocks.c
    await uow.session.execute(
        update(store.clocks)
        .where(c.request_id == clock.request_id, c.department == clock.department, c.clock == clock.name)
        .values(due=clock.due, warn_at=clock.warn_at, warned_at=clock.warned_at, extensions=clock.extensions)
    )


async def sweep(new_uow: Callable[[], UnitOfWork], at: datetime | None = None) -> int:
    """One pass of the scheduler: emit what has fallen due; returns how many alerts."""
    emitted = 0
    while True:
        moment = at or now()
        async with new_uow() as uow:
            c = store.clocks.c
            stmt = (
                select(store.clocks)
                .where(
                    c.stopped_at.is_(None),
                    c.paused_at.is_(None),
                    c.breached_at.is_(None),
                    or_(c.due <= moment, and_(c.warned_at.is_(None), c.warn_at <= moment)),
                )
                .order_by(c.due)
                .limit(SWEEP_BATCH)
                .with_for_update(skip_locked=True)
            )
            rows = (await uow.session.execute(stmt)).mappings().all()
            handlers = await _handlers(uow, {r["request_id"] for r in rows})
            marked: list[tuple[str, str, str]] = []
            for row in rows:
                clock = to_clock(row)
                alerts = clock.alerts_due(moment)
                for alert in alerts:
                    data: Any = (RequestSlaWarning if alert == "warning" else RequestSlaBreached)(
                        department=clock.department,
                        clock=cast(ClockName, clock.name),
                        due=clock.due,
                        handler_id=handlers.get((clock.request_id, clock.department)),
                    )
                    uow.emit(data, request_id=clock.request_id, actor=SYSTEM)
                await uow.session.execute(
                    update(store.clocks)
                    .where(
                        c.request_id == clock.request_id,
                        c.department == clock.department,
                        c.clock == clock.name,
                    )
                    .values(
                        warned_at=moment if "warning" in alerts else row["warned_at"],
                        breached_at=moment if "breach" in alerts else None,
                    )
                )
                emitted += len(alerts)
                marked += [(alert, clock.department, clock.name) for alert in alerts]
            emitted += await _sweep_supervision(uow, moment)
            await uow.commit()
        for alert, department, name in marked:  # counted once committed
            (SLA_WARNINGS if alert == "warning" else SLA_BREACHES).labels(department, name).inc()
        if len(rows) < SWEEP_BATCH:
            return emitted


async def _handlers(uow: UnitOfWork, request_ids: set[str]) -> dict[tuple[str, str], str]:
    """Who handles each case (to be told of its warnings and breaches)."""
    if not request_ids:
        return {}
    cs = store.cases.c
    rows = await uow.session.execute(
        select(cs.request_id, cs.department, cs.handler_id).where(
            cs.request_id.in_(request_ids), cs.handler_id.is_not(None)
        )
    )
    return {(r, d): h for r, d, h in rows}


async def _sweep_supervision(uow: UnitOfWork, moment: datetime) -> int:
    o = store.supervision_orders.c
    stmt = (
        select(store.supervision_orders)
        .where(o.answered_at.is_(None), o.breached_at.is_(None), o.due <= moment)
        .limit(SWEEP_BATCH)
        .with_for_update(skip_locked=True)
    )
    rows = (await uow.session.execute(stmt)).mappings().all()
    handlers = await _handlers(uow, {r["request_id"] for r in rows})
    for row in rows:
        uow.emit(
            RequestSlaBreached(
                department=row["department"],
                clock="supervision",
                due=row["due"],
                handler_id=handlers.get((row["request_id"], row["department"])),
                order_id=row["id"],
            ),
            request_id=row["request_id"],
            actor=SYSTEM,
        )
        await uow.session.execute(
            update(store.supervision_orders).where(o.id == row["id"]).values(breached_at=moment)
        )
    return len(rows)


async def refresh_case_gauges(new_uow: Callable[[], UnitOfWork], at: datetime | None = None) -> None:
    """Open and overdue cases per department for /metrics (read, not counted, so every
    replica reports the same figure and a restart loses nothing)."""
    moment = at or now()
    async with new_uow() as uow:
        cs, c = store.cases.c, store.clocks.c
        open_rows = await uow.session.execute(
            select(cs.department, cs.urgency, func.count())
            .where(cs.state.in_([s.value for s in HANDLING]))
            .group_by(cs.department, cs.urgency)
        )
        overdue_rows = await uow.session.execute(
            select(c.department, func.count(func.distinct(c.request_id)))
            .where(c.stopped_at.is_(None), c.due <= store.clock_time(moment))
            .group_by(c.department)
        )
        OPEN_CASES.clear()
        for department, urgency, count in open_rows:
            OPEN_CASES.labels(department, urgency).set(count)
        OVERDUE_CASES.clear()
        for department, count in overdue_rows:
            OVERDUE_CASES.labels(department).set(count)


async def scheduler(runtime: ServiceRuntime) -> None:
    """Background job of the handling service: sweep every SLA_SWEEP_SECONDS, and refresh
    the case gauges every GAUGE_SECONDS."""
    next_gauges = 0.0
    loop = asyncio.get_running_loop()

    async def round_() -> None:
        nonlocal next_gauges
        if loop.time() >= next_gauges:
            next_gauges = loop.time() + GAUGE_SECONDS
            await refresh_case_gauges(runtime.uow)
        count = await sweep(runtime.uow)
        if count:
            log.info("SLA scheduler emitted %d warnings/breaches", count)

    await run_every(runtime.settings.sla_sweep_seconds, round_, log=log, failure="SLA sweep failed; retrying")


async def pause_clocks(uow: UnitOfWork, request_id: str, department: str, at: datetime) -> int:
    c = store.clocks.c
    result = await uow.session.execute(
        update(store.clocks)
        .where(
            c.request_id == request_id,
            c.department == department,
            c.stopped_at.is_(None),
            c.paused_at.is_(None),
        )
        .values(paused_at=at)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def resume_clocks(
    uow: UnitOfWork, request_id: str, department: str, at: datetime
) -> dict[str, datetime]:
    """Move each paused clock's due and warning time by the time the pause lasted (plain
    time: never less than the working time it covered, so nobody loses time)."""
    c = store.clocks.c
    rows = (
        (
            await uow.session.execute(
                select(store.clocks)
                .where(c.request_id == request_id, c.department == department, c.paused_at.is_not(None))
                .with_for_update()
            )
        )
        .mappings()
        .all()
    )
    moved: dict[str, datetime] = {}
    for row in rows:
        lasted = at - row["paused_at"]
        due = row["due"] + lasted
        await uow.session.execute(
            update(store.clocks)
            .where(c.request_id == request_id, c.department == department, c.clock == row["clock"])
            .values(due=due, warn_at=row["warn_at"] + lasted if row["warn_at"] else None, paused_at=None)
        )
        moved[row["clock"]] = due
    return moved
