"""Staff-level figures (考核结果与员工绩效挂钩): per staff member and period, from the fact
rows (who received, answered and handled each request) and the staff ratings. Pure code.

- received: requests the member received as first responder (首问), by received time;
- first_contact_resolutions: requests the member answered at intake, with and without a
  knowledge-base article, by answer time;
- cases_handled / on_time: requests the member resolved as the lead's handler, by
  resolution time, and how many by their resolve due time;
- request_satisfaction: the person's rating of those requests (no_response left out);
- service ratings: the five-level ratings of the member's service; satisfaction counts the
  three upper levels; bad ratings (差评) count unless the head's rectification disputed them;
  rectifications decided and decided on time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.kpi.domain.facts import Fact
from services.kpi.domain.figures import Period, Ratio

GOOD_SERVICE = frozenset({"very_satisfied", "satisfied", "basically_satisfied"})
SATISFIED = frozenset({"satisfied", "basically_satisfied"})


@dataclass(frozen=True)
class StaffRating:
    rating_id: str
    staff_id: str
    department: str
    level: str
    bad: bool
    rated_at: datetime
    rectification_due: datetime | None = None
    outcome: str | None = None
    counts_against_staff: bool = True
    rectified_on_time: bool | None = None


def staff_figures(
    staff_id: str, facts: Iterable[Fact], ratings: Iterable[StaffRating], period: Period
) -> dict[str, Any]:
    facts = list(facts)
    received = [f for f in facts if f.first_responder == staff_id and period.holds(f.received_at)]
    answered = [
        f for f in facts if f.answered_at_intake and f.answered_by == staff_id and period.holds(f.resolved_at)
    ]
    handled = [
        f
        for f in facts
        if f.handler_id == staff_id
        and not f.answered_at_intake
        and f.excluded is None
        and period.holds(f.resolved_at)
    ]
    on_time = [f for f in handled if f.resolved_at and f.resolve_due and f.resolved_at <= f.resolve_due]
    rated_requests = [f for f in handled if f.rating and f.rating != "no_response"]
    own = [r for r in ratings if r.staff_id == staff_id and period.holds(r.rated_at)]
    bad = [r for r in own if r.bad]
    decided = [r for r in bad if r.outcome is not None]
    return {
        "staff_id": staff_id,
        "period": period.label,
        "received_as_first_responder": len(received),
        "first_contact_resolutions": {
            "total": len(answered),
            "with_article": sum(f.answer_article is not None for f in answered),
            "without_article": sum(f.answer_article is None for f in answered),
            "share_of_received": Ratio(
                sum(f.answered_at_intake and f.answered_by == staff_id for f in received), len(received)
            ).as_dict(),
        },
        "cases_handled": len(handled),
        "on_time": Ratio(len(on_time), len(handled)).as_dict(),
        "request_satisfaction": Ratio(
            sum(f.rating in SATISFIED for f in rated_requests), len(rated_requests)
        ).as_dict(),
        "service_ratings": {
            "total": len(own),
            "by_level": {
                level: sum(r.level == level for r in own) for level in sorted({r.level for r in own})
            },
            "satisfaction": Ratio(sum(r.level in GOOD_SERVICE for r in own), len(own)).as_dict(),
        },
        "bad_ratings": {
            "total": len(bad),
            "counted": sum(r.counts_against_staff for r in bad),
            "disputed": sum(not r.counts_against_staff for r in bad),
            "rectifications_decided": len(decided),
            "rectified_on_time": Ratio(
                sum(bool(r.rectified_on_time) for r in decided), len(decided)
            ).as_dict(),
            "open": len(bad) - len(decided),
        },
    }
