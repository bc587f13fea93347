"""KPI: wiring. Run with `python -m services.kpi.main`."""

from __future__ import annotations

from fastapi import FastAPI

from services.kpi import api, store
from services.kpi.consumers import HANDLERS, prepare_batch
from services.kpi.service import period_closer
from shared.runtime import ServiceRuntime, create_app, serve
from shared.settings import get_settings

NAME = "kpi"


def build_app(runtime: ServiceRuntime | None = None) -> FastAPI:
    runtime = runtime or ServiceRuntime(
        name=NAME,
        settings=get_settings(),
        metadata=store.metadata,
        handlers=HANDLERS,
        background=[period_closer],
        prepare_batch=prepare_batch,
    )
    return create_app(runtime, [api.router], title="KPI service")


if __name__ == "__main__":
    serve(NAME, build_app)
