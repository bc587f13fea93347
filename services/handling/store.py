"""Handling's tables: each department's cases and the steps taken on them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    String,
    Table,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from services.handling.domain.case import Case
from shared.db import new_metadata
from shared.lifecycle import State

metadata = new_metadata()

cases = Table(
    "cases",
    metadata,
    Column("seq", BigInteger, Identity(), nullable=False, unique=True),
    Column("request_id", String(36), primary_key=True),
    Column("department", String(50), primary_key=True),
    Column("role", String(4), nullable=False),  # lead, co
    Column("state", String(20), nullable=False),
    Column("category", String(20), nullable=False),
    Column("urgency", String(10), nullable=False),
    Column("due", JSONB, nullable=False, server_default="{}"),
    Column("handler_id", String(100)),
    Column("routed_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_cases_queue", "department", "state"),
)

# Requests that ended before (or while) a department got them: answered at intake, merged,
# withdrawn. A routing decision arriving after that opens no case.
finished = Table(
    "finished",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("state", String(20), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

steps = Table(
    "steps",
    metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("department", String(50), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("actor_id", String(100), nullable=False),
    Column("detail", JSONB, nullable=False),
    Column("event_id", String(36)),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def to_case(row: Any) -> Case:
    return Case(
        request_id=row["request_id"],
        department=row["department"],
        role=row["role"],
        state=State(row["state"]),
        category=row["category"],
        urgency=row["urgency"],
        due=row["due"],
        handler_id=row["handler_id"],
        routed_at=row["routed_at"],
    )


async def find_case(
    session: AsyncSession, request_id: str, department: str | None, *, for_update: bool = False
) -> Case | None:
    stmt = select(cases).where(cases.c.request_id == request_id, cases.c.department == department)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).mappings().first()
    return to_case(row) if row else None


async def cases_of_request(session: AsyncSession, request_id: str, *, for_update: bool = False) -> list[Case]:
    stmt = select(cases).where(cases.c.request_id == request_id).order_by(cases.c.seq)
    if for_update:
        stmt = stmt.with_for_update()
    return [to_case(r) for r in (await session.execute(stmt)).mappings()]


async def save_case(session: AsyncSession, case: Case) -> None:
    await session.execute(
        update(cases)
        .where(cases.c.request_id == case.request_id, cases.c.department == case.department)
        .values(state=case.state.value, handler_id=case.handler_id, updated_at=func.now())
    )


async def queue(
    session: AsyncSession,
    department: str | None,
    *,
    limit: int,
    after_seq: int | None,
    state: str | None,
    urgency: str | None,
    handler_id: str | None,
) -> list[dict[str, Any]]:
    # Oldest first; the urgent-first green channel is a filter (urgency=urgent) for now.
    stmt = select(cases).where(cases.c.department == department)
    for column, value in (("state", state), ("urgency", urgency), ("handler_id", handler_id)):
        if value is not None:
            stmt = stmt.where(cases.c[column] == value)
    if after_seq is not None:
        stmt = stmt.where(cases.c.seq > after_seq)
    stmt = stmt.order_by(cases.c.seq).limit(limit)
    rows = [dict(r) for r in (await session.execute(stmt)).mappings()]
    return rows
