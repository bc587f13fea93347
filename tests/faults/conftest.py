from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from shared.settings import SERVICES, Settings
from tests.support.platform import PORT_OFFSET, Broker, devctl, fresh_databases, settings_with_prefix

PORTS = {service: 17001 + PORT_OFFSET + i for i, service in enumerate(SERVICES)}  # below the ephemeral range
BOOTSTRAP = f"127.0.0.1:{17092 + PORT_OFFSET}"


@dataclass
class Platform:
    settings: Settings
    urls: dict[str, str]
    env: dict[str, str]
    broker: Broker

    def start(self, service: str) -> None:
        devctl.start_services({service: PORTS[service]}, self.env, prefix="fault-", only=[service])
        devctl.wait_ready({service: PORTS[service]}, timeout=60)

    def pid(self, service: str) -> int:
        return int((devctl.RUN_DIR / f"fault-{service}.pid").read_text())


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    """The five services as processes on a broker and databases of their own."""
    broker = Broker(BOOTSTRAP)
    os.environ.pop("TEST_KAFKA_BOOTSTRAP", None)
    broker.start()
    settings = settings_with_prefix("fault", kafka_bootstrap=BOOTSTRAP)
    fresh_databases(settings)
    env = {f"{s.upper()}_DATABASE_URL": settings.database_url(s) for s in SERVICES}
    env |= {
        "KAFKA_BOOTSTRAP": BOOTSTRAP,
        "RELAY_POLL_SECONDS": "0.2",
        "RATE_LIMIT_PER_MINUTE": "0",
    }
    env |= {f"{s.upper()}_URL": f"http://127.0.0.1:{port}" for s, port in PORTS.items()}
    devctl.start_services(PORTS, env, prefix="fault-")
    try:
        devctl.wait_ready(PORTS, timeout=90)
        yield Platform(settings, {s: f"http://127.0.0.1:{p}" for s, p in PORTS.items()}, env, broker)
    finally:
        devctl.stop([f"fault-{s}" for s in SERVICES])
        broker.stop()
