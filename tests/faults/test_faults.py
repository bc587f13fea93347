"""The fault suite (`make test-faults`): drive requests through the running platform, inject
a fault, let it settle, and require the cross-service consistency check to pass."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from shared.auth import issue_staff_token
from tests.faults.conftest import Platform
from tests.support.events import read_topic

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from check_consistency import check

AGENT = {"Authorization": "Bearer " + issue_staff_token("agent-fault", "agent")}
URBAN = {"Authorization": "Bearer " + issue_staff_token("h-urban", "handler", "urban")}


async def drive(platform: Platform, count: int, concurrency: int = 8) -> list[str]:
    """Submit requests; accept and resolve a few of them along the way."""
    ids: list[str] = []
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30) as http:

        async def one(i: int) -> None:
            external_id = f"fault-{uuid.uuid4()}"  # the same on every retry: no duplicates
            async with sem:
                for _ in range(20):  # a service may be down for a moment: retry, as an adapter would
                    try:
                        r = await http.post(
                            f"{platform.urls['intake']}/v1/requests",
                            headers=AGENT,
                            json={
                                "channel": "hotline",
                                "external_id": external_id,
                                "content": f"路灯坏了 #{i}",
                                "requester": {"phone": "13800000000"},
                            },
                        )
                        if r.status_code in (200, 201):
                            ids.append(r.json()["id"])
                            return
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.5)

        await asyncio.gather(*[one(i) for i in range(count)])
    return ids


async def work_some(platform: Platform, ids: list[str]) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        for rid in ids:
            for _ in range(40):
                r = await http.post(
                    f"{platform.urls['handling']}/v1/cases/{rid}/accept", headers=URBAN, json={}
                )
                if r.status_code in (200, 409):
                    break
                await asyncio.sleep(0.25)
            await http.post(
                f"{platform.urls['handling']}/v1/cases/{rid}/resolve",
                headers=URBAN,
                json={"outcome": "resolved", "reply": "已修复"},
            )


async def settle(platform: Platform, timeout: float = 150) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check(platform.settings)
        if not result["problems"]:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not consistent after {timeout}s: {result['problems'][:5]}")
        await asyncio.sleep(2)


async def test_a_consumer_killed_mid_batch_restarts_and_nothing_is_lost(platform: Platform) -> None:
    driving = asyncio.create_task(drive(platform, 150))
    await asyncio.sleep(1.0)
    os.killpg(platform.pid("routing"), signal.SIGKILL)  # in the middle of its batches
    ids = await driving
    platform.start("routing")
    await work_some(platform, ids[:5])
    result = await settle(platform)
    assert result["requests"] >= 150 and result["kpi_rebuild"]["differences"] == 0


async def test_every_event_delivered_twice_has_one_effect(platform: Platform) -> None:
    before = await settle(platform)
    for service in ("intake", "routing", "handling", "followup"):
        conn = await asyncpg.connect(platform.settings.database_url(service).replace("+asyncpg", ""))
        try:
            await conn.execute("UPDATE outbox SET published_at = NULL")  # what `devctl republish` does
        finally:
            await conn.close()
    await asyncio.sleep(3)
    after = await settle(platform)
    assert after["requests"] == before["requests"] and after["states"] == before["states"]


async def test_the_broker_restarts_empty_and_the_relays_republish(platform: Platform) -> None:
    await drive(platform, 30)
    before = await settle(platform)
    platform.broker.restart()  # the development broker keeps nothing
    ids = await drive(platform, 30)
    await work_some(platform, ids[:3])
    after = await settle(platform, timeout=240)
    assert after["requests"] == before["requests"] + 30
    assert after["kpi_rebuild"]["requests_rebuilt"] == after["requests"]


async def test_database_connections_cut_while_busy(platform: Platform) -> None:
    driving = asyncio.create_task(drive(platform, 80))
    await asyncio.sleep(0.5)
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        cut = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname LIKE 'fault_%' AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert cut > 0
    ids = await driving
    assert len(ids) == 80
    await settle(platform)


async def test_a_poison_event_is_dead_lettered_and_the_rest_flows_on(platform: Platform) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=platform.settings.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            platform.settings.lifecycle_topic, key=b"poison", value=b'{"type": "nonsense"}'
        )
    finally:
        await producer.stop()
    await drive(platform, 20)
    await settle(platform)
    dead = await read_topic(
        platform.settings.kafka_bootstrap, platform.settings.dlq_topic, expected=5, timeout=30
    )
    consumers = {dict(r.headers)["consumer"] for r in dead if r.key == b"poison"}
    assert consumers == {b"intake", b"routing", b"handling", b"followup", b"kpi"}


async def test_a_burst_of_ten_times_the_steady_rate_drains_and_nothing_is_dropped(platform: Platform) -> None:
    from bench.loadgen import LoadGenerator, Results

    before = (await settle(platform))["requests"]
    generator = LoadGenerator(platform.urls["intake"], seed=10)
    results = Results()
    steady = 2.0
    await generator.run(steady, 10, results=results)
    await generator.run(steady * 10, 30, results=results)  # the burst
    await generator.run(steady, 10, results=results)
    assert results.errors == {}, results.errors  # adapters re-send on a timeout; none gave up
    assert results.sent == 10 * 2 + 30 * 20 + 10 * 2
    after = await settle(platform, timeout=300)
    # Every request the platform answered for exists once, in every service.
    assert after["requests"] == before + len(results.ids)
    assert after["kpi_rebuild"]["requests_rebuilt"] == after["requests"]
