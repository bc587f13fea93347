"""The per-request fact row, folded from lifecycle events only (so a replay of the topic
gives the same row). Pure code: `apply(fact, envelope, data) -> fact`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from shared.events.envelope import Envelope
from shared.lifecycle import State, follow


@dataclass(frozen=True)
class Fact:
    request_id: str
    state: str = "new"
    channel: str | None = None
    category: str | None = None
    urgency: str | None = None
    topic: str | None = None
    area: str | None = None
    matter: str | None = None  # the matter (事项) routing dispatched it under
    requester_ref: str | None = None
    received_at: datetime | None = None
    lead_department: str | None = None
    co_departments: tuple[str, ...] = ()
    routed_at: datetime | None = None
    accept_due: datetime | None = None
    accepted_at: datetime | None = None
    first_contact_due: datetime | None = None
    contacted_at: datetime | None = None
    resolve_due: datetime | None = None
    resolve_due_original: datetime | None = None
    resolved_at: datetime | None = None
    outcome: str | None = None
    feedback_due: datetime | None = None
    feedback_at: datetime | None = None
    rating: str | None = None
    score: int | None = None
    rated_at: datetime | None = None
    returns: int = 0
    returned_by: tuple[str, ...] = ()
    reopens: int = 0
    revisit_outcome: str | None = None
    overturned: bool = False
    answered_at_intake: bool = False
    # Who: the staff member who received it (首问: None when a channel did), who answered it
    # at intake and from which article, and the handler of the lead department.
    first_responder: str | None = None
    answered_by: str | None = None
    answer_article: str | None = None
    handler_id: str | None = None
    closed_at: datetime | None = None
    excluded: str | None = None  # merged / withdrawn: left out of every rate, and said so
    chases: int = 0  # 催办 by the first responder
    last_event_at: datetime | None = None
    events: int = 0

    def to_row(self) -> dict[str, Any]:
        # A shallow copy: every value is immutable (asdict's deep copy of each datetime was
        # most of the cost of writing a fact row).
        row = dict(self.__dict__)
        row["co_departments"] = list(self.co_departments)
        row["returned_by"] = list(self.returned_by)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Fact:
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in row.items() if k in names}
        values["co_departments"] = tuple(values.get("co_departments") or ())
        values["returned_by"] = tuple(values.get("returned_by") or ())
        return cls(**values)


_FIELDS = frozenset(f.name for f in fields(Fact))


def replace(fact: Fact, **changes: Any) -> Fact:
    """dataclasses.replace without re-running __init__ over ~45 fields: a rebuild folds a
    million events, and this is most of its time. Fact has no __post_init__ to skip."""
    new = object.__new__(Fact)
    new.__dict__.update(fact.__dict__)  # copy.copy's __reduce_ex__ round costs twice this
    for name, value in changes.items():
        if name not in _FIELDS:
            raise TypeError(f"Fact has no field {name}")
        object.__setattr__(new, name, value)
    return new


def _routed(fact: Fact, env: Envelope, d: Any) -> Fact:
    if fact.answered_at_intake:
        return fact  # a routing decision that crossed the answer at intake: no department's clocks
    due = d.due
    return replace(
        fact,
        lead_department=d.lead_department,
        co_departments=tuple(d.co_departments),
        routed_at=fact.routed_at or env.occurred_at,
        accept_due=due.accept,
        first_contact_due=due.first_contact,
        resolve_due=due.resolve,
        resolve_due_original=due.resolve,
        feedback_due=due.feedback,
        urgency=d.urgency,
        category=d.category or fact.category,
        matter=d.matter or fact.matter,
    )


def _rerouted(fact: Fact, env: Envelope, d: Any) -> Fact:
    # A new department (after a return) or the same one again (reopened): its clocks start anew.
    routed = _routed(fact, env, d)
    return replace(
        routed,
        routed_at=env.occurred_at,
        accepted_at=None,
        contacted_at=None,
        resolved_at=None,
        outcome=None,
        feedback_at=None,
    )


def _resolved(fact: Fact, env: Envelope, d: Any) -> Fact:
    return replace(fact, resolved_at=env.occurred_at, outcome=d.outcome, handler_id=d.handler_id)


def _extension(fact: Fact, env: Envelope, d: Any) -> Fact:
    if d.approved and d.new_due is not None and d.clock == "resolve":
        return replace(fact, resolve_due=d.new_due)
    return fact


def _due_changed(fact: Fact, env: Envelope, d: Any) -> Fact:
    """The current due times after an extension or a pause (feedback moved with resolve)."""
    if fact.answered_at_intake or d.department != fact.lead_department:
        return fact
    return replace(
        fact,
        accept_due=d.due.accept or fact.accept_due,
        first_contact_due=d.due.first_contact or fact.first_contact_due,
        resolve_due=d.due.resolve or fact.resolve_due,
        feedback_due=d.due.feedback or fact.feedback_due,
    )


def _answered_at_intake(fact: Fact, env: Envelope, d: Any) -> Fact:
    """Answered on the spot: no department handles it, so no department's clock counts
    (a routing already under way is cancelled)."""
    return replace(
        fact,
        answered_at_intake=True,
        resolved_at=env.occurred_at,
        outcome="resolved",
        answered_by=d.agent_id,
        answer_article=d.article_id,
        lead_department=None,
        co_departments=(),
        accept_due=None,
        first_contact_due=None,
        resolve_due=None,
        resolve_due_original=None,
        feedback_due=None,
    )


def _resumed(fact: Fact, env: Envelope, d: Any) -> Fact:
    """A pause moved the clocks: the moved due times count (like an extension)."""
    return replace(
        fact,
        accept_due=d.due.accept or fact.accept_due,
        first_contact_due=d.due.first_contact or fact.first_contact_due,
        resolve_due=d.due.resolve or fact.resolve_due,
    )


_FOLD = {
    "request.received": lambda f, e, d: replace(
        f,
        channel=d.channel,
        category=d.category,
        urgency=d.urgency,
        topic=d.topic,
        area=d.area,
        requester_ref=d.requester_ref,
        received_at=e.occurred_at,
        first_responder=d.first_responder.id if d.first_responder.kind == "staff" else None,
    ),
    "request.routed": _routed,
    "request.rerouted": _rerouted,
    "request.accepted": lambda f, e, d: replace(
        f, accepted_at=f.accepted_at or e.occurred_at, handler_id=d.handler_id
    ),
    "request.contacted": lambda f, e, d: replace(f, contacted_at=f.contacted_at or e.occurred_at),
    "request.returned": lambda f, e, d: replace(
        f, returns=f.returns + 1, returned_by=(*f.returned_by, d.department)
    ),
    "request.extension_decided": _extension,
    "request.resumed": _resumed,
    "request.resolved": _resolved,
    "request.answered_at_intake": _answered_at_intake,
    "request.due_changed": _due_changed,
    "request.feedback_given": lambda f, e, d: replace(f, feedback_at=e.occurred_at),
    "request.rated": lambda f, e, d: replace(f, rating=d.rating, score=d.score, rated_at=e.occurred_at),
    "request.reopened": lambda f, e, d: replace(f, reopens=max(f.reopens + 1, d.reopen_count)),
    "request.revisited": lambda f, e, d: replace(
        f, revisit_outcome=d.outcome, overturned=f.overturned or d.outcome == "recurred"
    ),
    "request.closed": lambda f, e, d: replace(f, closed_at=e.occurred_at),
    "request.merged": lambda f, e, d: replace(f, excluded="merged"),
    "request.withdrawn": lambda f, e, d: replace(f, excluded="withdrawn"),
    # Its primary was withdrawn: handled on its own again, so it counts again.
    "request.merge_released": lambda f, e, d: replace(f, excluded=None),
    "request.chased": lambda f, e, d: replace(f, chases=f.chases + 1),
    "request.due_recomputed": lambda f, e, d: replace(
        f,
        accept_due=d.due.accept or f.accept_due,
        first_contact_due=d.due.first_contact or f.first_contact_due,
        resolve_due=d.due.resolve or f.resolve_due,
        feedback_due=d.due.feedback or f.feedback_due,
    ),
}

STATE_OF = {
    "request.received": "received",
    "request.incomplete": "incomplete",
    "request.supplemented": "supplemented",
    "request.routed": "routed",
    "request.rerouted": "routed",
    "request.accepted": "accepted",
    "request.contacted": "in_progress",
    "request.progressed": "in_progress",
    "request.returned": "returned",
    "request.escalated": "escalated",
    "request.resolved": "resolved",
    "request.answered_at_intake": "answered_at_intake",
    "request.feedback_given": "feedback_given",
    "request.rated": "rated",
    "request.reopened": "reopened",
    "request.revisited": "revisited",
    "request.closed": "closed",
    "request.merged": "merged",
    "request.withdrawn": "withdrawn",
    "request.merge_released": "received",
}

FOLDED_TYPES = tuple(sorted(set(_FOLD) | set(STATE_OF)))
# Kept for the request's timeline (the whole story of a request) but not folded into its facts.
TIMELINE_TYPES = (
    "request.paused",
    "request.extension_requested",
    "request.co_opinion_added",
    "request.sla_warning",
    "request.sla_breached",
    "request.supervised",
    "request.supervision_answered",
    "request.revisit_scheduled",
    "notification.requested",
    "notification.sent",
    "notification.delivered",
)


def apply(fact: Fact, envelope: Envelope, data: Any) -> Fact:
    fold = _FOLD.get(envelope.type)
    updated = fold(fact, envelope, data) if fold else fact
    # The lifecycle decides the state; an event that does not fit (a routing decision that
    # crossed an answer at intake) leaves it as it was. Replays see the same order.
    state = updated.state
    if envelope.type in STATE_OF:
        state = (follow(_state(fact.state), envelope.type) or _state(fact.state) or State.RECEIVED).value
    return replace(updated, state=state, last_event_at=envelope.occurred_at, events=fact.events + 1)


# Where an event sits in a request's life, to order events with the same timestamp.
_RANK = {
    t: i
    for i, t in enumerate(
        (
            "request.received",
            "request.incomplete",
            "request.supplemented",
            "request.answered_at_intake",
            "request.routed",
            "request.returned",
            "request.escalated",
            "request.rerouted",
            "request.accepted",
            "request.contacted",
            "request.progressed",
            "request.extension_decided",
            "request.resumed",
            "request.due_changed",
            "request.resolved",
            "request.feedback_given",
            "request.rated",
            "request.reopened",
            "request.revisited",
            "request.merged",
            "request.withdrawn",
            "request.merge_released",
            "request.closed",
        )
    )
}


def fold_all(request_id: str, events: Iterable[tuple[Envelope, Any]]) -> Fact:
    """The fact row from the set of a request's events, whatever order they arrived in:
    sorted by when they happened (ties by their place in the lifecycle, then id). So a
    replay of a log republished in another order gives the same row."""
    ordered = sorted(events, key=lambda e: (e[0].occurred_at, _RANK.get(e[0].type, 99), str(e[0].id)))
    fact = new_fact(request_id)
    for envelope, data in ordered:
        fact = apply(fact, envelope, data)
    return fact


def _state(value: str | None) -> State | None:
    return State(value) if value and value != "new" else None


def new_fact(request_id: str) -> Fact:
    return Fact(request_id=request_id)


__all__ = ["FOLDED_TYPES", "TIMELINE_TYPES", "Fact", "apply", "fold_all", "new_fact"]
