"""Intake: wiring. Run with `python -m services.intake.main`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from services.intake import api, kb_api, open311, store
from services.intake.channel_keys import ChannelKeys
from services.intake.consumers import HANDLERS, prepare_batch
from services.intake.domain.knowledge import load_dictionary
from services.intake.retention import retention_job
from shared.clock import now
from shared.policy import install_request_scope
from shared.runtime import FormRoute, ServiceRuntime, create_app, serve
from shared.settings import Settings, get_settings

NAME = "intake"
CONSOLE = Path(__file__).with_name("console")


def build_app(runtime: ServiceRuntime | None = None) -> FastAPI:
    runtime = runtime or ServiceRuntime(
        name=NAME,
        settings=get_settings(),
        metadata=store.metadata,
        handlers=HANDLERS,
        background=[retention_job],
        prepare_batch=prepare_batch,
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

    async def request_departments(_: Request, request_id: str) -> list[str] | None:
        """The departments a request's department scope admits: its lead and co-handlers."""
        async with runtime.sessions() as session:
            row = await store.get_request(session, request_id)
        if row is None:
            return None
        return [d for d in (row["lead_department"], *(row["co_departments"] or [])) if d]

    install_request_scope(app, request_departments)

    headers = console_headers(runtime.settings)

    @app.get("/console/config.json", include_in_schema=False)
    async def console_config() -> JSONResponse:
        """Where the console's browser finds each service's API, and the platform's time
        (its clock may be pinned) and zone, so countdowns count from the platform's now."""
        body = {
            "urls": console_urls(runtime.settings),
            "now": now().isoformat(),
            "timezone": runtime.settings.organisation_timezone,
        }
        return JSONResponse(body, headers=headers)

    # The staff console: static files of its own (services/intake/console/, README there),
    # served with a content-security policy that lets it run only its own scripts.
    app.mount("/console", ConsoleFiles(headers, directory=CONSOLE, html=True), name="console")
    return app


class ConsoleFiles(StaticFiles):
    """The console's files, each with the console's security headers."""

    def __init__(self, headers: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.extra]
            await send(message)

        await super().__call__(scope, receive, with_headers)


def console_headers(settings: Settings) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


def console_urls(settings: Settings) -> dict[str, str]:
    urls = {
        "intake": settings.intake_url,
        "routing": settings.routing_url,
        "handling": settings.handling_url,
        "followup": settings.followup_url,
        "kpi": settings.kpi_url,
    }
    return {name: url.rstrip("/") for name, url in urls.items()}


def content_security_policy(settings: Settings) -> str:
    """Scripts and styles from the console's own origin only; the browser may call the five
    APIs and nothing else; no frames, plugins or foreign forms. (ECharts sets element styles
    through the DOM, which style-src does not govern; its tooltips use style attributes, the
    one reason for 'unsafe-inline' in style-src.)"""
    apis = " ".join(sorted(set(console_urls(settings).values())))
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            f"connect-src 'self' {apis}",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


if __name__ == "__main__":
    serve(NAME, build_app)
