"""The request lifecycle of DESIGN §4 as one pure state machine.

Every service keeps the lifecycle state of the requests it knows and asks this module
whether an event (a class of the event catalogue) may happen now. An illegal transition
raises `IllegalTransition`, which the HTTP layer turns into 409 naming the current state.
`CHANGES_STATE` is the set of events that move a request to another state; the services'
consumers and KPI's fact rows derive what they follow from it.
"""

from __future__ import annotations

from enum import StrEnum

from shared.events.catalogue import (
    EventData,
    RequestAccepted,
    RequestAnsweredAtIntake,
    RequestChased,
    RequestClosed,
    RequestContacted,
    RequestCoOpinionAdded,
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
    RequestSupplemented,
    RequestWithdrawn,
)


class State(StrEnum):
    RECEIVED = "received"
    INCOMPLETE = "incomplete"
    SUPPLEMENTED = "supplemented"
    ANSWERED_AT_INTAKE = "answered_at_intake"
    ROUTED = "routed"
    RETURNED = "returned"
    ESCALATED = "escalated"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    FEEDBACK_GIVEN = "feedback_given"
    RATED = "rated"
    REOPENED = "reopened"
    REVISITED = "revisited"
    CLOSED = "closed"
    MERGED = "merged"
    WITHDRAWN = "withdrawn"


S = State
TERMINAL = frozenset({S.CLOSED, S.MERGED, S.WITHDRAWN})  # nothing more happens but closing
# Before the department has resolved it, the person may still withdraw or it may be merged.
OPEN_BEFORE_RESOLUTION = frozenset(
    {
        S.RECEIVED,
        S.INCOMPLETE,
        S.SUPPLEMENTED,
        S.ROUTED,
        S.RETURNED,
        S.ESCALATED,
        S.ACCEPTED,
        S.IN_PROGRESS,
        S.REOPENED,
    }
)
HANDLING = frozenset({S.ROUTED, S.ACCEPTED, S.IN_PROGRESS})
# A `None` target means "the event is allowed here and leaves the state as it is".
# `request.received` is not here: it starts the lifecycle (allowed only with no state yet).
_TRANSITIONS: dict[type[EventData], tuple[frozenset[State], State | None]] = {
    RequestIncomplete: (frozenset({S.RECEIVED, S.SUPPLEMENTED}), S.INCOMPLETE),
    RequestSupplemented: (frozenset({S.INCOMPLETE}), S.SUPPLEMENTED),
    # An agent may answer on the spot even if routing was quicker, as long as no department
    # has accepted it yet.
    RequestAnsweredAtIntake: (frozenset({S.RECEIVED, S.SUPPLEMENTED, S.ROUTED}), S.ANSWERED_AT_INTAKE),
    RequestRouted: (frozenset({S.RECEIVED, S.SUPPLEMENTED}), S.ROUTED),
    RequestRerouted: (frozenset({S.RETURNED, S.ESCALATED, S.REOPENED, S.ROUTED}), S.ROUTED),
    RequestReturned: (frozenset({S.ROUTED, S.ACCEPTED}), S.RETURNED),
    RequestEscalated: (frozenset({S.RETURNED, S.REOPENED, S.ROUTED}), S.ESCALATED),
    RequestAccepted: (frozenset({S.ROUTED}), S.ACCEPTED),
    RequestContacted: (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.IN_PROGRESS),
    RequestProgressed: (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.IN_PROGRESS),
    RequestExtensionRequested: (HANDLING, None),
    RequestExtensionDecided: (HANDLING, None),
    RequestCoOpinionAdded: (HANDLING, None),
    RequestPaused: (HANDLING, None),
    RequestResumed: (HANDLING, None),
    RequestSlaWarning: (frozenset(State) - TERMINAL, None),
    RequestDueRecomputed: (frozenset(State) - TERMINAL, None),
    RequestSlaBreached: (frozenset(State) - TERMINAL, None),
    RequestSupervised: (HANDLING | {S.RETURNED, S.ESCALATED, S.REOPENED}, None),
    RequestResolved: (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.RESOLVED),
    RequestFeedbackGiven: (frozenset({S.RESOLVED, S.ANSWERED_AT_INTAKE}), S.FEEDBACK_GIVEN),
    RequestRated: (frozenset({S.FEEDBACK_GIVEN}), S.RATED),
    RequestReopened: (frozenset({S.FEEDBACK_GIVEN, S.RATED, S.REVISITED}), S.REOPENED),
    RequestRevisitScheduled: (frozenset({S.FEEDBACK_GIVEN, S.RATED, S.CLOSED}), None),
    RequestRevisited: (frozenset({S.FEEDBACK_GIVEN, S.RATED, S.REVISITED}), S.REVISITED),
    # Withdrawn requests close at once; merged ones close with their primary.
    RequestClosed: (frozenset({S.FEEDBACK_GIVEN, S.RATED, S.REVISITED, S.WITHDRAWN, S.MERGED}), S.CLOSED),
    # A duplicate may be merged again: into the new primary when its primary was withdrawn.
    RequestMerged: (OPEN_BEFORE_RESOLUTION | {S.MERGED}, S.MERGED),
    # 催办: the first responder chases a request a department has and has not resolved.
    RequestChased: (HANDLING | {S.RETURNED, S.ESCALATED, S.REOPENED}, None),
    # Its primary ended unhandled: the earliest duplicate is handled on its own again.
    RequestMergeReleased: (frozenset({S.MERGED}), S.RECEIVED),
    RequestWithdrawn: (OPEN_BEFORE_RESOLUTION, S.WITHDRAWN),
}
# The state each state-changing event leads to, whatever state it came from.
_ENTERS: dict[type[EventData], State] = {
    RequestReceived: S.RECEIVED,
    **{event: target for event, (_, target) in _TRANSITIONS.items() if target is not None},
}
# The events that change a request's state (the rest of the lifecycle's events are allowed
# in some states and leave the state as it is; other catalogue events are not lifecycle steps).
CHANGES_STATE: frozenset[type[EventData]] = frozenset(_ENTERS)


class IllegalTransition(Exception):
    def __init__(self, current: State | None, event_type: str) -> None:
        self.current = current
        self.event_type = event_type
        shown = current.value if current else "unknown"
        super().__init__(f"{event_type} is not allowed while the request is {shown}")


Event = type[EventData]


def allowed(current: State | None, event: Event) -> bool:
    if event is RequestReceived:
        return current is None
    rule = _TRANSITIONS.get(event)
    return rule is not None and current is not None and current in rule[0]


def next_state(current: State | None, event: Event) -> State:
    """The state after `event`, or IllegalTransition naming the current state."""
    if not allowed(current, event):
        raise IllegalTransition(current, event.TYPE)
    if event is RequestReceived:
        return S.RECEIVED
    target = _TRANSITIONS[event][1]
    assert current is not None
    return target if target is not None else current


def follow(current: State | None, event: Event) -> State | None:
    """For projections of another service's decisions: the new state, or None when the
    event does not fit (a redelivery after the fact, or out of order); the caller logs it."""
    try:
        return next_state(current, event)
    except IllegalTransition:
        return None


def entered_by(event: Event) -> State:
    """The state a state-changing event puts the request in (`RequestMerged` → merged),
    for a projection that records it without checking where it came from. KeyError for
    an event that changes no state."""
    return _ENTERS[event]
