"""The fast tier (`make test-fast`): the services' commands and their consumers' handlers
against the real PostgreSQL (fast_* databases, migrated and seeded once), with the broker
replaced by an in-memory bus (tests/support/memory_bus.py) and routing's API, where another
service asks it, by a fake (tests/support/fake_routing.py). No broker is started and no
service process: a test runs in well under a second once the databases exist."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from services.followup import consumers as followup_consumers
from services.followup import store as followup_store
from services.handling import consumers as handling_consumers
from services.handling import store as handling_store
from services.intake import consumers as intake_consumers
from services.intake import store as intake_store
from services.kpi import consumers as kpi_consumers
from services.kpi import store as kpi_store
from services.routing import consumers as routing_consumers
from services.routing import store as routing_store
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support import fake_routing
from tests.support.memory_bus import MemoryBus
from tests.support.platform import PORT_OFFSET, fresh_databases, settings_with_prefix

FAKE_ROUTING_PORT = 16101 + PORT_OFFSET


@pytest.fixture(scope="session")
def fast_databases() -> Iterator[Settings]:
    """Fresh fast_* databases, migrated and seeded once per run."""
    settings = settings_with_prefix("fast")
    fresh_databases(settings)
    yield settings


@pytest.fixture
async def settings(fast_databases: Settings) -> AsyncIterator[Settings]:
    """This test's settings: topics of its own, and routing's API answered by the fake."""
    suffix = uuid.uuid4().hex[:8]
    async with fake_routing.serving(FAKE_ROUTING_PORT) as url:
        yield fast_databases.model_copy(
            update={
                "lifecycle_topic": f"fast.{suffix}.lifecycle",
                "notifications_topic": f"fast.{suffix}.notifications",
                "dlq_topic": f"fast.{suffix}.dlq",
                "routing_url": url,
            }
        )


@dataclass
class Platform:
    """The five services' runtimes on one in-memory bus."""

    bus: MemoryBus
    settings: Settings
    intake: ServiceRuntime
    routing: ServiceRuntime
    handling: ServiceRuntime
    followup: ServiceRuntime
    kpi: ServiceRuntime

    def notifications(self, request_id: str) -> list[dict[str, object]]:
        """The messages the adapters would send for a request (what people read)."""
        return [p["data"] for p in self.bus.on(self.settings.notifications_topic, request_id)]


@pytest.fixture
async def fast(settings: Settings) -> AsyncIterator[Platform]:
    def runtime(name: str, store: object, consumers: object) -> ServiceRuntime:
        return ServiceRuntime(
            name=name,
            metadata=store.metadata,  # type: ignore[attr-defined]
            handlers=consumers.HANDLERS,  # type: ignore[attr-defined]
            settings=settings,
            prepare_batch=getattr(consumers, "prepare_batch", None),
        )

    bus = MemoryBus()
    platform = Platform(
        bus,
        settings,
        intake=runtime("intake", intake_store, intake_consumers),
        routing=runtime("routing", routing_store, routing_consumers),
        handling=runtime("handling", handling_store, handling_consumers),
        followup=runtime("followup", followup_store, followup_consumers),
        kpi=runtime("kpi", kpi_store, kpi_consumers),
    )
    for rt in (platform.intake, platform.routing, platform.handling, platform.followup, platform.kpi):
        bus.attach(rt)
    try:
        yield platform
    finally:
        for rt in (platform.intake, platform.routing, platform.handling, platform.followup, platform.kpi):
            await rt.engine.dispose()
