"""Counts kept per department × measure × day, so a period's figures are a sum over its days
instead of a pass over every fact (docs/kpi.md, "How the figures are computed").

A fact row *contributes* a set of counts: for each figure's numerator and denominator, one
count on the local day (organisation time zone) of the time that places it in a period.
Periods (month, ISO week, quarter, year) are unions of whole local days, so a period's count
is the sum of its days' counts. When a fact row changes, its old contributions are taken
away and its new ones added (`delta`); the rebuild recounts them from the fact rows.

Two parts cannot be kept per day and are computed from indexed fact columns instead:
* a clock that is neither done nor due yet in a running period (`*_open` counts): the days
  before today come from the counts, today's part from the open clocks due by now;
* merged/withdrawn requests with any time in the period (each counted once per period).

Pure code: `contributions(fact, tz)` and `figures(...)` over summed counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.kpi.domain.facts import Fact
from services.kpi.domain.figures import Period, Ratio

Key = tuple[str, str, date]  # department ("" = organisation), measure, local day

ORG = ""
# Which departments ever led a request: one count per fact on a fixed day outside any period.
LED = "led"
LED_DAY = date(1970, 1, 1)

# The clocks whose denominators leave out what is neither done nor due yet.
CLOCKS = (
    ("accept", "accept_due", "accepted_at"),
    ("resolve", "resolve_due", "resolved_at"),
    ("feedback", "feedback_due", "feedback_at"),
)
OPEN_MEASURES = frozenset(f"{name}_open" for name, _, _ in CLOCKS)
_SATISFIED = ("satisfied", "basically_satisfied")


def day_of(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def topic_key(fact: Fact) -> str:
    return fact.topic or fact.category or "?"


def contributions(fact: Fact, tz: ZoneInfo) -> Counter[Key]:
    """Every count the fact row adds to (the definitions are those of
    `figures.department_figures` and `figures.organisation_figures`, one per line)."""
    out: Counter[Key] = Counter()

    def add(department: str, measure: str, moment: datetime | None, n: int = 1) -> None:
        if moment is not None and n:
            out[(department, measure, day_of(moment, tz))] += n

    lead = fact.lead_department
    if lead is not None:
        out[(lead, LED, LED_DAY)] += 1
    # Hot spots count every request received, whatever became of it.
    add(ORG, f"hot.topic:{topic_key(fact)}", fact.received_at)
    if fact.area:
        add(ORG, f"hot.area:{fact.area}", fact.received_at)
    if fact.matter:
        add(ORG, f"hot.matter:{fact.matter}", fact.received_at)
        if fact.area:  # two reports of one broken facility: a hot spot of its own
            add(ORG, f"hot.matter_area:{fact.matter}{MATTER_AREA}{fact.area}", fact.received_at)
    if fact.excluded is not None:
        return out

    received = fact.received_at
    add(ORG, "org.received", received)
    if fact.answered_at_intake:
        add(ORG, "org.fcr", received)
        add(
            ORG,
            "org.fcr_with_article" if fact.answer_article is not None else "org.fcr_without_article",
            received,
        )
    for dim, value in (("channel", fact.channel), ("category", fact.category), ("area", fact.area)):
        if value:
            add(ORG, f"vol.{dim}:{value}", received)
    _department_contributions(fact, add, lead, fact.returned_by)
    return out


Add = Callable[..., None]  # add(department, measure, moment, n=1)


def _department_contributions(fact: Fact, add: Add, lead: str | None, returned_by: tuple[str, ...]) -> None:
    """The counts of the lead department's figures and the returning departments' (`lead`
    and `returned_by` are the fact's, or one stand-in for every department together)."""
    received = fact.received_at
    # Returns count against the returning department, in the period the request came in.
    for department in {d for d in (lead, *returned_by) if d is not None}:
        add(department, "involved", received)
        if department in returned_by:
            add(department, "returned_requests", received)
            add(department, "returns", received, returned_by.count(department))

    if lead is None:
        return
    add(lead, "routed", fact.routed_at)
    add(lead, "accepted", fact.accepted_at)
    add(lead, "feedback_given", fact.feedback_at)
    add(lead, "closed", fact.closed_at)
    # 催办: the first responders' chases, in the period the request came in.
    add(lead, "chased", received, fact.chases)
    resolved = fact.resolved_at
    add(lead, "resolved", resolved)
    if fact.reopens == 0 and not fact.overturned:
        add(lead, "accurate", resolved)
    if fact.reopens > 0:
        add(lead, "reopened", resolved)
    if fact.revisit_outcome is not None:
        add(lead, "revisited", resolved)
    if fact.rating not in (None, "no_response"):
        add(lead, "rated", fact.rated_at)
        if fact.rating in _SATISFIED:
            add(lead, "satisfied", fact.rated_at)
        if fact.score is not None:
            add(lead, "score_n", fact.rated_at)
            add(lead, "score_sum", fact.rated_at, fact.score)
    for name, due_name, done_name in CLOCKS:
        if name == "feedback" and resolved is None:
            continue  # feedback is due only on what was resolved
        due, done = getattr(fact, due_name), getattr(fact, done_name)
        if due is None:
            continue
        if done is None:
            add(lead, f"{name}_open", due)
        else:
            add(lead, f"{name}_done", due)
            if done <= due:
                add(lead, f"{name}_on_time", due)


# Per matter (事项) x department x measure x local day: the figures of the requests dispatched
# under a matter, per lead department and for every department together (WHOLE).
MatterKey = tuple[str, str, str, date]  # matter, department (WHOLE: every one), measure, day
WHOLE = ""
# What a department's returns count (per department taking part, not only the lead's).
_RETURN_MEASURES = frozenset({"involved", "returned_requests", "returns"})


def matter_contributions(fact: Fact, tz: ZoneInfo) -> Counter[MatterKey]:
    """The counts of a request dispatched under a matter: the same figures as a department's
    (`department_figures` over the matter's requests), once per department taking part and
    once for every department together (WHOLE): the lead's counts, whichever department
    leads it, and its returns, whichever department made them (each request once)."""
    out: Counter[MatterKey] = Counter()
    matter = fact.matter
    if not matter or fact.excluded is not None:
        return out
    lead = fact.lead_department
    days: dict[datetime, date] = {}

    def add(department: str, measure: str, moment: datetime | None, n: int = 1) -> None:
        if moment is None or not n:
            return
        day = days.get(moment)
        if day is None:
            day = days[moment] = day_of(moment, tz)
        out[(matter, department, measure, day)] += n
        if department == lead and measure not in _RETURN_MEASURES:
            out[(matter, WHOLE, measure, day)] += n

    _department_contributions(fact, add, lead, fact.returned_by)
    if fact.received_at is not None and (lead is not None or fact.returned_by):
        received = day_of(fact.received_at, tz)
        out[(matter, WHOLE, "involved", received)] += 1
        if fact.returned_by:
            out[(matter, WHOLE, "returned_requests", received)] += 1
            out[(matter, WHOLE, "returns", received)] += len(fact.returned_by)
    return out


def matter_delta(before: Fact | None, after: Fact | None, tz: ZoneInfo) -> Counter[MatterKey]:
    change: Counter[MatterKey] = Counter()
    if after is not None:
        change.update(matter_contributions(after, tz))
    if before is not None:
        change.subtract(matter_contributions(before, tz))
    return Counter({k: n for k, n in change.items() if n})


def delta(before: Fact | None, after: Fact | None, tz: ZoneInfo) -> Counter[Key]:
    """What to add to the counts when a fact row goes from `before` to `after` (negative
    numbers take away); zero changes are left out."""
    change: Counter[Key] = Counter()
    if after is not None:
        change.update(contributions(after, tz))
    if before is not None:
        change.subtract(contributions(before, tz))
    return Counter({k: n for k, n in change.items() if n})


def period_days(period: Period) -> tuple[date, date]:
    """[first, last) local days of the period."""
    return period.start.date(), period.end.date()


def department_figures(
    department: str,
    period: Period,
    counts: Mapping[str, int],
    *,
    excluded: int,
    open_due_now: Mapping[str, int],
) -> dict[str, Any]:
    """The figures of `figures.department_figures` from summed counts. `counts[m]` is the
    sum of measure m over the period's days, except the `*_open` measures, which hold only the
    open clocks that are due by `at` (what the caller worked out); `excluded` is the number
    of merged or withdrawn requests the department led with any time in the period."""

    def c(measure: str) -> int:
        return int(counts.get(measure, 0))

    def clock(name: str) -> Ratio:
        return Ratio(c(f"{name}_on_time"), c(f"{name}_done") + int(open_due_now.get(f"{name}_open", 0)))

    resolved = c("resolved")
    score_n = c("score_n")
    return {
        "department": department,
        "period": period.label,
        "counts": {
            "routed": c("routed"),
            "accepted": c("accepted"),
            "resolved": resolved,
            "feedback_given": c("feedback_given"),
            "rated": c("rated"),
            "closed": c("closed"),
            "overdue_open": int(open_due_now.get("resolve_open", 0)),
            "excluded_merged_or_withdrawn": excluded,
            "chased": c("chased"),
        },
        "acceptance_timeliness": clock("accept").as_dict(),
        "on_time_resolution": clock("resolve").as_dict(),
        "feedback_timeliness": clock("feedback").as_dict(),
        "handling_accuracy": Ratio(c("accurate"), resolved).as_dict(),
        "satisfaction": Ratio(c("satisfied"), c("rated")).as_dict(),
        "mean_score": round(c("score_sum") / score_n, 2) if score_n else None,
        "returns": {"count": c("returns"), **Ratio(c("returned_requests"), c("involved")).as_dict()},
        "reopen_rate": Ratio(c("reopened"), resolved).as_dict(),
        "revisit_rate": Ratio(c("revisited"), resolved).as_dict(),
    }


def organisation_figures(period: Period, counts: Mapping[str, int]) -> dict[str, Any]:
    """The figures of `figures.organisation_figures` from the organisation's summed counts."""
    received = int(counts.get("org.received", 0))
    volumes: dict[str, dict[str, int]] = {"channel": {}, "category": {}, "area": {}}
    for measure, n in counts.items():
        if measure.startswith("vol.") and n:
            dim, _, value = measure[4:].partition(":")
            volumes[dim][value] = int(n)
    return {
        "period": period.label,
        "received": received,
        "first_contact_resolution": Ratio(int(counts.get("org.fcr", 0)), received).as_dict(),
        "first_contact_resolution_by_article": {
            "with_article": int(counts.get("org.fcr_with_article", 0)),
            "without_article": int(counts.get("org.fcr_without_article", 0)),
        },
        "volume": {k: dict(sorted(v.items())) for k, v in volumes.items()},
    }


# Between the matter and the area in a `hot.matter_area:` key (no matter code holds it).
MATTER_AREA = "@"


def hot_counters(counts: Mapping[str, int], kind: str) -> Counter[str]:
    """The organisation's `hot.topic:` or `hot.area:` counts as a Counter of keys."""
    prefix = f"hot.{kind}:"
    return Counter({m[len(prefix) :]: int(n) for m, n in counts.items() if m.startswith(prefix) and n})


# Repeat requesters (hot spots): requests per requester and topic, per month and per ISO week
# of receipt, so a month's or a week's repeat callers are an index range, not a scan.
RepeatKey = tuple[str, str, str]  # bucket (2026-11 or 2026-W48), requester_ref, topic key
NO_TOPIC = "\u2400"  # no topic and no category (a key column cannot be NULL)


def repeat_topic(fact: Fact) -> str | None:
    return fact.topic or fact.category


def topic_key_of(topic: str | None) -> str:
    """The topic as a key column (None and "" kept apart)."""
    return NO_TOPIC if topic is None else topic


def topic_of_key(key: str) -> str | None:
    return None if key == NO_TOPIC else key


def repeat_buckets(period: Period) -> str | None:
    """The bucket a month or an ISO week is kept under; None for other periods."""
    from services.kpi.domain.figures import MONTH, WEEK

    return period.label if MONTH.match(period.label) or WEEK.match(period.label) else None


def repeat_contributions(fact: Fact, tz: ZoneInfo) -> Counter[RepeatKey]:
    out: Counter[RepeatKey] = Counter()
    if fact.received_at is None or not fact.requester_ref:
        return out
    local = fact.received_at.astimezone(tz)
    year, week, _ = local.isocalendar()
    key = topic_key_of(repeat_topic(fact))
    out[(f"{local.year}-{local.month:02d}", fact.requester_ref, key)] += 1
    out[(f"{year}-W{week:02d}", fact.requester_ref, key)] += 1
    return out


def repeat_delta(before: Fact | None, after: Fact | None, tz: ZoneInfo) -> Counter[RepeatKey]:
    change: Counter[RepeatKey] = Counter()
    if after is not None:
        change.update(repeat_contributions(after, tz))
    if before is not None:
        change.subtract(repeat_contributions(before, tz))
    return Counter({k: n for k, n in change.items() if n})
