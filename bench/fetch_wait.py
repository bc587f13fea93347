"""The platform idle for 20 s, then 30 s at 50 req/s offered, with the consumers' broker wait
(CONSUMER_FETCH_MAX_WAIT_MS) given in ms: `.venv/bin/python bench/fetch_wait.py 200`. Prints
the CPU share of each process while idle and the pipeline figures (bench/README.md)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

os.environ.setdefault("KAFKA_BOOTSTRAP", "127.0.0.1:29092")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run as bench
from pipeline import cpu_by_process


def main(wait_ms: int) -> None:
    broker = bench.Broker(os.environ["KAFKA_BOOTSTRAP"])
    broker.start()
    settings = bench.settings_with_prefix("bench", kafka_bootstrap=os.environ["KAFKA_BOOTSTRAP"])
    try:
        bench.fresh_databases(settings)
        env = {f"{s.upper()}_DATABASE_URL": settings.database_url(s) for s in bench.SERVICES}
        env |= {
            "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "INTAKE_URL": bench.URL["intake"],
            "ROUTING_URL": bench.URL["routing"],
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_PER_MINUTE": "0",
            "CONSUMER_FETCH_MAX_WAIT_MS": str(wait_ms),
        }
        bench.devctl.start_services(bench.PORTS, env, prefix="bench-")
        bench.devctl.wait_ready(bench.PORTS, timeout=90)
        time.sleep(10)
        before = cpu_by_process(bench.devctl.RUN_DIR, settings)
        time.sleep(20)
        after = cpu_by_process(bench.devctl.RUN_DIR, settings)
        idle = {k: round((after[k] - before.get(k, 0.0)) / 20 * 100, 1) for k in after}
        loaded = asyncio.run(bench.pipeline_at(settings, bench.URL, 50, 30, bench.devctl.RUN_DIR))
        loaded.pop("lag_samples", None)
        print(json.dumps({"wait_ms": wait_ms, "idle_cpu_percent": idle, "at_50_per_second": loaded}))
    finally:
        bench.devctl.stop([f"bench-{s}" for s in bench.SERVICES])
        broker.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]))
