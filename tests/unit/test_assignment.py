"""Routing's assignment aggregate (a request's route and its place in the dispatcher's
queue), tested pure: each rule, each refusal, and exactly the columns each step sets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.routing.domain.assignment import (
    OWNED,
    AlreadyDispatched,
    Assignment,
    NotReturned,
    QueueItem,
    Return,
    closed_item,
)
from shared.lifecycle import IllegalTransition, State

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
ACTIVE = frozenset({"urban", "water", "housing", "coord"})


def row(**values: object) -> dict[str, object]:
    return {
        "request_id": "r-1",
        "category": "complaint",
        "urgency": "normal",
        "topic": None,
        "area": "east",
        "business_type": None,
        "text": "路灯坏了",
        "lead_department": None,
        "co_departments": [],
        "excluded_departments": [],
        "returns": 0,
        "state": "received",
        "due": None,
        "matter": None,
        "decided_by": None,
        "clocks_started_at": None,
        "paused_since": None,
        **values,
    }


def routed(**values: object) -> Assignment:
    base: dict[str, object] = {
        "lead_department": "urban",
        "co_departments": ["water"],
        "state": "routed",
        "decided_by": "rule",
    }
    return Assignment.from_row(row(**{**base, **values}))


def test_a_row_round_trips_and_a_loaded_one_has_no_changes() -> None:
    a = routed(excluded_departments=["water", "housing"], returns=1)
    assert a.changes() == {}
    assert a.co == ("water",) and a.excluded == {"water", "housing"} and a.state == State.ROUTED
    stored = a.to_row()
    assert set(stored) == set(OWNED)
    assert stored["excluded_departments"] == ["housing", "water"]  # stored sorted
    assert stored["co_departments"] == ["water"] and stored["state"] == "routed"
    assert a.facts() == {
        "category": "complaint",
        "urgency": "normal",
        "topic": None,
        "area": "east",
        "business_type": None,
        "text": "路灯坏了",
    }


def test_saved_forgets_the_changes_but_keeps_the_values() -> None:
    a = routed().reopened()
    assert a.changes() == {"state": "reopened"}
    saved = a.saved()
    assert saved.changes() == {} and saved.state == State.REOPENED and saved == a


def test_routed_to_sets_the_lead_its_clocks_and_lets_them_run() -> None:
    paused = routed(paused_since=AT)
    a = paused.routed_to(
        "housing",
        ["urban"],
        due={"resolve": "2026-12-10T09:00:00+00:00"},
        matter="m1",
        decided_by="model",
        started=AT,
    )
    assert a.changes() == {
        "lead_department": "housing",
        "co_departments": ["urban"],
        "state": "routed",
        "due": {"resolve": "2026-12-10T09:00:00+00:00"},
        "urgency": "normal",
        "category": "complaint",
        "matter": "m1",
        "decided_by": "model",
        "clocks_started_at": AT,
        "paused_since": None,
    }


def test_judged_urgent_by_the_safety_net_and_the_matters_category_only_where_derived() -> None:
    a = Assignment.from_row(row())
    assert a.judged(urgent_rule=None, category="repair", category_derived=False).changes() == {}
    urgent = a.judged(urgent_rule="fire", category="repair", category_derived=True)
    assert urgent.urgency == "urgent" and urgent.category == "repair"
    assert urgent.changes() == {"urgency": "urgent", "category": "repair"}
    already = Assignment.from_row(row(urgency="urgent")).judged(
        urgent_rule="fire", category=None, category_derived=True
    )
    assert already.changes() == {}


def test_a_waiting_queue_item_keeps_no_department_a_review_keeps_the_guess() -> None:
    a = Assignment.from_row(row(urgency="urgent"))
    kw = {"lead": "urban", "co": ["water"], "matter": "m1", "suggestions": [], "model_version": 3}
    waiting, item = a.queued("waiting", confidence=0.4, at=AT, **kw)  # type: ignore[arg-type]
    assert waiting.changes() == {"urgency": "urgent", "category": "complaint"}  # the route keeps them
    assert item["state"] == "waiting" and item["urgent"] is True and item["text"] == "路灯坏了"
    assert item["lead_department"] is None and item["co_departments"] == [] and item["matter"] is None
    assert item["decided_by"] is None and item["decided_at"] is None and item["queued_at"] == AT
    _, review = a.queued("review", confidence=0.4, at=AT, **kw)  # type: ignore[arg-type]
    assert review["lead_department"] == "urban" and review["co_departments"] == ["water"]
    assert review["matter"] == "m1"


def test_a_return_counts_excludes_the_department_and_goes_to_the_one_it_named() -> None:
    a, after = routed().returned_by("urban", "housing", active_departments=ACTIVE, max_returns=2)
    assert after == Return("named", "housing")
    assert a.changes() == {"returns": 1, "excluded_departments": ["urban"], "state": "returned"}


@pytest.mark.parametrize(
    "belongs_to",
    [None, "ghost", "urban", "water"],  # none named, inactive, itself, excluded before
)
def test_a_return_naming_no_usable_department_is_rerouted(belongs_to: str | None) -> None:
    a = routed(excluded_departments=["water"])
    returned, after = a.returned_by("urban", belongs_to, active_departments=ACTIVE, max_returns=2)
    assert after == Return("reroute")
    assert returned.excluded == {"urban", "water"}


def test_too_many_returns_escalate_even_when_a_department_is_named_wrongly() -> None:
    a, after = routed(returns=1).returned_by("urban", "ghost", active_departments=ACTIVE, max_returns=2)
    assert after == Return("escalate") and a.returns == 2
    _, after = routed(returns=5).returned_by("urban", "housing", active_departments=ACTIVE, max_returns=2)
    assert after == Return("named", "housing")  # a named department still takes it


def test_escalation_follows_a_return_only() -> None:
    returned, _ = routed(returns=1).returned_by("urban", None, active_departments=ACTIVE, max_returns=2)
    escalated = returned.saved().escalated()
    assert escalated.state == State.ESCALATED and escalated.changes() == {"state": "escalated"}
    with pytest.raises(NotReturned):
        routed().escalated()


def test_reopened_and_stopped_set_the_state_only() -> None:
    assert routed().reopened().changes() == {"state": "reopened"}
    assert routed().stopped(State.WITHDRAWN).changes() == {"state": "withdrawn"}


def test_before_routing_received_supplemented_released() -> None:
    assert Assignment.from_row(row()).routable
    incomplete = Assignment.from_row(row(state="incomplete"))
    assert incomplete.awaiting_materials and not incomplete.routable
    assert incomplete.supplemented().changes() == {"state": "supplemented"}
    merged = Assignment.from_row(row(state="merged"))
    assert merged.merged and merged.released().changes() == {"state": "received"}


def test_dispatch_by_hand_re_routes_what_may_be_re_routed_and_refuses_the_rest() -> None:
    assert routed().dispatchable() is False  # a re-route
    with pytest.raises(IllegalTransition) as refused:
        routed(state="closed").dispatchable()
    assert refused.value.current == State.CLOSED


def test_dispatch_from_the_queue_is_the_first_routing_of_a_waiting_unrouted_request() -> None:
    for state in ("received", "supplemented"):
        assert Assignment.from_row(row(state=state)).dispatchable(waiting_in_queue=True) is True
    assert routed().dispatchable(waiting_in_queue=True) is False
    with pytest.raises(IllegalTransition):
        Assignment.from_row(row(state="received")).dispatchable()  # not waiting: a re-route


def test_only_the_leads_pause_stops_the_clocks_and_a_resume_restarts_them() -> None:
    assert routed().paused("water", AT).changes() == {}
    paused = routed().paused("urban", AT)
    assert paused.changes() == {"paused_since": AT}
    assert paused.saved().resumed().changes() == {"paused_since": None}
    assert routed().resumed().changes() == {}  # not paused: nothing to save


def test_due_moved() -> None:
    a = routed().due_moved({"resolve": "2026-12-11T09:00:00+00:00"})
    assert a.changes() == {"due": {"resolve": "2026-12-11T09:00:00+00:00"}}


def test_changes_accumulate_until_saved() -> None:
    a, _ = routed().returned_by("urban", None, active_departments=ACTIVE, max_returns=2)
    a = a.escalated()
    assert a.changes() == {"returns": 1, "excluded_departments": ["urban"], "state": "escalated"}


def item(**values: object) -> QueueItem:
    return QueueItem.from_row(
        {
            "request_id": "r-1",
            "state": "review",
            "lead_department": "urban",
            "co_departments": ["water"],
            **values,
        }
    )


def test_the_dispatcher_confirms_an_urgent_guess_or_dispatches_anew() -> None:
    assert item().decide("urban", ["water"]) == "confirmed"
    assert item().decide("urban", []) == "dispatched"
    assert item().decide("housing", ["water"]) == "dispatched"
    waiting = item(state="waiting", lead_department=None, co_departments=[])
    assert waiting.waiting and waiting.decide("urban", []) == "dispatched"


@pytest.mark.parametrize("state", ["dispatched", "confirmed"])
def test_a_decided_queue_item_is_refused(state: str) -> None:
    with pytest.raises(AlreadyDispatched) as refused:
        item(state=state, decided_by="staff-7").decide("urban", ["water"])
    assert refused.value.decided_by == "staff-7"


def test_closing_a_queue_item_sets_the_decision() -> None:
    assert closed_item("confirmed", "staff-7", "urban", ("water",), None, AT) == {
        "state": "confirmed",
        "decided_by": "staff-7",
        "decided_at": AT,
        "lead_department": "urban",
        "co_departments": ["water"],
        "matter": None,
    }


def test_a_new_request_arrives_received_or_waiting_for_its_materials() -> None:
    facts = {
        "category": "complaint",
        "urgency": "normal",
        "topic": None,
        "area": "east",
        "business_type": None,
    }
    new = Assignment.arrived("r-1", text="路灯坏了", awaiting_materials=False, **facts)  # type: ignore[arg-type]
    assert new.routable
    assert list(new.new_row()) == [
        "request_id",
        "category",
        "urgency",
        "topic",
        "area",
        "business_type",
        "text",
        "returns",
        "state",
    ]
    assert new.new_row() == {
        "request_id": "r-1",
        **facts,
        "text": "路灯坏了",
        "returns": 0,
        "state": "received",
    }
    waiting = Assignment.arrived("r-1", text=None, awaiting_materials=True, **facts)  # type: ignore[arg-type]
    assert waiting.awaiting_materials and waiting.new_row()["state"] == "incomplete"
