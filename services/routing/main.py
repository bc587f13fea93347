"""Routing: wiring. Run with `python -m services.routing.main`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

from services.routing import api, learning, queries, store
from services.routing.consumers import HANDLERS, is_urgent_arrival, prepare_batch
from shared.policy import install_request_scope
from shared.runtime import ServiceRuntime, create_app, serve
from shared.settings import get_settings

NAME = "routing"


async def readiness_detail(runtime: ServiceRuntime) -> dict[str, Any]:
    """Readiness says when next year's calendar is still provisional (from 1 November)."""
    async with runtime.sessions() as session:
        status = await queries.calendar_status(session)
    return {"calendar": {"warning": status["warning"]}} if status["warning"] else {}


def build_app(runtime: ServiceRuntime | None = None) -> FastAPI:
    runtime = runtime or ServiceRuntime(
        name=NAME,
        settings=get_settings(),
        metadata=store.metadata,
        handlers=HANDLERS,
        fast_lanes={"urgent": is_urgent_arrival},
        background=[learning.retrain_job],
        prepare_batch=prepare_batch,
    )
    runtime.readiness_detail = readiness_detail
    app = create_app(runtime, [api.router], title="Routing service")

    async def request_departments(_: Request, request_id: str) -> list[str] | None:
        """The departments a request's department scope admits: its lead and co-handlers."""
        async with runtime.sessions() as session:
            route = await store.get_route(session, request_id)
        if route is None:
            return None
        return [d for d in (route["lead_department"], *(route["co_departments"] or [])) if d]

    install_request_scope(app, request_departments)
    return app


if __name__ == "__main__":
    serve(NAME, build_app)
