from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from services.routing.domain.calendar import BusinessCalendar
from services.routing.domain.rules import Rule, choose
from services.routing.domain.sla import DEFAULT_POLICIES, ClockPolicy, due_times, policy_for

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


def test_category_policy_overrides_the_default() -> None:
    assert policy_for(DEFAULT_POLICIES, "complaint", "normal", "resolve") == ClockPolicy(13, "working_days")
    assert policy_for(DEFAULT_POLICIES, "suggestion", "normal", "resolve") == ClockPolicy(7, "working_days")
    assert policy_for({}, "complaint", "normal", "resolve") is None


def test_due_times_for_a_normal_consultation_and_an_urgent_request() -> None:
    start = datetime(2026, 11, 25, 10, tzinfo=TZ)
    due = due_times(DEFAULT_POLICIES, BusinessCalendar(), "consultation", "normal", start)
    assert due["accept"] == datetime(2026, 11, 26, 10, tzinfo=TZ)
    assert due["resolve"] == datetime(2026, 11, 30, 10, tzinfo=TZ)
    assert due["revisit"] is None  # counted from feedback, not from routing
    urgent = due_times(DEFAULT_POLICIES, BusinessCalendar(), "help", "urgent", start)
    assert urgent["accept"] == datetime(2026, 11, 25, 11, tzinfo=TZ)
    assert urgent["resolve"] == datetime(2026, 11, 26, 10, tzinfo=TZ)
