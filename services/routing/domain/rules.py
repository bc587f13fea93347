"""Routing rules as data: the first active rule (by priority) whose conditions all match
names the lead department and co-handlers; departments that already returned the request
are skipped; nothing matching → the coordinating department."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    id: str
    priority: int
    lead_department: str
    co_departments: tuple[str, ...] = ()
    # field → accepted values; a field not named matches anything.
    match: Mapping[str, Sequence[str]] = field(default_factory=dict)
    active: bool = True

    def matches(self, facts: Mapping[str, str | None]) -> bool:
        for name, values in self.match.items():
            if not values:
                continue
            if name == "keywords":
                # Any one keyword in the request's (masked) title and content.
                text = (facts.get("text") or "").lower()
                if not any(keyword.lower() in text for keyword in values):
                    return False
            elif facts.get(name) not in values:
                return False
        return True


@dataclass(frozen=True)
class Decision:
    lead_department: str
    co_departments: tuple[str, ...]
    rule_id: str | None  # None: no rule matched, sent to the coordinating department


def choose(
    rules: Iterable[Rule],
    facts: Mapping[str, str | None],
    *,
    coordinating_department: str,
    excluded: frozenset[str] = frozenset(),
    active_departments: frozenset[str] | None = None,
) -> Decision:
    def usable(dept: str) -> bool:
        return dept not in excluded and (active_departments is None or dept in active_departments)

    for rule in sorted((r for r in rules if r.active), key=lambda r: (r.priority, r.id)):
        if rule.matches(facts) and usable(rule.lead_department):
            co = tuple(d for d in rule.co_departments if usable(d) and d != rule.lead_department)
            return Decision(rule.lead_department, co, rule.id)
    return Decision(coordinating_department, (), None)
