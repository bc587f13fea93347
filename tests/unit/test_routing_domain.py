from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.routing.domain.calendar import BusinessCalendar
from services.routing.domain.rules import Rule, choose
from services.routing.domain.sla import DEFAULT_POLICIES, ClockPolicy, due_times, policy_for, warning_at

TZ = ZoneInfo("Asia/Shanghai")
RULES = [
    Rule("topic.water", 10, "water", match={"topic": ["water"]}),
    Rule("category.repair", 50, "urban", ("water", "urban"), match={"category": ["repair"]}),
    Rule("category.complaint", 50, "market", match={"category": ["complaint"]}),
    Rule("urgent.repair", 5, "emergency", match={"category": ["repair"], "urgency": ["urgent"]}),
    Rule("retired", 1, "old", match={}, active=False),
]


def facts(**kw: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {
        "category": "repair",
        "urgency": "normal",
        "topic": None,
        "area": None,
        "business_type": None,
    }
    return {**base, **kw}


def test_the_first_matching_rule_by_priority_wins() -> None:
    assert choose(RULES, facts(topic="water"), coordinating_department="coord").rule_id == "topic.water"
    decision = choose(RULES, facts(), coordinating_department="coord")
    assert (decision.lead_department, decision.co_departments, decision.rule_id) == (
        "urban",
        ("water",),
        "category.repair",
    )


def test_every_condition_of_a_rule_must_match() -> None:
    assert (
        choose(RULES, facts(urgency="urgent"), coordinating_department="coord").lead_department == "emergency"
    )


def test_departments_that_returned_it_are_skipped() -> None:
    decision = choose(
        RULES, facts(topic="water"), coordinating_department="coord", excluded=frozenset({"water"})
    )
    assert decision.lead_department == "urban" and decision.co_departments == ()


def test_nothing_matching_goes_to_the_coordinating_department() -> None:
    decision = choose(RULES, facts(category="suggestion"), coordinating_department="coord")
    assert (decision.lead_department, decision.rule_id) == ("coord", None)


def test_inactive_departments_are_not_chosen() -> None:
    decision = choose(
        RULES, facts(), coordinating_department="coord", active_departments=frozenset({"water"})
    )
    assert decision.lead_department == "coord"


def test_the_most_specific_policy_wins() -> None:
    table = {
        **DEFAULT_POLICIES,
        ("business:residence_permit", "normal", "resolve"): ClockPolicy(5, "working_days"),
    }
    assert policy_for(table, "complaint", "normal", "resolve") == ClockPolicy(13, "working_days")
    assert policy_for(table, "suggestion", "normal", "resolve") == ClockPolicy(10, "working_days")
    assert policy_for(table, "business", "normal", "resolve", "residence_permit") == ClockPolicy(
        5, "working_days"
    )
    assert policy_for({}, "complaint", "normal", "resolve") is None


def test_due_times_for_a_normal_consultation() -> None:
    start = datetime(2026, 11, 25, 10, tzinfo=TZ)  # Wednesday
    due = due_times(DEFAULT_POLICIES, BusinessCalendar(), "consultation", "normal", start)
    assert due["accept"] == datetime(2026, 11, 26, 18, tzinfo=TZ)
    assert due["first_contact"] == datetime(2026, 11, 27, 18, tzinfo=TZ)
    assert due["resolve"] == datetime(2026, 11, 30, 18, tzinfo=TZ)
    assert due["feedback"] == datetime(2026, 12, 2, 18, tzinfo=TZ)  # 2 working days after resolve
    assert due["revisit"] == datetime(2026, 12, 7, 18, tzinfo=TZ)  # 3 after feedback


def test_urgent_clocks_run_on_plain_hours() -> None:
    start = datetime(2026, 11, 28, 22, tzinfo=TZ)  # Saturday night
    urgent = due_times(DEFAULT_POLICIES, BusinessCalendar(), "help", "urgent", start)
    assert urgent["accept"] == datetime(2026, 11, 28, 23, tzinfo=TZ)
    assert urgent["resolve"] == datetime(2026, 11, 29, 22, tzinfo=TZ)
    assert urgent["feedback"] == datetime(2026, 11, 30, 0, tzinfo=TZ)


def test_a_clock_without_policy_has_no_due_time_and_neither_do_those_after_it() -> None:
    table = {k: v for k, v in DEFAULT_POLICIES.items() if k[2] != "resolve"}
    due = due_times(table, BusinessCalendar(), "help", "normal", datetime(2026, 11, 25, 10, tzinfo=TZ))
    assert due["resolve"] is None and due["feedback"] is None and due["accept"] is not None


def test_warning_time_is_a_fraction_of_the_clock() -> None:
    start = datetime(2026, 11, 25, 10, tzinfo=TZ)
    assert warning_at(start, start + timedelta(hours=10), 0.8) == start + timedelta(hours=8)


def test_keyword_rules_match_the_request_text() -> None:
    rules = [*RULES, Rule("kw.dog", 1, "animals", match={"keywords": ["流浪狗", "stray dog"]})]
    assert (
        choose(rules, facts(text="小区有流浪狗咬人"), coordinating_department="c").lead_department
        == "animals"
    )
    assert choose(rules, facts(text="A STRAY DOG bit me"), coordinating_department="c").rule_id == "kw.dog"
    assert choose(rules, facts(text="路灯坏了"), coordinating_department="c").rule_id == "category.repair"
    assert choose(rules, facts(), coordinating_department="c").rule_id == "category.repair"


def test_only_new_urgent_requests_take_the_urgent_lane() -> None:
    from services.routing.consumers import is_urgent_arrival
    from tests.support.events import received

    normal = received()
    urgent = normal.model_copy(update={"data": {**normal.data, "urgency": "urgent"}})
    assert is_urgent_arrival(urgent) and not is_urgent_arrival(normal)
    assert not is_urgent_arrival(urgent.model_copy(update={"type": "request.routed"}))


def test_a_working_time_clock_warns_in_working_time() -> None:
    # Routed on a Saturday morning, due Monday 18:00: 80 % of the working time between them
    # is Monday 16:30 (the plain-time fraction would be Monday 06:48, before anyone works).
    calendar = BusinessCalendar(tz=TZ, periods=((time(9), time(12)), (time(13, 30), time(18))))
    start = datetime(2026, 12, 5, 10, tzinfo=TZ)
    due = datetime(2026, 12, 7, 18, tzinfo=TZ)
    warned = warning_at(start, due, 0.8, "working_days", calendar)
    assert warned == datetime(2026, 12, 7, 16, 30, tzinfo=TZ)
    assert calendar.is_working_time(warned)
    assert warning_at(start, due, 0.8, "hours", calendar) == datetime(2026, 12, 7, 6, 48, tzinfo=TZ)


def test_a_department_never_sits_under_itself() -> None:
    from services.routing.domain.departments import DepartmentCycle, Placement

    Placement("water", None).check()
    Placement("water", "city", frozenset()).check()
    Placement("water", "urban", frozenset({"city"})).check()
    for parent, above in [("water", frozenset()), ("pumps", frozenset({"water", "city"}))]:
        with pytest.raises(DepartmentCycle) as raised:
            Placement("water", parent, above).check()
        assert str(raised.value) == f"{parent} is water or lies under it"
