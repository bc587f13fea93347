"""The platform idle for 20 s, then 30 s at 50 req/s offered, with the consumers' broker wait
(CONSUMER_FETCH_MAX_WAIT_MS) given in ms: `.venv/bin/python bench/fetch_wait.py 200`. Prints
the CPU share of each process while idle and the pipeline figures (bench/README.md)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KAFKA_BOOTSTRAP", "127.0.0.1:29092")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pipeline import cpu_by_process, pipeline_at
from bench.run import URL, bench_platform, devctl

IDLE_SECONDS = 20


def main(wait_ms: int) -> None:
    with bench_platform(CONSUMER_FETCH_MAX_WAIT_MS=str(wait_ms)) as settings:
        time.sleep(10)  # past the start-up's own work (seeds, first model, topic creation)
        before = cpu_by_process(devctl.RUN_DIR, settings)
        time.sleep(IDLE_SECONDS)
        after = cpu_by_process(devctl.RUN_DIR, settings)
        idle = {k: round((after[k] - before.get(k, 0.0)) / IDLE_SECONDS * 100, 1) for k in after}
        loaded = asyncio.run(pipeline_at(settings, URL, 50, 30, devctl.RUN_DIR))
        loaded.pop("lag_samples", None)
        print(json.dumps({"wait_ms": wait_ms, "idle_cpu_percent": idle, "at_50_per_second": loaded}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
