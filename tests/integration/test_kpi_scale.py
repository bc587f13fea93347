"""The KPI figures summed from the kept counts (SQL) are exactly the Python definitions
(services/kpi/domain/figures.py, docs/kpi.md) over the same fact rows: a generated sample of
realistic requests around the pinned clock, written through the write path (each row in
steps, so every change moves the counts), for a running and a finished month, a week, a
quarter and a year."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.kpi_facts import generate
from services.kpi import queries, store
from services.kpi.domain.facts import Fact, replace
from services.kpi.domain.figures import Period, department_figures, organisation_figures
from services.kpi.domain.hotspots import hotspots
from services.kpi.domain.scoring import score
from shared.clock import now, organisation_tz
from shared.db import create_engine, session_factory
from shared.settings import Settings


@pytest.fixture
async def engine(platform: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(platform.database_url("kpi"), platform)
    yield engine
    await engine.dispose()


def _earlier_versions(fact: Fact, rnd: random.Random) -> list[Fact]:
    """The row as the consumer would have written it on the way: received, then routed, then
    the rest (returned by a department first, then led by the next)."""
    received = Fact(
        request_id=fact.request_id,
        channel=fact.channel,
        category=fact.category,
        topic=fact.topic,
        area=fact.area,
        requester_ref=fact.requester_ref,
        received_at=fact.received_at,
    )
    steps = [received]
    if fact.lead_department:
        first = fact.returned_by[0] if fact.returned_by else fact.lead_department
        steps.append(replace(fact, lead_department=first, returned_by=(), accepted_at=None, resolved_at=None))
    if rnd.random() < 0.5:
        steps.append(replace(fact, excluded=None if fact.excluded else "merged"))
    return steps


async def test_sql_figures_equal_the_python_definitions_on_a_generated_sample(
    engine: AsyncEngine, platform: Settings
) -> None:
    tz = organisation_tz()
    at = now()
    rnd = random.Random(7)
    sample = list(
        generate(
            1500,
            at - timedelta(days=75),
            at + timedelta(days=2),
            until=at,
            seed=20,
            prefix=f"eq{rnd.random():.6f}-",
        )
    )
    # Edge times: a request exactly at a month's first midnight, one withdrawn with its only
    # time at the next month's midnight, an open clock due right now.
    month = Period.month(f"{at.year}-{at.month:02d}", tz)
    sample[0] = replace(sample[0], received_at=month.start, routed_at=month.start, accept_due=month.start)
    sample[1] = Fact(
        request_id=sample[1].request_id, lead_department="water", excluded="withdrawn", received_at=month.end
    )
    sample[2] = replace(sample[2], lead_department="urban", excluded=None, resolve_due=at, resolved_at=None)
    # Clocks open and due only next month: nothing of them is due yet in any period.
    next_month = Period.month(f"{month.end.year}-{month.end.month:02d}", tz)
    sample[6] = replace(
        sample[6],
        lead_department="urban",
        excluded=None,
        accept_due=next_month.start + timedelta(days=1),
        accepted_at=None,
        resolve_due=next_month.start + timedelta(days=2),
        resolved_at=None,
    )
    # A caller who kept ringing about the same thing this month (and this week).
    for i in (3, 4, 5):
        sample[i] = replace(
            sample[i],
            requester_ref="rq_again",
            topic="noise:1",
            # Hours before now, but never before the month began (the pinned clock may be
            # minutes into a new month when this runs).
            received_at=at - min(timedelta(hours=i), (at - month.start) * i / 6),
        )
    sessions = session_factory(engine)
    async with sessions() as session:
        for fact in sample:
            for step in _earlier_versions(fact, rnd):
                await store.save_fact(session, step)
            await store.save_fact(session, fact)
        await session.commit()

    async with sessions() as session:
        everything = list((await store.all_facts(session)).values())
        departments = sorted({f.lead_department for f in everything if f.lead_department})
        assert await store.departments_in(session) == departments
        previous_month = month.previous(tz)
        week = Period.parse(f"{at.isocalendar()[0]}-W{at.isocalendar()[1]:02d}", tz)
        quarter = Period.parse(f"{at.year}-Q{(at.month - 1) // 3 + 1}", tz)
        year = Period.parse(str(at.year), tz)
        for period in (month, previous_month, week, quarter, year, next_month):
            got = await queries.department_rows(session, platform, period, None, at=at)
            want = []
            for d in departments:
                figures = department_figures(
                    [
                        f
                        for f in _in_period(everything, period)
                        if f.lead_department == d or d in f.returned_by
                    ],
                    d,
                    period,
                    at=at,
                )
                figures["score"] = score(figures, platform.kpi_weights)
                want.append(figures)
            assert [_diff(g, w) for g, w in zip(got, want, strict=True)] == [{}] * len(want), period.label
            one = await queries.department_rows(session, platform, period, "urban", at=at)
            assert one == [w for w in want if w["department"] == "urban"]
            assert await queries.organisation(session, period) == organisation_figures(everything, period)
            previous = period.previous(tz)
            assert await queries.hotspots(session, period, previous, 10) == hotspots(
                everything, period, previous, top=10
            )
        # The month had something in every figure the sample can give.
        figures = {
            r["department"]: r
            for r in await queries.department_rows(session, platform, previous_month, None, at=at)
        }
        urban = figures["urban"]
        assert urban["on_time_resolution"]["denominator"] > 0 and urban["satisfaction"]["denominator"] > 0
        assert sum(r["counts"]["excluded_merged_or_withdrawn"] for r in figures.values()) > 0
        assert sum(r["returns"]["count"] for r in figures.values()) > 0
        spots = await queries.hotspots(session, month, previous_month, 10)
        assert {"requester_ref": "rq_again", "topic": "noise:1", "requests": 3} in spots["repeated"]
        # The kept counts are exactly a recount of the fact rows.
        assert await store.recount(session) == []


async def test_a_recount_finds_and_repairs_a_count_that_drifted(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions() as session:
        await store.recount(session, repair=True)
        await session.commit()
    async with sessions() as session:
        some = (await session.execute(store.counts.select().limit(1))).mappings().one()
        await session.execute(
            store.counts.update()
            .where(
                store.counts.c.department == some["department"],
                store.counts.c.measure == some["measure"],
                store.counts.c.day == some["day"],
            )
            .values(n=some["n"] + 5)
        )
        diff = await store.recount(session, repair=True)
        assert diff == [
            {
                "department": some["department"],
                "measure": some["measure"],
                "day": some["day"].isoformat(),
                "kept": some["n"] + 5,
                "recounted": some["n"],
            }
        ]
        assert await store.recount(session) == []
        await session.rollback()


def _in_period(facts: list[Fact], period: Period) -> list[Fact]:
    """What the figures were computed from before: facts with any time in the period (bounds
    inclusive)."""
    return [
        f
        for f in facts
        if any(
            (t := getattr(f, name)) is not None and period.start <= t <= period.end for name in store._TIMES
        )
    ]


def _diff(got: dict[str, object], want: dict[str, object]) -> dict[str, object]:
    return {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}


__all__ = ["datetime"]
