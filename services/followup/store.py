"""Followup's tables: one row per request it follows after resolution."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    Update,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ClauseElement

from services.followup.domain.followup import Followup
from shared.clock import now
from shared.db import fetch_row, new_metadata, rows_by_shape
from shared.lifecycle import State
from shared.pagination import keyset

metadata = new_metadata()

followups = Table(
    "followups",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("state", String(20), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("anonymous", Boolean, nullable=False),
    Column("category", String(20), nullable=False),
    Column("lead_department", String(50)),
    Column("feedback_due", DateTime(timezone=True)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("outcome", String(30)),
    Column("reply", Text),  # the department's reply at resolution: what the person is told
    Column("feedback_at", DateTime(timezone=True)),
    Column("rating", String(30)),
    Column("score", Integer),
    Column("comment", Text),
    Column("reopen_count", Integer, nullable=False, default=0),
    Column("survey_due", DateTime(timezone=True)),  # no rating by then: no_response
    Column("escalated", Boolean, nullable=False, server_default="false"),
    # Rated unsatisfied and reopened: the return visit is made once it is handled again.
    Column("revisit_owed", Boolean, nullable=False, server_default="false"),
    Column("merged_into", String(36), index=True),
    Column("closed_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
)


revisits = Table(
    "revisits",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("due", DateTime(timezone=True), nullable=False),
    Column("reason", String(30), nullable=False),  # complaint, unsatisfied, sampled
    Column("state", String(20), nullable=False),  # scheduled, done
    Column("outcome", String(20)),
    Column("notes", Text),
    Column("visited_by", String(100)),
    Column("visited_at", DateTime(timezone=True)),
    Column("scheduled_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
    Index("ix_revisits_state_due_key", "state", "due", "id"),
)


async def revisit_pending(session: AsyncSession, request_id: str) -> bool:
    stmt = select(revisits.c.id).where(revisits.c.request_id == request_id, revisits.c.state == "scheduled")
    return (await session.scalar(stmt.limit(1))) is not None


# A consumer's fetch: its requests' followups read and locked in one statement, then read and
# kept here by `find` and `save` while the fetch's transaction lasts (session.info ends with
# the session). Only the aggregate's own columns are kept; they are written by `save` alone.
# The lifecycle's steps (`track` of an arrival, `save` of a step) are written together at
# commit: the arrivals in one statement, then each followup changed once with what it ended
# as. A reaction that writes more than the aggregate writes what the fetch holds first and
# then runs on the database directly (`settled`).
_FETCH = "followups_of_fetch"


@dataclass
class _Fetch:
    ids: set[str]
    followups: dict[str, Followup]
    direct: bool = False  # a reaction that writes the database as it goes is running
    tracked: list[dict[str, Any]] = field(default_factory=list)
    changed: dict[str, dict[str, Any]] = field(default_factory=dict)  # request → columns set


def _fetch_of(session: AsyncSession) -> _Fetch | None:
    fetch: _Fetch | None = session.info.get(_FETCH)
    return fetch


def _buffering(session: AsyncSession, request_id: str) -> _Fetch | None:
    fetch = _fetch_of(session)
    return fetch if fetch is not None and not fetch.direct and request_id in fetch.ids else None


async def lock_for_fetch(session: AsyncSession, request_ids: Sequence[str]) -> None:
    """Read and lock the followups of a fetch's requests at once (in one order: no deadlock)."""
    ids = sorted(set(request_ids))
    stmt = select(followups).where(followups.c.request_id.in_(ids)).order_by(followups.c.request_id)
    rows = (await session.execute(stmt.with_for_update())).mappings()
    session.info[_FETCH] = _Fetch(set(ids), {r["request_id"]: _followup(r) for r in rows})
    session.info.setdefault("before_commit", {})[_FETCH] = flush_fetch


async def flush_fetch(session: AsyncSession) -> None:
    """Write what the fetch holds: its arrivals (in order), then each changed followup once."""
    fetch = _fetch_of(session)
    if fetch is None:
        return
    tracked, fetch.tracked = fetch.tracked, []
    i = 0
    while i < len(tracked):
        j = i
        while j < len(tracked) and tracked[j].keys() == tracked[i].keys():
            j += 1
        await session.execute(_track_of(tuple(tracked[i])), tracked[i:j])
        i = j
    changed, fetch.changed = fetch.changed, {}
    for columns, rows in rows_by_shape(changed, "b_request_id").items():
        await session.execute(_save_of(columns), rows)


@asynccontextmanager
async def settled(session: AsyncSession) -> AsyncIterator[None]:
    """While a reaction that writes more than the aggregate runs: what the fetch holds is
    written first, and its own writes go to the database as they come."""
    fetch = _fetch_of(session)
    if fetch is None:
        yield
        return
    await flush_fetch(session)
    fetch.direct = True
    try:
        yield
    finally:
        fetch.direct = False


@lru_cache(maxsize=16)
def _track_of(columns: tuple[str, ...]) -> Any:
    return pg_insert(followups).on_conflict_do_nothing()


@lru_cache(maxsize=64)
def _save_of(columns: tuple[str, ...]) -> Update:
    return (
        update(followups)
        .where(followups.c.request_id == bindparam("b_request_id"))
        .values({**{name: bindparam(name) for name in columns}, "updated_at": func.now()})
    )


async def find(session: AsyncSession, request_id: str, *, for_update: bool = False) -> Followup | None:
    fetch = _fetch_of(session)
    if fetch is not None and request_id in fetch.ids:
        return fetch.followups.get(request_id)  # read and locked with the fetch
    row = await fetch_row(session, followups, followups.c.request_id == request_id, for_update=for_update)
    return None if row is None else _followup(row)


def _followup(row: Mapping[str, Any] | Any) -> Followup:
    return Followup(
        request_id=row["request_id"],
        state=State(row["state"]),
        channel=row["channel"],
        anonymous=row["anonymous"],
        category=row["category"],
        lead_department=row["lead_department"],
        reopen_count=row["reopen_count"],
        rating=row["rating"],
        escalated=row["escalated"],
        reply=row["reply"],
        revisit_owed=row["revisit_owed"],
    )


async def save(session: AsyncSession, followup: Followup, **extra: object) -> None:
    fetch = _fetch_of(session)
    if fetch is not None and followup.request_id in fetch.ids:
        fetch.followups[followup.request_id] = followup
    values = {
        "state": followup.state.value,
        "reopen_count": followup.reopen_count,
        "lead_department": followup.lead_department,
        "rating": followup.rating,
        "escalated": followup.escalated,
        "revisit_owed": followup.revisit_owed,
        **extra,
    }
    fetch = _buffering(session, followup.request_id)
    if fetch is not None and not any(isinstance(v, ClauseElement) for v in extra.values()):
        fetch.changed.setdefault(followup.request_id, {}).update(values)
        return
    if fetch is not None:
        await flush_fetch(session)
    await session.execute(
        update(followups)
        .where(followups.c.request_id == followup.request_id)
        .values(updated_at=func.now(), **values)
    )


# Staff evaluation (好差评): one rating per service event; a bad one opens a rectification.
staff_ratings = Table(
    "staff_ratings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("service_ref", String(200), nullable=False, unique=True),
    Column("staff_id", String(200), nullable=False, index=True),
    Column("department", String(50), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("level", String(20), nullable=False),
    Column("reasons", JSONB, nullable=False, server_default="[]"),
    Column("comment", Text),  # may hold personal data: stays here
    Column("anonymous", Boolean, nullable=False),
    Column("request_id", String(36), index=True),
    Column("rated_by", String(200), nullable=False),  # the adapter or agent that recorded it
    Column("rated_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
)

rectifications = Table(
    "rectifications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("rating_id", String(36), nullable=False, unique=True),
    Column("staff_id", String(200), nullable=False),
    Column("department", String(50), nullable=False, index=True),
    Column("due", DateTime(timezone=True), nullable=False),
    Column("outcome", String(20)),  # rectified, explained, disputed
    Column("note", Text),
    Column("decided_by", String(200)),
    Column("decided_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
    Index("ix_rectifications_due_key", "due", "id"),
    Index("ix_rectifications_open_due_key", "due", "id", postgresql_where=text("outcome IS NULL")),
    Index("ix_rectifications_department_due_key", "department", "due", "id"),
)


# --- the statements of the reactions and commands (service.py) --------------------------------
async def track(session: AsyncSession, **values: Any) -> None:
    """Follow a new request (once: a redelivered arrival changes nothing)."""
    buffering = _buffering(session, values["request_id"])
    if buffering is not None:
        buffering.tracked.append(values)
    else:
        await session.execute(pg_insert(followups).values(**values).on_conflict_do_nothing())
    fetch = _fetch_of(session)
    rid = values["request_id"]
    if fetch is not None and rid in fetch.ids and rid not in fetch.followups:
        fetch.followups[rid] = _followup(
            {
                "lead_department": None,
                "rating": None,
                "escalated": False,
                "reply": None,
                "revisit_owed": False,
                **values,
            }
        )


async def set_feedback_due_unless_given(
    session: AsyncSession, request_id: str, feedback_due: datetime
) -> None:
    """The feedback due time, while no feedback has been given."""
    f = followups.c
    await session.execute(
        update(followups)
        .where(f.request_id == request_id, f.feedback_at.is_(None))
        .values(feedback_due=feedback_due)
    )


async def unmerge(session: AsyncSession, request_id: str) -> None:
    await session.execute(
        update(followups).where(followups.c.request_id == request_id).values(merged_into=None)
    )


async def merged_into(session: AsyncSession, request_id: str) -> list[str]:
    """The requests merged into this one (still merged)."""
    f = followups.c
    stmt = select(f.request_id).where(f.merged_into == request_id, f.state == State.MERGED.value)
    return list(await session.scalars(stmt))


async def unrated_surveys(session: AsyncSession, moment: datetime, limit: int = 500) -> list[str]:
    """Named requests whose survey was due by `moment` and has no rating, row-locked
    (skipping those another transaction holds)."""
    f = followups.c
    stmt = (
        select(f.request_id)
        .where(f.state == State.FEEDBACK_GIVEN.value, f.anonymous.is_(False), f.survey_due <= moment)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(stmt))


async def add_revisit(session: AsyncSession, **values: Any) -> None:
    await session.execute(insert(revisits).values(**values))


async def get_revisit(
    session: AsyncSession, revisit_id: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    return await fetch_row(session, revisits, revisits.c.id == revisit_id, for_update=for_update)


async def record_revisit(session: AsyncSession, revisit_id: str, **values: Any) -> None:
    await session.execute(update(revisits).where(revisits.c.id == revisit_id).values(**values))


# --- the statements of the reads (queries.py) --------------------------------------------------
async def revisits_page(
    session: AsyncSession, state: str, due_before: datetime | None, cursor: str | None, limit: int
) -> list[dict[str, Any]]:
    """A keyset page of return visits in `state`, soonest due first (due before `due_before`)."""
    r = revisits.c
    stmt = select(revisits).where(r.state == state)
    if due_before is not None:
        stmt = stmt.where(r.due < due_before)
    return [
        dict(row) for row in (await session.execute(keyset(stmt, [r.due, r.id], cursor, limit))).mappings()
    ]


# --- staff ratings and rectifications ----------------------------------------------


async def staff_rating_of_service(session: AsyncSession, service_ref: str) -> dict[str, Any] | None:
    return await fetch_row(session, staff_ratings, staff_ratings.c.service_ref == service_ref)


async def get_staff_rating(session: AsyncSession, rating_id: str) -> dict[str, Any] | None:
    return await fetch_row(session, staff_ratings, staff_ratings.c.id == rating_id)


async def add_staff_rating(session: AsyncSession, row: dict[str, Any]) -> bool:
    """A new rating; False if its service was rated already (a unique key)."""
    result = await session.execute(
        pg_insert(staff_ratings).values(**row).on_conflict_do_nothing().returning(staff_ratings.c.id)
    )
    return result.first() is not None


async def add_rectification(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(pg_insert(rectifications).values(**values))


async def get_rectification(
    session: AsyncSession, rectification_id: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    return await fetch_row(
        session, rectifications, rectifications.c.id == rectification_id, for_update=for_update
    )


async def decide_rectification(session: AsyncSession, rectification_id: str, values: dict[str, Any]) -> None:
    await session.execute(
        update(rectifications).where(rectifications.c.id == rectification_id).values(**values)
    )


async def rectifications_page(
    session: AsyncSession, department: str | None, open_only: bool, cursor: str | None, limit: int
) -> list[dict[str, Any]]:
    """A keyset page of rectifications by due time and id."""
    r = rectifications.c
    stmt = select(rectifications)
    if department:
        stmt = stmt.where(r.department == department)
    if open_only:
        stmt = stmt.where(r.outcome.is_(None))
    page = keyset(stmt, [r.due, r.id], cursor, limit)
    return [dict(row) for row in (await session.execute(page)).mappings()]
