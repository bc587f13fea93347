"""Routing: wiring. Run with `python -m services.routing.main`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.routing import api, learning, service, store
from services.routing.consumers import HANDLERS, is_urgent_arrival
from shared.runtime import ServiceRuntime, create_app, serve

NAME = "routing"


async def readiness_detail(runtime: ServiceRuntime) -> dict[str, Any]:
    """Readiness says when next year's calendar is still provisional (from 1 November)."""
    async with runtime.sessions() as session:
        status = await service.calendar_status(session)
    return {"calendar": {"warning": status["warning"]}} if status["warning"] else {}


def build_app(runtime: ServiceRuntime | None = None) -> FastAPI:
    runtime = runtime or ServiceRuntime(
        name=NAME,
        metadata=store.metadata,
        handlers=HANDLERS,
        fast_lanes={"urgent": is_urgent_arrival},
        background=[learning.retrain_job],
    )
    runtime.readiness_detail = readiness_detail
    return create_app(runtime, [api.router], title="Routing service")


if __name__ == "__main__":
    serve(NAME, build_app)
