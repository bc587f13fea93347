"""Each service's consumer catching up: a request's ordinary life (received, routed,
accepted, resolved, feedback given) already on the topic for N requests, handed to the
service's inbox processor in fetches of 200 (as `InboxConsumer` does), against a fresh
database of its own. The broker's part is left out (`make bench` measures the pipeline with
it): this is what each consumer itself can apply per second (issue 20: ≥ 5,000/s). Intake's
database is given each request's row first (as its API would have stored it on submit), so
its figure is the cost of following each request's state, not of finding nothing
(`--unknown-to-intake` measures that path).

    python bench/consumers.py [--requests 2000] [--service handling ...] [--unknown-to-intake]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bench.kpi_consumer import FETCH, messages  # noqa: E402
from shared.runtime import ServiceRuntime  # noqa: E402
from shared.settings import SERVICES, Settings  # noqa: E402

PREFIX = os.environ.get("BENCH_CONSUMER_DB_PREFIX", "bench_consumer_")
RESULTS = ROOT / "bench" / "results.json"


def _settings(service: str) -> Settings:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PREFIX}{service}"
    return Settings(**{f"{service}_database_url": url})  # type: ignore[arg-type]


async def _submitted(runtime: ServiceRuntime, raws: list[bytes]) -> None:
    """Intake's rows of the backlog's requests, as a submit stores them (state received)."""
    from services.intake.store import requests

    rows = []
    for raw in raws:
        body = json.loads(raw)
        if body["type"] != "request.received":
            continue
        rows.append(
            {
                "id": body["request_id"],
                "state": "received",
                "channel": "hotline",
                "content": "楼道灯坏了",
                "category": "repair",
                "urgency": "normal",
                "first_responder_kind": "staff",
                "first_responder_id": "agent-1",
                "submitted_at": datetime.fromisoformat(body["occurred_at"]),
            }
        )
    async with runtime.sessions() as session:
        await session.execute(insert(requests), rows)
        await session.commit()


async def run(service: str, raws: list[bytes], known_to_intake: bool = True) -> dict[str, Any]:
    store = importlib.import_module(f"services.{service}.store")
    consumers = importlib.import_module(f"services.{service}.consumers")
    runtime = ServiceRuntime(
        name=service,
        metadata=store.metadata,
        handlers=consumers.HANDLERS,
        settings=_settings(service),
        prepare_batch=getattr(consumers, "prepare_batch", None),  # as each service main wires it
    )
    if service == "intake" and known_to_intake:
        await _submitted(runtime, raws)
    processor = runtime.processor()
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    cpu = time.process_time()
    for i in range(0, len(raws), FETCH):
        for outcome in await processor.process_batch(raws[i : i + FETCH]):
            outcomes[outcome[0]] = outcomes.get(outcome[0], 0) + 1
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    await runtime.engine.dispose()
    return {
        "events": len(raws),
        "outcomes": outcomes,
        "seconds": round(seconds, 2),
        "events_per_second": round(len(raws) / seconds),
        "consumer_cpu_ms_per_event": round(1000 * cpu_seconds / len(raws), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--service", action="append", choices=SERVICES)
    parser.add_argument("--unknown-to-intake", action="store_true", help="intake has no row of them")
    args = parser.parse_args()
    from shared.migrations import drop_database, upgrade

    logging.disable(logging.WARNING)  # e.g. intake, told of requests it does not know, says so per event
    raws = messages(args.requests)
    figures: dict[str, Any] = {}
    for service in args.service or SERVICES:
        settings = _settings(service)
        asyncio.run(drop_database(settings.database_url(service)))
        upgrade([service], settings)
        figures[service] = asyncio.run(run(service, raws, not args.unknown_to_intake))
        print(service, json.dumps(figures[service]))
    existing = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    existing["consumers_catching_up"] = {"requests": args.requests, **figures}
    RESULTS.write_text(json.dumps(existing, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
