"""The demo organisation: departments, routing rules, SLA policies and the calendar.

Idempotent: existing rows are left as an administrator edited them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import learning, store
from services.routing.domain.calendar import YearSeed, notice_overrides, year_seed
from services.routing.domain.dispatch import shipped_catalogue
from services.routing.domain.sla import DEFAULT_POLICIES
from shared.clock import now

DEPARTMENTS: list[dict[str, str | bool]] = [
    {
        "code": "coordination",
        "name": "12345 热线协调办 (coordination office)",
        "head": "head-coordination",
        "coordinating": True,
    },
    {"code": "service_center", "name": "政务服务中心 (one-window service centre)", "head": "head-service"},
    {"code": "urban", "name": "城市管理局 (urban management)", "head": "head-urban"},
    {"code": "water", "name": "水务集团 (water utility)", "head": "head-water"},
    {"code": "transport", "name": "交通运输局 (transport)", "head": "head-transport"},
    {"code": "market", "name": "市场监管局 (market regulation)", "head": "head-market"},
    {"code": "environment", "name": "生态环境局 (environment)", "head": "head-environment"},
    {"code": "housing", "name": "住房和城乡建设局 (housing)", "head": "head-housing"},
    # The departments the dispatch catalogue adds (utilities, police, emergency, ...).
    *shipped_catalogue()["departments"],
]

RULES: list[dict[str, Any]] = [
    {
        "id": "topic.water",
        "priority": 10,
        "match": {"topic": ["water", "供水", "排水"]},
        "lead_department": "water",
    },
    {
        "id": "topic.traffic",
        "priority": 10,
        "match": {"topic": ["traffic", "交通", "公交"]},
        "lead_department": "transport",
    },
    {
        "id": "topic.noise",
        "priority": 10,
        "match": {"topic": ["noise", "噪音", "pollution", "污染"]},
        "lead_department": "environment",
        "co_departments": ["urban"],
    },
    {
        "id": "topic.housing",
        "priority": 10,
        "match": {"topic": ["housing", "物业", "住房"]},
        "lead_department": "housing",
    },
    {
        "id": "category.complaint",
        "priority": 50,
        "match": {"category": ["complaint"]},
        "lead_department": "market",
    },
    {"id": "category.repair", "priority": 50, "match": {"category": ["repair"]}, "lead_department": "urban"},
    {"id": "category.help", "priority": 50, "match": {"category": ["help"]}, "lead_department": "urban"},
    {
        "id": "category.business",
        "priority": 50,
        "match": {"category": ["business"]},
        "lead_department": "service_center",
    },
    {
        "id": "category.consultation",
        "priority": 50,
        "match": {"category": ["consultation"]},
        "lead_department": "service_center",
    },
    {
        "id": "category.suggestion",
        "priority": 50,
        "match": {"category": ["suggestion"]},
        "lead_department": "coordination",
    },
]


HEADS: list[dict[str, str | None]] = [
    {"id": str(d["head"]), "name": f"{d['code']} head", "department": str(d["code"]), "role": "dept_head"}
    for d in DEPARTMENTS
]
STAFF: list[dict[str, str | None]] = [
    {"id": "supervisor-01", "name": "督办组 王督查", "department": None, "role": "supervisor"},
    {"id": "supervisor-02", "name": "督办组 李督查", "department": None, "role": "supervisor"},
    # Front-line staff the demo tokens name (hotline agents and window staff sit in the
    # service centre): ratings of their service find their department here.
    {"id": "agent-001", "name": "热线 坐席01", "department": "service_center", "role": "agent"},
    {"id": "window-01", "name": "窗口 01号", "department": "service_center", "role": "agent"},
    {"id": "handler-urban-01", "name": "城管 处理人01", "department": "urban", "role": "handler"},
    {"id": "handler-service-01", "name": "政务 处理人01", "department": "service_center", "role": "handler"},
    # The coordination office's dispatchers work the queue of uncertain requests (待派单).
    {"id": "dispatcher-01", "name": "派单员 赵派单", "department": "coordination", "role": "dispatcher"},
    *HEADS,
]


NOTICES = Path(__file__).with_name("calendar_notices")


def notice_file(year: int) -> dict[str, Any] | None:
    """A State Council notice entered as a data file (calendar_notices/<year>.json, the same
    shape as PUT /v1/calendar/years/{year}), if there is one."""
    path = NOTICES / f"{year}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def seed_years() -> tuple[int, ...]:
    """The years seeded: from 2024 to next year, whatever year it is now."""
    return tuple(range(2024, max(2027, now().year + 1) + 1))


async def seed(session: AsyncSession, years: tuple[int, ...] | None = None) -> None:
    for dept in DEPARTMENTS:
        await store.insert_if_absent(
            session, store.departments, {"active": True, "coordinating": False, "parent": None, **dept}
        )
    for member in STAFF:
        await store.insert_if_absent(session, store.staff, {"active": True, **member})
    for rule in RULES:
        await store.insert_if_absent(
            session,
            store.rules,
            {
                "active": True,
                "co_departments": rule.get("co_departments", []),
                **{k: v for k, v in rule.items() if k != "co_departments"},
            },
        )
    for (scope, urgency, clock), policy in DEFAULT_POLICIES.items():
        await store.insert_if_absent(
            session,
            store.sla_policies,
            {
                "scope": scope,
                "urgency": urgency,
                "clock": clock,
                "amount": policy.amount,
                "unit": policy.unit,
                "warning_fraction": policy.warning_fraction,
            },
        )
    await seed_matters(session)
    for year in years or seed_years():
        notice = notice_file(year)
        if notice is not None:
            overrides = notice_overrides(
                year,
                [date.fromisoformat(d) for d in notice.get("holidays", [])],
                [date.fromisoformat(d) for d in notice.get("workdays", [])],
            )
            seeded = YearSeed(year, overrides, "state_council", provisional=False)
        else:
            seeded = year_seed(year)
        if await store.calendar_year_known(session, year):
            continue  # as the year was seeded or an administrator entered it
        for day, workday in seeded.overrides.items():
            await store.insert_if_absent(
                session,
                store.calendar_days,
                {
                    "day": day,
                    "workday": workday,
                    "note": "make-up working day" if workday else "public holiday",
                },
            )
        await store.insert_if_absent(
            session,
            store.calendar_years,
            {
                "year": year,
                "source": seeded.source,
                "provisional": seeded.provisional,
                "notice": notice.get("notice") if notice else None,
            },
        )
    await session.commit()
    if await learning.stale(session) and not await store.has_model(session):
        await learning.train(session, "seed", learning.ModelCache())  # no runtime serves here


async def seed_matters(session: AsyncSession) -> None:
    """The shipped dispatch catalogue, version 1 of each matter (an edited one is kept)."""
    at = now()
    for m in shipped_catalogue()["matters"]:
        row = {
            "code": m["code"],
            "version": 1,
            "name": m["name"],
            "description": m.get("description", ""),
            "lead_department": m["lead"],
            "co_departments": m.get("co", []),
            "category": m["category"],
            "urgent": bool(m.get("urgent")),
            "keywords": m.get("keywords", []),
            "examples": m.get("examples", []),
            "active": True,
            "updated_at": at,
            "updated_by": "seed",
        }
        if await store.insert_matter_if_absent(session, row):
            snapshot = {k: v for k, v in row.items() if k not in ("updated_at", "updated_by", "version")}
            await store.insert_if_absent(
                session,
                store.matter_versions,
                {
                    "code": m["code"],
                    "version": 1,
                    "action": "seeded",
                    "actor": "seed",
                    "at": at,
                    "snapshot": snapshot,
                },
            )
