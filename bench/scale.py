"""`make bench-scale`: the KPI database filled with a realistic month at a big city's volume,
then the pages a supervisor, a head and a handler open, timed against a KPI process of its own.

    python bench/scale.py [--facts 600000] [--previous 0.25] [--events-share 0.1]

1. A fresh database (`bench_scale_kpi`), migrated.
2. A bulk loader: `bench/kpi_facts.py` makes the fact rows the consumer would have folded
   (received in last month; a share of that in the month before, for the hot spots' trend),
   and the loader writes each row as `store.save_fact` would (`Fact.to_row()`), the counts as
   the sum of `rollup.contributions` (what the write path's deltas add up to: the recount test
   shows it), and lifecycle events for a share of the requests (the case timeline), with COPY.
3. `VACUUM ANALYZE`, then a KPI API process (`python bench/scale.py serve`, no consumer: the
   broker plays no part in a read) and each page N times: p50/p99, the peak RSS of that
   process, table sizes, and the figures compared with a brute-force Python computation of one
   department and of the hot spots over the same rows.
4. Merged into `bench/results.json` under "scale" (other keys are left as they are).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench.kpi_facts import DEPARTMENTS, generate  # noqa: E402
from services.kpi import store  # noqa: E402
from services.kpi.domain import rollup  # noqa: E402
from services.kpi.domain.facts import Fact  # noqa: E402
from services.kpi.domain.figures import Period, department_figures  # noqa: E402
from services.kpi.domain.hotspots import hotspots  # noqa: E402
from shared.clock import now, organisation_tz  # noqa: E402
from shared.settings import Settings  # noqa: E402

DB = os.environ.get("BENCH_SCALE_DB", "bench_scale_kpi")
URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DB}"
PORT = int(os.environ.get("BENCH_SCALE_PORT", "28600"))
REPEAT = int(os.environ.get("BENCH_SCALE_REPEAT", "30"))


def settings() -> Settings:
    return Settings(kpi_database_url=URL)


def _pg_url() -> str:
    return URL.replace("+asyncpg", "")


# ---------------------------------------------------------------- the bulk loader
_FACT_COLUMNS = [c.name for c in store.facts.columns]


def _record(fact: Fact) -> tuple[Any, ...]:
    row = fact.to_row()
    return tuple(
        json.dumps(row[c]) if c in ("co_departments", "returned_by") else row[c] for c in _FACT_COLUMNS
    )


def _events_of(fact: Fact) -> list[tuple[str, str, str]]:
    """The envelopes of a request's lifecycle (as the KPI consumer keeps them), for the timeline."""
    steps = [
        ("request.received", fact.received_at, "intake"),
        ("request.routed", fact.routed_at, "routing"),
        ("request.accepted", fact.accepted_at, "handling"),
        ("request.resolved", fact.resolved_at, "handling"),
        ("request.feedback_given", fact.feedback_at, "handling"),
        ("request.rated", fact.rated_at, "followup"),
        ("request.closed", fact.closed_at, "followup"),
    ]
    out = []
    for event_type, at, producer in steps:
        if at is None:
            continue
        event_id = str(uuid.uuid4())
        payload = {
            "id": event_id,
            "type": event_type,
            "version": 1,
            "occurred_at": at.isoformat(),
            "request_id": fact.request_id,
            "producer": producer,
            "actor": {"kind": "system", "id": producer},
            "data": {"department": fact.lead_department},
        }
        out.append((event_id, fact.request_id, json.dumps(payload)))
    return out


async def load(facts_count: int, previous_share: float, events_share: float) -> dict[str, Any]:
    tz = organisation_tz()
    at = now()
    month = Period.month(_last_month(at), tz)
    before = month.previous(tz)
    conn = await asyncpg.connect(_pg_url())
    started = time.perf_counter()
    counted: Counter[rollup.Key] = Counter()
    repeated: Counter[rollup.RepeatKey] = Counter()
    loaded = events = 0
    try:
        for period, count, prefix in (
            (month, facts_count, "m"),
            (before, int(facts_count * previous_share), "p"),
        ):
            batch: list[tuple[Any, ...]] = []
            event_rows: list[tuple[str, str, str]] = []
            every = max(1, round(1 / events_share)) if events_share > 0 else 0
            for i, fact in enumerate(
                generate(
                    count, period.start, period.end, until=at, seed=len(prefix) * 7 + count, prefix=prefix
                )
            ):
                batch.append(_record(fact))
                counted.update(rollup.contributions(fact, tz))
                repeated.update(rollup.repeat_contributions(fact, tz))
                if every and i % every == 0:
                    event_rows.extend(_events_of(fact))
                if len(batch) >= 20000:
                    await conn.copy_records_to_table("facts", records=batch, columns=_FACT_COLUMNS)
                    loaded += len(batch)
                    batch = []
                if len(event_rows) >= 20000:
                    await conn.copy_records_to_table(
                        "events", records=event_rows, columns=["event_id", "request_id", "payload"]
                    )
                    events += len(event_rows)
                    event_rows = []
            if batch:
                await conn.copy_records_to_table("facts", records=batch, columns=_FACT_COLUMNS)
                loaded += len(batch)
            if event_rows:
                await conn.copy_records_to_table(
                    "events", records=event_rows, columns=["event_id", "request_id", "payload"]
                )
                events += len(event_rows)
            print(f"  loaded {loaded:,} facts", file=sys.stderr, flush=True)
        await conn.copy_records_to_table(
            "counts",
            records=[(d, m, day, n) for (d, m, day), n in sorted(counted.items()) if n],
            columns=["department", "measure", "day", "n"],
        )
        await conn.copy_records_to_table(
            "repeats",
            records=[(b, r, t, n) for (b, r, t), n in sorted(repeated.items()) if n],
            columns=["bucket", "requester_ref", "topic_key", "n"],
        )
        load_seconds = time.perf_counter() - started
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return {
        "month": month.label,
        "facts_in_month": facts_count,
        "facts_total": loaded,
        "events": events,
        "count_rows": len(counted),
        "load_seconds": round(load_seconds, 1),
        "load_facts_per_second": round(loaded / load_seconds),
    }


def _last_month(at: datetime) -> str:
    last = at.replace(day=1) - timedelta(days=1)
    return f"{last.year}-{last.month:02d}"


# ---------------------------------------------------------------- the pages
def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(month: str) -> dict[str, Any]:
    from shared.auth import issue_staff_token

    supervisor = {"Authorization": "Bearer " + issue_staff_token("supervisor-01", "supervisor")}
    conn = await asyncpg.connect(_pg_url())
    try:
        request_ids = [
            r["request_id"] for r in await conn.fetch("SELECT DISTINCT request_id FROM events LIMIT 50")
        ]
    finally:
        await conn.close()

    def head(dept: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + issue_staff_token(f"head-{dept}", "dept_head", dept)}

    pages: dict[str, list[tuple[str, dict[str, Any], dict[str, str]]]] = {
        "kpis_department (supervisor)": [
            ("/v1/kpis", {"period": month, "department": d}, supervisor) for d in DEPARTMENTS
        ],
        "kpis_department (head)": [("/v1/kpis", {"period": month}, head(d)) for d in DEPARTMENTS],
        "kpis_organisation": [("/v1/kpis", {"period": month}, supervisor)],
        "kpis_organisation_csv": [("/v1/kpis", {"period": month}, {**supervisor, "Accept": "text/csv"})],
        "kpis_quarter": [
            ("/v1/kpis", {"period": f"{month[:4]}-Q{(int(month[5:]) - 1) // 3 + 1}"}, supervisor)
        ],
        "rankings": [("/v1/rankings", {"period": month}, supervisor)],
        "hotspots": [("/v1/hotspots", {"period": month}, supervisor)],
        "accountability": [("/v1/accountability", {}, supervisor)],
        "request_facts": [(f"/v1/requests/{r}/facts", {}, supervisor) for r in request_ids],
        "timeline": [(f"/v1/requests/{r}/timeline", {}, supervisor) for r in request_ids],
    }
    server = subprocess.Popen(  # noqa: ASYNC220 (started once, before any timing)
        [sys.executable, __file__, "serve"], env={**os.environ, "LOG_LEVEL": "warning"}
    )
    results: dict[str, Any] = {}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", timeout=120) as client:
            for _ in range(200):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            for name, calls in pages.items():
                times: list[float] = []
                size = 0
                # One call first, untimed in the percentiles: a fresh process's first request
                # of a page (connection, statement preparation, cold cache) is reported apart.
                path, params, headers = calls[0]
                t0 = time.perf_counter()
                (await client.get(path, params=params, headers=headers)).raise_for_status()
                first_ms = round((time.perf_counter() - t0) * 1000, 1)
                for i in range(max(REPEAT, len(calls))):
                    path, params, headers = calls[i % len(calls)]
                    t0 = time.perf_counter()
                    response = await client.get(path, params=params, headers=headers)
                    times.append((time.perf_counter() - t0) * 1000)
                    response.raise_for_status()
                    size = max(size, len(response.content))
                results[name] = {
                    "p50_ms": round(statistics.median(times), 1),
                    "p99_ms": round(_percentile(times, 99), 1),
                    "calls": len(times),
                    "bytes": size,
                    "first_call_ms": first_ms,
                }
                print(
                    f"  {name}: p50 {results[name]['p50_ms']} ms, p99 {results[name]['p99_ms']} ms",
                    file=sys.stderr,
                )
            check = await brute_force_check(client, month, supervisor)
        rss = _peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"pages": results, "kpi_process_peak_rss_mb": rss, "brute_force": check}


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


async def brute_force_check(client: httpx.AsyncClient, month: str, headers: dict[str, str]) -> dict[str, Any]:
    """One department's figures and the hot spots, computed in Python from the rows
    themselves, equal to what the API answered."""
    tz = organisation_tz()
    period = Period.month(month, tz)
    previous = period.previous(tz)
    department = "market"
    conn = await asyncpg.connect(_pg_url())
    try:
        any_time = " OR ".join(f"{c} BETWEEN $1 AND $2" for c in store._TIMES)
        rows = await conn.fetch(
            f"SELECT * FROM facts WHERE ({any_time}) AND (lead_department = $3 OR returned_by ? $3)",
            period.start,
            period.end,
            department,
        )
        spot_rows = await conn.fetch(
            "SELECT request_id, topic, category, area, requester_ref, received_at FROM facts"
            " WHERE received_at >= $1 AND received_at < $2",
            previous.start,
            period.end,
        )
    finally:
        await conn.close()
    facts = [
        Fact.from_row({**dict(r), "returned_by": json.loads(r["returned_by"]), "co_departments": []})
        for r in rows
    ]
    answered = (
        await client.get("/v1/kpis", params={"period": month, "department": department}, headers=headers)
    ).json()
    got = answered["items"][0]
    got.pop("score")
    # The API's `at` is its own now: for a finished month it changes nothing.
    want = department_figures(facts, department, period, at=now())
    spots = (await client.get("/v1/hotspots", params={"period": month}, headers=headers)).json()
    want_spots = hotspots([Fact.from_row(dict(r)) for r in spot_rows], period, previous, top=10)
    return {
        "department": department,
        "facts_compared": len(facts),
        "figures_equal": got == want,
        "hotspot_rows_compared": len(spot_rows),
        "hotspots_equal": spots == want_spots,
    }


async def table_sizes() -> dict[str, Any]:
    conn = await asyncpg.connect(_pg_url())
    try:
        rows = await conn.fetch(
            "SELECT relname, n_live_tup, pg_total_relation_size(relid) AS total,"
            " pg_relation_size(relid) AS heap FROM pg_stat_user_tables ORDER BY total DESC"
        )
    finally:
        await conn.close()
    return {
        r["relname"]: {
            "rows": int(r["n_live_tup"]),
            "total_mb": round(r["total"] / 2**20, 1),
            "heap_mb": round(r["heap"] / 2**20, 1),
        }
        for r in rows
        if r["total"] > 100_000
    }


# ---------------------------------------------------------------- the KPI process
def serve() -> None:
    import uvicorn

    from services.kpi import api
    from shared.runtime import ServiceRuntime, create_app

    class ReadOnly(ServiceRuntime):
        """The KPI API without its consumer, relay or closer: nothing but reads here."""

        async def start(self) -> None:
            return None

    runtime = ReadOnly(name="kpi", metadata=store.metadata, handlers={}, settings=settings())
    app = create_app(runtime, [api.router], title="KPI service (bench)")
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", nargs="?", default="run", choices=("run", "serve", "measure"))
    parser.add_argument("--facts", type=int, default=int(os.environ.get("BENCH_SCALE_FACTS", "600000")))
    parser.add_argument("--previous", type=float, default=0.25)
    parser.add_argument("--events-share", type=float, default=0.1)
    args = parser.parse_args()
    if args.command == "serve":
        serve()
        return
    from shared.migrations import drop_database, upgrade

    s = settings()
    if args.command == "run":
        asyncio.run(drop_database(s.database_url("kpi")))
        upgrade(["kpi"], s)
        print(f"loading {args.facts:,} facts ...", file=sys.stderr)
        loaded = asyncio.run(load(args.facts, args.previous, args.events_share))
    else:
        loaded = {"month": _last_month(now())}
    measured = asyncio.run(measure(loaded["month"]))
    sizes = asyncio.run(table_sizes())
    result = {**loaded, **measured, "tables": sizes, "measured_at": now().isoformat(timespec="seconds")}
    out = ROOT / "bench" / "results.json"
    merged = json.loads(out.read_text()) if out.exists() else {}
    # `measure` times the pages again on the database a `run` filled (its own key).
    key = f"kpi_{args.facts}" + ("_remeasured" if args.command == "measure" else "")
    merged.setdefault("scale", {})[key] = result
    out.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
