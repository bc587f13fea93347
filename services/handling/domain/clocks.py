"""SLA clocks of a department's case: accept, first contact, resolve. Due times and warning
times come from `request.routed`; a clock stops when its work is done, moves only through an
approved extension, warns once and breaches once. Pure code."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from shared.events.catalogue import EventData, RequestAccepted, RequestContacted, RequestResolved

HANDLING_CLOCKS = ("accept", "first_contact", "resolve")
# Which action stops which clock.
STOPPED_BY: dict[type[EventData], str] = {
    RequestAccepted: "accept",
    RequestContacted: "first_contact",
    RequestResolved: "resolve",
}


class ExtensionRefused(Exception):
    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class ExtensionPolicy:
    max_count: int = 2
    max_total: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class Clock:
    request_id: str
    department: str
    name: str
    started_at: datetime
    due: datetime
    original_due: datetime
    warn_at: datetime | None = None
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    stopped_at: datetime | None = None
    extensions: int = 0

    def alerts_due(self, now: datetime) -> list[str]:
        """What the scheduler must emit now: a warning and/or a breach, each once."""
        if self.stopped_at is not None:
            return []
        alerts = []
        if (
            self.warn_at is not None
            and self.warned_at is None
            and self.breached_at is None
            and self.warn_at <= now
        ):
            alerts.append("warning")
        if self.breached_at is None and self.due <= now:
            alerts.append("breach")
        return alerts

    def at_risk(self, now: datetime) -> bool:
        return self.stopped_at is None and self.warn_at is not None and self.warn_at <= now < self.due

    def overdue(self, now: datetime) -> bool:
        return self.stopped_at is None and self.due <= now

    def check_extension(self, requested_due: datetime, now: datetime, policy: ExtensionPolicy) -> None:
        """Extensions are asked for before the deadline, within the policy's limits."""
        if self.stopped_at is not None:
            raise ExtensionRefused("clock_running", f"the {self.name} clock has already stopped")
        if self.due <= now:
            raise ExtensionRefused("before_due", "extensions must be asked for before the due time")
        if requested_due <= self.due:
            raise ExtensionRefused("later_than_due", "the new due time must be later than the current one")
        if self.extensions >= policy.max_count:
            raise ExtensionRefused("max_extensions", f"at most {policy.max_count} extensions per clock")
        if requested_due - self.original_due > policy.max_total:
            raise ExtensionRefused("max_total_extension", f"at most {policy.max_total.days} days in all")

    def extend(self, new_due: datetime, now: datetime) -> Clock:
        """The approved new due time; the warning moves with it, keeping its fraction."""
        warn_at = self.warn_at
        if warn_at is not None and self.due > self.started_at:
            fraction = (warn_at - self.started_at) / (self.due - self.started_at)
            warn_at = self.started_at + (new_due - self.started_at) * fraction
        warned_at = self.warned_at if warn_at is None or warn_at <= now else None
        return replace(
            self, due=new_due, warn_at=warn_at, warned_at=warned_at, extensions=self.extensions + 1
        )


def clocks_from_routing(
    request_id: str, department: str, started_at: datetime, due: dict[str, Any], warn_at: dict[str, Any]
) -> list[Clock]:
    clocks = []
    for name in HANDLING_CLOCKS:
        if due.get(name) is None:
            continue
        clocks.append(
            Clock(
                request_id=request_id,
                department=department,
                name=name,
                started_at=started_at,
                due=_dt(due[name]),
                original_due=_dt(due[name]),
                warn_at=_dt(warn_at[name]) if warn_at.get(name) else None,
            )
        )
    return clocks


def _dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
