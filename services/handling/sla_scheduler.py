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
    await store.stop_running_clocks(uow.session, request_id, at=at, department=department, clock=clock)


async def stop_for(
    uow: UnitOfWork, event: type[EventData], request_id: str, department: str, at: datetime
) -> None:
    """The work a department just did stops its clock (resolving or returning stops them all)."""
    if event in (RequestResolved, RequestReturned):
        await stop_clocks(uow, request_id, at=at, department=department)
    elif event in STOPPED_BY:
        await stop_clocks(uow, request_id, at=at, department=department, clock=STOPPED_BY[event])


async def load_clock(uow: UnitOfWork, request_id: str, department: str, name: str) -> Clock | None:
    row = await store.lock_clock(uow.session, request_id, department, name)
    return to_clock(row) if row else None


async def apply_recomputed_due(uow: UnitOfWork, envelope: Envelope, data: RequestDueRecomputed) -> None:
    """The calendar changed and routing counted the due times again: each running clock not
    yet due moves by as much as its due time moved (so a pause or an extension it had is
    kept); its warning moves with it unless it was given already."""
    for name in HANDLING_CLOCKS:
        new, old = getattr(data.due, name, None), getattr(data.previous, name, None)
        if new is None or old is None or new == old:
            continue
        shift = new - old
        rows = await store.lock_running_clocks_due_after(
            uow.session, envelope.request_id, name, envelope.occurred_at
        )
        for row in rows:
            values: dict[str, Any] = {"due": row["due"] + shift, "original_due": row["original_due"] + shift}
            if row["warn_at"] is not None and row["warned_at"] is None:
                values["warn_at"] = row["warn_at"] + shift
            await store.update_clock(uow.session, row["request_id"], row["department"], name, **values)
            await store.set_case_clock_due(
                uow.session, row["request_id"], row["department"], name, values["due"]
            )


async def save_clock(uow: UnitOfWork, clock: Clock) -> None:
    await store.update_clock(
        uow.session,
        clock.request_id,
        clock.department,
        clock.name,
        due=clock.due,
        warn_at=clock.warn_at,
        warned_at=clock.warned_at,
        extensions=clock.extensions,
    )


async def sweep(new_uow: Callable[[], UnitOfWork], at: datetime | None = None) -> int:
    """One pass of the scheduler: emit what has fallen due; returns how many alerts."""
    emitted = 0
    while True:
        moment = at or now()
        async with new_uow() as uow:
            rows = await store.claim_due_clocks(uow.session, moment, SWEEP_BATCH)
            handlers = await store.case_handlers(uow.session, {r["request_id"] for r in rows})
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
                await store.update_clock(
                    uow.session,
                    clock.request_id,
                    clock.department,
                    clock.name,
                    warned_at=moment if "warning" in alerts else row["warned_at"],
                    breached_at=moment if "breach" in alerts else None,
                )
                emitted += len(alerts)
                marked += [(alert, clock.department, clock.name) for alert in alerts]
            emitted += await _sweep_supervision(uow, moment)
            await uow.commit()
        for alert, department, name in marked:  # counted once committed
            (SLA_WARNINGS if alert == "warning" else SLA_BREACHES).labels(department, name).inc()
        if len(rows) < SWEEP_BATCH:
            return emitted


async def _sweep_supervision(uow: UnitOfWork, moment: datetime) -> int:
    rows = await store.claim_overdue_supervision_orders(uow.session, moment, SWEEP_BATCH)
    handlers = await store.case_handlers(uow.session, {r["request_id"] for r in rows})
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
        await store.mark_supervision_order_breached(uow.session, row["id"], moment)
    return len(rows)


async def refresh_case_gauges(new_uow: Callable[[], UnitOfWork], at: datetime | None = None) -> None:
    """Open and overdue cases per department for /metrics (read, not counted, so every
    replica reports the same figure and a restart loses nothing)."""
    moment = at or now()
    async with new_uow() as uow:
        open_rows = await store.open_case_counts(uow.session)
        overdue_rows = await store.overdue_case_counts(uow.session, moment)
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
    return await store.pause_running_clocks(uow.session, request_id, department, at)


async def resume_clocks(
    uow: UnitOfWork, request_id: str, department: str, at: datetime
) -> dict[str, datetime]:
    """Move each paused clock's due and warning time by the time the pause lasted (plain
    time: never less than the working time it covered, so nobody loses time)."""
    moved: dict[str, datetime] = {}
    for row in await store.lock_paused_clocks(uow.session, request_id, department):
        lasted = at - row["paused_at"]
        due = row["due"] + lasted
        await store.update_clock(
            uow.session,
            request_id,
            department,
            row["clock"],
            due=due,
            warn_at=row["warn_at"] + lasted if row["warn_at"] else None,
            paused_at=None,
        )
        moved[row["clock"]] = due
    return moved
