"""Routing's tables: the organisation directory, routing rules, SLA policies, the
business calendar's edited days, and every request's assignment history."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Update,
    bindparam,
    column,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ClauseElement

from services.routing.domain.assignment import Assignment
from services.routing.domain.calendar import BusinessCalendar, parse_working_hours
from services.routing.domain.rules import Rule
from services.routing.domain.sla import ClockPolicy
from shared.clock import now, organisation_tz
from shared.db import fetch_row, new_metadata, rows_by_shape
from shared.pagination import encode_key, keyset

metadata = new_metadata()

departments = Table(
    "departments",
    metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("parent", String(50), ForeignKey("departments.code")),
    Column("head", String(100)),
    Column("active", Boolean, nullable=False, default=True),
    Column("coordinating", Boolean, nullable=False, default=False),
)

rules = Table(
    "rules",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("priority", Integer, nullable=False),
    Column("match", JSONB, nullable=False),
    Column("lead_department", String(50), ForeignKey("departments.code"), nullable=False),
    Column("co_departments", JSONB, nullable=False, server_default="[]"),
    Column("active", Boolean, nullable=False, default=True),
)

sla_policies = Table(
    "sla_policies",
    metadata,
    # A category, "business:<catalog code>", or "*" (the default for every category).
    Column("scope", String(120), primary_key=True),
    Column("urgency", String(10), primary_key=True),
    Column("clock", String(20), primary_key=True),
    Column("amount", Float, nullable=False),
    Column("unit", String(20), nullable=False),
    Column("warning_fraction", Float, nullable=False, server_default="0.8"),
)

staff = Table(
    "staff",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("department", String(50), ForeignKey("departments.code")),
    Column("role", String(20), nullable=False),  # handler, dept_head, supervisor, agent, admin
    Column("active", Boolean, nullable=False, server_default="true"),
)
Index("staff_by_department", staff.c.department, staff.c.id)
Index("staff_by_role", staff.c.role, staff.c.id)

calendar_days = Table(
    "calendar_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("workday", Boolean, nullable=False),
    Column("note", String(200)),
)

# Each year's calendar: where its days came from and whether it is only provisional
# (statutory days from a library, no 调休) until an admin enters the State Council notice.
calendar_years = Table(
    "calendar_years",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("source", String(30), nullable=False),
    Column("provisional", Boolean, nullable=False),
    Column("notice", String(500)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

routes = Table(
    "routes",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("category", String(20), nullable=False),
    Column("urgency", String(10), nullable=False),
    Column("topic", String(100)),
    Column("area", String(100)),
    Column("business_type", String(100)),
    Column("text", String(6000)),  # masked title and content, for keyword rules
    Column("lead_department", String(50)),
    Column("co_departments", JSONB, nullable=False, server_default="[]"),
    Column("excluded_departments", JSONB, nullable=False, server_default="[]"),
    Column("returns", Integer, nullable=False, default=0),
    Column("state", String(20), nullable=False),
    Column("due", JSONB),
    Column("matter", String(100)),  # the matter (事项) it was dispatched under
    Column("decided_by", String(20)),  # rule, model, dispatcher, manual, fallback
    Column("clocks_started_at", DateTime(timezone=True)),  # where the due times count from
    Column("paused_since", DateTime(timezone=True)),  # the lead's clocks stand still since
)

assignments = Table(
    "assignments",
    metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("kind", String(20), nullable=False),  # routed, rerouted, returned, escalated
    Column("department", String(50), nullable=False),
    Column("co_departments", JSONB, nullable=False, server_default="[]"),
    Column("rule_id", String(100)),
    Column("reason", String(2000)),
    Column("due", JSONB),
    Column("event_id", String(36)),
    Column("at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
    Column("matter", String(100)),
    Column("decided_by", String(20)),
)

# The dispatch catalogue (派单目录): one row per matter at its current version; every
# version, and who made it, in matter_versions (the audit trail). Retired matters stay.
matters = Table(
    "matters",
    metadata,
    Column("code", String(100), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", String(2000), nullable=False, server_default=""),
    Column("lead_department", String(50), ForeignKey("departments.code"), nullable=False),
    Column("co_departments", JSONB, nullable=False, server_default="[]"),
    Column("category", String(20), nullable=False),
    Column("urgent", Boolean, nullable=False, server_default="false"),
    Column("keywords", JSONB, nullable=False, server_default="[]"),
    Column("examples", JSONB, nullable=False, server_default="[]"),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(100), nullable=False),
)

matter_versions = Table(
    "matter_versions",
    metadata,
    Column("code", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("action", String(20), nullable=False),  # seeded, created, updated, retired
    Column("actor", String(100), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("snapshot", JSONB, nullable=False),
)

# Trained dispatch models, newest in use; the blob is the joblib dump of the pipeline.
dispatch_models = Table(
    "dispatch_models",
    metadata,
    Column("version", Integer, Identity(), primary_key=True),
    Column("trained_at", DateTime(timezone=True), nullable=False),
    Column("trained_by", String(100), nullable=False),
    Column("catalogue_matters", Integer, nullable=False),
    Column("history_labels", Integer, nullable=False),
    Column("threshold", Float),
    Column("blob", LargeBinary, nullable=False),
)

# What the centre finally decided about a request's department: the training labels.
dispatch_labels = Table(
    "dispatch_labels",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("text", String(6000), nullable=False),
    Column("matter", String(100)),
    Column("department", String(50), nullable=False),
    Column("source", String(20), nullable=False),  # dispatcher, manual, returned, resolved
    Column("at", DateTime(timezone=True), nullable=False),
)

# The dispatcher's queue (待派单): uncertain requests wait (waiting); uncertain urgent ones
# went out at once and wait for the dispatcher's look (review).
dispatch_queue = Table(
    "dispatch_queue",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("state", String(20), nullable=False),  # waiting, review, dispatched, confirmed
    Column("urgent", Boolean, nullable=False),
    Column("text", String(6000), nullable=False),
    Column("suggestions", JSONB, nullable=False),
    Column("model_version", Integer),
    Column("confidence", Float),
    Column("queued_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(100)),
    Column("decided_at", DateTime(timezone=True)),
    Column("lead_department", String(50)),
    Column("co_departments", JSONB, nullable=False, server_default="[]"),
    Column("matter", String(100)),
)
# The queue's order (urgent first, then oldest) per state, for its keyset pages.
DISPATCH_ORDER = (~dispatch_queue.c.urgent, dispatch_queue.c.queued_at, dispatch_queue.c.request_id)
Index("dispatch_queue_by_state_in_order", dispatch_queue.c.state, *DISPATCH_ORDER)


async def dispatch_queue_page(
    session: AsyncSession, states: tuple[str, ...], cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    stmt = keyset(
        select(dispatch_queue).where(dispatch_queue.c.state.in_(states)), DISPATCH_ORDER, cursor, limit
    )
    rows = [dict(r) for r in (await session.execute(stmt)).mappings()]
    last = rows[-1] if len(rows) == limit else None
    return rows, (encode_key([not last["urgent"], last["queued_at"], last["request_id"]]) if last else None)


async def matter_names(session: AsyncSession, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    stmt = select(matters.c.code, matters.c.name).where(matters.c.code.in_(sorted(codes)))
    return {r["code"]: r["name"] for r in (await session.execute(stmt)).mappings()}


async def load_rules(session: AsyncSession) -> list[Rule]:
    rows = (await session.execute(select(rules))).mappings()
    return [
        Rule(
            id=r["id"],
            priority=r["priority"],
            lead_department=r["lead_department"],
            co_departments=tuple(r["co_departments"]),
            match=r["match"],
            active=r["active"],
        )
        for r in rows
    ]


async def load_policies(session: AsyncSession) -> dict[tuple[str, str, str], ClockPolicy]:
    rows = (await session.execute(select(sla_policies))).mappings()
    return {
        (r["scope"], r["urgency"], r["clock"]): ClockPolicy(r["amount"], r["unit"], r["warning_fraction"])
        for r in rows
    }


async def calendar_overrides(session: AsyncSession) -> dict[date, bool]:
    """The days edited in the database: a holiday (False) or a make-up working day (True)."""
    rows = (await session.execute(select(calendar_days.c.day, calendar_days.c.workday))).all()
    return {day: workday for day, workday in rows}


# Parsed once per text (a pure function of the setting's value; the text itself is the caller's).
_working_periods = lru_cache(maxsize=8)(parse_working_hours)


def business_calendar(overrides: Mapping[date, bool], working_hours: str) -> BusinessCalendar:
    periods = _working_periods(working_hours)
    return BusinessCalendar(tz=organisation_tz(), periods=periods, overrides=overrides)


async def load_calendar(session: AsyncSession, working_hours: str) -> BusinessCalendar:
    """The business calendar: the days edited in the database, on the working hours of the
    service's settings (`WORKING_HOURS`, handed in by the caller)."""
    return business_calendar(await calendar_overrides(session), working_hours)


async def ancestors(session: AsyncSession, code: str) -> set[str]:
    """Every department above `code` in the tree."""
    found: set[str] = set()
    current: str | None = code
    while current is not None and current not in found:
        current = await session.scalar(select(departments.c.parent).where(departments.c.code == current))
        if current is not None:
            found.add(current)
    return found


async def coordinating_department(session: AsyncSession) -> str | None:
    return await session.scalar(
        select(departments.c.code)
        .where(departments.c.coordinating, departments.c.active)
        .order_by(departments.c.code)
    )


async def active_departments(session: AsyncSession) -> frozenset[str]:
    return frozenset((await session.scalars(select(departments.c.code).where(departments.c.active))).all())


async def supervisors(session: AsyncSession) -> list[str]:
    stmt = select(staff.c.id).where(staff.c.role == "supervisor", staff.c.active).order_by(staff.c.id)
    return list((await session.scalars(stmt)).all())


async def head_of(session: AsyncSession, department: str) -> str | None:
    return await session.scalar(select(departments.c.head).where(departments.c.code == department))


# A new request's route, returned as stored (and locked by the insert); nothing if it exists.
NEW_ROUTE = pg_insert(routes).on_conflict_do_nothing().returning(*routes.c)


async def get_route(
    session: AsyncSession, request_id: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    fetch = _fetch_of(session)
    if fetch is not None and request_id in fetch.routes:
        route = fetch.routes[request_id]  # read and locked with the consumer's fetch
        return None if route is None else dict(route)
    return await fetch_row(session, routes, routes.c.request_id == request_id, for_update=for_update)


# A consumer's fetch: its requests' routes read and locked in one statement, then read by
# `get_route` and changed by `update_route` while the fetch's transaction lasts; the changes
# to routes (once per route) and the new assignment rows and labels are written together at
# commit, or as soon as a reaction other than a request's arrival or resolution runs
# (`settle_fetch`: from then on the fetch reads and writes the database directly).
_FETCH = "routes_of_fetch"


@dataclass
class _Fetch:
    routes: dict[str, dict[str, Any] | None]  # None: no route (yet)
    created: set[str] = field(default_factory=set)  # routes of its arrivals, created with it
    changed: dict[str, dict[str, Any]] = field(default_factory=dict)  # request → columns set
    writes: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)  # (statement, row), in order


def _fetch_of(session: AsyncSession) -> _Fetch | None:
    fetch: _Fetch | None = session.info.get(_FETCH)
    return fetch


async def read_fetch(
    session: AsyncSession, request_ids: Sequence[str], arrivals: Sequence[dict[str, Any]] = ()
) -> None:
    """Read and lock the routes of a fetch's requests at once (in key order), and create
    the routes of its arrivals that have none, in one statement (`create_route` then hands
    each its route as created)."""
    ids = sorted(set(request_ids))
    fetch = _Fetch(dict.fromkeys(ids))
    # Each request's first arrival in the fetch, in key order.
    new = sorted(
        {v["request_id"]: v for v in reversed(arrivals)}.values(), key=lambda v: str(v["request_id"])
    )
    if not new:
        stmt = select(routes).where(routes.c.request_id.in_(ids)).order_by(routes.c.request_id)
        for row in (await session.execute(stmt.with_for_update())).mappings():
            fetch.routes[row["request_id"]] = dict(row)
    else:
        # One round trip: the existing routes locked, the arrivals' new ones created.
        params = {f"r_{c}": [v[c] for v in new] for c in new[0]}
        result = await session.execute(_fetch_routes(tuple(new[0])), {"ids": ids, **params})
        for row in result.mappings():
            route = {c.name: row[c.name] for c in routes.c}
            fetch.routes[route["request_id"]] = route
            if row["created_now"]:
                fetch.created.add(route["request_id"])
        for values in new:  # created by another consumer (the urgent lane) meanwhile: read it
            if fetch.routes.get(values["request_id"]) is None:
                del fetch.routes[values["request_id"]]
    session.info[_FETCH] = fetch
    session.info.setdefault("before_commit", {})[_FETCH] = flush_fetch


async def flush_fetch(session: AsyncSession) -> None:
    """Write what the fetch holds: the inserts in their order (a run of one statement in one
    execution), then each changed route once."""
    fetch = _fetch_of(session)
    if fetch is None:
        return
    writes, fetch.writes = fetch.writes, []
    i = 0
    while i < len(writes):
        stmt, j = writes[i][0], i
        while j < len(writes) and writes[j][0] is stmt:
            j += 1
        await session.execute(stmt, [row for _, row in writes[i:j]])
        i = j
    changed, fetch.changed = fetch.changed, {}
    for columns, rows in rows_by_shape(changed, "b_request_id").items():
        await session.execute(_route_update(columns), rows)


async def settle_fetch(session: AsyncSession) -> None:
    """Before any other reaction: what the fetch holds is written, and the rest of the fetch
    reads and writes the database as it stands."""
    if _fetch_of(session) is not None:
        await flush_fetch(session)
        del session.info[_FETCH]


@lru_cache(maxsize=8)
def _fetch_routes(columns: tuple[str, ...]) -> Any:
    """The fetch's existing routes, locked, and its arrivals' new routes, created from one
    array per column (those that exist are left as they are): one statement, compiled once
    for any count. A route another transaction created meanwhile is in neither part."""
    names = ", ".join(c.name for c in routes.c)
    arrays = ", ".join(f"CAST(:r_{c} AS {_sql_type(c)}[])" for c in columns)
    return (
        text(
            f"WITH locked AS (SELECT {names} FROM routes WHERE request_id = ANY(CAST(:ids AS varchar[])) "
            "ORDER BY request_id FOR UPDATE), "
            f"created AS (INSERT INTO routes ({', '.join(columns)}) SELECT * FROM unnest({arrays}) "
            f"ON CONFLICT (request_id) DO NOTHING RETURNING {names}) "
            f"SELECT {names}, false AS created_now FROM locked "
            f"UNION ALL SELECT {names}, true AS created_now FROM created"
        )
        .bindparams(
            bindparam("ids", type_=ARRAY(String())),
            *(bindparam(f"r_{c}", type_=ARRAY(routes.c[c].type)) for c in columns),
        )
        .columns(*routes.c, column("created_now", Boolean))
    )


def _sql_type(name: str) -> str:
    return str(routes.c[name].type.compile(dialect=postgresql.dialect()))


@lru_cache(maxsize=64)
def _route_update(columns: tuple[str, ...]) -> Update:
    return (
        update(routes)
        .where(routes.c.request_id == bindparam("b_request_id"))
        .values({name: bindparam(name) for name in columns})
    )


def _buffered(session: AsyncSession, request_id: str) -> _Fetch | None:
    """The fetch, if it holds this request's route (its writes wait for the commit)."""
    fetch = _fetch_of(session)
    if fetch is not None and fetch.routes.get(request_id) is not None:
        return fetch
    return None


async def history(session: AsyncSession, request_id: str) -> list[dict[str, Any]]:
    stmt = select(assignments).where(assignments.c.request_id == request_id).order_by(assignments.c.seq)
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


@dataclass(frozen=True)
class RoutingConfig:
    """Everything a routing decision reads, loaded together."""

    rules: list[Rule]
    policies: dict[tuple[str, str, str], ClockPolicy]
    calendar: BusinessCalendar
    active_departments: frozenset[str]
    coordinating_department: str


@dataclass(frozen=True)
class _Stored:
    """What a routing decision reads from the database."""

    rules: list[Rule]
    policies: dict[tuple[str, str, str], ClockPolicy]
    overrides: Mapping[date, bool]
    active_departments: frozenset[str]
    coordinating_department: str


class ConfigCache:
    """Rules, policies and the calendar's days change rarely and are read for every event:
    keep them for a few seconds. Each runtime holds its own (`uow.local`, not a module
    global): its own edits take effect at once; another replica's within `ttl_seconds`. It
    holds only what the database says; the working hours come from the caller's settings on
    every read."""

    def __init__(self, ttl_seconds: float = 2.0) -> None:
        self.ttl_seconds = ttl_seconds
        self._stored: _Stored | None = None
        self._loaded_at = 0.0
        # The last answer, for the stored state and the working hours it was built on (a
        # decision reads the configuration several times; building it costs ~13 µs).
        self._built: tuple[_Stored, str, RoutingConfig] | None = None

    def invalidate(self) -> None:
        self._stored = None

    async def get(self, session: AsyncSession, working_hours: str) -> RoutingConfig:
        clock = time.monotonic()
        stored = self._stored
        if stored is None or clock - self._loaded_at > self.ttl_seconds:
            stored = _Stored(
                rules=await load_rules(session),
                policies=await load_policies(session),
                overrides=await calendar_overrides(session),
                active_departments=await active_departments(session),
                coordinating_department=await coordinating_department(session) or "coordination",
            )
            self._stored, self._loaded_at = stored, clock
        built = self._built
        if built is not None and built[0] is stored and built[1] == working_hours:
            return built[2]
        config = RoutingConfig(
            rules=stored.rules,
            policies=stored.policies,
            calendar=business_calendar(stored.overrides, working_hours),
            active_departments=stored.active_departments,
            coordinating_department=stored.coordinating_department,
        )
        self._built = (stored, working_hours, config)
        return config


# --- the organisation directory and configuration (read by queries, written by commands) ------
async def department_exists(session: AsyncSession, code: str) -> bool:
    return await session.scalar(select(departments.c.code).where(departments.c.code == code)) is not None


async def departments_page(session: AsyncSession, cursor: str | None, limit: int) -> list[dict[str, Any]]:
    """A keyset page of the directory by code (its primary key)."""
    page = keyset(select(departments), [departments.c.code], cursor, limit)
    return [dict(r) for r in (await session.execute(page)).mappings()]


async def insert_department(session: AsyncSession, values: dict[str, Any]) -> bool:
    """A new department; False if its code is taken."""
    result = await session.execute(
        pg_insert(departments).values(**values).on_conflict_do_nothing().returning(departments.c.code)
    )
    return result.first() is not None


async def upsert_department(session: AsyncSession, values: dict[str, Any]) -> None:
    stmt = pg_insert(departments).values(**values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["code"], set_=values))


async def department_name(session: AsyncSession, code: str) -> str | None:
    return await session.scalar(select(departments.c.name).where(departments.c.code == code))


async def list_rules(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.execute(select(rules).order_by(rules.c.priority, rules.c.id))).mappings()
    return [dict(r) for r in rows]


async def rule_exists(session: AsyncSession, rule_id: str) -> bool:
    return await session.scalar(select(rules.c.id).where(rules.c.id == rule_id)) is not None


async def upsert_rule(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(
        pg_insert(rules).values(**values).on_conflict_do_update(index_elements=["id"], set_=values)
    )


async def list_policies(session: AsyncSession) -> list[dict[str, Any]]:
    return [dict(r) for r in (await session.execute(select(sla_policies))).mappings()]


async def upsert_policy(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(
        pg_insert(sla_policies)
        .values(**values)
        .on_conflict_do_update(
            index_elements=["scope", "urgency", "clock"],
            set_={
                "amount": values["amount"],
                "unit": values["unit"],
                "warning_fraction": values["warning_fraction"],
            },
        )
    )


async def upsert_calendar_day(session: AsyncSession, day: date, workday: bool, note: str | None) -> None:
    await session.execute(
        pg_insert(calendar_days)
        .values(day=day, workday=workday, note=note)
        .on_conflict_do_update(index_elements=["day"], set_={"workday": workday, "note": note})
    )


async def calendar_year_rows(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.execute(select(calendar_years).order_by(calendar_years.c.year))).mappings()
    return [dict(r) for r in rows]


async def calendar_days_between(session: AsyncSession, start: date, end: date) -> list[tuple[date, bool]]:
    d = calendar_days.c
    rows = (await session.execute(select(d.day, d.workday).where(d.day >= start, d.day <= end))).all()
    return [(day, workday) for day, workday in rows]


async def replace_year_days(session: AsyncSession, year: int, days: list[tuple[date, bool, str]]) -> None:
    """The year's edited days become `days` (day, workday, note), in that order."""
    d = calendar_days.c
    await session.execute(
        calendar_days.delete().where(d.day >= date(year, 1, 1), d.day <= date(year, 12, 31))
    )
    for day, workday, note in days:
        await session.execute(insert(calendar_days).values(day=day, workday=workday, note=note))


async def upsert_calendar_year(session: AsyncSession, year: int, values: dict[str, Any]) -> None:
    await session.execute(
        pg_insert(calendar_years)
        .values(year=year, **values)
        .on_conflict_do_update(index_elements=["year"], set_=values)
    )


async def list_staff(
    session: AsyncSession, department: str | None, role: str | None, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the directory by id (a centre has hundreds of agents on duty)."""
    stmt = select(staff)
    if department:
        stmt = stmt.where(staff.c.department == department)
    if role:
        stmt = stmt.where(staff.c.role == role)
    rows = [dict(r) for r in (await session.execute(keyset(stmt, [staff.c.id], cursor, limit))).mappings()]
    return rows, (encode_key([rows[-1]["id"]]) if len(rows) == limit else None)


async def get_staff(session: AsyncSession, staff_id: str) -> dict[str, Any] | None:
    row = (await session.execute(select(staff).where(staff.c.id == staff_id))).mappings().first()
    return dict(row) if row is not None else None


async def upsert_staff(session: AsyncSession, staff_id: str, values: dict[str, Any]) -> None:
    await session.execute(
        pg_insert(staff)
        .values(id=staff_id, **values)
        .on_conflict_do_update(index_elements=["id"], set_=values)
    )


# --- routes, their assignment history and the dispatcher's queue ------------------------------
async def insert_assignment(session: AsyncSession, **values: Any) -> None:
    fetch = _buffered(session, values["request_id"])
    if fetch is not None:
        fetch.writes.append((_insert_of(assignments, tuple(values)), values))
        return
    await session.execute(insert(assignments).values(**values))


@lru_cache(maxsize=64)
def _insert_of(table: Table, columns: tuple[str, ...], key: str | None = None) -> Any:
    """INSERT of rows of these columns (ON CONFLICT (key) DO UPDATE them, with a key)."""
    if key is None:
        return insert(table)
    stmt = pg_insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[key], set_={name: stmt.excluded[name] for name in columns if name != key}
    )


async def set_assignment_reason(session: AsyncSession, event_id: str, reason: str) -> None:
    await session.execute(update(assignments).where(assignments.c.event_id == event_id).values(reason=reason))


async def update_route(session: AsyncSession, request_id: str, **values: Any) -> None:
    fetch = _buffered(session, request_id)
    if fetch is not None and not any(isinstance(v, ClauseElement) for v in values.values()):
        route = fetch.routes[request_id]
        assert route is not None
        route.update(values)
        fetch.changed.setdefault(request_id, {}).update(values)
        return
    if fetch is not None:
        await settle_fetch(session)
    await session.execute(update(routes).where(routes.c.request_id == request_id).values(**values))


async def get_assignment(
    session: AsyncSession, request_id: str, *, for_update: bool = False
) -> Assignment | None:
    """A request's assignment (its route), row-locked `for_update`."""
    route = await get_route(session, request_id, for_update=for_update)
    return None if route is None else Assignment.from_row(route)


async def save_assignment(session: AsyncSession, assignment: Assignment) -> None:
    """Write the columns the assignment set since it was loaded or saved."""
    changes = assignment.changes()
    if changes:
        await update_route(session, assignment.request_id, **changes)


async def create_route(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any] | None:
    """A new request's route, as stored (and locked by the insert); None if it exists."""
    fetch = _fetch_of(session)
    if fetch is not None and values["request_id"] in fetch.created:
        fetch.created.discard(values["request_id"])  # created with the fetch, for this arrival
        route = fetch.routes[values["request_id"]]
        return None if route is None else dict(route)
    if fetch is not None and fetch.routes.get(values["request_id"]) is not None:
        return None  # read and locked with the fetch: it exists
    created = (await session.execute(NEW_ROUTE, values)).mappings().first()
    if fetch is not None and values["request_id"] in fetch.routes:
        if created:
            fetch.routes[values["request_id"]] = dict(created)
        else:  # another consumer (the urgent lane) created it meanwhile: read it from the database
            del fetch.routes[values["request_id"]]
    return dict(created) if created else None


async def return_reasons(session: AsyncSession, request_id: str) -> list[tuple[str, str | None, str | None]]:
    """Each return of a request, in order: the department, its name and the reason given."""
    a, d = assignments.c, departments.c
    rows = await session.execute(
        select(a.department, d.name, a.reason)
        .select_from(assignments.outerjoin(departments, d.code == a.department))
        .where(a.request_id == request_id, a.kind == "returned")
        .order_by(a.seq)
    )
    return [(department, name, text) for department, name, text in rows]


async def last_decision_at(session: AsyncSession, request_id: str) -> datetime | None:
    """When the current routing decision was recorded (routed, rerouted or dispatched)."""
    a = assignments.c
    return await session.scalar(
        select(a.at)
        .where(a.request_id == request_id, a.kind.in_(("routed", "rerouted", "dispatched")))
        .order_by(a.seq.desc())
        .limit(1)
    )


async def latest_clock_start(session: AsyncSession, request_id: str) -> datetime | None:
    """The latest routing decision of a request that started its clocks (escalation included)."""
    return await session.scalar(
        select(func.max(assignments.c.at)).where(
            assignments.c.request_id == request_id,
            assignments.c.kind.in_(("routed", "rerouted", "dispatched", "escalated")),
        )
    )


async def running_routes(
    session: AsyncSession, states: tuple[str, ...], moment: datetime
) -> list[dict[str, Any]]:
    """Routes in `states` whose last clock (feedback, else resolve) is due after `moment`,
    row-locked (skipping those another transaction holds)."""
    r = routes.c
    latest_due = func.coalesce(r.due["feedback"].astext, r.due["resolve"].astext).cast(
        DateTime(timezone=True)
    )
    stmt = (
        select(routes)
        .where(r.state.in_(states), r.due.is_not(None), latest_due > moment)
        .with_for_update(skip_locked=True)
    )
    return [dict(row) for row in (await session.execute(stmt)).mappings()]


async def upsert_queue_item(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(
        pg_insert(dispatch_queue)
        .values(**values)
        .on_conflict_do_update(index_elements=["request_id"], set_=values)
    )


async def get_queue_item(
    session: AsyncSession, request_id: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    return await fetch_row(
        session, dispatch_queue, dispatch_queue.c.request_id == request_id, for_update=for_update
    )


async def close_queue_item(session: AsyncSession, request_id: str, **values: Any) -> None:
    """Decide a queued request still waiting or in review."""
    q = dispatch_queue.c
    await session.execute(
        update(dispatch_queue)
        .where(q.request_id == request_id, q.state.in_(("waiting", "review")))
        .values(**values)
    )


async def upsert_label(session: AsyncSession, values: dict[str, Any]) -> None:
    fetch = _buffered(session, values["request_id"])
    if fetch is not None:
        fetch.writes.append((_insert_of(dispatch_labels, tuple(values), "request_id"), values))
        return
    await session.execute(
        pg_insert(dispatch_labels)
        .values(**values)
        .on_conflict_do_update(index_elements=["request_id"], set_=values)
    )


async def active_matter_exists(session: AsyncSession, code: str) -> bool:
    return (
        await session.scalar(select(matters.c.code).where(matters.c.code == code, matters.c.active))
        is not None
    )


# --- the dispatch catalogue ----------------------------------------------------------


async def matters_page(
    session: AsyncSession, include_retired: bool, department: str | None, cursor: str | None, limit: int
) -> list[dict[str, Any]]:
    """A keyset page of the catalogue by code (its primary key)."""
    stmt = select(matters)
    if not include_retired:
        stmt = stmt.where(matters.c.active)
    if department:
        stmt = stmt.where(matters.c.lead_department == department)
    page = keyset(stmt, [matters.c.code], cursor, limit)
    return [dict(r) for r in (await session.execute(page)).mappings()]


async def get_matter(session: AsyncSession, code: str, for_update: bool = False) -> dict[str, Any] | None:
    return await fetch_row(session, matters, matters.c.code == code, for_update=for_update)


async def active_matters(session: AsyncSession) -> dict[str, dict[str, Any]]:
    rows = (await session.execute(select(matters).where(matters.c.active))).mappings()
    return {r["code"]: dict(r) for r in rows}


async def matter_versions_of(session: AsyncSession, code: str) -> list[dict[str, Any]]:
    stmt = select(matter_versions).where(matter_versions.c.code == code).order_by(matter_versions.c.version)
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def save_matter(session: AsyncSession, row: dict[str, Any], version: dict[str, Any]) -> None:
    """The matter as it now is, and the version row that audits the change."""
    await session.execute(
        pg_insert(matters).values(**row).on_conflict_do_update(index_elements=["code"], set_=row)
    )
    await session.execute(pg_insert(matter_versions).values(**version))


async def department_names(session: AsyncSession) -> dict[str, str]:
    rows = (await session.execute(select(departments.c.code, departments.c.name))).mappings()
    return {r["code"]: r["name"] for r in rows}


async def recent_models(session: AsyncSession, limit: int = 20) -> list[dict[str, Any]]:
    """The newest dispatch models, without their blobs."""
    cols = [c for c in dispatch_models.c if c.name != "blob"]
    stmt = select(*cols).order_by(dispatch_models.c.version.desc()).limit(limit)
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


# --- the dispatch model's training (learning.py) ----------------------------------------
async def active_matters_by_code(session: AsyncSession) -> list[dict[str, Any]]:
    """The active catalogue, by code: what a model is trained from."""
    rows = (
        await session.execute(select(matters).where(matters.c.active).order_by(matters.c.code))
    ).mappings()
    return [dict(r) for r in rows]


async def labels_in_order(session: AsyncSession) -> list[dict[str, Any]]:
    """The centre's dispatch labels, oldest first."""
    rows = (await session.execute(select(dispatch_labels).order_by(dispatch_labels.c.at))).mappings()
    return [dict(r) for r in rows]


async def insert_model(session: AsyncSession, values: dict[str, Any]) -> int:
    """A newly trained model; its version."""
    version = await session.scalar(
        insert(dispatch_models).values(**values).returning(dispatch_models.c.version)
    )
    assert version is not None
    return version


async def newest_model_trained(session: AsyncSession) -> dict[str, Any] | None:
    """When the newest model was trained and from how many labels (None without a model)."""
    m = dispatch_models.c
    row = (
        (await session.execute(select(m.trained_at, m.history_labels).order_by(m.version.desc()).limit(1)))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


async def label_count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(dispatch_labels)) or 0


async def last_matter_edit(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(func.max(matters.c.updated_at)))


async def newest_model_version(session: AsyncSession) -> int | None:
    return await session.scalar(select(func.max(dispatch_models.c.version)))


async def model_blob(session: AsyncSession, version: int) -> bytes | None:
    return await session.scalar(select(dispatch_models.c.blob).where(dispatch_models.c.version == version))


async def has_model(session: AsyncSession) -> bool:
    return await session.scalar(select(dispatch_models.c.version).limit(1)) is not None


# --- the demo organisation (seed.py) ----------------------------------------------------
async def insert_if_absent(session: AsyncSession, table: Table, values: dict[str, Any]) -> None:
    """A seeded row, unless its key is already there (as seeded or as an administrator
    edited it)."""
    await session.execute(pg_insert(table).values(**values).on_conflict_do_nothing())


async def insert_matter_if_absent(session: AsyncSession, row: dict[str, Any]) -> bool:
    """A seeded matter unless its code is taken; True if it was inserted."""
    created = await session.execute(
        pg_insert(matters).values(**row).on_conflict_do_nothing().returning(matters.c.code)
    )
    return created.first() is not None


async def calendar_year_known(session: AsyncSession, year: int) -> bool:
    y = calendar_years.c
    return await session.scalar(select(y.year).where(y.year == year)) is not None
