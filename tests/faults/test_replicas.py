"""Scale out on one machine: two replicas of every service on the same databases and consumer
groups. The partitions split between them (both replicas of each service apply events), one
replica of every service is killed with SIGKILL under load, and nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth import issue_staff_token
from shared.settings import SERVICES, Settings
from tests.support.platform import PORT_OFFSET, Broker, devctl, fresh_databases, settings_with_prefix

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from check_consistency import check

AGENT = {"Authorization": "Bearer " + issue_staff_token("agent-replica", "agent")}
BOOTSTRAP = f"127.0.0.1:{17093 + PORT_OFFSET}"
PORTS = {
    "a": {service: 17021 + PORT_OFFSET + i for i, service in enumerate(SERVICES)},
    "b": {service: 17031 + PORT_OFFSET + i for i, service in enumerate(SERVICES)},
}


def _name(replica: str, service: str) -> str:
    return f"replica-{replica}-{service}"


@pytest.fixture(scope="module")
def replicas() -> Iterator[Settings]:
    broker = Broker(BOOTSTRAP)
    os.environ.pop("TEST_KAFKA_BOOTSTRAP", None)
    broker.start()
    settings = settings_with_prefix("replica", kafka_bootstrap=BOOTSTRAP)
    fresh_databases(settings)
    env = {f"{s.upper()}_DATABASE_URL": settings.database_url(s) for s in SERVICES}
    env |= {"KAFKA_BOOTSTRAP": BOOTSTRAP, "RELAY_POLL_SECONDS": "0.2", "RATE_LIMIT_PER_MINUTE": "0"}
    # Both replicas call replica a's peers (b is the one that dies).
    env |= {f"{s.upper()}_URL": f"http://127.0.0.1:{port}" for s, port in PORTS["a"].items()}
    for replica, ports in PORTS.items():
        devctl.start_services(ports, env, prefix=f"replica-{replica}-")
    try:
        for ports in PORTS.values():
            devctl.wait_ready(ports, timeout=120)
        yield settings
    finally:
        devctl.stop([_name(r, s) for r in PORTS for s in SERVICES])
        broker.stop()


async def consumed(http: httpx.AsyncClient, port: int) -> float:
    """Events this process applied (its /metrics), over all its consumers."""
    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    return sum(
        float(m.group(1))
        for m in re.finditer(r'^events_consumed_total\{[^}]*outcome="applied"[^}]*\} (\S+)$', text, re.M)
    )


async def submit(http: httpx.AsyncClient, i: int, sent: set[str], ids: set[str]) -> None:
    """One request, first to either replica's intake, retried (same external id) on the other."""
    external_id = f"replica-{uuid.uuid4()}"
    sent.add(external_id)
    order = ["a", "b"] if i % 2 else ["b", "a"]
    for attempt in range(30):
        port = PORTS[order[min(attempt, 1)]]["intake"]
        try:
            r = await http.post(
                f"http://127.0.0.1:{port}/v1/requests",
                headers=AGENT,
                json={
                    "channel": "hotline",
                    "external_id": external_id,
                    "content": f"小区门口路灯坏了好几天了 {i}号",
                    "requester": {"phone": "13800000000"},
                },
            )
            if r.status_code in (200, 201):
                ids.add(r.json()["id"])
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    raise AssertionError(f"request {i} was never accepted")


async def settle(settings: Settings, timeout: float = 180) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check(settings)
        if not result["problems"]:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not consistent after {timeout}s: {result['problems'][:5]}")
        await asyncio.sleep(2)


async def test_two_replicas_split_the_work_and_one_killed_under_load_loses_nothing(
    replicas: Settings,
) -> None:
    sent: set[str] = set()
    ids: set[str] = set()
    sem = asyncio.Semaphore(6)
    async with httpx.AsyncClient(timeout=30) as http:

        async def one(i: int) -> None:
            async with sem:
                await submit(http, i, sent, ids)

        await asyncio.gather(*[one(i) for i in range(60)])
        await settle(replicas)
        # Both replicas of every consuming service hold partitions and apply events.
        for service in ("intake", "routing", "handling", "followup", "kpi"):
            applied = [await consumed(http, PORTS[r][service]) for r in ("a", "b")]
            assert all(n > 0 for n in applied), f"{service}: events applied per replica {applied}"

        load = asyncio.gather(*[one(i) for i in range(60, 200)])
        await asyncio.sleep(2.0)
        for service in SERVICES:  # in the middle of their batches, relays and sweeps
            pid = int((devctl.RUN_DIR / f"{_name('b', service)}.pid").read_text())
            os.killpg(pid, signal.SIGKILL)
        await load
    after = await settle(replicas, timeout=240)
    # Nothing lost, nothing doubled: one request per external id sent, every service agrees.
    assert len(ids) == len(sent) == 200
    assert after["requests"] == 200
    assert after["kpi_rebuild"]["requests_rebuilt"] == 200 and after["kpi_rebuild"]["differences"] == 0
