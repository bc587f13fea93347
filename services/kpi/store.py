"""KPI's tables: the per-request fact row (folded from lifecycle events)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, Integer, String, Table, Text, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.domain.facts import Fact
from services.kpi.domain.figures import Period
from shared.db import fetch_row, new_metadata, upsert

metadata = new_metadata()

_TIMES = (
    "received_at",
    "routed_at",
    "accept_due",
    "accepted_at",
    "first_contact_due",
    "contacted_at",
    "resolve_due",
    "resolve_due_original",
    "resolved_at",
    "feedback_due",
    "feedback_at",
    "rated_at",
    "closed_at",
    "last_event_at",
)
_TEXTS = (
    "state",
    "channel",
    "category",
    "urgency",
    "topic",
    "area",
    "requester_ref",
    "lead_department",
    "outcome",
    "rating",
    "revisit_outcome",
    "excluded",
    "first_responder",
    "answered_by",
    "answer_article",
    "handler_id",
)

facts = Table(
    "facts",
    metadata,
    Column("request_id", String(36), primary_key=True),
    *[Column(name, String(100)) for name in _TEXTS],
    *[Column(name, DateTime(timezone=True)) for name in _TIMES],
    Column("co_departments", JSONB, nullable=False, server_default="[]"),
    Column("returned_by", JSONB, nullable=False, server_default="[]"),
    Column("score", Integer),
    Column("returns", Integer, nullable=False, default=0),
    Column("reopens", Integer, nullable=False, default=0),
    Column("chases", Integer, nullable=False, server_default="0"),  # 催办 by the first responder
    Column("overturned", Boolean, nullable=False, default=False),
    Column("answered_at_intake", Boolean, nullable=False, default=False),
    Column("events", Integer, nullable=False, default=0),
)


# Every folded event, so a fact row is always the fold of its request's events in the order
# they happened, not the order the broker delivered them.
events = Table(
    "events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("payload", JSONB, nullable=False),
)

scores = Table(
    "scores",
    metadata,
    Column("period", String(10), primary_key=True),
    Column("department", String(50), primary_key=True),
    Column("score", Float),
    Column("rank", Integer),
    Column("figures", JSONB, nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

flags = Table(
    "flags",
    metadata,
    Column("department", String(50), primary_key=True),
    Column("period", String(10), primary_key=True),  # the last period of the streak
    Column("periods", JSONB, nullable=False),
    Column("pass_line", Float, nullable=False),
    Column("flagged_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


# Staff evaluation, folded from staff.rated / staff.rectification_decided.
staff_ratings = Table(
    "staff_ratings",
    metadata,
    Column("rating_id", String(36), primary_key=True),
    Column("staff_id", String(200), nullable=False, index=True),
    Column("department", String(50), nullable=False),
    Column("level", String(20), nullable=False),
    Column("bad", Boolean, nullable=False),
    Column("rated_at", DateTime(timezone=True), nullable=False),
    Column("rectification_due", DateTime(timezone=True)),
    Column("outcome", String(20)),
    Column("counts_against_staff", Boolean, nullable=False, server_default="true"),
    Column("rectified_on_time", Boolean),
)

# Self-evaluation and the superior's evaluation, kept beside the computed figures.
staff_evaluations = Table(
    "staff_evaluations",
    metadata,
    Column("staff_id", String(200), primary_key=True),
    Column("period", String(10), primary_key=True),
    Column("kind", String(10), primary_key=True),  # self, superior
    Column("score", Float, nullable=False),
    Column("text", Text, nullable=False),
    Column("by", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


async def load_fact(session: AsyncSession, request_id: str, *, for_update: bool = False) -> Fact | None:
    row = await fetch_row(session, facts, facts.c.request_id == request_id, for_update=for_update)
    return Fact.from_row(row) if row else None


async def save_fact(session: AsyncSession, fact: Fact) -> None:
    row = fact.to_row()
    await session.execute(upsert(facts, ("request_id",), tuple(row)), row)


async def facts_for(session: AsyncSession, department: str | None, period: Period) -> list[Fact]:
    """Facts with any clock or event time in the period: of the department (leading it, or
    having returned it), or of every department."""
    in_period = [facts.c[name].between(period.start, period.end) for name in _TIMES]
    stmt = select(facts).where(or_(*in_period))
    if department is not None:
        stmt = stmt.where(
            or_(facts.c.lead_department == department, facts.c.returned_by.contains([department]))
        )
    return [Fact.from_row(dict(r)) for r in (await session.execute(stmt)).mappings()]


async def all_facts(session: AsyncSession) -> dict[str, Fact]:
    return {
        r["request_id"]: Fact.from_row(dict(r)) for r in (await session.execute(select(facts))).mappings()
    }


async def departments_in(session: AsyncSession) -> list[str]:
    stmt = select(facts.c.lead_department).where(facts.c.lead_department.is_not(None)).distinct()
    return sorted((await session.scalars(stmt)).all())
