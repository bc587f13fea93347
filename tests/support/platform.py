"""Fresh broker and databases for integration and e2e tests (real ones, no mocks)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from shared.settings import SERVICES, Settings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import devctl  # noqa: E402

# See tests/conftest.py: side-by-side checkouts keep to databases and ports of their own.
SANDBOX = os.environ.get("TEST_SANDBOX", "")
PORT_OFFSET = int(os.environ.get("TEST_PORT_OFFSET", "0"))


def settings_with_prefix(prefix: str, **overrides: object) -> Settings:
    urls = {
        f"{s}_database_url": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{SANDBOX}{prefix}_{s}"
        for s in SERVICES
    }
    return Settings(**{**urls, **overrides})  # type: ignore[arg-type]


def fresh_databases(settings: Settings) -> None:
    from shared.migrations import drop_database, upgrade

    devctl.ensure_postgres(settings)
    for service in SERVICES:
        asyncio.run(drop_database(settings.database_url(service)))
    upgrade(list(SERVICES), settings)
    asyncio.run(devctl.seed(settings))


class Broker:
    """The development broker on a test port; started fresh unless one was given."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.pid: int | None = None

    def start(self) -> None:
        host, _, port = self.bootstrap.partition(":")
        if os.environ.get("TEST_KAFKA_BOOTSTRAP"):
            return
        if devctl.port_open(host, int(port)):
            raise RuntimeError(f"port {port} is taken; set TEST_BROKER_PORT to a free port")
        self.pid = devctl.start_broker(int(port), name=f"test-broker-{port}")

    def stop(self) -> None:
        if self.pid is None:
            return
        devctl.terminate(self.pid)
        self.pid = None

    def restart(self) -> None:
        self.stop()
        self.start()
