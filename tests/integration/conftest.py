from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from shared.settings import Settings, get_settings
from tests.support.platform import Broker, fresh_databases


@pytest.fixture(scope="session")
def platform(broker: Broker) -> Iterator[Settings]:
    """Fresh it_* databases, migrated and seeded, and the test broker."""
    settings = get_settings()
    fresh_databases(settings)
    yield settings


@pytest.fixture
def topics(platform: Settings) -> Settings:
    """Settings with topics of this test's own, so tests never see each other's events."""
    suffix = uuid.uuid4().hex[:8]
    return platform.model_copy(
        update={
            "lifecycle_topic": f"t.{suffix}.lifecycle",
            "notifications_topic": f"t.{suffix}.notifications",
            "dlq_topic": f"t.{suffix}.dlq",
            "topic_partitions": 3,
        }
    )


async def asgi_client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    await app.state.runtime.engine.dispose()


@pytest.fixture
async def routing_directory(platform: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The real routing service over HTTP (its directory and calendar), for services that
    ask it: followup (supervisors), kpi (departments). Its URL is put in the platform's
    settings (runtimes on `platform` see it; a copy made before this fixture does not)."""
    import asyncio

    import uvicorn

    from services.routing import store as routing_store
    from services.routing.main import build_app
    from shared.runtime import ServiceRuntime
    from tests.support.platform import PORT_OFFSET

    runtime = ServiceRuntime(name="routing", metadata=routing_store.metadata, handlers={}, settings=platform)
    port = 16001 + PORT_OFFSET
    server = uvicorn.Server(
        uvicorn.Config(build_app(runtime), host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setattr(platform, "routing_url", url)
    try:
        yield url
    finally:
        server.should_exit = True
        await task
        await runtime.engine.dispose()
