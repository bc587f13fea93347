"""The counts kept per matter (rollup.matter_contributions), summed over a finished month's
days, give the figures of docs/kpi.md over the matter's requests: per department and for
every department together. Pure code on generated facts (the SQL side:
tests/integration/test_kpi_matters.py)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bench.kpi_facts import generate
from services.kpi.domain import rollup
from services.kpi.domain.facts import Fact, replace
from services.kpi.domain.figures import Period, department_figures

TZ = ZoneInfo("Asia/Shanghai")
MATTERS = ("urban.street_lamp", "water.outage", "market.food_safety")


def _sample() -> list[Fact]:
    rnd = random.Random(5)
    end = datetime(2026, 12, 1, tzinfo=TZ)
    facts = generate(700, end - timedelta(days=50), end, until=end + timedelta(days=20), seed=5)
    return [replace(f, matter=rnd.choice([*MATTERS, None])) for f in facts]


def _summed(facts: list[Fact], period: Period) -> dict[tuple[str, str], Counter[str]]:
    first, last = rollup.period_days(period)
    out: dict[tuple[str, str], Counter[str]] = {}
    for fact in facts:
        for (matter, department, measure, day), n in rollup.matter_contributions(fact, TZ).items():
            if first <= day < last:
                out.setdefault((matter, department), Counter())[measure] += n
    return out


def _excluded(facts: list[Fact], period: Period) -> int:
    return sum(
        1
        for f in facts
        if f.excluded is not None
        and f.lead_department is not None
        and any(
            (t := getattr(f, name)) is not None and period.start <= t <= period.end
            for name in ("received_at", "routed_at", "resolved_at", "closed_at", "last_event_at")
        )
    )


def test_matter_counts_give_each_departments_figures_over_the_matters_requests() -> None:
    facts = _sample()
    period = Period.month("2026-11", TZ)
    summed = _summed(facts, period)
    compared = 0
    for matter in MATTERS:
        mine = [f for f in facts if f.matter == matter]
        for department in sorted({f.lead_department for f in mine if f.lead_department}):
            counts = summed.get((matter, department), Counter())
            theirs = [f for f in mine if f.lead_department == department]
            got = rollup.department_figures(
                department,
                period,
                counts,
                excluded=_excluded(theirs, period),
                open_due_now={m: n for m, n in counts.items() if m in rollup.OPEN_MEASURES},
            )
            want = department_figures(mine, department, period)
            # Merged/withdrawn ones come from the fact rows, not the counts (as for departments).
            want["counts"]["excluded_merged_or_withdrawn"] = _excluded(theirs, period)
            assert got == want, (matter, department)
            compared += 1
    assert compared > 10


def test_a_matter_as_a_whole_counts_each_request_once_whichever_department_led_or_returned_it() -> None:
    facts = _sample()
    period = Period.month("2026-11", TZ)
    summed = _summed(facts, period)
    for matter in MATTERS:
        mine = [f for f in facts if f.matter == matter and f.excluded is None]
        counts = summed[(matter, rollup.WHOLE)]
        got = rollup.department_figures(
            rollup.WHOLE,
            period,
            counts,
            excluded=0,
            open_due_now={m: n for m, n in counts.items() if m in rollup.OPEN_MEASURES},
        )
        received = [f for f in mine if period.holds(f.received_at) and (f.lead_department or f.returned_by)]
        assert got["returns"] == {
            "count": sum(len(f.returned_by) for f in received),
            "numerator": sum(1 for f in received if f.returned_by),
            "denominator": len(received),
            "rate": round(sum(1 for f in received if f.returned_by) / len(received), 4),
        }
        led = [f for f in mine if f.lead_department]
        assert got["counts"]["resolved"] == sum(1 for f in led if period.holds(f.resolved_at))
        assert got["counts"]["routed"] == sum(1 for f in led if period.holds(f.routed_at))
        # Every department's lead counts add up to the whole (returns do not: a request
        # returned by one department and led by another counts once).
        per_department = [c for (m, d), c in summed.items() if m == matter and d != rollup.WHOLE]
        for measure in ("routed", "resolved", "satisfied", "resolve_on_time", "accept_done"):
            assert counts[measure] == sum(c[measure] for c in per_department), (matter, measure)
        assert got["returns"]["count"] > 0 or matter != MATTERS[0]


def test_a_request_without_a_matter_or_merged_adds_no_matter_count() -> None:
    fact = next(iter(_sample()))
    assert rollup.matter_contributions(replace(fact, matter=None), TZ) == Counter()
    assert (
        rollup.matter_contributions(replace(fact, matter="water.outage", excluded="merged"), TZ) == Counter()
    )
