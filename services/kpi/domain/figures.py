"""Department figures per period, computed exactly from fact rows (docs/kpi.md defines
each). Pure code: the same facts always give the same figures."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.kpi.domain.facts import Fact

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class BadPeriod(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    """A calendar month in the organisation's time zone: [start, end)."""

    label: str
    start: datetime
    end: datetime

    @classmethod
    def month(cls, label: str, tz: ZoneInfo) -> Period:
        m = PERIOD.match(label)
        if not m:
            raise BadPeriod("period must be YYYY-MM")
        year, month = int(m.group(1)), int(m.group(2))
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        return cls(label, datetime(year, month, 1, tzinfo=tz), datetime(nxt.year, nxt.month, 1, tzinfo=tz))

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


def _on_time(done: datetime | None, due: datetime | None) -> bool:
    return done is not None and due is not None and done <= due


def department_figures(facts: Iterable[Fact], department: str, period: Period) -> dict[str, Any]:
    counted = [f for f in facts if f.lead_department == department and f.excluded is None]
    excluded = sum(1 for f in facts if f.lead_department == department and f.excluded is not None)

    accept_due = [f for f in counted if period.holds(f.accept_due)]
    resolve_due = [f for f in counted if period.holds(f.resolve_due)]
    feedback_due = [f for f in counted if f.resolved_at is not None and period.holds(f.feedback_due)]
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
    }
