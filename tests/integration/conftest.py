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
