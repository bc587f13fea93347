"""Hot spots: the topics and areas with the most requests and the fastest growth against the
previous period, and people who keep asking about the same thing. Pure code."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from services.kpi.domain.facts import Fact
from services.kpi.domain.figures import Period
from services.kpi.domain.rollup import MATTER_AREA


def hotspots(facts: Iterable[Fact], period: Period, previous: Period, top: int = 10) -> dict[str, Any]:
    facts = list(facts)
    current = [f for f in facts if period.holds(f.received_at)]
    before = [f for f in facts if previous.holds(f.received_at)]
    return {
        "period": period.label,
        "previous": previous.label,
        "topics": _ranked(
            Counter(f.topic or f.category or "?" for f in current),
            Counter(f.topic or f.category or "?" for f in before),
            top,
        ),
        "areas": _ranked(
            Counter(f.area for f in current if f.area), Counter(f.area for f in before if f.area), top
        ),
        "matters": _ranked(
            Counter(f.matter for f in current if f.matter), Counter(f.matter for f in before if f.matter), top
        ),
        "matters_in_areas": matter_areas(
            _ranked(
                Counter(f"{f.matter}{MATTER_AREA}{f.area}" for f in current if f.matter and f.area),
                Counter(f"{f.matter}{MATTER_AREA}{f.area}" for f in before if f.matter and f.area),
                top,
            )
        ),
        "repeated": _repeated(current)[:top],
    }


def matter_areas(ranked: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Each `matter@area` key as its matter and its area."""

    def split(row: dict[str, Any]) -> dict[str, Any]:
        matter, _, area = row["key"].partition(MATTER_AREA)
        return {**row, "matter": matter, "area": area}

    return {k: [split(r) for r in rows] for k, rows in ranked.items()}


def ranked_counts(now: Counter[str], then: Counter[str], top: int) -> dict[str, list[dict[str, Any]]]:
    """The `top` keys by count and by growth `(now - before) / max(before, 1)`."""
    return _ranked(now, then, top)


def _ranked(now: Counter[str], then: Counter[str], top: int) -> dict[str, list[dict[str, Any]]]:
    def growth(key: str) -> float:
        return round((now[key] - then[key]) / max(then[key], 1), 3)

    keys = list(now)
    most = sorted(keys, key=lambda k: (-now[k], k))[:top]
    fastest = sorted(keys, key=lambda k: (-growth(k), -now[k], k))[:top]

    def row(k: str) -> dict[str, Any]:
        return {"key": k, "count": now[k], "previous": then[k], "growth": growth(k)}

    return {"most": [row(k) for k in most], "fastest_growing": [row(k) for k in fastest]}


def _repeated(current: list[Fact]) -> list[dict[str, Any]]:
    """The same person (pseudonymous reference) on the same topic more than once."""
    counts = Counter((f.requester_ref, f.topic or f.category) for f in current if f.requester_ref)
    return sorted(
        (
            {"requester_ref": ref, "topic": topic, "requests": n}
            for (ref, topic), n in counts.items()
            if n > 1
        ),
        key=lambda r: (-r["requests"], r["requester_ref"], r["topic"] or ""),
    )
