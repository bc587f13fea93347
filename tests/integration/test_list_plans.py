"""Every list page reads on an index: each service's large tables are filled with tens of
thousands of rows (in a transaction that is rolled back), the pages are called through the
service's own API on that transaction, every SELECT they ran is EXPLAINed, and a sequential
scan of a large table fails the test."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import UUID

from shared.auth import issue_staff_token
from shared.runtime import ServiceRuntime, db_session
from shared.settings import Settings

ROWS = 20_000
# KPI's counts hold some 700 rows a day (department x measure, the organisation's volumes and
# hot spots): three years of them at a quarter of that, so a month is the small part it is.
SIZES = {"counts": 200_000}
LARGE = 10_000  # a table with at least this many rows must not be scanned whole
DEPARTMENTS = ("urban", "water", "transport", "market", "housing", "environment", "police", "health")
SUPERVISOR = {"Authorization": "Bearer " + issue_staff_token("supervisor-01", "supervisor")}
HEAD = {"Authorization": "Bearer " + issue_staff_token("head-urban", "dept_head", "urban")}


def _unique_columns(table: Table) -> set[str]:
    names = {c.name for k in table.constraints if isinstance(k, UniqueConstraint) for c in k.columns}
    return names | {c.name for i in table.indexes if i.unique for c in i.columns}


def _value(table: Table, name: str, column: Any) -> str:
    """A SQL expression over `g` (the row number) that fits the column: unique keys, eight
    departments, times spread two weeks either side of now, half the optional times empty."""
    kind = column.type
    unique = column.primary_key or column.unique or name in _unique_columns(table)
    if isinstance(kind, DateTime):
        moment = "now() + ((g % 20000) - 10000) * interval '1 minute'"
        return moment if not column.nullable else f"CASE WHEN g % 2 = 0 THEN NULL ELSE {moment} END"
    if isinstance(kind, Date):
        return "current_date - (g % 1100)"  # three years of days
    if isinstance(kind, Boolean):
        return "g % 2 = 0"
    if isinstance(kind, SmallInteger | Integer | BigInteger):
        return "g" if unique else "g % 3"
    if isinstance(kind, Float):
        return "0.5"
    if isinstance(kind, JSONB):
        return "'[]'::jsonb"
    if isinstance(kind, UUID):
        return f"md5(g::text || '{table.name}.{name}')::uuid"
    if isinstance(kind, String | Text):
        length = getattr(kind, "length", None) or 200
        if "department" in name and not (column.primary_key and len(table.primary_key.columns) == 1):
            return f"(ARRAY{list(DEPARTMENTS)})[1 + g % 8]"
        if name == "state":
            return "(ARRAY['scheduled', 'done', 'routed', 'accepted', 'closed'])[1 + g % 5]"
        if name == "channel" and not column.primary_key:
            return "(ARRAY['open311', 'phone', 'web', 'app'])[1 + g % 4]"
        if unique:
            return f"left('{name[:3]}' || g::text || md5(g::text), {length})"
        value = f"left('v' || (g % 40)::text, {length})"
        # An optional text (an exclusion, an outcome) is set on one row in twenty.
        return value if not column.nullable else f"CASE WHEN g % 20 = 0 THEN {value} END"
    raise AssertionError(f"no filler for {table.name}.{name} ({kind})")


async def fill(session: AsyncSession, table: Table, rows: int = ROWS) -> None:
    columns = [
        c
        for c in table.columns
        if c.identity is None and c.computed is None and not (c.autoincrement is True and c.primary_key)
    ]
    names = ", ".join(f'"{c.name}"' for c in columns)
    values = ", ".join(_value(table, c.name, c) for c in columns)
    await session.execute(
        text(f'INSERT INTO "{table.name}" ({names}) SELECT {values} FROM generate_series(1, {rows}) g')
    )
    await session.execute(text(f'ANALYZE "{table.name}"'))


def _seq_scans(plan: dict[str, Any]) -> list[str]:
    found = [plan["Relation Name"]] if plan.get("Node Type") == "Seq Scan" else []
    for child in plan.get("Plans", []):
        found += _seq_scans(child)
    return found


async def _large_tables(session: AsyncSession) -> set[str]:
    rows = await session.execute(
        text("SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples >= :n"), {"n": LARGE}
    )
    return set(rows.scalars())


async def check_pages(
    settings: Settings,
    service: str,
    metadata: MetaData,
    build_app: Callable[[ServiceRuntime], FastAPI],
    tables: list[str],
    pages: list[tuple[str, dict[str, Any], dict[str, str]]],
    prepare: tuple[str, ...] = (),
) -> None:
    runtime = ServiceRuntime(name=service, metadata=metadata, handlers={}, settings=settings)
    app = build_app(runtime)
    try:
        async with runtime.sessions() as session:
            for statement in prepare:  # rows the filled tables refer to
                await session.execute(text(statement))
            for name in tables:
                await fill(session, metadata.tables[name], SIZES.get(name, ROWS))
            large = await _large_tables(session)
            assert set(tables) <= large

            async def same_session() -> AsyncIterator[AsyncSession]:
                yield session

            app.dependency_overrides[db_session] = same_session
            ran: list[tuple[str, Any]] = []

            def record(
                conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
            ) -> None:
                if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    ran.append((statement, parameters))

            sync_engine = runtime.engine.sync_engine
            event.listen(sync_engine, "before_cursor_execute", record)
            try:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                    for path, params, headers in pages:
                        response = await client.get(path, params=params, headers=headers)
                        assert response.status_code == 200, (path, response.text)
            finally:
                event.remove(sync_engine, "before_cursor_execute", record)
            assert ran
            connection = await session.connection()
            scanned: list[tuple[str, str]] = []
            for statement, parameters in ran:
                explained = await connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
                plan = explained.scalar_one()
                plan = json.loads(plan) if isinstance(plan, str) else plan
                scanned += [(t, statement) for t in _seq_scans(plan[0]["Plan"]) if t in large]
            assert scanned == [], f"sequential scans of large tables: {scanned}"
            await session.rollback()
    finally:
        await runtime.engine.dispose()


@pytest.mark.parametrize("service", ["handling", "followup", "kpi", "intake", "routing"])
async def test_list_pages_read_large_tables_on_indexes(platform: Settings, service: str) -> None:
    if service == "handling":
        from services.handling import store
        from services.handling.main import build_app

        await check_pages(
            platform,
            service,
            store.metadata,
            build_app,
            ["clocks", "supervision_orders", "extensions"],
            [
                ("/v1/extensions", {"state": "pending"}, SUPERVISOR),
                ("/v1/extensions", {"state": "pending"}, HEAD),
                ("/v1/extensions", {}, SUPERVISOR),
                ("/v1/overdue", {}, SUPERVISOR),
                ("/v1/overdue", {"limit": 20}, HEAD),
                ("/v1/at-risk", {}, SUPERVISOR),
                ("/v1/at-risk", {}, HEAD),
                ("/v1/supervision-orders", {}, SUPERVISOR),
                ("/v1/supervision-orders", {"open_only": "false"}, SUPERVISOR),
            ],
        )
    elif service == "followup":
        from services.followup import store as followup_store
        from services.followup.main import build_app as followup_app

        await check_pages(
            platform,
            service,
            followup_store.metadata,
            followup_app,
            ["revisits"],
            [
                ("/v1/revisits", {}, SUPERVISOR),
                ("/v1/revisits", {"state": "done", "due_before": "2030-01-01T00:00:00+08:00"}, SUPERVISOR),
            ],
        )
    elif service == "kpi":
        from services.kpi import store as kpi_store
        from services.kpi.main import build_app as kpi_app

        await check_pages(
            platform,
            service,
            kpi_store.metadata,
            kpi_app,
            ["facts", "counts", "events", "flags"],
            [
                ("/v1/accountability", {}, SUPERVISOR),
                ("/v1/accountability", {"limit": 20}, SUPERVISOR),
                ("/v1/kpis", {"period": "2026-11"}, SUPERVISOR),
                ("/v1/kpis", {"period": "2026-12"}, HEAD),
                ("/v1/kpis", {"period": "2026-Q4", "department": "water"}, SUPERVISOR),
                ("/v1/rankings", {"period": "2026-11"}, SUPERVISOR),
                ("/v1/hotspots", {"period": "2026-12"}, SUPERVISOR),
            ],
        )
    elif service == "routing":
        from services.routing import store as routing_store
        from services.routing.main import build_app as routing_app

        await check_pages(
            platform,
            service,
            routing_store.metadata,
            routing_app,
            ["dispatch_queue", "staff"],
            [
                ("/v1/dispatch-queue", {}, SUPERVISOR),
                ("/v1/dispatch-queue", {"state": "dispatched", "limit": 20}, SUPERVISOR),
                ("/v1/staff", {"role": "supervisor"}, SUPERVISOR),
                ("/v1/staff", {"department": "urban", "limit": 20}, HEAD),
            ],
            # The filler's eight departments, for the directory's foreign key.
            prepare=(
                "INSERT INTO departments (code, name, active, coordinating) SELECT d, d, true, false "
                f"FROM unnest(ARRAY{list(DEPARTMENTS)}) d ON CONFLICT DO NOTHING",
            ),
        )
    else:
        from services.intake import store as intake_store
        from services.intake.main import build_app as intake_app

        await check_pages(
            platform,
            service,
            intake_store.metadata,
            intake_app,
            ["requests", "kb_articles"],
            [
                ("/open311/v2/requests.json", {}, {}),
                ("/v1/requests", {"limit": 50}, SUPERVISOR),
                ("/v1/kb/articles", {}, SUPERVISOR),
                ("/v1/kb/articles", {"status": "pending", "limit": 100}, SUPERVISOR),
            ],
        )
