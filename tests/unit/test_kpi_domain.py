from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.kpi.domain.facts import Fact, apply, new_fact
from services.kpi.domain.figures import BadPeriod, Period, department_figures
from shared.events.catalogue import (
    Due,
    FirstResponder,
    RequestAccepted,
    RequestFeedbackGiven,
    RequestRated,
    RequestReceived,
    RequestReopened,
    RequestResolved,
    RequestRouted,
    RequestWithdrawn,
)
from shared.events.envelope import SYSTEM, new_envelope

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 10, tzinfo=TZ)
NOV = Period.month("2026-11", TZ)


def ev(data: Any, hours: float, rid: str = "r-1") -> tuple[Any, Any]:
    env = new_envelope(
        type=data.TYPE,
        version=data.VERSION,
        request_id=rid,
        producer="t",
        actor=SYSTEM,
        data=data.model_dump(mode="json"),
        occurred_at=T0 + timedelta(hours=hours),
    )
    return env, data


def fold(events: list[tuple[Any, Any]], rid: str = "r-1") -> Fact:
    fact = new_fact(rid)
    for env, data in events:
        fact = apply(fact, env, data)
    return fact


def lifecycle(accept_after: float, resolve_after: float, rating: str = "satisfied", rid: str = "r-1") -> Fact:
    due = Due(
        accept=T0 + timedelta(hours=24), resolve=T0 + timedelta(hours=72), feedback=T0 + timedelta(hours=96)
    )
    return fold(
        [
            ev(
                RequestReceived(
                    channel="web",
                    category="repair",
                    urgency="normal",
                    submitted_at=T0,
                    first_responder=FirstResponder(kind="channel", id="web"),
                ),
                0,
                rid,
            ),
            ev(RequestRouted(lead_department="urban", due=due, category="repair"), 0.1, rid),
            ev(RequestAccepted(department="urban", handler_id="h"), accept_after, rid),
            ev(
                RequestResolved(department="urban", handler_id="h", outcome="resolved", reply="ok"),
                resolve_after,
                rid,
            ),
            ev(RequestFeedbackGiven(channel="web", by="h"), resolve_after + 1, rid),
            ev(RequestRated(rating=rating, score=4), resolve_after + 2, rid),  # type: ignore[arg-type]
        ],
        rid,
    )


def test_the_fact_row_is_a_fold_of_the_events() -> None:
    fact = lifecycle(2, 30)
    assert fact.lead_department == "urban" and fact.state == "rated" and fact.events == 6
    assert fact.accepted_at == T0 + timedelta(hours=2) and fact.rating == "satisfied"


def test_folding_the_same_events_gives_the_same_row() -> None:
    assert lifecycle(2, 30) == lifecycle(2, 30)


def test_timeliness_and_satisfaction() -> None:
    on_time = lifecycle(2, 30, rid="a")
    late = lifecycle(30, 100, "unsatisfied", rid="b")
    figures = department_figures([on_time, late], "urban", NOV)
    assert figures["acceptance_timeliness"] == {"numerator": 1, "denominator": 2, "rate": 0.5}
    assert figures["on_time_resolution"] == {"numerator": 1, "denominator": 2, "rate": 0.5}
    assert figures["satisfaction"] == {"numerator": 1, "denominator": 2, "rate": 0.5}
    assert figures["mean_score"] == 4.0


def test_a_reopened_request_is_not_accurate() -> None:
    reopened = fold(
        [
            *_events_of(lifecycle(2, 30, "unsatisfied")),
            ev(RequestReopened(department="urban", reason="no", reopen_count=1), 40),
        ]
    )
    assert department_figures([reopened], "urban", NOV)["handling_accuracy"]["rate"] == 0.0


def _events_of(fact: Fact) -> list[tuple[Any, Any]]:
    due = Due(
        accept=T0 + timedelta(hours=24), resolve=T0 + timedelta(hours=72), feedback=T0 + timedelta(hours=96)
    )
    return [
        ev(RequestRouted(lead_department="urban", due=due, category="repair"), 0.1),
        ev(RequestAccepted(department="urban", handler_id="h"), 2),
        ev(RequestResolved(department="urban", handler_id="h", outcome="resolved", reply="ok"), 30),
        ev(RequestRated(rating="unsatisfied"), 32),
    ]


def test_withdrawn_requests_are_excluded_and_counted_as_such() -> None:
    withdrawn = fold([*_events_of(lifecycle(2, 30))[:1], ev(RequestWithdrawn(reason="solved myself"), 1)])
    figures = department_figures([withdrawn], "urban", NOV)
    assert figures["acceptance_timeliness"]["denominator"] == 0
    assert figures["counts"]["excluded_merged_or_withdrawn"] == 1


def test_no_response_is_never_counted_as_satisfied() -> None:
    silent = lifecycle(2, 30, "no_response")
    figures = department_figures([silent], "urban", NOV)
    assert figures["satisfaction"] == {"numerator": 0, "denominator": 0, "rate": None}


def test_a_request_counts_in_the_period_its_due_time_fell_in() -> None:
    fact = lifecycle(2, 30)
    assert (
        department_figures([fact], "urban", Period.month("2026-12", TZ))["acceptance_timeliness"][
            "denominator"
        ]
        == 0
    )
    assert department_figures([fact], "water", NOV)["counts"]["routed"] == 0


def test_periods_are_months_in_the_organisation_time_zone() -> None:
    dec = Period.month("2026-12", TZ)
    assert dec.start == datetime(2026, 12, 1, tzinfo=TZ) and dec.end == datetime(2027, 1, 1, tzinfo=TZ)
    assert not NOV.holds(datetime(2026, 11, 30, 16, 0, tzinfo=ZoneInfo("UTC")))  # 00:00 Dec 1 in Shanghai
    for bad in ("2026-13", "2026-1", "november"):
        with pytest.raises(BadPeriod):
            Period.month(bad, TZ)


def test_fact_rows_round_trip() -> None:
    fact = lifecycle(2, 30)
    assert Fact.from_row(fact.to_row()) == fact


def test_the_fact_row_does_not_depend_on_the_order_events_arrived_in() -> None:
    import random

    from services.kpi.domain.facts import fold_all

    hours = timedelta(hours=1)
    due = Due(accept=T0 + 24 * hours, resolve=T0 + 72 * hours, feedback=T0 + 96 * hours)
    events = [
        ev(
            RequestReceived(
                channel="web",
                category="repair",
                urgency="normal",
                submitted_at=T0,
                first_responder=FirstResponder(kind="channel", id="web"),
            ),
            0,
        ),
        ev(RequestRouted(lead_department="urban", due=due, category="repair"), 0.1),
        ev(RequestAccepted(department="urban", handler_id="h"), 2),
        ev(RequestResolved(department="urban", handler_id="h", outcome="resolved", reply="ok"), 30),
        ev(RequestFeedbackGiven(channel="web", by="h"), 31),
        ev(RequestRated(rating="satisfied", score=4), 32),
    ]
    expected = fold_all("r-1", events)
    assert expected == fold(events) and expected.state == "rated"
    rng = random.Random(3)
    for _ in range(20):
        shuffled = events[:]
        rng.shuffle(shuffled)
        assert fold_all("r-1", shuffled) == expected


def test_an_incomplete_application_is_incomplete_until_supplemented() -> None:
    from shared.events.catalogue import MissingMaterial, RequestIncomplete, RequestSupplemented

    received = RequestReceived(
        channel="window",
        category="business",
        urgency="normal",
        submitted_at=T0,
        first_responder=FirstResponder(kind="channel", id="window"),
    )
    missing = [MissingMaterial(code="lease", name="租赁合同", reason="missing")]
    waiting = fold([ev(received, 0), ev(RequestIncomplete(missing=missing, paused_from=T0), 0)])
    assert waiting.state == "incomplete"
    supplemented = RequestSupplemented(
        materials=["lease"], paused_from=T0, paused_until=T0 + timedelta(hours=5)
    )
    done = fold(
        [ev(received, 0), ev(RequestIncomplete(missing=missing, paused_from=T0), 0), ev(supplemented, 5)]
    )
    assert done.state == "supplemented"


def test_a_running_period_counts_only_clocks_that_are_done_or_due() -> None:
    from services.kpi.domain.figures import department_figures

    open_case = fold(
        [
            ev(
                RequestReceived(
                    channel="web",
                    category="repair",
                    urgency="normal",
                    submitted_at=T0,
                    first_responder=FirstResponder(kind="channel", id="web"),
                ),
                0,
                "open",
            ),
            ev(
                RequestRouted(
                    lead_department="urban",
                    due=Due(accept=T0 + timedelta(hours=24), resolve=T0 + timedelta(hours=72)),
                    category="repair",
                ),
                0.1,
                "open",
            ),
        ],
        "open",
    )
    early = department_figures([open_case], "urban", NOV, at=T0 + timedelta(hours=1))
    assert early["acceptance_timeliness"]["denominator"] == 0  # not due yet: not late either
    assert early["counts"]["overdue_open"] == 0
    late = department_figures([open_case], "urban", NOV, at=T0 + timedelta(hours=80))
    assert late["acceptance_timeliness"] == {"numerator": 0, "denominator": 1, "rate": 0.0}
    assert late["counts"]["overdue_open"] == 1
    assert department_figures([open_case], "urban", NOV)["counts"]["overdue_open"] == 1  # a closed period


def test_chases_count_against_the_lead_department_as_cuiban() -> None:
    from shared.events.catalogue import RequestChased

    base = lifecycle(2, 30, rid="c")
    chased = base
    for n in (1, 2):
        env, data = ev(RequestChased(department="urban", chased_by="agent-001", chase_count=n), 3 + n, "c")
        chased = apply(chased, env, data)
    assert chased.chases == 2 and chased.state == base.state  # a chase moves no state
    assert department_figures([chased, lifecycle(2, 30, rid="d")], "urban", NOV)["counts"]["chased"] == 2
    assert Fact.from_row(chased.to_row()) == chased


def test_a_duplicate_handed_back_counts_again() -> None:
    from shared.events.catalogue import RequestMerged, RequestMergeReleased

    merged = fold([*_events_of(lifecycle(2, 30))[:1], ev(RequestMerged(into_request_id="p"), 1)])
    assert merged.excluded == "merged"
    env, data = ev(RequestMergeReleased(former_primary_id="p"), 2)
    released = apply(merged, env, data)
    assert released.excluded is None and released.state == "received"
