"""Intake: wiring. Run with `python -m services.intake.main`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.intake import api, kb_api, open311, store
from services.intake.channel_keys import ChannelKeys
from services.intake.consumers import HANDLERS
from services.intake.domain.knowledge import load_dictionary
from services.intake.retention import retention_job
from shared.clock import now
from shared.runtime import FormRoute, ServiceRuntime, create_app, serve

NAME = "intake"
CONSOLE = Path(__file__).with_name("console")


def build_app(runtime: ServiceRuntime | None = None) -> FastAPI:
    runtime = runtime or ServiceRuntime(
        name=NAME, metadata=store.metadata, handlers=HANDLERS, background=[retention_job]
    )
    app = create_app(
        runtime,
        [api.router, kb_api.router, open311.router],
        title="Intake service",
        form_routes=(
            FormRoute(
                "/v1/materials", frozenset({"multipart/form-data"}), api.MAX_MATERIAL_BYTES + 64 * 1024
            ),
            # Open311 clients post form-encoded, as the GeoReport v2 spec says.
            FormRoute(
                "/open311/v2/requests",
                frozenset({"application/x-www-form-urlencoded", "multipart/form-data"}),
                64 * 1024,
            ),
        ),
    )

    load_dictionary()  # before the service reports ready, not in the first request
    app.state.api_key_lookup = ChannelKeys(runtime.sessions, runtime.settings.local_api_key_cache_seconds)

    @app.get("/console/config.json", include_in_schema=False)
    async def console_config() -> dict[str, object]:
        """Where the console's browser finds each service's API, and the platform's time: the
        console counts down and picks "this month" by the platform's clock and zone, not by
        the clock of the staff member's PC."""
        s = runtime.settings
        urls = {
            "intake": s.intake_url,
            "routing": s.routing_url,
            "handling": s.handling_url,
            "followup": s.followup_url,
            "kpi": s.kpi_url,
        }
        return {
            "urls": {name: url.rstrip("/") for name, url in urls.items()},
            "now": now().isoformat(),
            "timezone": s.organisation_timezone,
        }

    # The staff console: static files, no build step (see services/intake/console/).
    app.mount("/console", StaticFiles(directory=CONSOLE, html=True), name="console")
    return app


if __name__ == "__main__":
    serve(NAME, build_app)
