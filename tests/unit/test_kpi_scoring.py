from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.kpi.domain.facts import Fact
from services.kpi.domain.figures import BadPeriod, Period, department_figures, organisation_figures
from services.kpi.domain.hotspots import hotspots
from services.kpi.domain.scoring import DEFAULT_WEIGHTS, rank, score, under_pass_line_streak

TZ = ZoneInfo("Asia/Shanghai")


def rates(**values: float | None) -> dict[str, dict[str, float | None]]:
    return {k: {"rate": v} for k, v in values.items()}


def test_score_is_a_weighted_sum_renormalised_to_the_rates_that_exist() -> None:
    full = rates(
        acceptance_timeliness=1.0,
        on_time_resolution=0.5,
        feedback_timeliness=1.0,
        handling_accuracy=1.0,
        satisfaction=0.5,
    )
    assert score(full) == 75.0  # 100 × (0.2 + 0.15 + 0.1 + 0.2 + 0.1)
    partial = rates(acceptance_timeliness=1.0, on_time_resolution=0.5, satisfaction=None)
    assert score(partial) == 70.0  # (0.2 + 0.15) / 0.5
    assert score({}) is None
    assert score(full, {"satisfaction": 1.0}) == 50.0
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)


def test_ranking_shares_ranks_for_equal_scores_and_lists_the_unscored_last() -> None:
    ranked = rank({"water": 90.0, "urban": 95.0, "market": 90.0, "env": None})
    assert [(r.department, r.rank) for r in ranked] == [
        ("urban", 1),
        ("market", 2),
        ("water", 2),
        ("env", None),
    ]


def test_the_accountability_streak_counts_the_latest_periods_in_a_row() -> None:
    assert under_pass_line_streak([90, 80, 70, 60], 85) == 3
    assert under_pass_line_streak([80, 90, 70], 85) == 1
    assert under_pass_line_streak([80, None, 70], 85) == 1
    assert under_pass_line_streak([], 85) == 0


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2026-11", datetime(2026, 11, 1), datetime(2026, 12, 1)),
        ("2026-W48", datetime(2026, 11, 23), datetime(2026, 11, 30)),
        ("2026-Q4", datetime(2026, 10, 1), datetime(2027, 1, 1)),
        ("2026", datetime(2026, 1, 1), datetime(2027, 1, 1)),
    ],
)
def test_period_kinds(label: str, start: datetime, end: datetime) -> None:
    period = Period.parse(label, TZ)
    assert (period.start, period.end) == (start.replace(tzinfo=TZ), end.replace(tzinfo=TZ))


def test_previous_periods() -> None:
    assert Period.parse("2026-01", TZ).previous(TZ).label == "2025-12"
    assert Period.parse("2026-W01", TZ).previous(TZ).label == "2025-W52"
    assert Period.parse("2026-Q1", TZ).previous(TZ).label == "2025-Q4"
    assert Period.parse("2026", TZ).previous(TZ).label == "2025"
    for bad in ("2026-W54", "2026-Q5", "26", "2026-11-01"):
        with pytest.raises(BadPeriod):
            Period.parse(bad, TZ)


NOV = Period.parse("2026-11", TZ)
T = datetime(2026, 11, 10, 10, tzinfo=TZ)


def fact(rid: str, **kw: object) -> Fact:
    return Fact(request_id=rid, received_at=T, routed_at=T, channel="hotline", category="repair", **kw)  # type: ignore[arg-type]


def test_returns_count_against_the_department_that_returned() -> None:
    facts = [
        fact("a", lead_department="urban", returned_by=("market",), returns=1),
        fact("b", lead_department="market"),
        fact("c", lead_department="urban", returned_by=("market", "water"), returns=2),
    ]
    market = department_figures(facts, "market", NOV)
    assert market["returns"] == {"count": 2, "numerator": 2, "denominator": 3, "rate": 0.6667}
    assert department_figures(facts, "urban", NOV)["returns"]["count"] == 0


def test_organisation_figures_first_contact_resolution_and_volumes() -> None:
    facts = [
        fact("a", answered_at_intake=True, area="鼓楼"),
        fact("b", area="鼓楼"),
        fact("c", excluded="merged"),
    ]
    org = organisation_figures(facts, NOV)
    assert org["first_contact_resolution"] == {"numerator": 1, "denominator": 2, "rate": 0.5}
    assert org["volume"]["area"] == {"鼓楼": 2} and org["volume"]["channel"] == {"hotline": 2}


def test_hotspots_most_fastest_and_repeated() -> None:
    before = T - timedelta(days=30)
    facts = [
        *[fact(f"n{i}", topic="noise", requester_ref="rq_1" if i < 3 else f"rq_{i}") for i in range(5)],
        *[fact(f"w{i}", topic="water") for i in range(2)],
        *[Fact(request_id=f"o{i}", received_at=before, topic="water") for i in range(4)],
        Fact(request_id="o9", received_at=before, topic="noise"),
    ]
    spots = hotspots(facts, NOV, NOV.previous(TZ))
    assert spots["topics"]["most"][0] == {"key": "noise", "count": 5, "previous": 1, "growth": 4.0}
    assert spots["topics"]["fastest_growing"][0]["key"] == "noise"
    assert spots["repeated"] == [{"requester_ref": "rq_1", "topic": "noise", "requests": 3}]
