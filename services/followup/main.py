"""Followup: wiring. Run with `python -m services.followup.main`."""

from __future__ import annotations

from fastapi import FastAPI

from services.followup import api, store
from services.followup.consumers import HANDLERS, prepare_batch
from services.followup.service import survey_timeouts
from shared.runtime import ServiceRuntime, create_app, serve
from shared.settings import get_settings

NAME = "followup"


def build_app(runtime: ServiceRuntime | None = None) -> FastAPI:
    runtime = runtime or ServiceRuntime(
        name=NAME,
        settings=get_settings(),
        metadata=store.metadata,
        handlers=HANDLERS,
        background=[survey_timeouts],
        prepare_batch=prepare_batch,
    )
    return create_app(runtime, [api.router], title="Followup service")


if __name__ == "__main__":
    serve(NAME, build_app)
