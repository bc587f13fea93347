"""SLA policies as data: per category × urgency, each clock an amount and a unit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services.routing.domain.calendar import BusinessCalendar, Unit

CLOCKS = ("accept", "first_contact", "resolve", "feedback", "revisit")
# Clocks counted from the moment the request is routed; revisit counts from feedback.
ROUTED_CLOCKS = ("accept", "first_contact", "resolve", "feedback")


@dataclass(frozen=True)
class ClockPolicy:
    amount: float
    unit: Unit


PolicyTable = Mapping[tuple[str, str, str], ClockPolicy]  # (category, urgency, clock)


def policy_for(policies: PolicyTable, category: str, urgency: str, clock: str) -> ClockPolicy | None:
    """The most specific policy: exact category, else the `*` category default."""
    return policies.get((category, urgency, clock)) or policies.get(("*", urgency, clock))


def due_times(
    policies: PolicyTable, calendar: BusinessCalendar, category: str, urgency: str, start: datetime
) -> dict[str, datetime | None]:
    due: dict[str, datetime | None] = {}
    for clock in CLOCKS:
        policy = policy_for(policies, category, urgency, clock)
        if policy is None or clock not in ROUTED_CLOCKS:
            due[clock] = None
            continue
        due[clock] = calendar.add(start, policy.amount, policy.unit)
    return due


# Defaults shipped as seed data (hotline practice: consultations and help 3 working days,
# complaints 13, emergencies on plain hours). Editable through /v1/sla-policies.
DEFAULT_POLICIES: dict[tuple[str, str, str], ClockPolicy] = {
    ("*", "normal", "accept"): ClockPolicy(1, "working_days"),
    ("*", "normal", "first_contact"): ClockPolicy(2, "working_days"),
    ("*", "normal", "resolve"): ClockPolicy(7, "working_days"),
    ("*", "normal", "feedback"): ClockPolicy(8, "working_days"),
    ("*", "normal", "revisit"): ClockPolicy(1, "working_days"),
    ("consultation", "normal", "resolve"): ClockPolicy(3, "working_days"),
    ("consultation", "normal", "feedback"): ClockPolicy(3, "working_days"),
    ("help", "normal", "resolve"): ClockPolicy(3, "working_days"),
    ("help", "normal", "feedback"): ClockPolicy(4, "working_days"),
    ("complaint", "normal", "resolve"): ClockPolicy(13, "working_days"),
    ("complaint", "normal", "feedback"): ClockPolicy(15, "working_days"),
    ("repair", "normal", "resolve"): ClockPolicy(5, "working_days"),
    ("repair", "normal", "feedback"): ClockPolicy(6, "working_days"),
    ("*", "urgent", "accept"): ClockPolicy(1, "hours"),
    ("*", "urgent", "first_contact"): ClockPolicy(2, "hours"),
    ("*", "urgent", "resolve"): ClockPolicy(24, "hours"),
    ("*", "urgent", "feedback"): ClockPolicy(26, "hours"),
    ("*", "urgent", "revisit"): ClockPolicy(24, "hours"),
}
