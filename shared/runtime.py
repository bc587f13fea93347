"""Wiring every service shares: database engine, outbox relay, inbox consumer, and the
FastAPI app with health, readiness, metrics, limits and the error format."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.auth import RemoteApiKeyLookup
from shared.background import BackgroundJob
from shared.db import create_engine, inbox_table, outbox_table, session_factory
from shared.errors import install_error_handlers
from shared.events.envelope import Envelope
from shared.guard import FormRoute, Guard
from shared.inbox import BatchPreparer, Handlers, InboxConsumer, InboxProcessor
from shared.kafka import broker_reachable, ensure_topics, make_producer
from shared.limits import RateLimiter
from shared.local import RuntimeLocal
from shared.openapi import declare_error_responses
from shared.outbox import RelayThread, UnitOfWork
from shared.retention import delivery_retention_job
from shared.settings import Settings as AppSettings
from shared.settings import get_settings

log = logging.getLogger(__name__)


@dataclass
class ServiceRuntime:
    """Everything one service process holds: its database, its relay and its consumer."""

    name: str
    metadata: MetaData
    handlers: Handlers
    # The process's settings, read once at its entry point (main.py, a CLI) and handed in:
    # business code gets them from here (routes through `Settings`, commands and handlers
    # through their unit of work, background jobs through the runtime they are given).
    settings: AppSettings
    background: list[BackgroundJob] = field(default_factory=list)
    # Extra consumer groups that act only on the events their predicate picks (e.g. urgent
    # requests), so those do not wait behind the main consumer's backlog.
    fast_lanes: dict[str, Callable[[Envelope], bool]] = field(default_factory=dict)
    # What readiness reports besides its checks: warnings for operators that do not make
    # the service unready (e.g. next year's calendar still provisional).
    readiness_detail: Callable[[ServiceRuntime], Coroutine[Any, Any, dict[str, Any]]] | None = None
    # Called once per fetch applied together, before its handlers, with the fetch's new
    # events (e.g. KPI reads every fact row the fetch touches in one statement).
    prepare_batch: BatchPreparer | None = None
    # What this runtime keeps between units of work (e.g. routing's configuration cache),
    # its own and not another's in the same process; commands and handlers reach it through
    # their unit of work, background jobs through the runtime.
    local: RuntimeLocal = field(init=False, default_factory=RuntimeLocal)
    engine: AsyncEngine = field(init=False)
    sessions: async_sessionmaker[AsyncSession] = field(init=False)
    relay: RelayThread | None = field(init=False, default=None)
    consumer: InboxConsumer | None = field(init=False, default=None)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.engine = create_engine(self.settings.database_url(self.name), self.settings)
        self.sessions = session_factory(self.engine)

    def uow(self, correlation_id: str | None = None) -> UnitOfWork:
        return UnitOfWork(
            self.sessions,
            producer=self.name,
            outbox=outbox_table(self.metadata),
            lifecycle_topic=self.settings.lifecycle_topic,
            settings=self.settings,
            local=self.local,
            on_commit=self.relay.wake if self.relay else None,
            correlation_id=correlation_id,
        )

    def processor(
        self, consumer_name: str | None = None, accepts: Callable[[Envelope], bool] | None = None
    ) -> InboxProcessor:
        return InboxProcessor(
            consumer=consumer_name or self.name,
            inbox=inbox_table(self.metadata),
            new_uow=self.uow,
            handlers=self.handlers,
            max_attempts=self.settings.consumer_max_attempts,
            backoff_seconds=self.settings.consumer_backoff_seconds,
            accepts=accepts,
            dead_letters_undecodable=accepts is None,
            prepare_batch=self.prepare_batch,
        )

    async def start(self) -> None:
        s = self.settings
        topics = [s.lifecycle_topic, s.notifications_topic, s.dlq_topic]
        await ensure_topics(s.kafka_bootstrap, topics, s.topic_partitions)
        self.producer = make_producer(s.kafka_bootstrap)
        await self.producer.start()
        self.relay = RelayThread(
            database_url=s.database_url(self.name),
            settings=s,
            service=self.name,
            outbox=outbox_table(self.metadata),
            bootstrap=s.kafka_bootstrap,
            topics=topics,
            partitions=s.topic_partitions,
            poll_seconds=s.relay_poll_seconds,
            batch_size=s.relay_batch_size,
        )
        await self.relay.start()
        if self.handlers:
            self.consumer = InboxConsumer(
                self.processor(),
                bootstrap=s.kafka_bootstrap,
                topic=s.lifecycle_topic,
                dlq_topic=s.dlq_topic,
                producer=self.producer,
                partitions=s.topic_partitions,
                fetch_max_wait_ms=s.consumer_fetch_max_wait_ms,
            )
            self._tasks.append(asyncio.create_task(self.consumer.run(), name=f"{self.name}-consumer"))
        for lane, accepts in self.fast_lanes.items():
            lane_consumer = InboxConsumer(
                self.processor(f"{self.name}-{lane}", accepts),
                bootstrap=s.kafka_bootstrap,
                topic=s.lifecycle_topic,
                dlq_topic=s.dlq_topic,
                producer=self.producer,
                partitions=s.topic_partitions,
                fetch_max_wait_ms=s.consumer_fetch_max_wait_ms,
            )
            self._tasks.append(asyncio.create_task(lane_consumer.run(), name=f"{self.name}-{lane}"))
        for job in [*self.background, delivery_retention_job]:
            self._tasks.append(asyncio.create_task(job(self), name=f"{self.name}-{job.__name__}"))

    async def stop(self) -> None:
        if self.relay is not None:
            await self.relay.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if getattr(self, "producer", None) is not None:
            await self.producer.stop()
        await self.engine.dispose()


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """FastAPI dependency: a unit of work carrying the caller's correlation id."""
    async with runtime_of(request).uow(request.state.correlation_id) as uow:
        yield uow


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with runtime_of(request).sessions() as session:
        yield session


def runtime_settings(request: Request) -> AppSettings:
    return runtime_of(request).settings


def runtime_local(request: Request) -> RuntimeLocal:
    return runtime_of(request).local


# The common route dependencies, declared once: a unit of work (commands), a session (reads),
# the service's settings and what its runtime keeps (those of the runtime serving the request).
Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
Session = Annotated[AsyncSession, Depends(db_session)]
Settings = Annotated[AppSettings, Depends(runtime_settings)]
Local = Annotated[RuntimeLocal, Depends(runtime_local)]


def create_app(
    runtime: ServiceRuntime,
    routers: list[APIRouter],
    *,
    title: str,
    version: str = "1.0.0",
    form_routes: tuple[FormRoute, ...] = (),
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, version=version, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.api_key_lookup = RemoteApiKeyLookup(
        runtime.settings.intake_url, runtime.settings.api_key_cache_seconds
    )
    install_error_handlers(app)
    app.add_middleware(
        Guard,
        service=runtime.name,
        max_body_bytes=runtime.settings.max_body_bytes,
        max_json_depth=runtime.settings.max_json_depth,
        limiter=RateLimiter(runtime.settings.rate_limit_per_minute),
        address_limiter=RateLimiter(runtime.settings.rate_limit_per_address_per_minute),
        form_routes=form_routes,
    )

    # The staff console (served by intake) calls every service's API from the browser.
    origin = urlsplit(runtime.settings.intake_url)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[f"{origin.scheme}://{origin.netloc}", *runtime.settings.cors_origins],
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Correlation-ID", "Idempotency-Key"],
        expose_headers=["X-Correlation-ID"],
        max_age=600,
    )

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> JSONResponse:
        checks: dict[str, Any] = {}
        try:
            async with runtime.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"down: {type(exc).__name__}"
        checks["broker"] = "ok" if await broker_reachable(runtime.settings.kafka_bootstrap) else "down"
        if runtime.consumer is not None:
            checks["consumer"] = "ok" if runtime.consumer.ready.is_set() else "joining"
        ready = all(v == "ok" for v in checks.values())
        body: dict[str, Any] = {"ready": ready, "checks": checks}
        if runtime.readiness_detail is not None and checks.get("database") == "ok":
            try:
                body["detail"] = await runtime.readiness_detail(runtime)
            except Exception as exc:  # a detail never makes a ready service unready
                body["detail"] = {"error": type(exc).__name__}
        return JSONResponse(body, 200 if ready else 503)

    @app.get("/metrics", tags=["ops"])
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    declare_error_responses(app, runtime.name)
    return app


def serve(name: str, build_app: Callable[[], FastAPI]) -> None:
    """Run one service with uvicorn on its port (env `PORT` overrides the default)."""
    import os

    import uvicorn

    from shared.logging import configure_logging
    from shared.settings import DEFAULT_PORTS

    settings = get_settings()
    configure_logging(name, settings.log_level)
    port = int(os.environ.get("PORT", DEFAULT_PORTS[name]))
    uvicorn.run(
        build_app(),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=port,
        log_config=None,
        timeout_keep_alive=30,
    )
