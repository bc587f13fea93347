"""SLA policies as data: per scope (a business type, a category, or `*`) × urgency, each
clock an amount, a unit and the fraction of its time at which a warning goes out.

Clocks run one after another where the work does: accept, first contact and resolve count
from the moment the request is routed; feedback counts from the resolve due time, and the
return visit from the feedback due time. Every due time travels on `request.routed`, so no
other service computes them again."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from services.routing.domain.calendar import BusinessCalendar, Pause, Unit

CLOCKS = ("accept", "first_contact", "resolve", "feedback", "revisit")
# The clock whose due time another clock counts from (None: from the routing moment).
COUNTS_FROM: dict[str, str | None] = {
    "accept": None,
    "first_contact": None,
    "resolve": None,
    "feedback": "resolve",
    "revisit": "feedback",
}


@dataclass(frozen=True)
class ClockPolicy:
    amount: float
    unit: Unit
    warning_fraction: float = 0.8


PolicyTable = Mapping[tuple[str, str, str], ClockPolicy]  # (scope, urgency, clock)


def business_scope(business_type: str) -> str:
    return f"business:{business_type}"


def policy_for(
    policies: PolicyTable, category: str, urgency: str, clock: str, business_type: str | None = None
) -> ClockPolicy | None:
    """The most specific policy: the business type's, else the category's, else the default `*`."""
    scopes = ([business_scope(business_type)] if business_type else []) + [category, "*"]
    for scope in scopes:
        policy = policies.get((scope, urgency, clock))
        if policy is not None:
            return policy
    return None


def due_times(
    policies: PolicyTable,
    calendar: BusinessCalendar,
    category: str,
    urgency: str,
    start: datetime,
    business_type: str | None = None,
    pauses: Iterable[Pause] = (),
) -> dict[str, datetime | None]:
    paused = list(pauses)
    due: dict[str, datetime | None] = {}
    for clock in CLOCKS:
        policy = policy_for(policies, category, urgency, clock, business_type)
        origin_clock = COUNTS_FROM[clock]
        origin = start if origin_clock is None else due.get(origin_clock)
        if policy is None or origin is None:
            due[clock] = None
            continue
        due[clock] = calendar.add(origin, policy.amount, policy.unit, paused)
    return due


def warning_at(
    start: datetime,
    due: datetime,
    fraction: float,
    unit: Unit = "hours",
    calendar: BusinessCalendar | None = None,
) -> datetime:
    """When a clock running from `start` to `due` should warn: the fraction of its time, in
    the clock's own time. A working-time clock warns at the fraction of the working time
    between the two (so always in working time, never at night or on a Sunday); a plain-hours
    clock (emergencies) at the fraction of the plain time."""
    if unit == "hours" or calendar is None:
        return start + (due - start) * fraction
    minutes = calendar.working_minutes_between(start, due) * fraction
    if minutes <= 0:
        return calendar.next_working_moment(start) if start < due else due
    return min(calendar.add_working_minutes(start, minutes), due)


def warnings_for(
    policies: PolicyTable,
    calendar: BusinessCalendar,
    category: str,
    urgency: str,
    start: datetime,
    due: Mapping[str, datetime | None],
    business_type: str | None = None,
) -> dict[str, datetime | None]:
    """Each clock's warning time, given the due times (which may have moved: an extension,
    a pause): the handling clocks count from `start`, the later ones from their origin's due."""
    warn: dict[str, datetime | None] = {}
    for clock in CLOCKS:
        policy = policy_for(policies, category, urgency, clock, business_type)
        origin_clock = COUNTS_FROM[clock]
        origin = start if origin_clock is None else due.get(origin_clock)
        end = due.get(clock)
        warn[clock] = (
            warning_at(origin, end, policy.warning_fraction, policy.unit, calendar)
            if policy and origin and end
            else None
        )
    return warn


def moved_due(
    policies: PolicyTable,
    calendar: BusinessCalendar,
    category: str,
    urgency: str,
    due: Mapping[str, datetime | None],
    business_type: str | None = None,
) -> dict[str, datetime | None]:
    """The clocks that count from another clock's due time (feedback from resolve, the
    return visit from feedback) recomputed after that due time moved; the others as given."""
    result = dict(due)
    for clock in CLOCKS:
        origin_clock = COUNTS_FROM[clock]
        if origin_clock is None:
            continue
        policy = policy_for(policies, category, urgency, clock, business_type)
        origin = result.get(origin_clock)
        if policy is not None and origin is not None:
            result[clock] = calendar.add(origin, policy.amount, policy.unit)
    return result


# Defaults shipped as seed data (issue figures and hotline practice: consultations and help
# 3 working days, complaints 13; emergencies on plain hours). Edited via /v1/sla-policies.
DEFAULT_POLICIES: dict[tuple[str, str, str], ClockPolicy] = {
    ("*", "normal", "accept"): ClockPolicy(1, "working_days"),
    ("*", "normal", "first_contact"): ClockPolicy(2, "working_days"),
    ("*", "normal", "resolve"): ClockPolicy(10, "working_days"),
    ("*", "normal", "feedback"): ClockPolicy(2, "working_days"),
    ("*", "normal", "revisit"): ClockPolicy(3, "working_days"),
    ("consultation", "normal", "resolve"): ClockPolicy(3, "working_days"),
    ("help", "normal", "resolve"): ClockPolicy(3, "working_days"),
    ("complaint", "normal", "resolve"): ClockPolicy(13, "working_days"),
    ("repair", "normal", "resolve"): ClockPolicy(5, "working_days"),
    ("*", "urgent", "accept"): ClockPolicy(1, "hours"),
    ("*", "urgent", "first_contact"): ClockPolicy(2, "hours"),
    ("*", "urgent", "resolve"): ClockPolicy(24, "hours"),
    ("*", "urgent", "feedback"): ClockPolicy(2, "hours"),
    ("*", "urgent", "revisit"): ClockPolicy(24, "hours"),
}
