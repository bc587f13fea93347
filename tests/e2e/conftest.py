from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from shared.settings import SERVICES, Settings, get_settings
from tests.support.platform import PORT_OFFSET, Broker, devctl, fresh_databases, settings_with_prefix

E2E_PORTS = {service: 18001 + PORT_OFFSET + i for i, service in enumerate(SERVICES)}


@dataclass(frozen=True)
class Platform:
    settings: Settings
    urls: dict[str, str]


@pytest.fixture(scope="session")
def services(broker: Broker) -> Iterator[Platform]:
    """The five services as separate processes, on e2e_* databases and the test broker."""
    settings = settings_with_prefix("e2e", kafka_bootstrap=get_settings().kafka_bootstrap)
    fresh_databases(settings)
    env = {f"{s.upper()}_DATABASE_URL": settings.database_url(s) for s in SERVICES}
    env["KAFKA_BOOTSTRAP"] = settings.kafka_bootstrap
    env["RELAY_POLL_SECONDS"] = "0.2"
    env |= {f"{s.upper()}_URL": f"http://127.0.0.1:{port}" for s, port in E2E_PORTS.items()}
    names = [f"e2e-{s}" for s in SERVICES]
    devctl.start_services(E2E_PORTS, env, prefix="e2e-")
    try:
        devctl.wait_ready(E2E_PORTS, timeout=90)
        yield Platform(settings, {s: f"http://127.0.0.1:{p}" for s, p in E2E_PORTS.items()})
    finally:
        devctl.stop(names)
