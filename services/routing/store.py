"""Routing's tables: the organisation directory, routing rules, SLA policies, the
business calendar's edited days, and every request's assignment history."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Integer,
    LargeBinary,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.domain.calendar import BusinessCalendar, parse_working_hours
from services.routing.domain.rules import Rule
from services.routing.domain.sla import ClockPolicy
from shared.clock import now, organisation_tz
from shared.db import fetch_row, new_metadata
from shared.settings import get_settings

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


async def load_calendar(session: AsyncSession) -> BusinessCalendar:
    rows = (await session.execute(select(calendar_days.c.day, calendar_days.c.workday))).all()
    overrides: dict[date, bool] = {day: workday for day, workday in rows}
    periods = parse_working_hours(get_settings().working_hours)
    return BusinessCalendar(tz=organisation_tz(), periods=periods, overrides=overrides)


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
    return await fetch_row(session, routes, routes.c.request_id == request_id, for_update=for_update)


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


class ConfigCache:
    """Rules, policies and the calendar change rarely and are read for every event: keep
    them for a few seconds. This process's own edits take effect at once; another
    replica's within `ttl_seconds`."""

    def __init__(self, ttl_seconds: float = 2.0) -> None:
        self.ttl_seconds = ttl_seconds
        self._config: RoutingConfig | None = None
        self._loaded_at = 0.0

    def invalidate(self) -> None:
        self._config = None

    async def get(self, session: AsyncSession) -> RoutingConfig:
        clock = time.monotonic()
        if self._config is None or clock - self._loaded_at > self.ttl_seconds:
            self._config = RoutingConfig(
                rules=await load_rules(session),
                policies=await load_policies(session),
                calendar=await load_calendar(session),
                active_departments=await active_departments(session),
                coordinating_department=await coordinating_department(session) or "coordination",
            )
            self._loaded_at = clock
        return self._config


CONFIG = ConfigCache()
