"""Handling's tables: each department's cases and the steps taken on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
    Table,
    Text,
    case,
    cast,
    exists,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from services.handling.domain.case import Case
from shared.clock import now
from shared.db import fetch_row, new_metadata
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
    Column("accepted_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
    Index("ix_cases_queue", "department", "state"),
)

clocks = Table(
    "clocks",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("department", String(50), primary_key=True),
    Column("clock", String(20), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("due", DateTime(timezone=True), nullable=False),
    Column("original_due", DateTime(timezone=True), nullable=False),
    Column("warn_at", DateTime(timezone=True)),
    Column("warned_at", DateTime(timezone=True)),
    Column("breached_at", DateTime(timezone=True)),
    Column("stopped_at", DateTime(timezone=True)),
    Column("paused_at", DateTime(timezone=True)),  # waiting on the person: no alerts meanwhile
    Column("extensions", Integer, nullable=False, server_default="0"),
    # The scheduler's query: running clocks by their next alert time.
    Index(
        "ix_clocks_running_due", "due", postgresql_where=text("stopped_at IS NULL AND breached_at IS NULL")
    ),
    Index(
        "ix_clocks_running_warn",
        "warn_at",
        postgresql_where=text("stopped_at IS NULL AND warned_at IS NULL AND breached_at IS NULL"),
    ),
    # The overdue and at-risk pages: running clocks in due order (keyset), all departments or one.
    Index(
        "ix_clocks_open_due_key",
        "due",
        "request_id",
        "department",
        "clock",
        postgresql_where=text("stopped_at IS NULL"),
    ),
    Index(
        "ix_clocks_open_department_due_key",
        "department",
        "due",
        "request_id",
        "clock",
        postgresql_where=text("stopped_at IS NULL"),
    ),
)

extensions = Table(
    "extensions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("department", String(50), nullable=False),
    Column("clock", String(20), nullable=False),
    Column("requested_due", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("state", String(10), nullable=False),  # pending, approved, rejected
    Column("decided_by", String(100)),
    Column("note", Text),
    Column("requested_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
    Column("decided_at", DateTime(timezone=True)),
)

opinions = Table(
    "opinions",
    metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("department", String(50), nullable=False),
    Column("author", String(100), nullable=False),
    Column("opinion", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
)

supervision_orders = Table(
    "supervision_orders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("department", String(50), nullable=False),
    Column("instructions", Text, nullable=False),
    Column("due", DateTime(timezone=True), nullable=False),
    Column("issued_by", String(100), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
    Column("answer", Text),
    Column("answered_by", String(100)),
    Column("answered_at", DateTime(timezone=True)),
    Column("breached_at", DateTime(timezone=True)),
    # The supervision and overdue pages: keyset on (due, id), all orders or the open ones.
    Index("ix_supervision_orders_due_key", "due", "id"),
    Index("ix_supervision_orders_open_due_key", "due", "id", postgresql_where=text("answered_at IS NULL")),
    Index(
        "ix_supervision_orders_department_due_key",
        "department",
        "due",
        "id",
        postgresql_where=text("answered_at IS NULL"),
    ),
)

# Requests that ended before (or while) a department got them: answered at intake, merged,
# withdrawn. A routing decision arriving after that opens no case.
finished = Table(
    "finished",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("state", String(20), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
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
    Column("at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
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
        accepted_at=row["accepted_at"],
    )


async def find_case(
    session: AsyncSession, request_id: str, department: str | None, *, for_update: bool = False
) -> Case | None:
    row = await fetch_row(
        session,
        cases,
        cases.c.request_id == request_id,
        cases.c.department == department,
        for_update=for_update,
    )
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
        .values(
            state=case.state.value,
            handler_id=case.handler_id,
            accepted_at=case.accepted_at,
            updated_at=func.now(),
        )
    )


async def set_due(session: AsyncSession, request_id: str, due: dict[str, Any]) -> None:
    """The request's current due times (ISO strings by clock) on every one of its cases."""
    await session.execute(
        update(cases)
        .where(cases.c.request_id == request_id)
        .values(due=cases.c.due.op("||")(cast(due, JSONB)), updated_at=func.now())
    )


def clock_time(moment: datetime | None) -> Any:
    """Where a clock stands: now, or for a paused clock the moment it was paused (its time
    stands still while the department waits on the person), for overdue and at-risk views."""
    return func.coalesce(clocks.c.paused_at, moment)


# Cases that left the department's work: not in the queue unless asked for by state.

# The queue order: urgent first (the green channel), then oldest first. The cursor is the
# position in that order, rank and sequence folded into one number.
_RANK_SPAN = 10**15


OUT_OF_QUEUE = ("merged", "withdrawn", "answered_at_intake", "returned", "closed")


def queue_position(row: dict[str, Any]) -> int:
    return (0 if row["urgency"] == "urgent" else 1) * _RANK_SPAN + int(row["seq"])


async def queue(
    session: AsyncSession,
    department: str | None,
    *,
    limit: int,
    after: int | None,
    state: str | None,
    urgency: str | None,
    handler_id: str | None,
    overdue: bool = False,
    at_risk: bool = False,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    rank = case((cases.c.urgency == "urgent", 0), else_=1)
    position = rank * literal(_RANK_SPAN, BigInteger) + cases.c.seq
    stmt = select(cases).where(cases.c.department == department)
    if state is None:
        # The default view is the work to do: not what was merged, withdrawn, answered at
        # intake, returned to routing or closed (ask for state=all, or one state, to see it).
        stmt = stmt.where(cases.c.state.not_in(OUT_OF_QUEUE))
    elif state == "all":
        state = None
    for column, value in (("state", state), ("urgency", urgency), ("handler_id", handler_id)):
        if value is not None:
            stmt = stmt.where(cases.c[column] == value)
    if overdue or at_risk:
        k = clocks.c
        running = (
            (k.request_id == cases.c.request_id)
            & (k.department == cases.c.department)
            & k.stopped_at.is_(None)
        )
        moment = clock_time(now)
        condition = (k.due <= moment) if overdue else ((k.warn_at <= moment) & (k.due > moment))
        stmt = stmt.where(exists().where(running & condition))
    if after is not None:
        stmt = stmt.where(position > after)
    stmt = stmt.order_by(position).limit(limit)
    return [dict(r) for r in (await session.execute(stmt)).mappings()]
