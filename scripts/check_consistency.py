"""`make check-consistency`: after the platform has gone quiet, do the five services agree?

For every request: intake, followup and KPI agree on its lifecycle state; routing, intake,
handling and KPI on its lead department; every outbox row is published; every
consumer's inbox holds every published event of the types it handles (no gap); the KPI projection
equals a rebuild from the topic. Prints a summary; exits non-zero on any difference.
This is an operator's tool: it reads each service's database directly, read-only.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.kpi.rebuild import rebuild  # noqa: E402
from shared.settings import SERVICES, Settings, get_settings  # noqa: E402


async def _fetch(settings: Settings, service: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(settings.database_url(service).replace("postgresql+asyncpg", "postgresql"))
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


async def check(settings: Settings) -> dict[str, Any]:
    problems: list[str] = []
    unpublished = {}
    for service in SERVICES:
        count = (
            await _fetch(settings, service, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
        )[0]["n"]
        unpublished[service] = count
        if count:
            problems.append(f"{service}: {count} outbox events not published")

    intake = {
        r["id"]: r
        for r in await _fetch(settings, "intake", "SELECT id, state, lead_department FROM requests")
    }
    followup = {
        r["request_id"]: r
        for r in await _fetch(settings, "followup", "SELECT request_id, state FROM followups")
    }
    kpi = {
        r["request_id"]: r
        for r in await _fetch(settings, "kpi", "SELECT request_id, state, lead_department FROM facts")
    }
    routes = {
        r["request_id"]: r
        for r in await _fetch(settings, "routing", "SELECT request_id, lead_department FROM routes")
    }
    leads = {
        r["request_id"]: r
        for r in await _fetch(
            settings,
            "handling",
            "SELECT request_id, department, state FROM cases WHERE role = 'lead' AND state <> 'returned'",
        )
    }

    for request_id, row in intake.items():
        states = {
            "intake": row["state"],
            "followup": _get(followup, request_id, "state"),
            "kpi": _get(kpi, request_id, "state"),
        }
        if len(set(states.values())) != 1:
            problems.append(f"{request_id}: states differ {states}")
        lead = {
            "intake": row["lead_department"],
            "routing": _get(routes, request_id, "lead_department"),
            "kpi": _get(kpi, request_id, "lead_department"),
        }
        if request_id in leads:
            lead["handling"] = leads[request_id]["department"]
        if len({v for v in lead.values()}) > 1:
            problems.append(f"{request_id}: lead departments differ {lead}")
    for name, rows in (("followup", followup), ("kpi", kpi), ("routing", routes)):
        unknown = set(rows) - set(intake)
        if unknown:
            problems.append(f"{name} knows {len(unknown)} requests intake does not")

    problems += await inbox_gaps(settings)

    rebuilt = await rebuild(settings)
    if rebuilt["differences"]:
        problems.append(f"kpi projection differs from a rebuild for {rebuilt['differences']} requests")
    if rebuilt["count_differences"]:
        problems.append(
            f"kpi counts differ from a recount of the fact rows in {rebuilt['count_differences']} places"
        )
    return {
        "requests": len(intake),
        "states": dict(Counter(r["state"] for r in intake.values())),
        "unpublished": unpublished,
        "kpi_rebuild": {
            k: rebuilt[k]
            for k in ("events_read", "requests_live", "requests_rebuilt", "differences", "count_differences")
        },
        "problems": problems,
    }


async def inbox_gaps(settings: Settings) -> list[str]:
    """Every published event of a type a service handles is in that service's inbox (under its
    main consumer or one of its fast lanes): nothing was skipped or lost on the way."""
    published: list[asyncpg.Record] = []
    for service in SERVICES:
        published += await _fetch(settings, service, "SELECT event_id, type FROM outbox")
    problems = []
    for service in SERVICES:
        handled = {event.TYPE for event in importlib.import_module(f"services.{service}.consumers").HANDLERS}
        wanted = {r["event_id"] for r in published if r["type"] in handled}
        applied = {
            r["event_id"]
            for r in await _fetch(
                settings,
                service,
                f"SELECT event_id FROM inbox WHERE consumer = '{service}' OR consumer LIKE '{service}-%'",
            )
        }
        missing = wanted - applied
        if missing:
            problems.append(
                f"{service}: {len(missing)} events missing from its inbox, e.g. {sorted(missing)[:3]}"
            )
    return problems


def _get(rows: dict[str, Any], key: str, column: str) -> Any:
    row = rows.get(key)
    return None if row is None else row[column]


def main() -> int:
    result = asyncio.run(check(get_settings()))
    print(f"requests: {result['requests']}  states: {result['states']}")
    print(f"unpublished outbox rows: {result['unpublished']}")
    print(f"kpi rebuild: {result['kpi_rebuild']}")
    for problem in result["problems"][:50]:
        print("  DIFFERENCE", problem)
    print("consistent" if not result["problems"] else f"{len(result['problems'])} differences")
    return 0 if not result["problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
