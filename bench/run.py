"""`make bench`: figures measured on this machine, written to bench/results.json.

Never timed assertions in tests: this is where speed is measured. Runs on its own broker
(port 29092) and its own bench_* databases, with the five services as processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import random
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KAFKA_BOOTSTRAP", "127.0.0.1:29092")

from bench.pipeline import cpu_seconds, peak_rss_mib, pipeline_at, replay_rate  # noqa: E402
from services.routing.domain.calendar import BusinessCalendar, chinese_calendar_overrides  # noqa: E402
from shared.settings import SERVICES  # noqa: E402
from tests.support.platform import Broker, devctl, fresh_databases, settings_with_prefix  # noqa: E402

PORTS = {service: 28001 + i for i, service in enumerate(SERVICES)}
URL = {service: f"http://127.0.0.1:{port}" for service, port in PORTS.items()}
AGENT = {"Authorization": "Bearer " + devctl.issue_staff_token("agent-bench", "agent")}


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(total_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "when": datetime.now(ZoneInfo("UTC")).isoformat(timespec="seconds"),
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))], 2)


def due_time_rate() -> dict[str, Any]:
    overrides: dict[Any, bool] = {}
    for year in (2024, 2025, 2026):
        overrides.update(chinese_calendar_overrides(year))
    calendar = BusinessCalendar(overrides=overrides)
    rng = random.Random(7)
    base = datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    starts = [base + timedelta(minutes=rng.randint(0, 300 * 24 * 60)) for _ in range(50_000)]
    rates = {}
    for unit, amount in (("working_days", 5), ("working_hours", 12), ("hours", 24)):
        began = time.perf_counter()
        for start in starts:
            calendar.add(start, amount, unit)  # type: ignore[arg-type]
        rates[unit] = round(len(starts) / (time.perf_counter() - began))
    return {"due_times_per_second_one_core": rates, "target": 100_000}


def body(i: int, urgent: bool = False) -> dict[str, Any]:
    content = "楼道燃气泄漏，气味很大" if urgent else f"小区路灯坏了 #{i}，请尽快维修"
    return {"channel": "hotline", "content": content, "requester": {"phone": "13800000000"}}


async def submit_at_rate(client: httpx.AsyncClient, count: int, rate: float) -> tuple[list[str], list[float]]:
    """Submit `count` requests at a fixed offered rate; return ids and latencies (ms)."""
    ids: list[str] = []
    latencies: list[float] = []

    async def one(i: int) -> None:
        began = time.perf_counter()
        response = await client.post(f"{URL['intake']}/v1/requests", json=body(i), headers=AGENT)
        latencies.append((time.perf_counter() - began) * 1000)
        if response.status_code == 201:
            ids.append(response.json()["id"])

    tasks = []
    began = time.perf_counter()
    for i in range(count):
        tasks.append(asyncio.create_task(one(i)))
        await asyncio.sleep(max(0.0, began + (i + 1) / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    return ids, latencies


async def saturated_rate(
    client: httpx.AsyncClient, url: str, count: int = 2000, concurrency: int = 32
) -> float:
    """Accepted submissions per second with `concurrency` clients pushing as hard as they can."""
    sem = asyncio.Semaphore(concurrency)
    done = 0

    async def push(i: int) -> None:
        nonlocal done
        async with sem:
            response = await client.post(f"{url}/v1/requests", json=body(i), headers=AGENT)
            done += response.status_code == 201

    began = time.perf_counter()
    await asyncio.gather(*[push(i) for i in range(count)])
    return done / (time.perf_counter() - began)


async def fastapi_floor_rate(db_url: str) -> tuple[float, float]:
    """The same push against bench/floor.py: FastAPI doing nothing but the raw loop's insert.
    Returns requests/s and the server's CPU ms per request."""
    port = 28010
    env = {**os.environ, "FLOOR_DATABASE_URL": db_url.replace("postgresql+asyncpg", "postgresql")}
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "uvicorn", "bench.floor:app", "--port", str(port), "--log-level", "warning"),
        cwd=ROOT,
        env=env,
    )
    try:
        async with httpx.AsyncClient(
            timeout=30, limits=httpx.Limits(max_connections=64, keepalive_expiry=1.0)
        ) as client:
            url = f"http://127.0.0.1:{port}"
            for _ in range(100):
                if server.returncode is not None:
                    raise RuntimeError(f"bench/floor.py exited with {server.returncode} (port {port} taken?)")
                try:
                    await client.post(f"{url}/v1/requests", json=body(0))
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            before = cpu_seconds(server.pid)
            rate = await saturated_rate(client, url)
            return rate, (cpu_seconds(server.pid) - before) * 1000 / 2000
    finally:
        # The client's connections are closed by now, so uvicorn stops at once.
        server.terminate()
        try:
            await asyncio.wait_for(server.wait(), 10)
        except TimeoutError:
            server.kill()
            await server.wait()


async def intake_throughput(db_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(
        timeout=30, limits=httpx.Limits(max_connections=64, keepalive_expiry=1.0)
    ) as client:
        offered = 100
        ids, latencies = await submit_at_rate(client, 1000, offered)
        intake_pid = int((devctl.RUN_DIR / "bench-intake.pid").read_text())
        before = cpu_seconds(intake_pid)
        saturated = await saturated_rate(client, URL["intake"])
        intake_cpu_ms = (cpu_seconds(intake_pid) - before) * 1000 / 2000
    floor, floor_cpu_ms = await fastapi_floor_rate(db_url)
    raw = await raw_insert_rate(db_url)
    return {
        "fixed_rate": {
            "offered_per_second": offered,
            "accepted": len(ids),
            "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99),
        },
        "saturated_requests_per_second": round(saturated),
        "raw_asyncpg_single_row_inserts_per_second": round(raw),
        "ratio_to_raw": round(saturated / raw, 3),
        "target_ratio": 0.5,
        # What any FastAPI service can reach here: an endpoint doing only the raw insert.
        "fastapi_single_insert_endpoint_per_second": round(floor),
        "fastapi_floor_ratio_to_raw": round(floor / raw, 3),
        "ratio_to_fastapi_floor": round(saturated / floor, 3),
        # Server CPU per request (the client's share excluded): what one core could serve.
        "intake_cpu_ms_per_request": round(intake_cpu_ms, 2),
        "fastapi_floor_cpu_ms_per_request": round(floor_cpu_ms, 2),
    }


async def raw_insert_rate(db_url: str) -> float:
    """The floor: single-row inserts, one connection, each its own transaction."""
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("CREATE TEMP TABLE bench_raw (id text primary key, body jsonb)")
        began = time.perf_counter()
        count = 3000
        for i in range(count):
            await conn.execute("INSERT INTO bench_raw VALUES ($1, $2)", f"r{i}", json.dumps(body(i)))
        return count / (time.perf_counter() - began)
    finally:
        await conn.close()


async def routing_latency(settings: Any) -> dict[str, Any]:
    """From intake's commit of request.received to routing's commit of request.routed."""
    intake = await asyncpg.connect(
        settings.database_url("intake").replace("postgresql+asyncpg", "postgresql")
    )
    routing = await asyncpg.connect(
        settings.database_url("routing").replace("postgresql+asyncpg", "postgresql")
    )

    async def latencies(ids: list[str]) -> list[float]:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            routed = await routing.fetch(
                "SELECT key, min(created_at) AS at FROM outbox "
                "WHERE type = 'request.routed' AND key = ANY($1) GROUP BY key",
                ids,
            )
            if len(routed) == len(ids):
                break
            await asyncio.sleep(0.2)
        received = {
            r["id"]: r["received_at"]
            for r in await intake.fetch("SELECT id, received_at FROM requests WHERE id = ANY($1)", ids)
        }
        return [(r["at"] - received[r["key"]]).total_seconds() * 1000 for r in routed]

    try:
        async with httpx.AsyncClient(
            timeout=30, limits=httpx.Limits(max_connections=64, keepalive_expiry=1.0)
        ) as client:
            warm_up, _ = await submit_at_rate(client, 5, 5)
            await latencies(warm_up)
            ids, _ = await submit_at_rate(client, 300, 30)
            steady = await latencies(ids)
            # A backlog of normal requests, then one urgent request right behind it.
            sem = asyncio.Semaphore(32)

            async def push(i: int) -> str:
                async with sem:
                    r = await client.post(f"{URL['intake']}/v1/requests", json=body(i), headers=AGENT)
                    return str(r.json()["id"])

            backlog = await asyncio.gather(*[push(i) for i in range(1500)])
            urgent = await client.post(
                f"{URL['intake']}/v1/requests", json=body(0, urgent=True), headers=AGENT
            )
            urgent_id = urgent.json()["id"]
            urgent_ms = (await latencies([urgent_id]))[0]
            backlog_ms = await latencies(list(backlog))
        return {
            "steady_30_per_second": {
                "requests": len(steady),
                "p50_ms": percentile(steady, 50),
                "p99_ms": percentile(steady, 99),
            },
            "urgent_behind_a_backlog_of_1500": {
                "urgent_ms": round(urgent_ms, 1),
                "backlog_p50_ms": percentile(backlog_ms, 50),
                "backlog_max_ms": round(max(backlog_ms), 1),
            },
        }
    finally:
        await intake.close()
        await routing.close()


async def drained(settings: Any, timeout: float = 300) -> float:
    """Wait until the KPI service (the last in line) has a fact row for every request."""
    intake = await asyncpg.connect(
        settings.database_url("intake").replace("postgresql+asyncpg", "postgresql")
    )
    kpi = await asyncpg.connect(settings.database_url("kpi").replace("postgresql+asyncpg", "postgresql"))
    began = time.monotonic()
    try:
        while time.monotonic() - began < timeout:
            wanted = await intake.fetchval("SELECT count(*) FROM requests")
            if await kpi.fetchval("SELECT count(*) FROM facts WHERE lead_department IS NOT NULL") >= wanted:
                break
            await asyncio.sleep(0.5)
        return round(time.monotonic() - began, 1)
    finally:
        await intake.close()
        await kpi.close()


async def scheduler_figures(settings: Any) -> dict[str, Any]:
    """100,000 open clocks; 20,000 fall due over 40 s. One sweep's time when nothing is due,
    and how late each breach is marked after its due time (the scheduler sweeps every second)."""
    from services.handling import sla_scheduler as sla
    from services.handling import store as handling_store
    from shared.runtime import ServiceRuntime

    conn = await asyncpg.connect(
        settings.database_url("handling").replace("postgresql+asyncpg", "postgresql")
    )
    await conn.execute("TRUNCATE clocks")
    start = datetime.now(ZoneInfo("UTC"))
    rows = []
    for i in range(100_000):
        due = start + timedelta(seconds=5 + 40 * i / 20_000) if i < 20_000 else start + timedelta(days=3)
        rows.append((f"bench-{i}", "urban", "resolve", start, due, due, None))
    await conn.copy_records_to_table(
        "clocks",
        records=rows,
        columns=["request_id", "department", "clock", "started_at", "due", "original_due", "warn_at"],
    )
    await conn.execute("ANALYZE clocks")
    runtime = ServiceRuntime(
        name="handling", metadata=handling_store.metadata, handlers={}, settings=settings
    )
    try:
        began = time.perf_counter()
        await sla.sweep(runtime.uow)
        idle_sweep_ms = (time.perf_counter() - began) * 1000
        sweeps: list[float] = []
        deadline = time.monotonic() + 50
        while time.monotonic() < deadline:
            began = time.perf_counter()
            await sla.sweep(runtime.uow)
            sweeps.append((time.perf_counter() - began) * 1000)
            await asyncio.sleep(max(0.0, settings.sla_sweep_seconds - (time.perf_counter() - began)))
        lateness = [
            (r["breached_at"] - r["due"]).total_seconds()
            for r in await conn.fetch("SELECT due, breached_at FROM clocks WHERE breached_at IS NOT NULL")
        ]
    finally:
        await runtime.engine.dispose()
        await conn.close()
    return {
        "open_clocks": 100_000,
        "breaches": len(lateness),
        "idle_sweep_ms": round(idle_sweep_ms, 1),
        "busy_sweep_ms_p50": percentile(sweeps, 50),
        "busy_sweep_ms_max": round(max(sweeps), 1),
        "breach_lateness_s_p50": percentile(lateness, 50),
        "breach_lateness_s_p99": percentile(lateness, 99),
        "target_p99_s": 2,
    }


async def platform_figures(settings: Any) -> dict[str, Any]:
    # Latency first, on a quiet platform; then throughput, each phase after the last drained.
    routing = await routing_latency(settings)
    routing["drain_seconds_after"] = await drained(settings)
    intake = await intake_throughput(settings.database_url("intake"))
    intake["drain_seconds_after"] = await drained(settings)
    seconds = int(os.environ.get("BENCH_PIPELINE_SECONDS", "60"))
    pipeline = [await pipeline_at(settings, URL, rate, seconds, devctl.RUN_DIR) for rate in (50, 100, 200)]
    memory = peak_rss_mib(devctl.RUN_DIR, "bench-")
    replay = await replay_rate(settings, int(os.environ.get("BENCH_REPLAY_EVENTS", "1000000")))
    return {
        "routing_latency": routing,
        "intake": intake,
        "pipeline": pipeline,
        "peak_rss_mib_per_service": memory,
        "kpi_replay": replay,
        "scheduler": await scheduler_figures(settings),
    }


@contextlib.contextmanager
def bench_platform(**extra_env: str) -> Iterator[Any]:
    """The five services on fresh `bench` databases and a broker of their own, for as long
    as the block runs; yields their settings. `extra_env` sets more of the services' settings."""
    broker = Broker(os.environ["KAFKA_BOOTSTRAP"])
    broker.start()
    settings = settings_with_prefix("bench", kafka_bootstrap=os.environ["KAFKA_BOOTSTRAP"])
    try:
        fresh_databases(settings)
        env = {f"{s.upper()}_DATABASE_URL": settings.database_url(s) for s in SERVICES}
        env |= {
            "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "INTAKE_URL": URL["intake"],
            "ROUTING_URL": URL["routing"],
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_PER_MINUTE": "0",  # the bench is one client pushing hard on purpose
            **extra_env,
        }
        devctl.start_services(PORTS, env, prefix="bench-")
        devctl.wait_ready(PORTS, timeout=90)
        yield settings
    finally:
        devctl.stop([f"bench-{s}" for s in SERVICES])
        broker.stop()


def main() -> None:
    results: dict[str, Any] = {"machine": machine(), "calendar": due_time_rate()}
    with bench_platform() as settings:
        results.update(asyncio.run(platform_figures(settings)))
    out = ROOT / "bench" / "results.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print_table(results)
    print(f"\nwritten to {out}")


def print_table(r: dict[str, Any]) -> None:
    m = r["machine"]
    print(f"\nmachine: {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}")
    for unit, rate in r["calendar"]["due_times_per_second_one_core"].items():
        print(f"  due times/s ({unit:<13}) {rate:>10,}   target ≥ {r['calendar']['target']:,}")
    i = r["intake"]
    print(
        f"  intake at {i['fixed_rate']['offered_per_second']}/s offered: p50 {i['fixed_rate']['p50_ms']} ms, "
        f"p99 {i['fixed_rate']['p99_ms']} ms"
    )
    print(
        f"  intake saturated        {i['saturated_requests_per_second']:>10,} req/s   raw insert "
        f"{i['raw_asyncpg_single_row_inserts_per_second']:,}/s   ratio {i['ratio_to_raw']} (target ≥ 0.5)"
    )
    print(
        f"  FastAPI floor           {i['fastapi_single_insert_endpoint_per_second']:>10,} req/s   "
        f"(an endpoint doing only that insert; floor/raw {i['fastapi_floor_ratio_to_raw']}, "
        f"intake/floor {i['ratio_to_fastapi_floor']})"
    )
    print(
        f"  server CPU per request  intake {i['intake_cpu_ms_per_request']} ms "
        f"(with its relay and consumer), floor {i['fastapi_floor_cpu_ms_per_request']} ms"
    )
    s = r["routing_latency"]["steady_30_per_second"]
    print(f"  received→routed at 30/s p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms")
    k = r["scheduler"]
    print(
        f"  scheduler: {k['open_clocks']:,} open clocks, idle sweep {k['idle_sweep_ms']} ms, "
        f"busy sweep p50 {k['busy_sweep_ms_p50']} ms; breach lateness p50 {k['breach_lateness_s_p50']} s, "
        f"p99 {k['breach_lateness_s_p99']} s over {k['breaches']:,} breaches (target ≤ 2 s)"
    )
    for p in r["pipeline"]:
        v = p["post_to_case_visible_ms"]
        print(
            f"  pipeline offered {p['offered_per_second']}/s (achieved {p['achieved_per_second']}/s): "
            f"POST→case visible p50 {v['p50']} ms, p95 {v['p95']} ms, p99 {v['p99']} ms; "
            f"worst lag by 5 s {p['max_consumer_lag_over_time']}"
        )
        cpu = p["cpu_ms_per_request"]
        print(
            f"    CPU ms per request: {', '.join(f'{k} {v}' for k, v in cpu.items())}; "
            f"total {round(sum(cpu.values()), 1)}"
        )
    print(f"  peak RSS MiB per service: {r['peak_rss_mib_per_service']}")
    q = r["kpi_replay"]
    print(
        f"  KPI replay: {q['events']:,} events in {q['seconds']} s = {q['events_per_second']:,}/s "
        f"(target 1,000,000 in ≤ 60 s)"
    )
    u = r["routing_latency"]["urgent_behind_a_backlog_of_1500"]
    print(
        f"  urgent behind 1500      {u['urgent_ms']} ms (backlog p50 {u['backlog_p50_ms']} ms, "
        f"max {u['backlog_max_ms']} ms)"
    )


if __name__ == "__main__":
    main()
