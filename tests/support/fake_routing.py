"""A stand-in for routing's public API, for the fast tests (tests/fast): the three answers
followup and handling ask routing for — working days after a moment, a staff member, the
supervisors — from a small table in memory, served over HTTP on a test port so the
services' own clients make their own requests. Working days here skip Saturdays and
Sundays only (the real calendar's holidays are routing's own tests' business)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException

from shared.clock import organisation_tz


def _member(staff_id: str, role: str, department: str | None, active: bool = True) -> dict[str, Any]:
    return {"id": staff_id, "role": role, "department": department, "active": active}


STAFF: dict[str, dict[str, Any]] = {
    m["id"]: m
    for m in (
        _member("supervisor-01", "supervisor", None),
        _member("supervisor-02", "supervisor", None),
        _member("supervisor-09", "supervisor", None, active=False),  # left the team
        _member("h-urban", "handler", "urban"),
        _member("h-urban-gone", "handler", "urban", active=False),  # moved on
        _member("h-water", "handler", "water"),
    )
}


def working_days_after(start: datetime, days: int) -> datetime:
    moment = start.astimezone(organisation_tz())
    while days > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


# Called on every request the fake answers (a test watching what its callers hold meanwhile).
ON_CALL: list[Callable[[str], Awaitable[None]]] = []


def fake_routing_app() -> FastAPI:
    app = FastAPI(title="fake routing")

    @app.middleware("http")
    async def watched(request: Any, call_next: Any) -> Any:
        for probe in ON_CALL:
            await probe(request.url.path)
        return await call_next(request)

    @app.post("/v1/calendar/due")
    async def due(body: dict[str, Any]) -> dict[str, Any]:
        assert body["unit"] == "working_days", body
        start = datetime.fromisoformat(body["start"])
        return {"due": working_days_after(start, int(body["amount"])).isoformat()}

    @app.get("/v1/staff/{staff_id}")
    async def member(staff_id: str) -> dict[str, Any]:
        if staff_id not in STAFF:
            raise HTTPException(404)
        return STAFF[staff_id]

    @app.get("/v1/staff")
    async def staff(role: str | None = None) -> dict[str, Any]:
        items = [m for m in STAFF.values() if role is None or m["role"] == role]
        return {"items": items, "next_cursor": None}

    return app


@asynccontextmanager
async def serving(port: int) -> AsyncIterator[str]:
    """The fake routing API on 127.0.0.1:`port`; yields its URL."""
    server = uvicorn.Server(
        uvicorn.Config(fake_routing_app(), host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
