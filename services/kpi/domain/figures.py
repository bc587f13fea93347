"""Department figures per period, computed exactly from fact rows (docs/kpi.md defines
each). Pure code: the same facts always give the same figures."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.kpi.domain.facts import Fact

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
WEEK = re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$")
QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
YEAR = re.compile(r"^(\d{4})$")


class BadPeriod(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    """A month, ISO week, quarter or year in the organisation's time zone: [start, end)."""

    label: str
    start: datetime
    end: datetime

    @classmethod
    def month(cls, label: str, tz: ZoneInfo) -> Period:
        m = MONTH.match(label)
        if not m:
            raise BadPeriod("period must be YYYY-MM")
        year, month = int(m.group(1)), int(m.group(2))
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        return cls(label, datetime(year, month, 1, tzinfo=tz), datetime(nxt.year, nxt.month, 1, tzinfo=tz))

    @classmethod
    def parse(cls, label: str, tz: ZoneInfo) -> Period:
        """2026-11 (month), 2026-W48 (ISO week), 2026-Q4 (quarter) or 2026 (year)."""
        if MONTH.match(label):
            return cls.month(label, tz)
        if m := WEEK.match(label):
            try:
                monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
            except ValueError as exc:
                raise BadPeriod(f"{label} is not a week of that year") from exc
            start = datetime(monday.year, monday.month, monday.day, tzinfo=tz)
            return cls(label, start, start + timedelta(days=7))
        if m := QUARTER.match(label):
            year, quarter = int(m.group(1)), int(m.group(2))
            first = cls.month(f"{year}-{3 * quarter - 2:02d}", tz)
            last = cls.month(f"{year}-{3 * quarter:02d}", tz)
            return cls(label, first.start, last.end)
        if m := YEAR.match(label):
            year = int(m.group(1))
            return cls(label, datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz))
        raise BadPeriod("period must be YYYY-MM, YYYY-Www, YYYY-Qn or YYYY")

    def previous(self, tz: ZoneInfo) -> Period:
        """The period of the same kind just before this one."""
        return Period.parse(_label_of(self.label, self.start - timedelta(days=1)), tz)

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        return None if self.denominator == 0 else round(self.numerator / self.denominator, 4)

    def as_dict(self) -> dict[str, Any]:
        return {"numerator": self.numerator, "denominator": self.denominator, "rate": self.rate}


def _label_of(kind_of: str, moment: datetime) -> str:
    if WEEK.match(kind_of):
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    if QUARTER.match(kind_of):
        return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
    if YEAR.match(kind_of):
        return str(moment.year)
    return f"{moment.year}-{moment.month:02d}"


def _on_time(done: datetime | None, due: datetime | None) -> bool:
    return done is not None and due is not None and done <= due


def department_figures(
    facts: Iterable[Fact], department: str, period: Period, at: datetime | None = None
) -> dict[str, Any]:
    """`at` is now for a period still running: a clock that is neither done nor due yet is
    left out of its rate (and is not overdue), so a running month is not punished for work
    not yet due. For a finished period nothing changes."""
    facts = list(facts)

    def due_by_now(done: datetime | None, due: datetime | None) -> bool:
        return at is None or done is not None or (due is not None and due <= at)

    counted = [f for f in facts if f.lead_department == department and f.excluded is None]
    excluded = sum(1 for f in facts if f.lead_department == department and f.excluded is not None)
    # Returns count against the returning department, in the period the request came in.
    involved = [
        f
        for f in facts
        if period.holds(f.received_at)
        and f.excluded is None
        and (f.lead_department == department or department in f.returned_by)
    ]
    returns = sum(f.returned_by.count(department) for f in involved)

    accept_due = [
        f for f in counted if period.holds(f.accept_due) and due_by_now(f.accepted_at, f.accept_due)
    ]
    resolve_due = [
        f for f in counted if period.holds(f.resolve_due) and due_by_now(f.resolved_at, f.resolve_due)
    ]
    feedback_due = [
        f
        for f in counted
        if f.resolved_at is not None
        and period.holds(f.feedback_due)
        and due_by_now(f.feedback_at, f.feedback_due)
    ]
    resolved = [f for f in counted if period.holds(f.resolved_at)]
    rated = [f for f in counted if period.holds(f.rated_at) and f.rating not in (None, "no_response")]
    satisfied = [f for f in rated if f.rating in ("satisfied", "basically_satisfied")]
    scores = [f.score for f in rated if f.score is not None]
    accurate = [f for f in resolved if f.reopens == 0 and not f.overturned]

    return {
        "department": department,
        "period": period.label,
        "counts": {
            "routed": sum(1 for f in counted if period.holds(f.routed_at)),
            "accepted": sum(1 for f in counted if period.holds(f.accepted_at)),
            "resolved": len(resolved),
            "feedback_given": sum(1 for f in counted if period.holds(f.feedback_at)),
            "rated": len(rated),
            "closed": sum(1 for f in counted if period.holds(f.closed_at)),
            "overdue_open": sum(
                1 for f in resolve_due if f.resolved_at is None and f.resolve_due is not None
            ),
            "excluded_merged_or_withdrawn": excluded,
            # 催办: the first responders' chases of this department's requests of the period.
            "chased": sum(f.chases for f in counted if period.holds(f.received_at)),
        },
        "acceptance_timeliness": Ratio(
            sum(_on_time(f.accepted_at, f.accept_due) for f in accept_due), len(accept_due)
        ).as_dict(),
        "on_time_resolution": Ratio(
            sum(_on_time(f.resolved_at, f.resolve_due) for f in resolve_due), len(resolve_due)
        ).as_dict(),
        "feedback_timeliness": Ratio(
            sum(_on_time(f.feedback_at, f.feedback_due) for f in feedback_due), len(feedback_due)
        ).as_dict(),
        "handling_accuracy": Ratio(len(accurate), len(resolved)).as_dict(),
        "satisfaction": Ratio(len(satisfied), len(rated)).as_dict(),
        "mean_score": round(sum(scores) / len(scores), 2) if scores else None,
        "returns": {
            "count": returns,
            **Ratio(sum(department in f.returned_by for f in involved), len(involved)).as_dict(),
        },
        "reopen_rate": Ratio(sum(f.reopens > 0 for f in resolved), len(resolved)).as_dict(),
        "revisit_rate": Ratio(sum(f.revisit_outcome is not None for f in resolved), len(resolved)).as_dict(),
    }


def organisation_figures(facts: Iterable[Fact], period: Period) -> dict[str, Any]:
    """Across departments: first-contact resolution and volumes by channel, category, area."""
    received = [f for f in facts if period.holds(f.received_at) and f.excluded is None]
    volumes: dict[str, dict[str, int]] = {"channel": {}, "category": {}, "area": {}}
    for f in received:
        for key, value in (("channel", f.channel), ("category", f.category), ("area", f.area)):
            if value:
                volumes[key][value] = volumes[key].get(value, 0) + 1
    return {
        "period": period.label,
        "received": len(received),
        "first_contact_resolution": Ratio(
            sum(f.answered_at_intake for f in received), len(received)
        ).as_dict(),
        # Answers at intake that cited a knowledge-base article, and those that did not.
        "first_contact_resolution_by_article": {
            "with_article": sum(f.answered_at_intake and f.answer_article is not None for f in received),
            "without_article": sum(f.answered_at_intake and f.answer_article is None for f in received),
        },
        "volume": {k: dict(sorted(v.items())) for k, v in volumes.items()},
    }
