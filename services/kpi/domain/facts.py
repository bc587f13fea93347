"""The per-request fact row, folded from lifecycle events only (so a replay of the topic
gives the same row). Pure code: `apply(fact, envelope, data) -> fact`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from shared.events.catalogue import (
    EventData,
    NotificationDelivered,
    NotificationRequested,
    NotificationSent,
    RequestAccepted,
    RequestAnsweredAtIntake,
    RequestChased,
    RequestClosed,
    RequestContacted,
    RequestCoOpinionAdded,
    RequestDueChanged,
    RequestDueRecomputed,
    RequestEscalated,
    RequestExtensionDecided,
    RequestExtensionRequested,
    RequestFeedbackGiven,
    RequestIncomplete,
    RequestMerged,
    RequestMergeReleased,
    RequestPaused,
    RequestProgressed,
    RequestRated,
    RequestReceived,
    RequestReopened,
    RequestRerouted,
    RequestResolved,
    RequestResumed,
    RequestReturned,
    RequestRevisited,
    RequestRevisitScheduled,
    RequestRouted,
    RequestSlaBreached,
    RequestSlaWarning,
    RequestSupervised,
    RequestSupervisionAnswered,
    RequestSupplemented,
    RequestWithdrawn,
)
from shared.events.envelope import Envelope
from shared.lifecycle import CHANGES_STATE, State, follow


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


def _received(fact: Fact, env: Envelope, d: RequestReceived) -> Fact:
    return replace(
        fact,
        channel=d.channel,
        category=d.category,
        urgency=d.urgency,
        topic=d.topic,
        area=d.area,
        requester_ref=d.requester_ref,
        received_at=env.occurred_at,
        first_responder=d.first_responder.id if d.first_responder.kind == "staff" else None,
    )


def _routed(fact: Fact, env: Envelope, d: RequestRouted) -> Fact:
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


def _rerouted(fact: Fact, env: Envelope, d: RequestRerouted) -> Fact:
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


def _accepted(fact: Fact, env: Envelope, d: RequestAccepted) -> Fact:
    return replace(fact, accepted_at=fact.accepted_at or env.occurred_at, handler_id=d.handler_id)


def _contacted(fact: Fact, env: Envelope, d: RequestContacted) -> Fact:
    return replace(fact, contacted_at=fact.contacted_at or env.occurred_at)


def _returned(fact: Fact, env: Envelope, d: RequestReturned) -> Fact:
    return replace(fact, returns=fact.returns + 1, returned_by=(*fact.returned_by, d.department))


def _resolved(fact: Fact, env: Envelope, d: RequestResolved) -> Fact:
    return replace(fact, resolved_at=env.occurred_at, outcome=d.outcome, handler_id=d.handler_id)


def _extension(fact: Fact, env: Envelope, d: RequestExtensionDecided) -> Fact:
    if d.approved and d.new_due is not None and d.clock == "resolve":
        return replace(fact, resolve_due=d.new_due)
    return fact


def _due_changed(fact: Fact, env: Envelope, d: RequestDueChanged) -> Fact:
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


def _due_recomputed(fact: Fact, env: Envelope, d: RequestDueRecomputed) -> Fact:
    return replace(
        fact,
        accept_due=d.due.accept or fact.accept_due,
        first_contact_due=d.due.first_contact or fact.first_contact_due,
        resolve_due=d.due.resolve or fact.resolve_due,
        feedback_due=d.due.feedback or fact.feedback_due,
    )


def _answered_at_intake(fact: Fact, env: Envelope, d: RequestAnsweredAtIntake) -> Fact:
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


def _resumed(fact: Fact, env: Envelope, d: RequestResumed) -> Fact:
    """A pause moved the clocks: the moved due times count (like an extension)."""
    return replace(
        fact,
        accept_due=d.due.accept or fact.accept_due,
        first_contact_due=d.due.first_contact or fact.first_contact_due,
        resolve_due=d.due.resolve or fact.resolve_due,
    )


def _feedback_given(fact: Fact, env: Envelope, d: RequestFeedbackGiven) -> Fact:
    return replace(fact, feedback_at=env.occurred_at)


def _rated(fact: Fact, env: Envelope, d: RequestRated) -> Fact:
    return replace(fact, rating=d.rating, score=d.score, rated_at=env.occurred_at)


def _reopened(fact: Fact, env: Envelope, d: RequestReopened) -> Fact:
    return replace(fact, reopens=max(fact.reopens + 1, d.reopen_count))


def _revisited(fact: Fact, env: Envelope, d: RequestRevisited) -> Fact:
    return replace(fact, revisit_outcome=d.outcome, overturned=fact.overturned or d.outcome == "recurred")


def _closed(fact: Fact, env: Envelope, d: RequestClosed) -> Fact:
    return replace(fact, closed_at=env.occurred_at)


def _merged(fact: Fact, env: Envelope, d: RequestMerged) -> Fact:
    return replace(fact, excluded="merged")


def _withdrawn(fact: Fact, env: Envelope, d: RequestWithdrawn) -> Fact:
    return replace(fact, excluded="withdrawn")


def _merge_released(fact: Fact, env: Envelope, d: RequestMergeReleased) -> Fact:
    """Its primary was withdrawn: handled on its own again, so it counts again."""
    return replace(fact, excluded=None)


def _chased(fact: Fact, env: Envelope, d: RequestChased) -> Fact:
    return replace(fact, chases=fact.chases + 1)


Fold = Callable[[Fact, Envelope, Any], Fact]
# What each event changes in the fact row, besides the state (which the lifecycle decides).
_FOLD: dict[type[EventData], Fold] = {
    RequestReceived: _received,
    RequestRouted: _routed,
    RequestRerouted: _rerouted,
    RequestAccepted: _accepted,
    RequestContacted: _contacted,
    RequestReturned: _returned,
    RequestExtensionDecided: _extension,
    RequestResumed: _resumed,
    RequestResolved: _resolved,
    RequestAnsweredAtIntake: _answered_at_intake,
    RequestDueChanged: _due_changed,
    RequestFeedbackGiven: _feedback_given,
    RequestRated: _rated,
    RequestReopened: _reopened,
    RequestRevisited: _revisited,
    RequestClosed: _closed,
    RequestMerged: _merged,
    RequestWithdrawn: _withdrawn,
    RequestMergeReleased: _merge_released,
    RequestChased: _chased,
    RequestDueRecomputed: _due_recomputed,
}

# The events folded into the fact row: those with a fold, and every one that changes the state.
FOLDED: frozenset[type[EventData]] = frozenset(_FOLD) | CHANGES_STATE
FOLDED_TYPES = tuple(sorted(event.TYPE for event in FOLDED))  # for queries on the stored events
# Kept for the request's timeline (the whole story of a request) but not folded into its facts.
TIMELINE: frozenset[type[EventData]] = frozenset(
    {
        RequestPaused,
        RequestExtensionRequested,
        RequestCoOpinionAdded,
        RequestSlaWarning,
        RequestSlaBreached,
        RequestSupervised,
        RequestSupervisionAnswered,
        RequestRevisitScheduled,
        NotificationRequested,
        NotificationSent,
        NotificationDelivered,
    }
)


def apply(fact: Fact, envelope: Envelope, data: EventData) -> Fact:
    event = type(data)
    fold = _FOLD.get(event)
    updated = fold(fact, envelope, data) if fold else fact
    # The lifecycle decides the state; an event that does not fit (a routing decision that
    # crossed an answer at intake) leaves it as it was. Replays see the same order.
    state = updated.state
    if event in CHANGES_STATE:
        state = (follow(_state(fact.state), event) or _state(fact.state) or State.RECEIVED).value
    return replace(updated, state=state, last_event_at=envelope.occurred_at, events=fact.events + 1)


# Where an event sits in a request's life, to order events with the same timestamp.
_LIFE_ORDER: tuple[type[EventData], ...] = (
    RequestReceived,
    RequestIncomplete,
    RequestSupplemented,
    RequestAnsweredAtIntake,
    RequestRouted,
    RequestReturned,
    RequestEscalated,
    RequestRerouted,
    RequestAccepted,
    RequestContacted,
    RequestProgressed,
    RequestExtensionDecided,
    RequestResumed,
    RequestDueChanged,
    RequestResolved,
    RequestFeedbackGiven,
    RequestRated,
    RequestReopened,
    RequestRevisited,
    RequestMerged,
    RequestWithdrawn,
    RequestMergeReleased,
    RequestClosed,
)
_RANK: dict[type[EventData], int] = {event: i for i, event in enumerate(_LIFE_ORDER)}


def fold_all(request_id: str, events: Iterable[tuple[Envelope, EventData]]) -> Fact:
    """The fact row from the set of a request's events, whatever order they arrived in:
    sorted by when they happened (ties by their place in the lifecycle, then id). So a
    replay of a log republished in another order gives the same row."""
    ordered = sorted(events, key=lambda e: (e[0].occurred_at, _RANK.get(type(e[1]), 99), str(e[0].id)))
    fact = new_fact(request_id)
    for envelope, data in ordered:
        fact = apply(fact, envelope, data)
    return fact


def _state(value: str | None) -> State | None:
    return State(value) if value and value != "new" else None


def new_fact(request_id: str) -> Fact:
    return Fact(request_id=request_id)


__all__ = ["FOLDED", "FOLDED_TYPES", "TIMELINE", "Fact", "apply", "fold_all", "new_fact"]
