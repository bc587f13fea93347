"""Staff-level figures and the rules of staff ratings, in pure code."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.followup.domain.staff_rating import (
    counts_against_staff,
    decided_on_time,
    is_bad,
    unknown_reasons,
)
from services.kpi.domain.facts import Fact
from services.kpi.domain.figures import Period, organisation_figures
from services.kpi.domain.staff import StaffRating, staff_figures

TZ = ZoneInfo("Asia/Shanghai")
T = datetime(2026, 11, 10, 10, tzinfo=TZ)
NOV = Period.month("2026-11", TZ)


def fact(rid: str, **values: object) -> Fact:
    return Fact(**{"request_id": rid, "received_at": T, **values})  # type: ignore[arg-type]


def rating(rid: str, level: str, **values: object) -> StaffRating:
    return StaffRating(
        rating_id=rid,
        staff_id="a-1",
        department="service_center",
        level=level,
        bad=is_bad(level),
        rated_at=T,
        **values,  # type: ignore[arg-type]
    )


def test_bad_ratings_and_what_counts() -> None:
    assert is_bad("unsatisfied") and is_bad("very_unsatisfied") and not is_bad("basically_satisfied")
    assert unknown_reasons(["attitude", "rude-ish"]) == ["rude-ish"]
    assert (
        counts_against_staff(None)
        and counts_against_staff("rectified")
        and not counts_against_staff("disputed")
    )
    assert decided_on_time(T, T) and not decided_on_time(T, T + timedelta(seconds=1))


def test_a_members_figures_for_a_period() -> None:
    facts = [
        fact("r1", first_responder="a-1", answered_at_intake=True, answered_by="a-1", answer_article="kb-1",
             resolved_at=T),
        fact("r2", first_responder="a-1", answered_at_intake=True, answered_by="a-1", resolved_at=T),
        fact("r3", first_responder="a-1"),  # routed on: received, not resolved at first contact
        fact("r4", handler_id="a-1", resolved_at=T, resolve_due=T + timedelta(days=1), rating="satisfied"),
        fact("r5", handler_id="a-1", resolved_at=T, resolve_due=T - timedelta(days=1), rating="no_response"),
        fact("r6", handler_id="a-1", resolved_at=T, excluded="withdrawn"),
        fact("r7", first_responder="a-2"),
        fact("r8", first_responder="a-1", received_at=T - timedelta(days=40)),  # October
    ]  # fmt: skip
    ratings = [
        rating("g1", "very_satisfied"),
        rating("g2", "basically_satisfied"),
        rating("b1", "unsatisfied", outcome="rectified", rectified_on_time=True),
        rating(
            "b2", "very_unsatisfied", outcome="disputed", counts_against_staff=False, rectified_on_time=False
        ),
        rating("b3", "unsatisfied"),
        StaffRating("x", "a-2", "urban", "unsatisfied", True, T),
    ]
    got = staff_figures("a-1", facts, ratings, NOV)
    assert got["received_as_first_responder"] == 3
    assert got["first_contact_resolutions"]["total"] == 2
    assert got["first_contact_resolutions"]["with_article"] == 1
    assert got["first_contact_resolutions"]["share_of_received"]["rate"] == round(2 / 3, 4)
    assert got["cases_handled"] == 2 and got["on_time"]["rate"] == 0.5
    assert got["request_satisfaction"] == {"numerator": 1, "denominator": 1, "rate": 1.0}
    assert got["service_ratings"]["total"] == 5 and got["service_ratings"]["satisfaction"]["rate"] == 0.4
    assert got["bad_ratings"] == {
        "total": 3,
        "counted": 2,
        "disputed": 1,
        "rectifications_decided": 2,
        "rectified_on_time": {"numerator": 1, "denominator": 2, "rate": 0.5},
        "open": 1,
    }


def test_first_contact_resolutions_with_and_without_an_article() -> None:
    facts = [
        fact("r1", answered_at_intake=True, answer_article="kb-1"),
        fact("r2", answered_at_intake=True),
        fact("r3", answered_at_intake=True, answer_article="kb-2"),
        fact("r4"),
    ]
    got = organisation_figures(facts, NOV)
    assert got["first_contact_resolution"]["rate"] == 0.75
    assert got["first_contact_resolution_by_article"] == {"with_article": 2, "without_article": 1}
