"""The KPI consumer catching up: events already on the topic, handed to its processor in
fetches of 200 (as `InboxConsumer` does), against a fresh database of its own. The broker's
part is left out (`make bench` measures the pipeline with it): this is what the consumer
itself can apply per second.

    python bench/kpi_consumer.py [--requests 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pipeline import _templates  # noqa: E402
from services.kpi import store  # noqa: E402
from services.kpi.consumers import HANDLERS, prepare_batch  # noqa: E402
from shared.runtime import ServiceRuntime  # noqa: E402
from shared.settings import Settings  # noqa: E402

DB = os.environ.get("BENCH_CONSUMER_DB", "bench_scale_consumer")
URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DB}"
FETCH = 200


def messages(requests: int) -> list[bytes]:
    """Each request's five events in order; requests interleaved in groups of 40 (a fetch
    holds the events of many requests, each request's in its order)."""
    templates = _templates()
    out: list[bytes] = []
    group = 40
    for start in range(0, requests, group):
        ids = [str(uuid.uuid4()) for _ in range(min(group, requests - start))]
        for step, template in enumerate(templates):
            for i, rid in enumerate(ids):
                at = datetime.fromisoformat(template["occurred_at"]) + timedelta(minutes=start + i)
                body: dict[str, Any] = {
                    **template,
                    "id": str(uuid.uuid4()),
                    "request_id": rid,
                    "occurred_at": (at + timedelta(hours=step)).isoformat(),
                }
                out.append(json.dumps(body).encode())
    return out


async def run(requests: int) -> dict[str, Any]:
    settings = Settings(kpi_database_url=URL)
    runtime = ServiceRuntime(
        name="kpi", metadata=store.metadata, handlers=HANDLERS, settings=settings, prepare_batch=prepare_batch
    )
    processor = runtime.processor()
    raws = messages(requests)
    started = time.perf_counter()
    cpu = time.process_time()
    for i in range(0, len(raws), FETCH):
        outcomes = await processor.process_batch(raws[i : i + FETCH])
        assert all(o[0] == "applied" for o in outcomes), outcomes[:3]
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    async with runtime.sessions() as session:
        differences = await store.recount(session)
    await runtime.engine.dispose()
    return {
        "events": len(raws),
        "seconds": round(seconds, 2),
        "events_per_second": round(len(raws) / seconds),
        "consumer_cpu_ms_per_event": round(1000 * cpu_seconds / len(raws), 3),
        "count_differences": len(differences),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=4000)
    args = parser.parse_args()
    from shared.migrations import drop_database, upgrade

    settings = Settings(kpi_database_url=URL)
    asyncio.run(drop_database(settings.database_url("kpi")))
    upgrade(["kpi"], settings)
    print(json.dumps(asyncio.run(run(args.requests)), indent=2))


if __name__ == "__main__":
    main()
