"""Handling's tables: each department's cases and the steps taken on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
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
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.handling.domain.case import Case
from shared.clock import now
from shared.db import fetch_row, new_metadata, upsert
from shared.lifecycle import HANDLING, State
from shared.pagination import keyset

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
    # Keyset pages, oldest first: what a supervisor has to decide, what a head's department has.
    Index("ix_extensions_state_key", "state", "requested_at", "id"),
    Index("ix_extensions_department_state_key", "department", "state", "requested_at", "id"),
    Index("ix_extensions_key", "requested_at", "id"),
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


# --- the statements of the commands and reactions (service.py) --------------------------------
async def finished_state(session: AsyncSession, request_id: str) -> str | None:
    """How the request ended before a department got it, if it did."""
    return await session.scalar(select(finished.c.state).where(finished.c.request_id == request_id))


async def mark_finished(session: AsyncSession, request_id: str, state: str) -> None:
    await session.execute(
        pg_insert(finished).values(request_id=request_id, state=state).on_conflict_do_nothing()
    )


async def unmark_merged(session: AsyncSession, request_id: str) -> None:
    """A merged request handed back may be queued again."""
    await session.execute(
        finished.delete().where(finished.c.request_id == request_id, finished.c.state == State.MERGED.value)
    )


async def upsert_case(session: AsyncSession, values: dict[str, Any]) -> None:
    fetch = _fetch_of(session)
    if fetch is not None and values["request_id"] in fetch.ids:
        fetch.new_cases.append(values)  # written with the fetch's others (flush_fetch)
        fetch.written.add(values["request_id"])
        return
    await session.execute(upsert(cases, ("request_id", "department"), tuple(values)), values)


async def upsert_clocks(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Clocks started (one request's), or started afresh where the department had them."""
    fetch = _fetch_of(session)
    if fetch is not None and rows[0]["request_id"] in fetch.ids:
        fetch.new_clocks.extend(rows)
        fetch.written.add(rows[0]["request_id"])
        return
    await session.execute(upsert(clocks, ("request_id", "department", "clock"), tuple(rows[0])), rows)


# A consumer's fetch: what its routing decisions need of their requests (how a request ended,
# its cases, read and locked, whether a clock runs) read in three statements, not three per
# event; the cases and clocks they open are written together (one statement each) at commit,
# or before anything else of the fetch reads or writes a request's rows (`flush_fetch`).
# A request the fetch wrote is read from the database again after that flush.
_FETCH = "cases_of_fetch"


@dataclass
class FetchView:
    finished: str | None
    cases: list[Case]
    clocks_running: bool


@dataclass
class _Fetch:
    ids: set[str]
    views: dict[str, FetchView]
    written: set[str] = field(default_factory=set)
    new_cases: list[dict[str, Any]] = field(default_factory=list)
    new_clocks: list[dict[str, Any]] = field(default_factory=list)


def _fetch_of(session: AsyncSession) -> _Fetch | None:
    fetch: _Fetch | None = session.info.get(_FETCH)
    return fetch


async def read_fetch(session: AsyncSession, request_ids: Sequence[str]) -> None:
    """Read a fetch's requests for its routing decisions: cases locked in key order."""
    ids = sorted(set(request_ids))
    if not ids:
        return
    f = finished.c
    ended_rows = await session.execute(select(f.request_id, f.state).where(f.request_id.in_(ids)))
    ended: dict[str, str] = {rid: state for rid, state in ended_rows}
    of_request: dict[str, list[Case]] = {rid: [] for rid in ids}
    stmt = select(cases).where(cases.c.request_id.in_(ids)).order_by(cases.c.request_id, cases.c.seq)
    for row in (await session.execute(stmt.with_for_update())).mappings():
        of_request[row["request_id"]].append(to_case(row))
    k = clocks.c
    # Clocks start only with a request's cases (open_cases): one without cases has none.
    # By the primary key (not `stopped_at IS NULL`, which a planner may read as a scan of
    # every running clock's partial index): a request has a few clocks.
    running: set[str] = set()
    if with_cases := [rid for rid, of_it in of_request.items() if of_it]:
        clock_rows = await session.execute(
            select(k.request_id, k.stopped_at).where(k.request_id.in_(with_cases))
        )
        running = {rid for rid, stopped_at in clock_rows if stopped_at is None}
    views = {rid: FetchView(ended.get(rid), of_request[rid], rid in running) for rid in ids}
    session.info[_FETCH] = _Fetch(set(ids), views)
    session.info.setdefault("before_commit", {})[_FETCH] = flush_fetch


def unwritten_in_fetch(session: AsyncSession, request_id: str) -> FetchView | None:
    """What the fetch read of a request, if nothing in the fetch has written it since."""
    fetch = _fetch_of(session)
    if fetch is None or request_id not in fetch.ids or request_id in fetch.written:
        return None
    return fetch.views[request_id]


async def flush_fetch(session: AsyncSession) -> None:
    """Write the cases and clocks the fetch opened so far (at commit, or before a read or a
    write that must see them)."""
    fetch = _fetch_of(session)
    if fetch is None:
        return
    if fetch.new_cases:
        rows, fetch.new_cases = fetch.new_cases, []
        await session.execute(upsert(cases, ("request_id", "department"), tuple(rows[0])), rows)
    if fetch.new_clocks:
        rows, fetch.new_clocks = fetch.new_clocks, []
        await session.execute(upsert(clocks, ("request_id", "department", "clock"), tuple(rows[0])), rows)


async def settle_fetch(session: AsyncSession, request_id: str) -> None:
    """Before any other reaction of the fetch: what it opened is written, and the request is
    read from the database from now on."""
    fetch = _fetch_of(session)
    if fetch is None:
        return
    await flush_fetch(session)
    fetch.written.add(request_id)


async def running_clocks(
    session: AsyncSession, request_id: str, department: str, started_by: datetime
) -> list[dict[str, Any]]:
    """The department's running clocks of a request started by `started_by`, row-locked."""
    k = clocks.c
    stmt = (
        select(clocks)
        .where(
            k.request_id == request_id,
            k.department == department,
            k.stopped_at.is_(None),
            k.started_at <= started_by,
        )
        .with_for_update()
    )
    return [dict(r) for r in (await session.execute(stmt)).mappings().all()]


async def update_clock(
    session: AsyncSession, request_id: str, department: str, clock: str, **values: Any
) -> None:
    k = clocks.c
    await session.execute(
        update(clocks)
        .where(k.request_id == request_id, k.department == department, k.clock == clock)
        .values(**values)
    )


async def add_step(session: AsyncSession, **values: Any) -> None:
    await session.execute(insert(steps).values(**values))


async def add_opinion(session: AsyncSession, **values: Any) -> None:
    await session.execute(insert(opinions).values(**values))


async def opinion_departments(session: AsyncSession, request_id: str) -> frozenset[str]:
    """The departments that gave an opinion on a request."""
    return frozenset(
        await session.scalars(select(opinions.c.department).where(opinions.c.request_id == request_id))
    )


async def pending_extension(
    session: AsyncSession, request_id: str, department: str, clock: str
) -> str | None:
    x = extensions.c
    return await session.scalar(
        select(x.id).where(
            x.request_id == request_id,
            x.department == department,
            x.clock == clock,
            x.state == "pending",
        )
    )


async def add_extension(session: AsyncSession, **values: Any) -> None:
    await session.execute(insert(extensions).values(**values))


async def get_extension(
    session: AsyncSession, extension_id: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    return await fetch_row(session, extensions, extensions.c.id == extension_id, for_update=for_update)


async def decide_extension(session: AsyncSession, extension_id: str, **values: Any) -> None:
    await session.execute(update(extensions).where(extensions.c.id == extension_id).values(**values))


async def add_supervision_order(session: AsyncSession, **values: Any) -> None:
    await session.execute(insert(supervision_orders).values(**values))


async def get_supervision_order(
    session: AsyncSession, order_id: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    return await fetch_row(
        session, supervision_orders, supervision_orders.c.id == order_id, for_update=for_update
    )


async def answer_supervision_order(session: AsyncSession, order_id: str, **values: Any) -> None:
    o = supervision_orders.c
    await session.execute(update(supervision_orders).where(o.id == order_id).values(**values))


# --- the statements of the SLA clocks and their sweep (sla_scheduler.py) ----------------------
async def stop_running_clocks(
    session: AsyncSession,
    request_id: str,
    *,
    at: datetime,
    department: str | None = None,
    clock: str | None = None,
) -> None:
    """The request's running clocks stop at `at` (only the department's, or its one clock, if given)."""
    k = clocks.c
    stmt = update(clocks).where(k.request_id == request_id, k.stopped_at.is_(None))
    if department is not None:
        stmt = stmt.where(k.department == department)
    if clock is not None:
        stmt = stmt.where(k.clock == clock)
    await session.execute(stmt.values(stopped_at=at))


async def lock_clock(
    session: AsyncSession, request_id: str, department: str, clock: str
) -> dict[str, Any] | None:
    """One clock of a department's case, row-locked, or None."""
    k = clocks.c
    return await fetch_row(
        session,
        clocks,
        k.request_id == request_id,
        k.department == department,
        k.clock == clock,
        for_update=True,
    )


async def lock_running_clocks_due_after(
    session: AsyncSession, request_id: str, clock: str, after: datetime
) -> list[dict[str, Any]]:
    """The request's running clocks of that name (every department's) not yet due at `after`,
    row-locked."""
    k = clocks.c
    stmt = (
        select(clocks)
        .where(k.request_id == request_id, k.clock == clock, k.stopped_at.is_(None), k.due > after)
        .with_for_update()
    )
    return [dict(r) for r in (await session.execute(stmt)).mappings().all()]


async def set_case_clock_due(
    session: AsyncSession, request_id: str, department: str, clock: str, due: datetime
) -> None:
    """One clock's due time (an ISO string) in the department's case's due times."""
    await session.execute(
        update(cases)
        .where(cases.c.request_id == request_id, cases.c.department == department)
        .values(due=cases.c.due.op("||")(func.jsonb_build_object(clock, due.isoformat())))
    )


async def claim_due_clocks(session: AsyncSession, moment: datetime, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` running, unpaused, unbreached clocks due or past their (not yet given)
    warning at `moment`, soonest due first, row-locked; rows another sweep holds are skipped."""
    k = clocks.c
    stmt = (
        select(clocks)
        .where(
            k.stopped_at.is_(None),
            k.paused_at.is_(None),
            k.breached_at.is_(None),
            or_(k.due <= moment, and_(k.warned_at.is_(None), k.warn_at <= moment)),
        )
        .order_by(k.due)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [dict(r) for r in (await session.execute(stmt)).mappings().all()]


async def claim_overdue_supervision_orders(
    session: AsyncSession, moment: datetime, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` unanswered, unbreached supervision orders due by `moment`, row-locked;
    rows another sweep holds are skipped."""
    o = supervision_orders.c
    stmt = (
        select(supervision_orders)
        .where(o.answered_at.is_(None), o.breached_at.is_(None), o.due <= moment)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [dict(r) for r in (await session.execute(stmt)).mappings().all()]


async def mark_supervision_order_breached(session: AsyncSession, order_id: str, at: datetime) -> None:
    o = supervision_orders.c
    await session.execute(update(supervision_orders).where(o.id == order_id).values(breached_at=at))


async def case_handlers(session: AsyncSession, request_ids: set[str]) -> dict[tuple[str, str], str]:
    """Who handles each case of the requests, by (request, department); cases nobody handles
    are left out."""
    if not request_ids:
        return {}
    cs = cases.c
    rows = await session.execute(
        select(cs.request_id, cs.department, cs.handler_id).where(
            cs.request_id.in_(request_ids), cs.handler_id.is_not(None)
        )
    )
    return {(r, d): h for r, d, h in rows}


async def open_case_counts(session: AsyncSession) -> list[tuple[str, str, int]]:
    """How many cases are in the departments' work, by department and urgency."""
    cs = cases.c
    rows = await session.execute(
        select(cs.department, cs.urgency, func.count())
        .where(cs.state.in_([s.value for s in HANDLING]))
        .group_by(cs.department, cs.urgency)
    )
    return [(department, urgency, count) for department, urgency, count in rows]


async def overdue_case_counts(session: AsyncSession, moment: datetime) -> list[tuple[str, int]]:
    """How many requests have a running clock past due at `moment`, by department."""
    k = clocks.c
    rows = await session.execute(
        select(k.department, func.count(func.distinct(k.request_id)))
        .where(k.stopped_at.is_(None), k.due <= clock_time(moment))
        .group_by(k.department)
    )
    return [(department, count) for department, count in rows]


async def pause_running_clocks(session: AsyncSession, request_id: str, department: str, at: datetime) -> int:
    """The department's running clocks of the request not paused yet pause at `at`; how many."""
    k = clocks.c
    result = await session.execute(
        update(clocks)
        .where(
            k.request_id == request_id,
            k.department == department,
            k.stopped_at.is_(None),
            k.paused_at.is_(None),
        )
        .values(paused_at=at)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def lock_paused_clocks(session: AsyncSession, request_id: str, department: str) -> list[dict[str, Any]]:
    """The department's paused clocks of the request, row-locked."""
    k = clocks.c
    stmt = (
        select(clocks)
        .where(k.request_id == request_id, k.department == department, k.paused_at.is_not(None))
        .with_for_update()
    )
    return [dict(r) for r in (await session.execute(stmt)).mappings().all()]


# --- the statements of the reads (queries.py) --------------------------------------------------
async def get_case_row(
    session: AsyncSession, request_id: str, department: str | None
) -> dict[str, Any] | None:
    return await fetch_row(session, cases, cases.c.request_id == request_id, cases.c.department == department)


async def case_steps(session: AsyncSession, request_id: str) -> list[dict[str, Any]]:
    stmt = select(steps).where(steps.c.request_id == request_id).order_by(steps.c.seq)
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def case_opinions(session: AsyncSession, request_id: str) -> list[dict[str, Any]]:
    stmt = select(opinions).where(opinions.c.request_id == request_id).order_by(opinions.c.seq)
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


# The reads below take a `scope`: None for every department, else a 1-tuple of the one
# department seen (whose code may itself be None: a caller with no department sees none).
Scope = tuple[str | None] | None


EXTENSION_KEY = ("requested_at", "id")


async def extensions_page(
    session: AsyncSession,
    scope: Scope,
    state: str | None,
    request_id: str | None,
    cursor: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """A keyset page of extension requests, oldest first."""
    x = extensions.c
    stmt = select(extensions)
    if scope is not None:
        (department,) = scope
        stmt = stmt.where(x.department == department)
    if state is not None:
        stmt = stmt.where(x.state == state)
    if request_id is not None:
        stmt = stmt.where(x.request_id == request_id)
    page = keyset(stmt, [x.requested_at, x.id], cursor, limit)
    return [dict(r) for r in (await session.execute(page)).mappings()]


SUPERVISION_KEY = ("due", "id")
CLOCK_KEY = ("due", "request_id", "department", "clock")


def _clock_key() -> list[Any]:
    c = clocks.c
    return [c.due, c.request_id, c.department, c.clock]


async def supervision_orders_page(
    session: AsyncSession, scope: Scope, open_only: bool, cursor: str | None, limit: int
) -> list[dict[str, Any]]:
    """A keyset page of supervision orders by due time and id."""
    o = supervision_orders.c
    stmt = select(supervision_orders)
    if scope is not None:
        (department,) = scope
        stmt = stmt.where(o.department == department)
    if open_only:
        stmt = stmt.where(o.answered_at.is_(None))
    return [dict(r) for r in (await session.execute(keyset(stmt, [o.due, o.id], cursor, limit))).mappings()]


async def overdue_page(
    session: AsyncSession,
    scope: Scope,
    moment: datetime,
    cursor: str | None,
    orders_cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Keyset pages of the running clocks past due and the unanswered supervision orders past
    their deadline at `moment`, soonest due first."""
    c = clocks.c
    stmt = select(clocks).where(c.stopped_at.is_(None), c.due <= clock_time(moment)).order_by(c.due)
    o = supervision_orders.c
    orders = select(supervision_orders).where(o.answered_at.is_(None), o.due <= moment)
    if scope is not None:
        (department,) = scope
        stmt, orders = stmt.where(c.department == department), orders.where(o.department == department)
    clock_rows = [
        dict(r) for r in (await session.execute(keyset(stmt, _clock_key(), cursor, limit))).mappings()
    ]
    order_rows = [
        dict(r)
        for r in (await session.execute(keyset(orders, [o.due, o.id], orders_cursor, limit))).mappings()
    ]
    return clock_rows, order_rows


async def at_risk_page(
    session: AsyncSession, scope: Scope, moment: datetime, cursor: str | None, limit: int
) -> list[dict[str, Any]]:
    """A keyset page of running clocks past their warning time but not yet due at `moment`."""
    c = clocks.c
    stmt = (
        select(clocks)
        .where(c.stopped_at.is_(None), c.warn_at <= clock_time(moment), c.due > clock_time(moment))
        .order_by(c.due)
    )
    if scope is not None:
        (department,) = scope
        stmt = stmt.where(c.department == department)
    return [dict(r) for r in (await session.execute(keyset(stmt, _clock_key(), cursor, limit))).mappings()]
