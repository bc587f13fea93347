"""KPI's tables: the per-request fact row (folded from lifecycle events)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.domain import rollup
from services.kpi.domain.facts import Fact
from services.kpi.domain.figures import Period
from shared.clock import now, organisation_tz
from shared.db import fetch_row, insert_new, new_metadata, upsert
from shared.pagination import keyset

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
    "matter",
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
    # Hot spots' repeat callers: an index-only scan of a period's received requests.
    Index(
        "ix_facts_received_requester",
        "received_at",
        postgresql_include=["requester_ref", "topic", "category"],
    ),
    # Today's part of a running period: the open clocks due by now (rollup.OPEN_MEASURES).
    Index(
        "ix_facts_open_accept",
        "accept_due",
        postgresql_include=["lead_department"],
        postgresql_where=text("accepted_at IS NULL AND excluded IS NULL"),
    ),
    Index(
        "ix_facts_open_resolve",
        "resolve_due",
        postgresql_include=["lead_department"],
        postgresql_where=text("resolved_at IS NULL AND excluded IS NULL"),
    ),
    Index(
        "ix_facts_open_feedback",
        "feedback_due",
        postgresql_include=["lead_department"],
        postgresql_where=text("feedback_at IS NULL AND resolved_at IS NOT NULL AND excluded IS NULL"),
    ),
    # Merged and withdrawn requests with any time in a period: a few rows, one small index a
    # time column, OR-ed in one bitmap scan.
    *[
        Index(f"ix_facts_excluded_{name}", name, postgresql_where=text("excluded IS NOT NULL"))
        for name in _TIMES
    ],
)

# Per department ("" = the organisation) x measure x local day: what the period figures sum
# (services/kpi/domain/rollup.py). Kept in step with `facts` in the same transaction.
counts = Table(
    "counts",
    metadata,
    Column("department", String(50), primary_key=True),
    Column("measure", String(250), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("n", BigInteger, nullable=False),
    Index("ix_counts_day", "day", "department", "measure", postgresql_include=["n"]),
)

# Per matter (事项) x department (rollup.WHOLE = every department together) x measure x local
# day: the figures of the requests dispatched under a matter (rollup.matter_contributions),
# kept in step with `facts` like `counts`. A period's matters are one range of ix_matter_counts_day.
matter_counts = Table(
    "matter_counts",
    metadata,
    Column("matter", String(100), primary_key=True),
    Column("department", String(50), primary_key=True),
    Column("measure", String(50), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("n", BigInteger, nullable=False),
    Index("ix_matter_counts_day", "department", "day", "matter", "measure", postgresql_include=["n"]),
)

# Requests per requester and topic per month and per ISO week of receipt (rollup.repeat_*):
# the hot spots' repeat callers of a month or a week are one index range.
repeats = Table(
    "repeats",
    metadata,
    Column("bucket", String(10), primary_key=True),
    Column("requester_ref", String(100), primary_key=True),
    Column("topic_key", String(100), primary_key=True),
    Column("n", BigInteger, nullable=False),
    Index("ix_repeats_bucket_n", "bucket", text("n DESC"), postgresql_where=text("n > 1")),
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
    Column("scored_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
)

flags = Table(
    "flags",
    metadata,
    Column("department", String(50), primary_key=True),
    Column("period", String(10), primary_key=True),  # the last period of the streak
    Column("periods", JSONB, nullable=False),
    Column("pass_line", Float, nullable=False),
    Column("flagged_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
    # The accountability list pages newest first on this key.
    Index("ix_flags_newest", "flagged_at", "department", "period"),
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
    Column("at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
)


async def load_fact(session: AsyncSession, request_id: str, *, for_update: bool = False) -> Fact | None:
    row = await fetch_row(session, facts, facts.c.request_id == request_id, for_update=for_update)
    return Fact.from_row(row) if row else None


_UNSET: Final = object()


@dataclass
class FoldBatch:
    """One fetch's work inside its transaction: the fact rows it touches, read (and locked)
    in one statement, and the rows it writes, written once at commit (one statement each
    for the kept events and the fact rows), instead of three round trips per event."""

    facts: dict[str, Fact | None]
    events: list[dict[str, Any]] = field(default_factory=list)
    changed: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Each changed row as it was when last written: the counts move once per row and flush
    # by the difference from there to now (the steps between add up to that difference).
    written: dict[str, Fact | None] = field(default_factory=dict)


_BATCH = "kpi_fold_batch"


async def open_batch(session: AsyncSession, request_ids: Sequence[str]) -> None:
    """Read the fact rows of these requests for update, in key order (a lock order)."""
    ids = sorted(set(request_ids))
    batch = FoldBatch(facts=dict.fromkeys(ids))
    rows = await session.execute(
        select(facts).where(facts.c.request_id.in_(ids)).order_by(facts.c.request_id).with_for_update()
    )
    for row in rows.mappings():
        batch.facts[row["request_id"]] = Fact.from_row(dict(row))
    session.info[_BATCH] = batch
    session.info.setdefault("before_commit", {})[_BATCH] = flush_batch


def batch_of(session: AsyncSession) -> FoldBatch | None:
    batch: FoldBatch | None = session.info.get(_BATCH)
    return batch


async def flush_batch(session: AsyncSession) -> None:
    """Write what the batch holds (at commit, or before a read that must see it)."""
    batch = batch_of(session)
    if batch is None:
        return
    if batch.events:
        await session.execute(insert_new(events), batch.events)
        batch.events = []
    if batch.changed:
        ids = sorted(batch.changed)
        rows = [batch.changed[k] for k in ids]
        await session.execute(upsert(facts, ("request_id",), tuple(rows[0])), rows)
        tz = organisation_tz()
        change: Counter[rollup.Key] = Counter()
        repeat_change: Counter[rollup.RepeatKey] = Counter()
        matter_change: Counter[rollup.MatterKey] = Counter()
        for rid in ids:
            before, after = batch.written[rid], batch.facts[rid]
            change.update(rollup.delta(before, after, tz))
            repeat_change.update(rollup.repeat_delta(before, after, tz))
            matter_change.update(rollup.matter_delta(before, after, tz))
        batch.changed, batch.written = {}, {}
        await add_counts(session, Counter({k: n for k, n in change.items() if n}))
        await add_repeats(session, Counter({k: n for k, n in repeat_change.items() if n}))
        await add_matter_counts(session, Counter({k: n for k, n in matter_change.items() if n}))


async def keep_event(session: AsyncSession, row: dict[str, Any]) -> None:
    """Keep an event's payload (deferred to the batch's flush when a batch is open)."""
    batch = batch_of(session)
    if batch is not None:
        batch.events.append(row)
        return
    await session.execute(insert_new(events), row)


async def load_fact_in_batch(session: AsyncSession, request_id: str) -> Fact | None:
    """The request's fact row, locked: from the open batch if it read it, else read now."""
    batch = batch_of(session)
    if batch is not None and request_id in batch.facts:
        return batch.facts[request_id]
    return await load_fact(session, request_id, for_update=True)


async def save_fact(
    session: AsyncSession, fact: Fact, previous: Fact | object | None = _UNSET, *, defer_counts: bool = False
) -> None:
    """Write the fact row and move the counts by the difference it makes. `previous` is the
    row as it was (None: there was none); the caller that already read it passes it on.
    `defer_counts` (inside a UnitOfWork only): the counts of every fact saved in the
    transaction are summed and written once, at its commit, in key order."""
    batch = batch_of(session) if defer_counts else None
    if batch is not None and fact.request_id in batch.facts:
        batch.written.setdefault(fact.request_id, batch.facts[fact.request_id])
        batch.facts[fact.request_id] = fact
        batch.changed[fact.request_id] = fact.to_row()
        return
    if previous is _UNSET:
        previous = await load_fact(session, fact.request_id, for_update=True)
    assert previous is None or isinstance(previous, Fact)
    row = fact.to_row()
    await session.execute(upsert(facts, ("request_id",), tuple(row)), row)
    tz = organisation_tz()
    change = rollup.delta(previous, fact, tz)
    repeat_change = rollup.repeat_delta(previous, fact, tz)
    matter_change = rollup.matter_delta(previous, fact, tz)
    if not defer_counts:
        await add_counts(session, change)
        await add_repeats(session, repeat_change)
        await add_matter_counts(session, matter_change)
        return
    pending: Counter[rollup.Key] | None = session.info.get("kpi_counts")
    pending_repeats: Counter[rollup.RepeatKey] | None = session.info.get("kpi_repeats")
    pending_matters: Counter[rollup.MatterKey] | None = session.info.get("kpi_matter_counts")
    if pending is None or pending_repeats is None or pending_matters is None:
        pending = session.info["kpi_counts"] = Counter()
        pending_repeats = session.info["kpi_repeats"] = Counter()
        pending_matters = session.info["kpi_matter_counts"] = Counter()
        session.info.setdefault("before_commit", {})["kpi_counts"] = _flush_counts
    pending.update(change)
    pending_repeats.update(repeat_change)
    pending_matters.update(matter_change)


async def _flush_counts(session: AsyncSession) -> None:
    pending: Counter[rollup.Key] = session.info.pop("kpi_counts", Counter())
    pending_repeats: Counter[rollup.RepeatKey] = session.info.pop("kpi_repeats", Counter())
    pending_matters: Counter[rollup.MatterKey] = session.info.pop("kpi_matter_counts", Counter())
    await add_counts(session, Counter({k: n for k, n in pending.items() if n}))
    await add_repeats(session, Counter({k: n for k, n in pending_repeats.items() if n}))
    await add_matter_counts(session, Counter({k: n for k, n in pending_matters.items() if n}))


def _add_repeats_statement() -> Any:
    stmt = pg_insert(repeats)
    return stmt.on_conflict_do_update(
        index_elements=["bucket", "requester_ref", "topic_key"], set_={"n": repeats.c.n + stmt.excluded.n}
    )


_ADD_REPEATS = _add_repeats_statement()


async def add_repeats(session: AsyncSession, change: Counter[rollup.RepeatKey]) -> None:
    if not change:
        return
    await session.execute(
        _ADD_REPEATS,
        [
            {"bucket": b, "requester_ref": r, "topic_key": t, "n": n}
            for (b, r, t), n in sorted(change.items())
        ],
    )


def _add_counts_statement() -> Any:
    stmt = pg_insert(counts)
    return stmt.on_conflict_do_update(
        index_elements=["department", "measure", "day"], set_={"n": counts.c.n + stmt.excluded.n}
    )


_ADD_COUNTS = _add_counts_statement()


async def add_counts(session: AsyncSession, change: Counter[rollup.Key]) -> None:
    """Add to the counts, in key order (two writers lock counters in the same order)."""
    if not change:
        return
    await session.execute(
        _ADD_COUNTS,
        [{"department": d, "measure": m, "day": day, "n": n} for (d, m, day), n in sorted(change.items())],
    )


def _add_matter_counts_statement() -> Any:
    stmt = pg_insert(matter_counts)
    return stmt.on_conflict_do_update(
        index_elements=["matter", "department", "measure", "day"],
        set_={"n": matter_counts.c.n + stmt.excluded.n},
    )


_ADD_MATTER_COUNTS = _add_matter_counts_statement()


async def add_matter_counts(session: AsyncSession, change: Counter[rollup.MatterKey]) -> None:
    """Add to the matter counts, in key order (the lock order of `add_counts`)."""
    if not change:
        return
    await session.execute(
        _ADD_MATTER_COUNTS,
        [
            {"matter": m, "department": d, "measure": measure, "day": day, "n": n}
            for (m, d, measure, day), n in sorted(change.items())
        ],
    )


def _local_midnight(moment: datetime) -> datetime:
    tz = organisation_tz()
    day = rollup.day_of(moment, tz)
    return datetime(day.year, day.month, day.day, tzinfo=tz)


async def period_counts(
    session: AsyncSession, period: Period, at: datetime | None, department: str | None = None
) -> dict[str, dict[str, int]]:
    """Each department's (and the organisation's, "") measures summed over the period's days.
    The `*_open` measures hold only the open clocks due by `at` (None: all of them)."""
    first, last = rollup.period_days(period)
    c = counts.c
    running = at is not None and period.start <= at < period.end
    before = rollup.day_of(at, organisation_tz()) if running and at is not None else last
    total = func.sum(c.n)
    stmt = (
        select(c.department, c.measure, total.label("n"), total.filter(c.day < before).label("before"))
        .where(c.day >= first, c.day < last)
        .group_by(c.department, c.measure)
    )
    if department is not None:
        stmt = stmt.where(c.department == department)
    out: dict[str, dict[str, int]] = {}
    for dept, measure, n, n_before in (await session.execute(stmt)).all():
        if measure in rollup.OPEN_MEASURES and at is not None and at < period.end:
            n = (n_before or 0) if running else 0  # a period still to come: nothing due yet
        out.setdefault(dept, {})[measure] = int(n or 0)
    if running and at is not None:
        for (dept, measure), n in (await _open_due_today(session, period, at, department)).items():
            measures = out.setdefault(dept, {})
            measures[measure] = measures.get(measure, 0) + n
    return out


async def _open_due_today(
    session: AsyncSession, period: Period, at: datetime, department: str | None
) -> dict[tuple[str, str], int]:
    """Open clocks of the running period due from today's midnight up to `at` (the days
    before come from the counts), per lead department."""
    lo = max(period.start, _local_midnight(at))
    f = facts.c
    parts = []
    for name, due_name, done_name in rollup.CLOCKS:
        due = f[due_name]
        where = [
            due >= lo,
            due <= at,
            due < period.end,
            f[done_name].is_(None),
            f.excluded.is_(None),
            f.lead_department.is_not(None),
        ]
        if name == "feedback":
            where.append(f.resolved_at.is_not(None))
        if department is not None:
            where.append(f.lead_department == department)
        parts.append(
            select(
                f.lead_department, literal_column(f"'{name}_open'").label("measure"), func.count().label("n")
            )
            .where(*where)
            .group_by(f.lead_department)
        )
    union = parts[0].union_all(*parts[1:])
    return {(d, m): int(n) for d, m, n in (await session.execute(union)).all()}


async def excluded_counts(session: AsyncSession, period: Period, department: str | None) -> dict[str, int]:
    """Merged or withdrawn requests each department led with any time in the period (the
    bounds inclusive, as the figures have always counted them)."""
    f = facts.c
    stmt = (
        select(f.lead_department, func.count())
        .where(
            f.excluded.is_not(None),
            f.lead_department.is_not(None),
            or_(*[f[name].between(period.start, period.end) for name in _TIMES]),
        )
        .group_by(f.lead_department)
    )
    if department is not None:
        stmt = stmt.where(f.lead_department == department)
    return {d: int(n) for d, n in (await session.execute(stmt)).all()}


MatterDepartment = tuple[str, str]  # matter, department (rollup.WHOLE: every department together)


async def matter_period_counts(
    session: AsyncSession,
    period: Period,
    at: datetime | None,
    *,
    matters: Sequence[str] | None = None,
    department: str | None = None,
) -> dict[MatterDepartment, dict[str, int]]:
    """Like `period_counts`, per matter and department from `matter_counts`: the matters
    named (None: all), the department named (rollup.WHOLE: every department together;
    None: each department and WHOLE)."""
    first, last = rollup.period_days(period)
    c = matter_counts.c
    running = at is not None and period.start <= at < period.end
    before = rollup.day_of(at, organisation_tz()) if running and at is not None else last
    total = func.sum(c.n)
    stmt = (
        select(c.matter, c.department, c.measure, total.label("n"))
        .add_columns(total.filter(c.day < before).label("before"))
        .where(c.day >= first, c.day < last)
        .group_by(c.matter, c.department, c.measure)
    )
    if matters is not None:
        stmt = stmt.where(c.matter.in_(matters))
    if department is not None:
        stmt = stmt.where(c.department == department)
    out: dict[MatterDepartment, dict[str, int]] = {}
    for matter, dept, measure, n, n_before in (await session.execute(stmt)).all():
        if measure in rollup.OPEN_MEASURES and at is not None and at < period.end:
            n = (n_before or 0) if running else 0  # a period still to come: nothing due yet
        out.setdefault((matter, dept), {})[measure] = int(n or 0)
    if running and at is not None:
        today = await _matter_open_due_today(session, period, at, matters, department)
        for key, measures_today in today.items():
            measures = out.setdefault(key, {})
            for measure, n in measures_today.items():
                measures[measure] = measures.get(measure, 0) + n
    return out


def _by_matter(
    rows: Iterable[Any], department: str | None, width: int
) -> dict[MatterDepartment, Counter[str]]:
    """(matter, lead department, [measure,] n) rows as counts per matter and department, and
    for every department together (rollup.WHOLE), as far as `department` asks for."""
    out: dict[MatterDepartment, Counter[str]] = {}
    for row in rows:
        matter, lead, n = row[0], row[1], int(row[-1])
        measure = row[2] if width == 4 else ""
        for key in (lead, rollup.WHOLE):
            if department is None or department == key:
                out.setdefault((matter, key), Counter())[measure] += n
    return out


async def _matter_open_due_today(
    session: AsyncSession, period: Period, at: datetime, matters: Sequence[str] | None, department: str | None
) -> dict[MatterDepartment, Counter[str]]:
    """Today's part of the open clocks (as `_open_due_today`), per matter and department."""
    lo = max(period.start, _local_midnight(at))
    f = facts.c
    parts = []
    for name, due_name, done_name in rollup.CLOCKS:
        due = f[due_name]
        where = [
            due >= lo,
            due <= at,
            due < period.end,
            f[done_name].is_(None),
            f.excluded.is_(None),
            f.lead_department.is_not(None),
            f.matter.is_not(None),
            f.matter != "",
        ]
        if name == "feedback":
            where.append(f.resolved_at.is_not(None))
        if matters is not None:
            where.append(f.matter.in_(matters))
        if department not in (None, rollup.WHOLE):
            where.append(f.lead_department == department)
        parts.append(
            select(
                f.matter,
                f.lead_department,
                literal_column(f"'{name}_open'").label("measure"),
                func.count().label("n"),
            )
            .where(*where)
            .group_by(f.matter, f.lead_department)
        )
    union = parts[0].union_all(*parts[1:])
    return _by_matter((await session.execute(union)).all(), department, 4)


async def matter_excluded_counts(
    session: AsyncSession, period: Period, *, matters: Sequence[str] | None, department: str | None
) -> dict[MatterDepartment, int]:
    """Merged or withdrawn requests of each matter (as `excluded_counts`), per lead department
    and for every department together."""
    f = facts.c
    stmt = (
        select(f.matter, f.lead_department, func.count())
        .where(
            f.excluded.is_not(None),
            f.lead_department.is_not(None),
            f.matter.is_not(None),
            f.matter != "",
            or_(*[f[name].between(period.start, period.end) for name in _TIMES]),
        )
        .group_by(f.matter, f.lead_department)
    )
    if matters is not None:
        stmt = stmt.where(f.matter.in_(matters))
    if department not in (None, rollup.WHOLE):
        stmt = stmt.where(f.lead_department == department)
    counted = _by_matter((await session.execute(stmt)).all(), department, 3)
    return {k: v[""] for k, v in counted.items()}


async def matters_in(
    session: AsyncSession, period: Period, department: str, cursor: str | None, limit: int
) -> list[str]:
    """The matters with a count of `department` (rollup.WHOLE: any) in the period, by code
    (code point order), after the cursor's: one range of ix_matter_counts_day."""
    first, last = rollup.period_days(period)
    c = matter_counts.c
    code = c.matter.collate("C")  # by code point, as the codes are compared anywhere else
    stmt = select(code).where(c.department == department, c.day >= first, c.day < last).distinct()
    return list((await session.scalars(keyset(stmt, [code], cursor, limit))).all())


async def repeated(session: AsyncSession, period: Period, top: int) -> list[dict[str, Any]]:
    """The same person (pseudonymous reference) on the same topic more than once in the
    period: the `top` with the most requests. A month or a week from the kept repeat counts;
    a quarter or a year from the fact rows received in it."""
    bucket = rollup.repeat_buckets(period)
    if bucket is not None:
        r = repeats.c
        topic_order = func.nullif(r.topic_key, rollup.NO_TOPIC)
        stmt = (
            select(r.requester_ref, r.topic_key, r.n)
            .where(r.bucket == bucket, r.n > 1)
            .order_by(r.n.desc(), r.requester_ref.collate("C"), func.coalesce(topic_order, "").collate("C"))
            .limit(top)
        )
        return [
            {"requester_ref": ref, "topic": rollup.topic_of_key(t), "requests": int(k)}
            for ref, t, k in (await session.execute(stmt)).all()
        ]
    f = facts.c
    topic = func.coalesce(func.nullif(f.topic, ""), f.category)
    n = func.count()
    stmt = (
        select(f.requester_ref, topic.label("topic"), n.label("requests"))
        .where(
            f.received_at >= period.start,
            f.received_at < period.end,
            f.requester_ref.is_not(None),
            f.requester_ref != "",
        )
        .group_by(f.requester_ref, topic)
        .having(n > 1)
        .order_by(n.desc(), f.requester_ref.collate("C"), func.coalesce(topic, "").collate("C"))
        .limit(top)
    )
    return [
        {"requester_ref": ref, "topic": t, "requests": int(k)}
        for ref, t, k in (await session.execute(stmt)).all()
    ]


async def stream_facts(session: AsyncSession) -> AsyncIterator[Fact]:
    """Every fact row, a few thousand at a time from a server-side cursor (the rebuild's
    comparison: never the whole table in memory)."""
    result = await session.stream(select(facts).execution_options(yield_per=5_000))
    async for row in result.mappings():
        yield Fact.from_row(dict(row))


async def all_facts(session: AsyncSession) -> dict[str, Fact]:
    return {
        r["request_id"]: Fact.from_row(dict(r)) for r in (await session.execute(select(facts))).mappings()
    }


async def departments_in(session: AsyncSession) -> list[str]:
    """Every department that leads a request (counted on rollup.LED_DAY)."""
    c = counts.c
    stmt = select(c.department).where(c.day == rollup.LED_DAY, c.measure == rollup.LED, c.n > 0).distinct()
    return sorted((await session.scalars(stmt)).all())


def count_matters(rows: Iterable[dict[str, Any]]) -> Counter[rollup.MatterKey]:
    """The matter counts of a set of fact rows, from scratch (the migration)."""
    tz = organisation_tz()
    total: Counter[rollup.MatterKey] = Counter()
    for row in rows:
        total.update(rollup.matter_contributions(Fact.from_row(row), tz))
    return total


def count_all(rows: Iterable[dict[str, Any]]) -> tuple[Counter[rollup.Key], Counter[rollup.RepeatKey]]:
    """The counts and repeat counts of a set of fact rows, from scratch (the migration)."""
    tz = organisation_tz()
    total: Counter[rollup.Key] = Counter()
    total_repeats: Counter[rollup.RepeatKey] = Counter()
    for row in rows:
        fact = Fact.from_row(row)
        total.update(rollup.contributions(fact, tz))
        total_repeats.update(rollup.repeat_contributions(fact, tz))
    return total, total_repeats


async def recount(session: AsyncSession, *, repair: bool = False) -> list[dict[str, Any]]:
    """Count every fact row again and compare with the kept counts; each difference is
    listed (`repair` rewrites the counts to the recount)."""
    expected: Counter[rollup.Key] = Counter()
    expected_repeats: Counter[rollup.RepeatKey] = Counter()
    expected_matters: Counter[rollup.MatterKey] = Counter()
    tz = organisation_tz()
    result = await session.stream(select(facts).execution_options(yield_per=5000))
    async for part in result.mappings().partitions():
        for row in part:
            fact = Fact.from_row(dict(row))
            expected.update(rollup.contributions(fact, tz))
            expected_repeats.update(rollup.repeat_contributions(fact, tz))
            expected_matters.update(rollup.matter_contributions(fact, tz))
    kept: Counter[rollup.Key] = Counter()
    for d, m, day, n in (
        await session.execute(select(counts.c.department, counts.c.measure, counts.c.day, counts.c.n))
    ).all():
        if n:
            kept[(d, m, day)] = int(n)
    diff = [
        {
            "department": k[0],
            "measure": k[1],
            "day": k[2].isoformat(),
            "kept": kept[k],
            "recounted": expected[k],
        }
        for k in sorted(set(expected) | set(kept))
        if kept[k] != expected[k]
    ]
    kept_repeats: Counter[rollup.RepeatKey] = Counter()
    for b, ref, t, n in (
        await session.execute(
            select(repeats.c.bucket, repeats.c.requester_ref, repeats.c.topic_key, repeats.c.n)
        )
    ).all():
        if n:
            kept_repeats[(b, ref, t)] = int(n)
    repeat_diff = [
        {
            "bucket": k[0],
            "requester_ref": k[1],
            "topic": rollup.topic_of_key(k[2]),
            "kept": kept_repeats[k],
            "recounted": expected_repeats[k],
        }
        for k in sorted(set(expected_repeats) | set(kept_repeats))
        if kept_repeats[k] != expected_repeats[k]
    ]
    mc = matter_counts.c
    kept_matters: Counter[rollup.MatterKey] = Counter()
    for m, d, measure, day, n in (
        await session.execute(select(mc.matter, mc.department, mc.measure, mc.day, mc.n))
    ).all():
        if n:
            kept_matters[(m, d, measure, day)] = int(n)
    matter_diff = [
        {
            "matter": k[0],
            "department": k[1],
            "measure": k[2],
            "day": k[3].isoformat(),
            "kept": kept_matters[k],
            "recounted": expected_matters[k],
        }
        for k in sorted(set(expected_matters) | set(kept_matters))
        if kept_matters[k] != expected_matters[k]
    ]
    if repair and (diff or repeat_diff):
        await session.execute(counts.delete())
        await session.execute(repeats.delete())
        await add_counts(session, Counter({k: n for k, n in expected.items() if n}))
        await add_repeats(session, Counter({k: n for k, n in expected_repeats.items() if n}))
    if repair and matter_diff:
        await session.execute(matter_counts.delete())
        await add_matter_counts(session, Counter({k: n for k, n in expected_matters.items() if n}))
    return diff + repeat_diff + matter_diff


# --- closing a period: scores, ranks and accountability flags (service.py) --------------------
async def lock_period(session: AsyncSession, label: str) -> None:
    """Hold the period for this transaction, so two closes do not both score it."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"kpi-period:{label}"))))


async def period_closed(session: AsyncSession, label: str) -> bool:
    """The period was closed before (its "*" marker row is there)."""
    sc = scores.c
    return await session.scalar(select(sc.period).where(sc.period == label, sc.department == "*")) is not None


async def period_scored(session: AsyncSession, label: str) -> bool:
    """Any score of the period is recorded."""
    return await session.scalar(select(scores.c.period).where(scores.c.period == label)) is not None


async def period_scores(session: AsyncSession, label: str) -> list[Any]:
    """The departments' recorded scores and ranks of a closed period (rows of department,
    score, rank)."""
    sc = scores.c
    stmt = select(sc.department, sc.score, sc.rank).where(sc.period == label, sc.department != "*")
    return list((await session.execute(stmt)).all())


async def period_flags(session: AsyncSession, label: str) -> list[str]:
    return list(await session.scalars(select(flags.c.department).where(flags.c.period == label)))


async def save_score(session: AsyncSession, values: dict[str, Any]) -> None:
    """A department's score and rank for a period (replacing one recorded before)."""
    await session.execute(
        pg_insert(scores)
        .values(**values)
        .on_conflict_do_update(
            index_elements=["period", "department"],
            set_={
                "score": values["score"],
                "rank": values["rank"],
                "figures": values["figures"],
                "scored_at": now(),
            },
        )
    )


async def mark_period_closed(session: AsyncSession, label: str, departments: int) -> None:
    """The period is closed even when no department had anything in it ("*" marks it)."""
    await session.execute(
        pg_insert(scores)
        .values(period=label, department="*", score=None, rank=None, figures={"departments": departments})
        .on_conflict_do_nothing()
    )


async def add_flag(
    session: AsyncSession, department: str, label: str, periods: list[str], pass_line: float
) -> bool:
    """Flag a department at the end of a streak; False if it was flagged for it already."""
    result = await session.execute(
        pg_insert(flags)
        .values(department=department, period=label, periods=periods, pass_line=pass_line)
        .on_conflict_do_nothing()
        .returning(flags.c.department)
    )
    return result.first() is not None


async def score_history(session: AsyncSession, department: str, labels: list[str]) -> dict[str, float | None]:
    """The department's recorded scores of the periods named, by period."""
    stmt = select(scores.c.period, scores.c.score).where(
        scores.c.department == department, scores.c.period.in_(labels)
    )
    return dict((await session.execute(stmt)).all())


# --- the reads behind the API (queries.py) ---------------------------------------------------
async def flags_newest_first(session: AsyncSession, cursor: str | None, limit: int) -> list[dict[str, Any]]:
    """A page of the accountability flags, newest first, after the cursor's (time, department,
    period)."""
    key = [flags.c.flagged_at, flags.c.department, flags.c.period]
    rows = (await session.execute(keyset(select(flags), key, cursor, limit, descending=True))).mappings()
    return [dict(r) for r in rows]


async def event_payloads(session: AsyncSession, request_id: str) -> list[dict[str, Any]]:
    """The kept lifecycle events of a request (their masked payloads), in no order."""
    return list(await session.scalars(select(events.c.payload).where(events.c.request_id == request_id)))


async def event_payloads_of_types(
    session: AsyncSession, request_id: str, types: Sequence[str]
) -> list[dict[str, Any]]:
    """The kept events of a request of these types (their payloads), in no order: what a
    fact row is folded again from."""
    return list(
        await session.scalars(
            select(events.c.payload).where(
                events.c.request_id == request_id, events.c.payload["type"].astext.in_(types)
            )
        )
    )


# --- staff figures -------------------------------------------------------------------


async def add_staff_rating(session: AsyncSession, values: dict[str, Any]) -> None:
    """A staff rating, once (a redelivered event changes nothing)."""
    await session.execute(pg_insert(staff_ratings).values(**values).on_conflict_do_nothing())


async def decide_staff_rating(session: AsyncSession, known: dict[str, Any], decided: dict[str, Any]) -> None:
    """A rectification's decision on its rating (the rating itself may arrive later)."""
    await session.execute(
        pg_insert(staff_ratings)
        .values(**known, **decided)
        .on_conflict_do_update(index_elements=["rating_id"], set_=decided)
    )


async def staff_department(session: AsyncSession, staff_id: str) -> str | None:
    """The department a member's latest rating or handled case names."""
    r = staff_ratings.c
    rated = await session.scalar(
        select(r.department).where(r.staff_id == staff_id).order_by(r.rated_at.desc()).limit(1)
    )
    if rated:
        return str(rated)
    f = facts.c
    handled = await session.scalar(
        select(f.lead_department).where(f.handler_id == staff_id).order_by(f.last_event_at.desc()).limit(1)
    )
    return str(handled) if handled else None


async def facts_of_staff(session: AsyncSession, staff_id: str) -> list[dict[str, Any]]:
    f = facts.c
    stmt = select(facts).where(
        or_(f.first_responder == staff_id, f.answered_by == staff_id, f.handler_id == staff_id)
    )
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def staff_ratings_of(session: AsyncSession, staff_id: str) -> list[dict[str, Any]]:
    stmt = select(staff_ratings).where(staff_ratings.c.staff_id == staff_id)
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def staff_evaluations_of(session: AsyncSession, staff_id: str, period: str) -> list[dict[str, Any]]:
    e = staff_evaluations.c
    stmt = select(staff_evaluations).where(e.staff_id == staff_id, e.period == period)
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def put_staff_evaluation(
    session: AsyncSession, staff_id: str, period: str, kind: str, values: dict[str, Any]
) -> None:
    await session.execute(
        pg_insert(staff_evaluations)
        .values(staff_id=staff_id, period=period, kind=kind, **values)
        .on_conflict_do_update(index_elements=["staff_id", "period", "kind"], set_=values)
    )
