"""Test set-up. Unit tests need nothing. Integration and e2e tests get a fresh broker
(tansu, on its own port, unless TEST_KAFKA_BOOTSTRAP names one) and fresh databases of
their own, so they never touch what `make run` is running."""

from __future__ import annotations

import os
import time

import pytest

# The suite never reads the wall clock: every process it starts runs on a clock pinned to
# this instant at the moment the suite began (shared.clock). `make test-instants` runs the
# suite again under other instants (a Saturday night, a holiday's eve, a month's last minute,
# New Year's Eve); TEST_CLOCK_AT picks one by hand.
DEFAULT_PINNED_INSTANT = "2026-12-02T10:00:00+08:00"  # a Wednesday morning, working hours
os.environ["CLOCK_PINNED_AT"] = os.environ.get("TEST_CLOCK_AT") or DEFAULT_PINNED_INSTANT
os.environ.setdefault("CLOCK_PINNED_ANCHOR", repr(time.time()))

# Two checkouts can run their suites side by side: TEST_SANDBOX prefixes every test database
# and TEST_PORT_OFFSET moves every test port (broker and services).
SANDBOX = os.environ.get("TEST_SANDBOX", "")
PORT_OFFSET = int(os.environ.get("TEST_PORT_OFFSET", "0"))
TEST_BROKER_PORT = int(os.environ.get("TEST_BROKER_PORT", str(19092 + PORT_OFFSET)))
os.environ.setdefault(
    "KAFKA_BOOTSTRAP", os.environ.get("TEST_KAFKA_BOOTSTRAP", f"127.0.0.1:{TEST_BROKER_PORT}")
)
for _service in ("intake", "routing", "handling", "followup", "kpi"):
    os.environ[f"{_service.upper()}_DATABASE_URL"] = (
        f"postgresql+asyncpg://postgres@127.0.0.1:5432/{SANDBOX}it_{_service}"
    )
# In-process tests never reach a platform `make run` may have started on the default ports:
# a service they do not start is unreachable (e2e and fault runs name their own URLs).
for _peer in ("INTAKE", "ROUTING", "HANDLING", "FOLLOWUP", "KPI"):
    os.environ.setdefault(f"{_peer}_URL", "http://127.0.0.1:9")
os.environ.setdefault("CONSUMER_BACKOFF_SECONDS", "0.05")
os.environ.setdefault("RELAY_POLL_SECONDS", "0.2")
# Tests wait on many hops one after another: shorter broker waits keep the suite quick.
os.environ.setdefault("CONSUMER_FETCH_MAX_WAIT_MS", "50")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The folder is the marker: tests/unit → unit, and so on.
    for item in items:
        for kind in ("unit", "fast", "integration", "e2e", "faults"):
            if f"tests/{kind}/" in str(item.path).replace(os.sep, "/"):
                item.add_marker(getattr(pytest.mark, kind))


@pytest.fixture(scope="session")
def broker():  # type: ignore[no-untyped-def]
    from tests.support.platform import Broker

    b = Broker(os.environ["KAFKA_BOOTSTRAP"])
    b.start()
    yield b
    b.stop()
