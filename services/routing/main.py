"""Routing: wiring. Run with `python -m services.routing.main`."""

from __future__ import annotations

from fastapi import FastAPI

from services.routing import api, learning, store
from services.routing.consumers import HANDLERS, is_urgent_arrival
from shared.runtime import ServiceRuntime, create_app, serve

NAME = "routing"


def build_app(runtime: ServiceRuntime | None = None) -> FastAPI:
    runtime = runtime or ServiceRuntime(
        name=NAME,
        metadata=store.metadata,
        handlers=HANDLERS,
        fast_lanes={"urgent": is_urgent_arrival},
        background=[learning.retrain_job],
    )
    return create_app(runtime, [api.router], title="Routing service")


if __name__ == "__main__":
    serve(NAME, build_app)
