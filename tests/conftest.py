"""Test set-up. Unit tests need nothing. Integration and e2e tests get a fresh broker
(tansu, on its own port, unless TEST_KAFKA_BOOTSTRAP names one) and fresh databases of
their own, so they never touch what `make run` is running."""

from __future__ import annotations

import os

import pytest

TEST_BROKER_PORT = int(os.environ.get("TEST_BROKER_PORT", "19092"))
os.environ.setdefault(
    "KAFKA_BOOTSTRAP", os.environ.get("TEST_KAFKA_BOOTSTRAP", f"127.0.0.1:{TEST_BROKER_PORT}")
)
for _service in ("intake", "routing", "handling", "followup", "kpi"):
    os.environ[f"{_service.upper()}_DATABASE_URL"] = (
        f"postgresql+asyncpg://postgres@127.0.0.1:5432/it_{_service}"
    )
os.environ.setdefault("CONSUMER_BACKOFF_SECONDS", "0.05")
os.environ.setdefault("RELAY_POLL_SECONDS", "0.2")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The folder is the marker: tests/unit → unit, and so on.
    for item in items:
        for kind in ("unit", "integration", "e2e", "faults"):
            if f"tests/{kind}/" in str(item.path).replace(os.sep, "/"):
                item.add_marker(getattr(pytest.mark, kind))


@pytest.fixture(scope="session")
def broker():  # type: ignore[no-untyped-def]
    from tests.support.platform import Broker

    b = Broker(os.environ["KAFKA_BOOTSTRAP"])
    b.start()
    yield b
    b.stop()
