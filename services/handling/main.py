"""Handling: wiring. Run with `python -m services.handling.main`."""

from __future__ import annotations

from fastapi import FastAPI

from services.handling import api, store
from services.handling.consumers import HANDLERS, prepare_batch
from services.handling.sla_scheduler import scheduler
from shared.runtime import ServiceRuntime, create_app, serve
from shared.settings import get_settings

NAME = "handling"


def build_app(runtime: ServiceRuntime | None = None) -> FastAPI:
    runtime = runtime or ServiceRuntime(
        name=NAME,
        settings=get_settings(),
        metadata=store.metadata,
        handlers=HANDLERS,
        background=[scheduler],
        prepare_batch=prepare_batch,
    )
    return create_app(runtime, [api.router], title="Handling service")


if __name__ == "__main__":
    serve(NAME, build_app)
