"""Scores, rankings and accountability: a weighted sum of a department's rates (weights and
the pass line are configuration), ranked per period; a department under the pass line in N
consecutive periods is flagged. Pure code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_WEIGHTS: dict[str, float] = {
    "acceptance_timeliness": 0.2,
    "on_time_resolution": 0.3,
    "feedback_timeliness": 0.1,
    "handling_accuracy": 0.2,
    "satisfaction": 0.2,
}


@dataclass(frozen=True)
class Scored:
    department: str
    score: float | None  # 0–100; None when no rate had a denominator
    rank: int | None


def score(figures: Mapping[str, Any], weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> float | None:
    """Σ weight × rate over the rates that exist this period, the weights renormalised to
    them (a department with no complaints is not punished for an empty satisfaction rate)."""
    total = weight_sum = 0.0
    for name, weight in weights.items():
        rate = (figures.get(name) or {}).get("rate")
        if rate is None or weight <= 0:
            continue
        total += weight * rate
        weight_sum += weight
    return None if weight_sum == 0 else round(100 * total / weight_sum, 2)


def rank(scores: Mapping[str, float | None]) -> list[Scored]:
    """Best first; equal scores share a rank; departments without a score come last, unranked."""
    ordered = sorted(
        ((d, s) for d, s in scores.items() if s is not None), key=lambda item: (-item[1], item[0])
    )
    ranked: list[Scored] = []
    for position, (department, value) in enumerate(ordered, start=1):
        previous = ranked[-1] if ranked else None
        same = previous is not None and previous.score == value
        ranked.append(Scored(department, value, previous.rank if same and previous else position))
    ranked += [Scored(d, None, None) for d, s in sorted(scores.items()) if s is None]
    return ranked


def under_pass_line_streak(history: Sequence[float | None], pass_line: float) -> int:
    """How many of the latest periods in a row (history oldest first) were under the line."""
    streak = 0
    for value in reversed(history):
        if value is None or value >= pass_line:
            break
        streak += 1
    return streak
