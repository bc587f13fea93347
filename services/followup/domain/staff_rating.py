"""Ratings of the staff member who served the person (好差评), and the rectification a bad
rating opens for that member's head. Pure rules: what is bad, which reasons are allowed,
what an outcome means for the staff KPIs, what the person is told.

Five levels, one rating per service event (a window ticket, a hotline call: the
`service_ref`), anonymous allowed. Unsatisfied and very unsatisfied are bad (差评): the head
must rectify within the configured working days and record rectified, explained or
disputed; the person is told. A disputed bad rating does not count against the member (the
head found it was not about the member's service), every other one does.
"""

from __future__ import annotations

from datetime import datetime

LEVELS = ("very_satisfied", "satisfied", "basically_satisfied", "unsatisfied", "very_unsatisfied")
BAD = frozenset({"unsatisfied", "very_unsatisfied"})

# The fixed list of reasons a person may pick (with their Chinese labels for the forms).
REASONS: dict[str, str] = {
    "attitude": "服务态度差",
    "slow": "办事效率低",
    "unclear": "政策解释不清楚",
    "repeated_trips": "让我多次跑腿",
    "not_resolved": "问题没有解决",
    "not_by_the_rules": "不按规定办事",
    "long_wait": "等候时间长",
    "professional": "业务熟练",
    "friendly": "态度热情",
    "efficient": "办事高效",
    "other": "其他",
}

OUTCOME_TEXT = {
    "rectified": "相关工作人员已整改",
    "explained": "已向您说明情况",
    "disputed": "经核实，该评价与工作人员的服务无关，已作说明",
}


def is_bad(level: str) -> bool:
    return level in BAD


def unknown_reasons(reasons: list[str]) -> list[str]:
    return [r for r in reasons if r not in REASONS]


def counts_against_staff(outcome: str | None) -> bool:
    """An undisputed bad rating counts in the staff KPIs (also while not yet decided)."""
    return outcome != "disputed"


def decided_on_time(due: datetime, decided_at: datetime) -> bool:
    return decided_at <= due
