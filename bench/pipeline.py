"""Pipeline, replay and memory figures for `make bench` (bench/run.py calls these).

pipeline: requests from the load generator at fixed offered rates; for each, the time from
the start of its `POST /v1/requests` to its case being visible in handling's queue (a
watcher reads new case rows every 20 ms), with every consumer's lag sampled from the
services' /metrics every 5 s. replay: the KPI rebuild's fold over a topic of synthetic but
valid events. memory: each service process's peak resident set (VmHWM).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from bench.loadgen import LoadGenerator, Results
from shared.events.catalogue import (
    Due,
    FirstResponder,
    RequestAccepted,
    RequestFeedbackGiven,
    RequestReceived,
    RequestResolved,
    RequestRouted,
)
from shared.events.envelope import SYSTEM, new_envelope
from shared.kafka import ensure_topics
from shared.settings import SERVICES, Settings

_LAG = re.compile(r'^consumer_lag_events\{consumer="([^"]+)",partition="\d+"\} ([0-9.e+]+)$', re.M)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))], 1)


async def consumer_lag(client: httpx.AsyncClient, urls: dict[str, str]) -> dict[str, int]:
    """Every consumer's lag (summed over its partitions) as its service reports it."""
    lag: dict[str, int] = {}
    for service in SERVICES:
        try:
            text = (await client.get(f"{urls[service]}/metrics")).text
        except httpx.HTTPError:
            continue
        for consumer, value in _LAG.findall(text):
            lag[consumer] = lag.get(consumer, 0) + int(float(value))
    return lag


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_process(run_dir: Path, settings: Settings) -> dict[str, float]:
    """CPU seconds used so far by each bench service, the broker, every PostgreSQL process
    (backends come and go: those that ended in between are missed) and this process (the
    load generator and the watchers)."""
    used: dict[str, float] = {}
    port = settings.kafka_bootstrap.rsplit(":", 1)[1]
    for name, pid_file in [*((s, f"bench-{s}.pid") for s in SERVICES), ("broker", f"test-broker-{port}.pid")]:
        with contextlib.suppress(OSError, ValueError):
            used[name] = cpu_seconds(int((run_dir / pid_file).read_text()))
    postgres = 0.0
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            if proc.name.isdigit() and (proc / "comm").read_text().strip() == "postgres":
                postgres += cpu_seconds(int(proc.name))
    used["postgresql"] = postgres
    me = resource.getrusage(resource.RUSAGE_SELF)
    used["load_generator"] = me.ru_utime + me.ru_stime
    return used


async def pipeline_at(
    settings: Settings, urls: dict[str, str], rate: int, seconds: int, run_dir: Path
) -> dict[str, Any]:
    handling = await asyncpg.connect(
        settings.database_url("handling").replace("postgresql+asyncpg", "postgresql")
    )
    seen: dict[str, float] = {}
    stop = asyncio.Event()
    last_seq = int(await handling.fetchval("SELECT coalesce(max(seq), 0) FROM cases"))
    began = time.monotonic()
    lag_samples: list[dict[str, Any]] = []

    async def watch_cases() -> None:
        nonlocal last_seq
        while not stop.is_set():
            rows = await handling.fetch(
                "SELECT seq, request_id FROM cases WHERE seq > $1 ORDER BY seq", last_seq
            )
            at = time.monotonic()
            for row in rows:
                seen.setdefault(row["request_id"], at)
                last_seq = max(last_seq, row["seq"])
            await asyncio.sleep(0.02)

    async def sample_lag() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            while not stop.is_set():
                lag = await consumer_lag(client, urls)
                lag_samples.append({"second": round(time.monotonic() - began), "lag": lag})
                await asyncio.sleep(5)

    cpu_before = cpu_by_process(run_dir, settings)
    watcher = asyncio.create_task(watch_cases())
    sampler = asyncio.create_task(sample_lag())
    results = Results()
    try:
        await LoadGenerator(urls["intake"], seed=rate).run(rate, seconds, results=results)
        offered_for = time.monotonic() - began
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if set(results.sent_at) <= set(seen):
                break
            await asyncio.sleep(0.2)
        drained_after = time.monotonic() - began - offered_for
        cpu_after = cpu_by_process(run_dir, settings)
    finally:
        stop.set()
        await asyncio.gather(watcher, sampler, return_exceptions=True)
        await handling.close()
    latencies = [(seen[rid] - sent) * 1000 for rid, sent in results.sent_at.items() if rid in seen]
    worst_lag = [max(sample["lag"].values(), default=0) for sample in lag_samples]
    return {
        "offered_per_second": rate,
        "seconds": seconds,
        "achieved_per_second": round(results.sent / offered_for, 1),
        **results.summary(),
        "routed_requests_measured": len(latencies),
        "not_visible_after_drain": len(set(results.sent_at) - set(seen)),
        "post_ms": {"p50": percentile(results.latencies_ms, 50), "p99": percentile(results.latencies_ms, 99)},
        "post_to_case_visible_ms": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99),
        },
        "drained_seconds_after_load": round(drained_after, 1),
        # CPU per request sent, over the load and the drain after it (2 cores = 2,000 ms/s).
        "cpu_ms_per_request": {
            name: round((cpu_after[name] - cpu_before[name]) * 1000 / max(1, results.sent), 2)
            for name in cpu_before
            if name in cpu_after
        },
        "max_consumer_lag_over_time": worst_lag,
        "lag_samples": lag_samples,
    }


def peak_rss_mib(run_dir: Path, prefix: str) -> dict[str, float]:
    peaks: dict[str, float] = {}
    for service in SERVICES:
        try:
            pid = int((run_dir / f"{prefix}{service}.pid").read_text())
            status = Path(f"/proc/{pid}/status").read_text()
        except (OSError, ValueError):
            continue
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
        peaks[service] = round(kb / 1024, 1)
    return peaks


def _templates() -> list[dict[str, Any]]:
    """One valid envelope per event type of a request's ordinary life, as JSON-ready dicts."""
    t0 = datetime(2026, 11, 2, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    due = Due(accept=t0 + timedelta(days=1), resolve=t0 + timedelta(days=5), feedback=t0 + timedelta(days=6))
    datas: list[Any] = [
        RequestReceived(
            channel="hotline",
            category="repair",
            urgency="normal",
            submitted_at=t0,
            first_responder=FirstResponder(kind="staff", id="agent-1"),
            requester_ref="rq_bench",
            contact_masked="138****0000",
        ),
        RequestRouted(lead_department="urban", due=due, category="repair"),
        RequestAccepted(department="urban", handler_id="h-1"),
        RequestResolved(department="urban", handler_id="h-1", outcome="resolved", reply="已修复"),
        RequestFeedbackGiven(channel="hotline", by="h-1", department="urban"),
    ]
    out = []
    for step, data in enumerate(datas):
        envelope = new_envelope(
            type=data.TYPE,
            version=data.VERSION,
            request_id="r",
            producer="bench",
            actor=SYSTEM,
            data=data.model_dump(mode="json"),
            occurred_at=t0 + timedelta(hours=step),
        )
        out.append(envelope.model_dump(mode="json"))
    return out


async def replay_rate(settings: Settings, events: int) -> dict[str, Any]:
    """Fill a topic of its own with `events` events (five per request), then time the KPI
    rebuild's replay of it (read, decode, dedupe by id, fold each request)."""
    from services.kpi.rebuild import replay

    topic = f"bench.replay.{uuid.uuid4().hex[:6]}"
    await ensure_topics(settings.kafka_bootstrap, [topic], settings.topic_partitions)
    templates = _templates()
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, linger_ms=20, max_batch_size=1_000_000, acks=1
    )
    await producer.start()
    began = time.perf_counter()
    try:
        pending = []
        for i in range(events // len(templates)):
            request_id = f"bench-{i}"
            for template in templates:
                event = {**template, "id": str(uuid.uuid4()), "request_id": request_id}
                event["correlation_id"] = event["id"]
                pending.append(
                    await producer.send(topic, key=request_id.encode(), value=json.dumps(event).encode())
                )
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    produced_in = time.perf_counter() - began
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    workers = os.cpu_count() or 1
    last: dict[str, float] = {}

    def note(step: str, done: int, of: int) -> None:
        last[step] = time.perf_counter()

    checkpoint, _, work = await replay(
        settings.model_copy(update={"lifecycle_topic": topic}), note, workers=workers, compare=False
    )
    took = time.perf_counter() - began
    shutil.rmtree(work, ignore_errors=True)
    read = checkpoint.events_read
    return {
        "events": read,
        "requests": sum(r["requests_rebuilt"] for r in checkpoint.folded.values()),
        "buckets": checkpoint.buckets,
        "workers": workers,
        "seconds": round(took, 1),
        "spill_seconds": round(last.get("spill", began) - began, 1),
        "fold_seconds": round(took - (last.get("spill", began) - began), 1),
        "events_per_second": round(read / took),
        "target": "1,000,000 events in at most 60 s",
        "topic_filled_in_seconds": round(produced_in, 1),
        "bench_process_peak_rss_mib": round(
            max(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024
        ),
        "largest_fold_worker_peak_rss_mib": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        ),
    }
