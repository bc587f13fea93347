"""Realistic KPI fact rows for a city's month, made without the broker: what the KPI
consumer would have folded from each request's events (received, routed, accepted, maybe
returned to another department, resolved, feedback, rated, reopened, revisited, closed;
some answered at intake, some merged or withdrawn). Used by `make bench-scale` to fill the
KPI database and by the tests that compare the SQL figures with the Python ones."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from services.kpi.domain.facts import Fact, replace

DEPARTMENTS = ("urban", "water", "transport", "market", "housing", "environment", "police", "health")
_DEPT_WEIGHTS = (30, 12, 14, 10, 12, 9, 7, 6)
CHANNELS = ("phone", "web", "app", "wechat", "email")
_CHANNEL_WEIGHTS = (55, 12, 18, 13, 2)
CATEGORIES = (
    "noise",
    "water_supply",
    "heating",
    "road",
    "parking",
    "sanitation",
    "market_order",
    "housing_repair",
    "traffic",
    "pollution",
    "consumer",
    "public_health",
)
AREAS = tuple(
    f"district_{name}"
    for name in (
        "dongcheng",
        "xicheng",
        "chaoyang",
        "haidian",
        "fengtai",
        "shijingshan",
        "mentougou",
        "fangshan",
        "tongzhou",
        "shunyi",
        "changping",
        "daxing",
        "huairou",
        "pinggu",
        "miyun",
        "yanqing",
    )
)
TOPICS = tuple(f"{c}:{i}" for c in CATEGORIES for i in range(6))
RATINGS = ("satisfied", "basically_satisfied", "unsatisfied", "no_response")
_RATING_WEIGHTS = (62, 18, 8, 12)


def _at_most(moment: datetime | None, until: datetime) -> datetime | None:
    return moment if moment is not None and moment <= until else None


def generate(
    count: int, start: datetime, end: datetime, *, until: datetime, seed: int = 12345, prefix: str = "f"
) -> Iterator[Fact]:
    """`count` facts received in [start, end); nothing happened after `until` (clocks not done
    by then are open). Deterministic for a seed."""
    rnd = random.Random(seed)
    span = (end - start).total_seconds()
    requesters = max(1, int(count * 0.75))  # a quarter of the requests come from repeat callers
    for i in range(count):
        received = start + timedelta(seconds=rnd.random() * span)
        if received > until:
            received = until - timedelta(seconds=rnd.random() * 3600)
        category = rnd.choice(CATEGORIES)
        topic = f"{category}:{rnd.randrange(6)}" if rnd.random() < 0.9 else None
        base: dict[str, object] = {
            "request_id": f"{prefix}{i:09d}",
            "channel": rnd.choices(CHANNELS, _CHANNEL_WEIGHTS)[0],
            "category": category,
            "urgency": "urgent" if rnd.random() < 0.05 else "normal",
            "topic": topic,
            "area": rnd.choice(AREAS) if rnd.random() < 0.97 else None,
            "requester_ref": f"rq_{rnd.randrange(requesters):08d}" if rnd.random() < 0.95 else None,
            "received_at": received,
            "first_responder": f"agent-{rnd.randrange(650):03d}" if rnd.random() < 0.6 else None,
        }
        times = [received]
        if rnd.random() < 0.12:  # answered at intake
            answered = received + timedelta(minutes=rnd.uniform(2, 25))
            resolved = _at_most(answered, until)
            rated = _at_most(answered + timedelta(days=rnd.uniform(0.5, 3)), until)
            rating = rnd.choices(RATINGS, _RATING_WEIGHTS)[0] if rated and rnd.random() < 0.6 else None
            fact = Fact(
                **base,  # type: ignore[arg-type]
                state="rated" if rating else ("answered_at_intake" if resolved else "received"),
                answered_at_intake=resolved is not None,
                resolved_at=resolved,
                outcome="resolved" if resolved else None,
                answered_by=base["first_responder"] if resolved else None,  # type: ignore[arg-type]
                answer_article=f"kb-{rnd.randrange(400)}" if resolved and rnd.random() < 0.55 else None,
                rating=rating,
                score=rnd.randint(3, 5) if rating and rating != "no_response" else None,
                rated_at=rated if rating else None,
            )
            times += [t for t in (resolved, fact.rated_at) if t]
            yield _finish(fact, times, rnd)
            continue
        lead = rnd.choices(DEPARTMENTS, _DEPT_WEIGHTS)[0]
        returned_by: tuple[str, ...] = ()
        routed = received + timedelta(minutes=rnd.uniform(3, 90))
        if rnd.random() < 0.06:  # the first department sent it back; another leads it now
            returned_by = (lead,)
            lead = rnd.choice([d for d in DEPARTMENTS if d != lead])
            routed += timedelta(hours=rnd.uniform(2, 30))
        accept_due = routed + timedelta(hours=24 if rnd.random() < 0.9 else 2)
        accepted = routed + timedelta(hours=rnd.expovariate(1 / 5))
        if rnd.random() < 0.02:
            accepted = routed + timedelta(days=rnd.uniform(2, 10))
        resolve_due = routed + timedelta(days=rnd.choice((3, 5, 7, 10, 15)))
        resolved = accepted + timedelta(days=rnd.expovariate(1 / 3.5))
        if rnd.random() < 0.04:
            resolved = None  # still being worked on
        accepted_at = _at_most(accepted, until)
        resolved_at = _at_most(resolved, until) if accepted_at else None
        feedback_due = resolved_at + timedelta(days=1) if resolved_at else None
        feedback_at = (
            _at_most(resolved_at + timedelta(hours=rnd.expovariate(1 / 8)), until)
            if resolved_at and rnd.random() < 0.93
            else None
        )
        rated_at = (
            _at_most(resolved_at + timedelta(days=rnd.uniform(1, 4)), until)
            if resolved_at and rnd.random() < 0.75
            else None
        )
        rating = rnd.choices(RATINGS, _RATING_WEIGHTS)[0] if rated_at else None
        reopens = 1 if resolved_at and rnd.random() < 0.03 else 0
        revisit = rnd.choice(("solved", "solved", "recurred")) if resolved_at and rnd.random() < 0.1 else None
        closed_at = _at_most(rated_at + timedelta(days=1), until) if rated_at else None
        excluded = rnd.choice(("merged", "withdrawn")) if rnd.random() < 0.02 else None
        fact = Fact(
            **base,  # type: ignore[arg-type]
            state="closed"
            if closed_at
            else ("resolved" if resolved_at else "accepted" if accepted_at else "routed"),
            lead_department=lead,
            routed_at=_at_most(routed, until),
            accept_due=accept_due,
            accepted_at=accepted_at,
            first_contact_due=routed + timedelta(hours=12),
            contacted_at=_at_most(accepted + timedelta(hours=1), until) if accepted_at else None,
            resolve_due=resolve_due,
            resolve_due_original=resolve_due,
            resolved_at=resolved_at,
            outcome="resolved" if resolved_at else None,
            feedback_due=feedback_due,
            feedback_at=feedback_at,
            rating=rating,
            score=rnd.randint(1, 5) if rating and rating != "no_response" and rnd.random() < 0.8 else None,
            rated_at=rated_at,
            returns=len(returned_by),
            returned_by=returned_by,
            reopens=reopens,
            revisit_outcome=revisit,
            overturned=revisit == "recurred",
            handler_id=f"{lead}-h{rnd.randrange(80):02d}" if accepted_at else None,
            closed_at=closed_at,
            excluded=excluded,
        )
        times += [
            t for t in (fact.routed_at, accepted_at, resolved_at, feedback_at, rated_at, closed_at) if t
        ]
        yield _finish(fact, times, rnd)


def _finish(fact: Fact, times: list[datetime], rnd: random.Random) -> Fact:
    return replace(fact, last_event_at=max(times), events=len(times) + rnd.randrange(3))
